import type { DigestAlgorithm } from '../digest';
import {
  type JsonObject,
  invalid,
  isJsonObject,
  optional,
  optionalAnnotations,
  optionalMediaType,
  parseDescriptor,
  parseIndexEntry,
  typeName,
} from './descriptor';
import { digestOf } from './digest-of';
import { ManifestInvalidError, clip } from './manifest-invalid.error';
import type { Descriptor, ParsedManifest } from './manifest.types';
import {
  DOCKER_SCHEMA1_MEDIA_TYPES,
  type ManifestMediaType,
  MediaTypes,
  isIndexMediaType,
  isManifestMediaType,
  mediaTypeOfContentType,
} from './media-types';

/**
 * The largest manifest body accepted: 4 MiB, as distribution v3 (`maxManifestBodySize`) and zot. The spec
 * asks registries to accept at least 4 MB; the conformance "large manifest" is about 3.9 MB.
 */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * Refuses a manifest body (or a declared Content-Length) over MAX_MANIFEST_BYTES: MANIFEST_INVALID with
 * status 413, as distribution-spec asks ("SHOULD return 413"); distribution itself answers 400.
 */
export function assertManifestSize(bytes: number): void {
  if (bytes > MAX_MANIFEST_BYTES) {
    throw new ManifestInvalidError(
      {
        reason: `manifest is ${bytes} bytes; the limit is ${MAX_MANIFEST_BYTES}`,
        size: bytes,
        limit: MAX_MANIFEST_BYTES,
      },
      413,
    );
  }
}

export interface ParseManifestOptions {
  /**
   * Algorithm of the returned `digest`. Use the reference's algorithm when the PUT names a digest
   * (the conformance suite pushes sha512 manifests by digest). Default sha256, the canonical one.
   */
  readonly algorithm?: DigestAlgorithm;
}

/** Fatal: invalid UTF-8 is an error, not U+FFFD. ignoreBOM keeps a BOM so JSON.parse rejects it, as Go does. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Validates a manifest body received on PUT and returns its typed view. Throws ManifestInvalidError
 * (MANIFEST_INVALID) naming what is wrong; never echoes more than a short excerpt of the input.
 *
 * Media type: the body's `mediaType` member when present; else the Content-Type (parameters ignored) when
 * it names a manifest type. A `mediaType` member that disagrees with a given Content-Type is refused, so a
 * manifest is never stored under a type its body contradicts. Docker schema2 manifests and lists must carry
 * the member (their spec requires it; distribution v3 refuses them without it). Docker schema1 and anything
 * else unknown is refused.
 *
 * Does not check that referenced blobs or manifests exist: see referencesOf.
 */
export function parseManifest(
  bytes: Buffer,
  contentType: string | undefined,
  options: ParseManifestOptions = {},
): ParsedManifest {
  assertManifestSize(bytes.length);
  const body = parseJsonObject(bytes);

  const declared = optional(body, 'mediaType');
  if (declared !== undefined && typeof declared !== 'string') {
    throw invalid('mediaType', `must be a string, not ${typeName(declared)}`);
  }
  const headerType = mediaTypeOfContentType(contentType);
  const mediaType = effectiveMediaType(body, declared, headerType);

  const schemaVersion = body['schemaVersion'];
  if (schemaVersion !== 2) {
    throw invalid(
      'schemaVersion',
      schemaVersion === undefined ? 'is required (2)' : `must be 2, not ${clip(schemaVersion, 40)}`,
    );
  }

  const digest = digestOf(bytes, options.algorithm ?? 'sha256');
  const oci = mediaType === MediaTypes.OciManifest || mediaType === MediaTypes.OciIndex;
  // subject, artifactType and annotations are OCI members; in a Docker manifest they are ordinary unknown
  // members, stored but not interpreted (distribution does the same).
  const subject = oci ? optional(body, 'subject') : undefined;
  const common = {
    mediaType,
    digest,
    size: bytes.length,
    schemaVersion: 2 as const,
    ...(subject === undefined ? {} : { subject: parseDescriptor(subject, 'subject') }),
    ...optionalMember('artifactType', oci ? optionalMediaType(body, 'artifactType', 'artifactType') : undefined),
    ...optionalMember('annotations', oci ? optionalAnnotations(body, 'annotations', 'annotations') : undefined),
  };

  if (isIndexMediaType(mediaType)) {
    // image-spec "manifest confusion" guidance, enforced by distribution's validateIndex: an index with
    // image members could be read as an image by another parser.
    for (const key of ['config', 'layers']) {
      if (optional(body, key) !== undefined) throw invalid(key, `is not allowed in an index (${mediaType})`);
    }
    const manifests = descriptorArray(body, 'manifests').map((entry, i) => parseIndexEntry(entry, `manifests[${i}]`));
    return { kind: 'index', ...common, manifests };
  }

  if (optional(body, 'manifests') !== undefined) {
    throw invalid('manifests', `is not allowed in an image manifest (${mediaType})`);
  }
  const configValue = body['config'];
  if (configValue === undefined || configValue === null) throw invalid('config', 'is required');
  const config = parseDescriptor(configValue, 'config');
  const layers: Descriptor[] = descriptorArray(body, 'layers').map((layer, i) =>
    parseDescriptor(layer, `layers[${i}]`),
  );
  return { kind: 'image', ...common, config, layers };
}

function parseJsonObject(bytes: Buffer): JsonObject {
  if (bytes.length === 0) throw invalid(undefined, 'body is empty');
  let value: unknown;
  try {
    value = JSON.parse(UTF8.decode(bytes));
  } catch (err) {
    // V8's SyntaxError quotes a short excerpt of the input; clip it anyway.
    const why = err instanceof Error ? err.message : String(err);
    throw invalid(undefined, `body is not valid UTF-8 JSON: ${clip(why, 200)}`);
  }
  if (!isJsonObject(value)) throw invalid(undefined, `body must be a JSON object, not ${typeName(value)}`);
  return value;
}

function effectiveMediaType(
  body: JsonObject,
  declared: string | undefined,
  headerType: string | undefined,
): ManifestMediaType {
  const schema1 =
    body['schemaVersion'] === 1 ||
    (declared !== undefined && DOCKER_SCHEMA1_MEDIA_TYPES.includes(declared)) ||
    (declared === undefined && headerType !== undefined && DOCKER_SCHEMA1_MEDIA_TYPES.includes(headerType));
  if (schema1) {
    throw invalid(undefined, 'Docker schema1 manifests are not supported; push a Docker schema2 or OCI manifest', {
      mediaType: declared ?? headerType ?? null,
    });
  }

  if (declared !== undefined && headerType !== undefined && declared !== headerType) {
    throw invalid('mediaType', `is ${clip(declared, 100)} but the Content-Type is ${clip(headerType, 100)}`);
  }

  const mediaType = declared ?? headerType;
  if (mediaType === undefined) {
    throw invalid('mediaType', 'is absent and the request has no Content-Type; set either to the manifest media type');
  }
  if (mediaType === MediaTypes.OciArtifactManifestDraft) {
    throw invalid(
      undefined,
      'the OCI artifact manifest (image-spec 1.1 release candidates only) is not supported; push an image manifest with artifactType',
      { mediaType },
    );
  }
  if (!isManifestMediaType(mediaType)) {
    throw invalid(undefined, `unsupported manifest media type ${clip(mediaType, 100)}`, { mediaType: clip(mediaType) });
  }
  if (
    declared === undefined &&
    (mediaType === MediaTypes.DockerManifest || mediaType === MediaTypes.DockerManifestList)
  ) {
    throw invalid('mediaType', `is required in a Docker manifest (${mediaType})`);
  }
  return mediaType;
}

/**
 * `layers` / `manifests`. Both are required by the specs, but absent or null is read as empty: Go
 * marshals a nil slice as null and distribution accepts either; an empty list is legal (artifacts, empty index).
 */
function descriptorArray(body: JsonObject, key: string): unknown[] {
  const value = optional(body, key);
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(key, `must be an array, not ${typeName(value)}`);
  return value;
}

function optionalMember<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
