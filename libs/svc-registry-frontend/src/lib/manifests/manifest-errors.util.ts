import { RegistryError } from '@berth/oci';

/** MANIFEST_UNKNOWN 404: no such manifest or tag in the repository (also when the repository is unknown). */
export function manifestUnknown(reference: string): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', 'manifest unknown to registry', { reference: reference.slice(0, 200) });
}

/** NAME_UNKNOWN 404: no such repository in the registry the request addresses. */
export function repositoryUnknown(name: string): RegistryError {
  return new RegistryError('NAME_UNKNOWN', 'repository name not known to registry', { name: name.slice(0, 300) });
}

/**
 * DENIED 403: the answer to an operation a lock (ACR changeable attribute, acr.md §8.4) forbids. ACR refuses
 * such operations with an error rather than pretending the content is absent; 403 DENIED is the OCI code
 * clients already show as "denied: …" (405 would tell a client the method is unsupported on the route).
 */
export function denied(reason: string, detail: Record<string, unknown>): RegistryError {
  return new RegistryError('DENIED', `the operation is disallowed: ${reason}`, detail);
}
