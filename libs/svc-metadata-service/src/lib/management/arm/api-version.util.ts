import { ArmError } from './arm-error';

/** The Microsoft.ContainerRegistry api-versions Berth serves (2023-07-01 up to the current client's 2025-11-01). */
export const REGISTRY_API_VERSIONS = { oldest: '2023-07-01', newest: '2025-11-01' } as const;

const FORMAT = /^(\d{4}-\d{2}-\d{2})(-preview)?$/;

/**
 * Checks `api-version` as ARM does: missing → 400 MissingApiVersionParameter; not a version → 400
 * InvalidApiVersionParameter; a well-formed version the provider does not serve → 400 NoRegisteredProviderFound
 * (ARM's answer, naming the supported range). `range` null accepts any well-formed version (resource groups).
 */
export function checkApiVersion(
  value: unknown,
  resourceType: string,
  range: { oldest: string; newest: string } | null,
): string {
  if (value === undefined || value === '') {
    throw new ArmError(
      400,
      'MissingApiVersionParameter',
      'The api-version query parameter (?api-version=) is required for all requests.',
    );
  }
  const v = Array.isArray(value) ? value[value.length - 1] : value;
  const m = typeof v === 'string' ? FORMAT.exec(v) : null;
  if (!m?.[1] || Number.isNaN(Date.parse(m[1]))) {
    throw new ArmError(
      400,
      'InvalidApiVersionParameter',
      `The api-version '${String(v)}' is invalid. The supported versions are '${range ? `${range.oldest} to ${range.newest}` : 'yyyy-mm-dd'}'.`,
    );
  }
  if (range && (m[1] < range.oldest || m[1] > range.newest)) {
    throw new ArmError(
      400,
      'NoRegisteredProviderFound',
      `No registered resource provider found for API version '${String(v)}' and type '${resourceType}'. ` +
        `The supported api-versions are '${range.oldest}' through '${range.newest}'.`,
    );
  }
  return String(v);
}
