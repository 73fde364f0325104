// Manifests for the specs in this folder, shaped like what real clients push. Imported by spec files only.
import { createHash } from 'node:crypto';
import { MediaTypes, OCI_EMPTY_DESCRIPTOR } from './media-types';

export type Json = Record<string, unknown>;

export function sha256Of(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** The bytes a client would send: pretty-printed, as docker and oras do. */
export function bytesOf(manifest: unknown): Buffer {
  return Buffer.from(JSON.stringify(manifest, null, 3));
}

export const digests = {
  config: sha256Of('config'),
  layer1: sha256Of('layer-1'),
  layer2: sha256Of('layer-2'),
  amd64: sha256Of('manifest-amd64'),
  arm64: sha256Of('manifest-arm64'),
  subject: sha256Of('subject-image'),
  sbom: sha256Of('sbom'),
  chart: sha256Of('chart'),
};

/** `docker push` of a two-layer image. */
export const dockerImage = (): Json => ({
  schemaVersion: 2,
  mediaType: MediaTypes.DockerManifest,
  config: { mediaType: MediaTypes.DockerConfig, size: 1469, digest: digests.config },
  layers: [
    { mediaType: MediaTypes.DockerLayer, size: 3623807, digest: digests.layer1 },
    { mediaType: MediaTypes.DockerLayer, size: 32, digest: digests.layer2 },
  ],
});

/** `buildah push --format oci` style image with annotations. */
export const ociImage = (): Json => ({
  schemaVersion: 2,
  mediaType: MediaTypes.OciManifest,
  config: { mediaType: MediaTypes.OciConfig, digest: digests.config, size: 1469 },
  layers: [
    { mediaType: MediaTypes.OciLayerTarGzip, digest: digests.layer1, size: 3623807 },
    { mediaType: MediaTypes.OciLayerTarZstd, digest: digests.layer2, size: 100 },
  ],
  annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
});

/** A multi-platform OCI index (`docker buildx build --platform linux/amd64,linux/arm64/v8`). */
export const ociIndex = (): Json => ({
  schemaVersion: 2,
  mediaType: MediaTypes.OciIndex,
  manifests: [
    {
      mediaType: MediaTypes.OciManifest,
      digest: digests.amd64,
      size: 1000,
      platform: { architecture: 'amd64', os: 'linux' },
    },
    {
      mediaType: MediaTypes.OciManifest,
      digest: digests.arm64,
      size: 1001,
      platform: { architecture: 'arm64', os: 'linux', variant: 'v8', 'os.features': ['x'], 'os.version': '1' },
      annotations: { 'vnd.example.note': 'arm' },
    },
  ],
  annotations: { 'org.opencontainers.image.ref.name': 'v1' },
});

/** A Docker manifest list, as `docker manifest push` sends it (platform has Docker's extra `features`). */
export const dockerManifestList = (): Json => ({
  schemaVersion: 2,
  mediaType: MediaTypes.DockerManifestList,
  manifests: [
    {
      mediaType: MediaTypes.DockerManifest,
      digest: digests.amd64,
      size: 528,
      platform: { architecture: 'amd64', os: 'linux', features: ['sse4'] },
    },
  ],
});

/** `oras attach --artifact-type application/vnd.example.sbom.v1`: empty config, one blob, a subject. */
export const sbomArtifact = (): Json => ({
  schemaVersion: 2,
  mediaType: MediaTypes.OciManifest,
  artifactType: 'application/vnd.example.sbom.v1',
  config: { ...OCI_EMPTY_DESCRIPTOR },
  layers: [{ mediaType: 'application/spdx+json', digest: digests.sbom, size: 4096 }],
  subject: { mediaType: MediaTypes.OciManifest, digest: digests.subject, size: 1234 },
  annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
});

/** `helm push chart-0.1.0.tgz oci://…`. */
export const helmChart = (): Json => ({
  schemaVersion: 2,
  config: { mediaType: MediaTypes.HelmConfig, digest: digests.config, size: 117 },
  layers: [{ mediaType: MediaTypes.HelmChartContent, digest: digests.chart, size: 3610 }],
  annotations: { 'org.opencontainers.image.title': 'chart' },
});

/** A signed Docker schema1 manifest (what `docker push` sent before 1.10). */
export const schema1Manifest = (): Json => ({
  schemaVersion: 1,
  name: 'library/hello',
  tag: 'latest',
  architecture: 'amd64',
  fsLayers: [{ blobSum: digests.layer1 }],
  history: [{ v1Compatibility: '{"id":"abc"}' }],
  signatures: [{ header: { alg: 'ES256' }, signature: 'sig', protected: 'prot' }],
});
