/**
 * Media types Berth recognises. Sources: image-spec v1.1 `media-types.md`, Docker's image-manifest-v2-2
 * spec, and Helm's OCI support (`pkg/registry/constants.go`). Only the four manifest types below are
 * accepted on manifest PUT; everything else here is a config, layer or artifact type a descriptor may carry.
 */
export const MediaTypes = {
  // Manifests the registry stores.
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',

  // Manifests the registry refuses (MANIFEST_INVALID): schema1 was removed from distribution v3, and the
  // artifact manifest only existed in image-spec v1.1.0 release candidates.
  DockerSchema1Manifest: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerSchema1SignedManifest: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  OciArtifactManifestDraft: 'application/vnd.oci.artifact.manifest.v1+json',

  // Configs.
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerPluginConfig: 'application/vnd.docker.plugin.v1+json',

  // Layers.
  OciLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerTarGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerTarZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  /** image-spec: non-distributable layers are deprecated, but must still be accepted. */
  OciLayerNondistributableTar: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OciLayerNondistributableTarGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  OciLayerNondistributableTarZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',

  // Helm charts (`helm push oci://…`).
  HelmConfig: 'application/vnd.cncf.helm.config.v1+json',
  HelmChartContent: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
  HelmChartProvenance: 'application/vnd.cncf.helm.chart.provenance.v1.prov',
} as const;

export type KnownMediaType = (typeof MediaTypes)[keyof typeof MediaTypes];

/** The manifest media types a PUT may carry, in the order a client would prefer them. */
export const MANIFEST_MEDIA_TYPES = [
  MediaTypes.OciManifest,
  MediaTypes.OciIndex,
  MediaTypes.DockerManifest,
  MediaTypes.DockerManifestList,
] as const;

export type ManifestMediaType = (typeof MANIFEST_MEDIA_TYPES)[number];

/** Image manifests (a config and layers). */
export const IMAGE_MANIFEST_MEDIA_TYPES: readonly ManifestMediaType[] = [
  MediaTypes.OciManifest,
  MediaTypes.DockerManifest,
];

/** Indexes (a list of manifests, usually one per platform). */
export const INDEX_MEDIA_TYPES: readonly ManifestMediaType[] = [MediaTypes.OciIndex, MediaTypes.DockerManifestList];

export const DOCKER_SCHEMA1_MEDIA_TYPES: readonly string[] = [
  MediaTypes.DockerSchema1Manifest,
  MediaTypes.DockerSchema1SignedManifest,
];

/**
 * Layers whose `urls` let a registry accept the manifest without holding the blob. distribution checks
 * OCI non-distributable layers and Docker foreign layers this way (`registry/storage/ocimanifesthandler.go`,
 * `schema2manifesthandler.go`); its switch omits the `+zstd` variant, which we include for consistency.
 */
export const NON_DISTRIBUTABLE_LAYER_MEDIA_TYPES: readonly string[] = [
  MediaTypes.OciLayerNondistributableTar,
  MediaTypes.OciLayerNondistributableTarGzip,
  MediaTypes.OciLayerNondistributableTarZstd,
  MediaTypes.DockerForeignLayer,
];

/**
 * image-spec "Guidance for an Empty Descriptor": the two-byte `{}` blob that artifacts use as their config
 * (and as a placeholder layer). The digest is sha256 of `{}`; `data` is its base64 form.
 */
export const OCI_EMPTY_DESCRIPTOR = Object.freeze({
  mediaType: MediaTypes.OciEmpty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
  data: 'e30=',
} as const);

export function isManifestMediaType(mediaType: string): mediaType is ManifestMediaType {
  return (MANIFEST_MEDIA_TYPES as readonly string[]).includes(mediaType);
}

export function isIndexMediaType(mediaType: string): boolean {
  return (INDEX_MEDIA_TYPES as readonly string[]).includes(mediaType);
}

/**
 * RFC 6838 §4.2 `type "/" subtype` with restricted-name characters, no parameters: the pattern of
 * image-spec `schema/defs-descriptor.json#/definitions/mediaType`.
 */
const MEDIA_TYPE_GRAMMAR = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export function isValidMediaType(value: string): boolean {
  return typeof value === 'string' && MEDIA_TYPE_GRAMMAR.test(value);
}

/**
 * The media type in a Content-Type header value: parameters dropped, trimmed, lower-cased (RFC 9110
 * §8.3.1: type and subtype are case-insensitive; distribution-spec: registries SHOULD ignore parameters).
 * An absent or blank header gives undefined.
 */
export function mediaTypeOfContentType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const bare = contentType.split(';', 1)[0].trim().toLowerCase();
  return bare === '' ? undefined : bare;
}
