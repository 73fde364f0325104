import { RegistryError } from '../errors';

/** Why a manifest was refused, as sent in the error `detail`. Never carries more than a short excerpt of input. */
export interface ManifestInvalidDetail {
  readonly reason: string;
  /** JSON path of the offending member, e.g. `layers[2].digest`. */
  readonly field?: string;
  readonly [key: string]: unknown;
}

/** MANIFEST_INVALID (400 unless told otherwise, e.g. 413 for an oversize body). */
export class ManifestInvalidError extends RegistryError {
  declare readonly detail: ManifestInvalidDetail;

  constructor(detail: ManifestInvalidDetail, status?: number) {
    super(
      'MANIFEST_INVALID',
      `manifest invalid: ${detail.field ? `${detail.field}: ` : ''}${detail.reason}`,
      detail,
      status,
    );
  }
}

/** Shortens client input before it goes into an error detail or message. */
export function clip(value: unknown, max = 140): string {
  const str = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return str.length > max ? `${str.slice(0, max)}…` : str;
}
