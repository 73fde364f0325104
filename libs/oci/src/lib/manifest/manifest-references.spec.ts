import { isHelmChart, referencesOf, referrerDescriptor } from './manifest-references';
import {
  type Json,
  bytesOf,
  digests,
  dockerImage,
  dockerManifestList,
  helmChart,
  ociImage,
  ociIndex,
  sbomArtifact,
  sha256Of,
} from './manifest.test-fixtures';
import { MediaTypes, OCI_EMPTY_DESCRIPTOR } from './media-types';
import { parseManifest } from './parse-manifest';

const parse = (m: Json, contentType = m['mediaType'] as string | undefined) => parseManifest(bytesOf(m), contentType);
const imageWithLayers = (layers: Json[]) => parse({ ...ociImage(), layers });
const foreign = sha256Of('foreign');

describe('referencesOf', () => {
  it('should require the config and layers of an image as blobs', () => {
    expect(referencesOf(parse(dockerImage()))).toEqual([
      { kind: 'blob', digest: digests.config, mediaType: MediaTypes.DockerConfig, size: 1469 },
      { kind: 'blob', digest: digests.layer1, mediaType: MediaTypes.DockerLayer, size: 3623807 },
      { kind: 'blob', digest: digests.layer2, mediaType: MediaTypes.DockerLayer, size: 32 },
    ]);
  });

  it('should list a repeated blob once, in first-seen order', () => {
    const layer = { mediaType: MediaTypes.DockerLayer, size: 32, digest: digests.layer2 };
    const m = { ...dockerImage(), layers: [layer, { ...layer }, { ...layer, digest: digests.layer1 }, layer] };
    expect(referencesOf(parse(m)).map((r) => r.digest)).toEqual([digests.config, digests.layer2, digests.layer1]);
  });

  it('should require the empty config of an artifact but not its subject', () => {
    const refs = referencesOf(parse(sbomArtifact()));
    expect(refs).toStrictEqual([
      { kind: 'blob', digest: OCI_EMPTY_DESCRIPTOR.digest, mediaType: MediaTypes.OciEmpty, size: 2 },
      { kind: 'blob', digest: digests.sbom, mediaType: 'application/spdx+json', size: 4096 },
    ]);
    expect(refs.map((r) => r.digest)).not.toContain(digests.subject);
  });

  it('should require only the config of an image without layers', () => {
    expect(referencesOf(parse({ ...sbomArtifact(), layers: [] }))).toHaveLength(1);
  });

  it('should require every child of an index as a manifest', () => {
    expect(referencesOf(parse(ociIndex()))).toEqual([
      { kind: 'manifest', digest: digests.amd64, mediaType: MediaTypes.OciManifest, size: 1000 },
      { kind: 'manifest', digest: digests.arm64, mediaType: MediaTypes.OciManifest, size: 1001 },
    ]);
    expect(referencesOf(parse(dockerManifestList()))).toEqual([
      { kind: 'manifest', digest: digests.amd64, mediaType: MediaTypes.DockerManifest, size: 528 },
    ]);
  });

  it('should require nothing for an empty index, and never its subject', () => {
    const index = {
      ...ociIndex(),
      manifests: [],
      subject: { mediaType: MediaTypes.OciManifest, digest: digests.subject, size: 1 },
    };
    expect(referencesOf(parse(index))).toEqual([]);
  });

  describe('layers with urls', () => {
    const layer = (mediaType: string, urls?: unknown[]): Json => ({
      mediaType,
      digest: foreign,
      size: 123456,
      ...(urls ? { urls } : {}),
    });
    const https = [`https://store.example.com/blobs/sha256/${foreign.slice(7)}`];

    it.each([
      MediaTypes.OciLayerNondistributableTar,
      MediaTypes.OciLayerNondistributableTarGzip,
      MediaTypes.OciLayerNondistributableTarZstd,
      MediaTypes.DockerForeignLayer,
    ])('should not require a %s layer hosted at http(s) urls', (mediaType) => {
      expect(referencesOf(imageWithLayers([layer(mediaType, https)])).map((r) => r.digest)).toEqual([digests.config]);
    });

    it('should still require the ordinary layers next to a non-distributable one (conformance data set)', () => {
      const normal = { mediaType: MediaTypes.OciLayerTarGzip, digest: digests.layer1, size: 5 };
      const refs = referencesOf(
        imageWithLayers([
          layer(MediaTypes.OciLayerNondistributableTarGzip, https),
          layer(MediaTypes.OciLayerNondistributableTar, ['http://x.example/b']),
          normal,
        ]),
      );
      expect(refs.map((r) => r.digest)).toEqual([digests.config, digests.layer1]);
    });

    it.each<[string, string, unknown[] | undefined]>([
      ['an ordinary layer, even with urls (as distribution)', MediaTypes.OciLayerTarGzip, ['https://x.example/b']],
      ['an ordinary Docker layer with urls', MediaTypes.DockerLayer, ['https://x.example/b']],
      ['a non-distributable layer without urls', MediaTypes.OciLayerNondistributableTarGzip, undefined],
      ['a non-distributable layer with empty urls', MediaTypes.OciLayerNondistributableTarGzip, []],
      ['a foreign layer without urls', MediaTypes.DockerForeignLayer, undefined],
      ['a foreign layer with an ftp url', MediaTypes.DockerForeignLayer, ['ftp://x.example/b']],
      ['a layer with a url fragment', MediaTypes.OciLayerNondistributableTar, ['https://x.example/b#frag']],
      ['a layer with a relative url', MediaTypes.OciLayerNondistributableTar, ['/blobs/b']],
      [
        'a layer with one good and one bad url',
        MediaTypes.OciLayerNondistributableTar,
        ['https://x.example/b', 'file:///etc/passwd'],
      ],
    ])('should require %s', (_label, mediaType, urls) => {
      expect(referencesOf(imageWithLayers([layer(mediaType, urls)])).map((r) => r.digest)).toEqual([
        digests.config,
        foreign,
      ]);
    });
  });

  it('should still require a blob whose content is embedded in data', () => {
    const m = { ...ociImage(), layers: [{ ...OCI_EMPTY_DESCRIPTOR }] };
    expect(referencesOf(parse(m)).map((r) => r.digest)).toContain(OCI_EMPTY_DESCRIPTOR.digest);
  });
});

describe('referrerDescriptor', () => {
  it('should use the manifest’s artifactType and copy its annotations', () => {
    const parsed = parse(sbomArtifact());
    expect(referrerDescriptor(parsed)).toStrictEqual({
      mediaType: MediaTypes.OciManifest,
      digest: parsed.digest,
      size: parsed.size,
      artifactType: 'application/vnd.example.sbom.v1',
      annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
    });
  });

  it('should fall back to the config media type for an image without artifactType', () => {
    const m: Json = {
      ...sbomArtifact(),
      config: ociImage()['config'],
      artifactType: undefined,
      annotations: undefined,
    };
    const parsed = parse(m);
    expect(referrerDescriptor(parsed)).toStrictEqual({
      mediaType: MediaTypes.OciManifest,
      digest: parsed.digest,
      size: parsed.size,
      artifactType: MediaTypes.OciConfig,
    });
  });

  it('should use an index’s artifactType', () => {
    const parsed = parse({ ...ociIndex(), artifactType: 'application/vnd.example.bundle' });
    expect(referrerDescriptor(parsed).artifactType).toBe('application/vnd.example.bundle');
  });

  it('should omit artifactType for an index without one', () => {
    const parsed = parse(ociIndex());
    const descriptor = referrerDescriptor(parsed);
    expect(descriptor).not.toHaveProperty('artifactType');
    expect(JSON.parse(JSON.stringify(descriptor))).toEqual({
      mediaType: MediaTypes.OciIndex,
      digest: parsed.digest,
      size: parsed.size,
      annotations: { 'org.opencontainers.image.ref.name': 'v1' },
    });
  });
});

describe('isHelmChart', () => {
  it('should recognise a Helm chart by its config media type', () => {
    expect(isHelmChart(parse(helmChart(), MediaTypes.OciManifest))).toBe(true);
  });
  it.each([
    ['an OCI image', ociImage()],
    ['a Docker image', dockerImage()],
    ['an artifact', sbomArtifact()],
    ['an index', ociIndex()],
  ])('should not take %s for a chart', (_label, m) => {
    expect(isHelmChart(parse(m))).toBe(false);
  });
});
