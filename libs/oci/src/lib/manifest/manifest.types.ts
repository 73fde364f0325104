import type { ManifestMediaType } from './media-types';

/** image-spec `descriptor.md`: a typed, validated view of one content descriptor. */
export interface Descriptor {
  /** RFC 6838 media type of the referenced content. */
  readonly mediaType: string;
  /** Canonical `algorithm:encoded`; always sha256 or sha512 (see parseManifest). */
  readonly digest: string;
  /** Byte size of the referenced content: a non-negative safe integer. */
  readonly size: number;
  readonly urls?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  /** Base64 of the content, already checked against `size` and `digest`. */
  readonly data?: string;
  readonly artifactType?: string;
}

/** image-spec `image-index.md` platform. Unknown fields (Docker's `features`) stay in the stored bytes. */
export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly 'os.version'?: string;
  readonly 'os.features'?: readonly string[];
  readonly variant?: string;
}

/** An entry of an index's `manifests`. */
export interface IndexEntry extends Descriptor {
  readonly platform?: Platform;
}

interface ParsedManifestBase {
  /** The effective media type: the body's `mediaType`, else the request's Content-Type. */
  readonly mediaType: ManifestMediaType;
  /** Digest of the exact bytes received (the registry stores and serves those bytes unchanged). */
  readonly digest: string;
  readonly size: number;
  readonly schemaVersion: 2;
  /** OCI only: the manifest this one refers to (referrers API). Need not exist in the registry. */
  readonly subject?: Descriptor;
  /** OCI only. */
  readonly artifactType?: string;
  /** OCI only. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** An OCI image manifest or a Docker schema2 manifest. */
export interface ParsedImageManifest extends ParsedManifestBase {
  readonly kind: 'image';
  readonly config: Descriptor;
  /** May be empty (OCI artifacts; the conformance "No Layers" data set). */
  readonly layers: readonly Descriptor[];
}

/** An OCI image index or a Docker manifest list. */
export interface ParsedIndex extends ParsedManifestBase {
  readonly kind: 'index';
  readonly manifests: readonly IndexEntry[];
}

export type ParsedManifest = ParsedImageManifest | ParsedIndex;
