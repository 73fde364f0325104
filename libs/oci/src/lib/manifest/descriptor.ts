import { parseDigest } from '../digest';
import { RegistryError } from '../errors';
import { digestOf } from './digest-of';
import { ManifestInvalidError, clip } from './manifest-invalid.error';
import type { Descriptor, IndexEntry, Platform } from './manifest.types';
import { isValidMediaType } from './media-types';

/** A JSON object as JSON.parse returns it. */
export type JsonObject = Record<string, unknown>;

/** RFC 4648 §4 base64 with padding, the encoding Go's encoding/json uses for []byte (strict). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function invalid(
  field: string | undefined,
  reason: string,
  extra?: Record<string, unknown>,
): ManifestInvalidError {
  return new ManifestInvalidError({ reason, ...(field === undefined ? {} : { field }), ...extra });
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Reads an optional member. `null` counts as absent: Go clients and registries decode JSON into structs,
 * where null and a missing member are the same zero value, so refusing null would refuse what they accept.
 */
export function optional(obj: JsonObject, key: string): unknown {
  const value = obj[key];
  return value === null ? undefined : value;
}

export function requireString(obj: JsonObject, key: string, path: string): string {
  const value = obj[key];
  if (typeof value !== 'string') {
    throw invalid(path, value === undefined ? 'is required' : `must be a string, not ${typeName(value)}`);
  }
  return value;
}

export function optionalString(obj: JsonObject, key: string, path: string): string | undefined {
  const value = optional(obj, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(path, `must be a string, not ${typeName(value)}`);
  return value;
}

export function optionalMediaType(obj: JsonObject, key: string, path: string): string | undefined {
  const value = optionalString(obj, key, path);
  if (value !== undefined && !isValidMediaType(value)) {
    throw invalid(path, 'is not an RFC 6838 media type', { value: clip(value) });
  }
  return value;
}

function optionalStringArray(obj: JsonObject, key: string, path: string): readonly string[] | undefined {
  const value = optional(obj, key);
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw invalid(path, `must be an array of strings, not ${typeName(value)}`);
  value.forEach((item: unknown, i) => {
    if (typeof item !== 'string') throw invalid(`${path}[${i}]`, `must be a string, not ${typeName(item)}`);
  });
  return value as string[];
}

/** image-spec `annotations.md`: a string-to-string map. The parsed object is returned as is (no copy). */
export function optionalAnnotations(
  obj: JsonObject,
  key: string,
  path: string,
): Readonly<Record<string, string>> | undefined {
  const value = optional(obj, key);
  if (value === undefined) return undefined;
  if (!isJsonObject(value)) throw invalid(path, `must be an object of strings, not ${typeName(value)}`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string')
      throw invalid(`${path}[${clip(JSON.stringify(k), 80)}]`, `must be a string, not ${typeName(v)}`);
  }
  return value as Record<string, string>;
}

/**
 * Validates one descriptor (image-spec `descriptor.md`) and returns its typed view. Unknown members are
 * allowed and left out of the view; the manifest bytes, which keep them, are what the registry stores.
 *
 * A malformed or unsupported `digest` is MANIFEST_INVALID, not DIGEST_INVALID: distribution-spec v1.1 keeps
 * DIGEST_INVALID for "provided digest did not match uploaded content", and here the request's own content is
 * the bad part. (distribution v3 answers DIGEST_INVALID + MANIFEST_BLOB_UNKNOWN for a malformed one and
 * UNKNOWN + MANIFEST_BLOB_UNKNOWN for an unknown algorithm, in `registry/handlers/manifests.go`; neither
 * helps a client more than one MANIFEST_INVALID naming the field.)
 */
export function parseDescriptor(value: unknown, path: string): Descriptor {
  if (!isJsonObject(value)) throw invalid(path, `must be a descriptor object, not ${typeName(value)}`);

  const mediaType = requireString(value, 'mediaType', `${path}.mediaType`);
  if (!isValidMediaType(mediaType)) {
    throw invalid(`${path}.mediaType`, 'is not an RFC 6838 media type', { value: clip(mediaType) });
  }

  const digestValue = requireString(value, 'digest', `${path}.digest`);
  let parsedDigest;
  try {
    parsedDigest = parseDigest(digestValue);
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    throw invalid(`${path}.digest`, err.message, { digest: clip(digestValue) });
  }

  const size = value['size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(
      `${path}.size`,
      size === undefined ? 'is required' : 'must be a non-negative integer',
      size === undefined ? undefined : { value: clip(size) },
    );
  }

  const urls = optionalStringArray(value, 'urls', `${path}.urls`);
  const annotations = optionalAnnotations(value, 'annotations', `${path}.annotations`);
  const artifactType = optionalMediaType(value, 'artifactType', `${path}.artifactType`);

  const data = optionalString(value, 'data', `${path}.data`);
  if (data !== undefined) {
    if (!BASE64.test(data)) throw invalid(`${path}.data`, 'is not base64 (RFC 4648 §4, padded)');
    const decoded = Buffer.from(data, 'base64');
    // image-spec: the decoded data MUST be identical to the referenced content.
    if (decoded.length !== size) {
      throw invalid(`${path}.data`, `decodes to ${decoded.length} bytes but size is ${size}`);
    }
    if (digestOf(decoded, parsedDigest.algorithm) !== parsedDigest.value) {
      throw invalid(`${path}.data`, 'does not match the descriptor digest', { digest: parsedDigest.value });
    }
  }

  return {
    mediaType,
    digest: parsedDigest.value,
    size,
    ...(urls === undefined ? {} : { urls }),
    ...(annotations === undefined ? {} : { annotations }),
    ...(data === undefined ? {} : { data }),
    ...(artifactType === undefined ? {} : { artifactType }),
  };
}

/** image-spec `image-index.md`: `architecture` and `os` are required when `platform` is present. */
function parsePlatform(value: unknown, path: string): Platform {
  if (!isJsonObject(value)) throw invalid(path, `must be an object, not ${typeName(value)}`);
  requireString(value, 'architecture', `${path}.architecture`);
  requireString(value, 'os', `${path}.os`);
  optionalString(value, 'os.version', `${path}["os.version"]`);
  optionalStringArray(value, 'os.features', `${path}["os.features"]`);
  optionalString(value, 'variant', `${path}.variant`);
  return value as unknown as Platform;
}

export function parseIndexEntry(value: unknown, path: string): IndexEntry {
  const descriptor = parseDescriptor(value, path);
  const platform = optional(value as JsonObject, 'platform');
  return platform === undefined ? descriptor : { ...descriptor, platform: parsePlatform(platform, `${path}.platform`) };
}
