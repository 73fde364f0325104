import { createHash } from 'node:crypto';
import { RegistryError } from '../errors';
import { ManifestInvalidError } from './manifest-invalid.error';
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
  schema1Manifest,
  sha256Of,
} from './manifest.test-fixtures';
import { MediaTypes, OCI_EMPTY_DESCRIPTOR } from './media-types';
import { MAX_MANIFEST_BYTES, assertManifestSize, parseManifest } from './parse-manifest';

const OCI = MediaTypes.OciManifest;
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Runs `fn`, expecting a ManifestInvalidError, and returns it. */
function refusal(fn: () => unknown): ManifestInvalidError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestInvalidError);
    expect(err).toBeInstanceOf(RegistryError);
    return err as ManifestInvalidError;
  }
  throw new Error('expected a ManifestInvalidError, but nothing was thrown');
}

/** An OCI image whose first layer is replaced by `layer`. */
function withLayer(layer: unknown): Json {
  const m = ociImage();
  (m['layers'] as unknown[])[0] = layer;
  return m;
}
const goodLayer = (): Json => ({ mediaType: MediaTypes.OciLayerTarGzip, digest: digests.layer1, size: 10 });

describe('parseManifest', () => {
  describe('accepted manifests', () => {
    it('should parse a Docker schema2 image', () => {
      const bytes = bytesOf(dockerImage());
      const parsed = parseManifest(bytes, MediaTypes.DockerManifest);
      expect(parsed).toEqual({
        kind: 'image',
        mediaType: MediaTypes.DockerManifest,
        digest: sha256(bytes),
        size: bytes.length,
        schemaVersion: 2,
        config: { mediaType: MediaTypes.DockerConfig, size: 1469, digest: digests.config },
        layers: [
          { mediaType: MediaTypes.DockerLayer, size: 3623807, digest: digests.layer1 },
          { mediaType: MediaTypes.DockerLayer, size: 32, digest: digests.layer2 },
        ],
      });
      expect(Object.keys(parsed)).not.toEqual(expect.arrayContaining(['subject', 'artifactType', 'annotations']));
    });

    it('should parse an OCI image and ignore Content-Type parameters and case', () => {
      const bytes = bytesOf(ociImage());
      const parsed = parseManifest(bytes, ' Application/VND.oci.image.manifest.v1+json ; charset=utf-8');
      expect(parsed.kind).toBe('image');
      expect(parsed.mediaType).toBe(OCI);
      expect(parsed.annotations).toEqual({ 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' });
      expect(parsed.kind === 'image' && parsed.layers.map((l) => l.mediaType)).toEqual([
        MediaTypes.OciLayerTarGzip,
        MediaTypes.OciLayerTarZstd,
      ]);
    });

    it('should take the media type from the body when there is no Content-Type', () => {
      expect(parseManifest(bytesOf(ociImage()), undefined).mediaType).toBe(OCI);
      expect(parseManifest(bytesOf(ociImage()), '').mediaType).toBe(OCI);
      expect(parseManifest(bytesOf(ociImage()), '  ; x=y').mediaType).toBe(OCI);
    });

    it('should take the media type from Content-Type when the body has no mediaType (Helm)', () => {
      const parsed = parseManifest(bytesOf(helmChart()), OCI);
      expect(parsed.mediaType).toBe(OCI);
      expect(parsed.kind === 'image' && parsed.config.mediaType).toBe(MediaTypes.HelmConfig);
    });

    it('should take an OCI index media type from Content-Type when the body has none', () => {
      const { mediaType: _omit, ...index } = ociIndex();
      expect(parseManifest(bytesOf(index), MediaTypes.OciIndex).kind).toBe('index');
    });

    it('should parse an OCI index with platforms and annotations', () => {
      const parsed = parseManifest(bytesOf(ociIndex()), MediaTypes.OciIndex);
      if (parsed.kind !== 'index') throw new Error('expected an index');
      expect(parsed.mediaType).toBe(MediaTypes.OciIndex);
      expect(parsed.annotations).toEqual({ 'org.opencontainers.image.ref.name': 'v1' });
      expect(parsed.manifests).toEqual([
        { mediaType: OCI, digest: digests.amd64, size: 1000, platform: { architecture: 'amd64', os: 'linux' } },
        {
          mediaType: OCI,
          digest: digests.arm64,
          size: 1001,
          platform: { architecture: 'arm64', os: 'linux', variant: 'v8', 'os.features': ['x'], 'os.version': '1' },
          annotations: { 'vnd.example.note': 'arm' },
        },
      ]);
    });

    it('should parse a Docker manifest list, keeping unknown platform members in the platform', () => {
      const parsed = parseManifest(bytesOf(dockerManifestList()), MediaTypes.DockerManifestList);
      if (parsed.kind !== 'index') throw new Error('expected an index');
      expect(parsed.mediaType).toBe(MediaTypes.DockerManifestList);
      expect(parsed.manifests[0].platform).toEqual({ architecture: 'amd64', os: 'linux', features: ['sse4'] });
    });

    it('should parse an artifact with the empty config, embedded data, artifactType and subject', () => {
      const parsed = parseManifest(bytesOf(sbomArtifact()), OCI);
      if (parsed.kind !== 'image') throw new Error('expected an image');
      expect(parsed.artifactType).toBe('application/vnd.example.sbom.v1');
      expect(parsed.config).toEqual(OCI_EMPTY_DESCRIPTOR);
      expect(parsed.subject).toEqual({ mediaType: OCI, digest: digests.subject, size: 1234 });
    });

    it('should parse an index with artifactType and subject', () => {
      const index = {
        ...ociIndex(),
        artifactType: 'application/vnd.example.bundle',
        subject: sbomArtifact()['subject'],
      };
      const parsed = parseManifest(bytesOf(index), MediaTypes.OciIndex);
      expect(parsed.artifactType).toBe('application/vnd.example.bundle');
      expect(parsed.subject?.digest).toBe(digests.subject);
    });

    it.each([
      ['empty', []],
      ['null', null],
      ['absent', undefined],
    ])('should read %s layers as no layers', (_label, layers) => {
      const parsed = parseManifest(bytesOf({ ...sbomArtifact(), layers }), OCI);
      expect(parsed.kind === 'image' && parsed.layers).toEqual([]);
    });

    it.each([
      ['empty', []],
      ['null', null],
      ['absent', undefined],
    ])('should read %s manifests as an empty index', (_label, manifests) => {
      const parsed = parseManifest(bytesOf({ ...ociIndex(), manifests }), MediaTypes.OciIndex);
      expect(parsed.kind === 'index' && parsed.manifests).toEqual([]);
    });

    it('should read null optional members as absent, as Go decoders do', () => {
      const m = {
        ...ociImage(),
        subject: null,
        artifactType: null,
        annotations: null,
        manifests: null,
        config: { ...(ociImage()['config'] as Json), urls: null, annotations: null, data: null, artifactType: null },
      };
      const parsed = parseManifest(bytesOf(m), OCI);
      expect(parsed).not.toHaveProperty('subject');
      expect(parsed).not.toHaveProperty('annotations');
      expect(parsed.kind === 'image' && parsed.config).toEqual({
        mediaType: MediaTypes.OciConfig,
        digest: digests.config,
        size: 1469,
      });
    });

    it('should accept unknown members and digest the exact bytes that carry them', () => {
      const custom = {
        ...ociIndex(),
        'vnd.example.custom': { nested: [1, 2, 3] },
        manifests: (ociIndex()['manifests'] as Json[]).map((d) => ({ ...d, 'vnd.example.extra': true })),
      };
      const bytes = Buffer.from(JSON.stringify(custom));
      const copy = Buffer.from(bytes);
      const parsed = parseManifest(bytes, MediaTypes.OciIndex);
      expect(parsed.digest).toBe(sha256(bytes));
      expect(bytes.equals(copy)).toBe(true);
      expect(parsed.kind === 'index' && parsed.manifests[0]).not.toHaveProperty('vnd.example.extra');
      // Whitespace is content: the digest is over the bytes, never a re-serialisation.
      expect(parseManifest(bytesOf(custom), MediaTypes.OciIndex).digest).not.toBe(parsed.digest);
    });

    it('should keep a Docker manifest’s OCI-only members uninterpreted, even malformed ones', () => {
      const m = { ...dockerImage(), subject: 'not a descriptor', artifactType: 42, annotations: [1] };
      const parsed = parseManifest(bytesOf(m), MediaTypes.DockerManifest);
      expect(parsed).not.toHaveProperty('subject');
      expect(parsed).not.toHaveProperty('artifactType');
      expect(parsed).not.toHaveProperty('annotations');
    });

    it('should digest with sha512 when asked', () => {
      const bytes = bytesOf(ociImage());
      const parsed = parseManifest(bytes, OCI, { algorithm: 'sha512' });
      expect(parsed.digest).toBe(`sha512:${createHash('sha512').update(bytes).digest('hex')}`);
    });

    it('should accept sha512 descriptors and an unknown artifactType', () => {
      const sha512 = `sha512:${createHash('sha512').update('x').digest('hex')}`;
      const m = withLayer({ ...goodLayer(), digest: sha512, artifactType: 'application/vnd.never.seen+json' });
      expect(parseManifest(bytesOf(m), OCI).kind).toBe('image');
    });

    it('should verify data against a sha512 digest', () => {
      const content = Buffer.from('hello');
      const sha512 = `sha512:${createHash('sha512').update(content).digest('hex')}`;
      const m = withLayer({ ...goodLayer(), digest: sha512, size: 5, data: content.toString('base64') });
      expect(parseManifest(bytesOf(m), OCI).kind).toBe('image');
    });

    it('should accept a manifest near the limit, like the conformance large manifest', () => {
      const annotations: Record<string, string> = {};
      for (let i = 0; i < 390; i++) annotations[`org.example.${i}`] = 'a'.repeat(10_000);
      const bytes = bytesOf({ ...ociImage(), annotations });
      expect(bytes.length).toBeGreaterThan(3_900_000);
      expect(bytes.length).toBeLessThanOrEqual(MAX_MANIFEST_BYTES);
      expect(parseManifest(bytes, OCI).size).toBe(bytes.length);
    });
  });

  describe('body and media type refusals', () => {
    it.each<[string, Buffer, string | undefined, RegExp]>([
      ['an empty body', Buffer.alloc(0), OCI, /body is empty/],
      ['garbage', Buffer.from('this is not json'), OCI, /not valid UTF-8 JSON/],
      ['truncated JSON', bytesOf(ociImage()).subarray(0, 40), OCI, /not valid UTF-8 JSON/],
      ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), OCI, /not valid UTF-8 JSON/],
      ['a byte-order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytesOf(ociImage())]), OCI, /JSON/],
      ['a JSON array', Buffer.from('[]'), OCI, /must be a JSON object, not array/],
      ['a JSON string', Buffer.from('"manifest"'), OCI, /must be a JSON object, not string/],
      ['JSON null', Buffer.from('null'), OCI, /must be a JSON object, not null/],
      ['a JSON number', Buffer.from('2'), OCI, /must be a JSON object, not number/],
      ['schema1 (schemaVersion 1)', bytesOf(schema1Manifest()), MediaTypes.DockerSchema1SignedManifest, /schema1/],
      [
        'schema1 (Content-Type only)',
        bytesOf({ ...schema1Manifest(), schemaVersion: 2 }),
        MediaTypes.DockerSchema1Manifest,
        /schema1/,
      ],
      [
        'schema1 (mediaType member)',
        bytesOf({ ...ociImage(), mediaType: MediaTypes.DockerSchema1Manifest }),
        undefined,
        /schema1/,
      ],
      ['schema1 sent as application/json', bytesOf(schema1Manifest()), 'application/json', /schema1/],
      [
        'the draft artifact manifest',
        bytesOf({ ...ociImage(), mediaType: MediaTypes.OciArtifactManifestDraft }),
        undefined,
        /artifact manifest/,
      ],
      [
        'an unknown mediaType member',
        bytesOf({ ...ociImage(), mediaType: 'application/vnd.example+json' }),
        undefined,
        /unsupported manifest media type application\/vnd.example\+json/,
      ],
      [
        'an unknown Content-Type and no member',
        bytesOf(helmChart()),
        'application/json',
        /unsupported manifest media type application\/json/,
      ],
      [
        'no mediaType and no Content-Type',
        bytesOf(helmChart()),
        undefined,
        /absent and the request has no Content-Type/,
      ],
      [
        'mediaType vs Content-Type mismatch',
        bytesOf(ociImage()),
        MediaTypes.DockerManifest,
        /is application\/vnd.oci.image.manifest.v1\+json but the Content-Type is application\/vnd.docker/,
      ],
      [
        'a generic Content-Type that contradicts mediaType',
        bytesOf(ociImage()),
        'application/octet-stream',
        /but the Content-Type is application\/octet-stream/,
      ],
      [
        'a Docker manifest without its mediaType member',
        bytesOf({ ...dockerImage(), mediaType: undefined }),
        MediaTypes.DockerManifest,
        /required in a Docker manifest/,
      ],
      [
        'a Docker list without its mediaType member',
        bytesOf({ ...dockerManifestList(), mediaType: undefined }),
        MediaTypes.DockerManifestList,
        /required in a Docker manifest/,
      ],
      [
        'a non-string mediaType',
        bytesOf({ ...ociImage(), mediaType: 7 }),
        OCI,
        /mediaType: must be a string, not number/,
      ],
      ['no schemaVersion', bytesOf({ ...ociImage(), schemaVersion: undefined }), OCI, /schemaVersion: is required/],
      ['schemaVersion 3', bytesOf({ ...ociImage(), schemaVersion: 3 }), OCI, /schemaVersion: must be 2, not 3/],
      ['schemaVersion "2"', bytesOf({ ...ociImage(), schemaVersion: '2' }), OCI, /schemaVersion: must be 2/],
    ])('should refuse %s', (_label, bytes, contentType, message) => {
      const err = refusal(() => parseManifest(bytes, contentType));
      expect(err.code).toBe('MANIFEST_INVALID');
      expect(err.status).toBe(400);
      expect(err.message).toMatch(message);
      expect(err.detail.reason).toEqual(expect.any(String));
    });

    it('should never echo a large input in the error', () => {
      const err = refusal(() => parseManifest(Buffer.from(`{"x": "${'y'.repeat(1_000_000)}`), OCI));
      expect(err.message.length).toBeLessThan(400);
      expect(JSON.stringify(err.detail).length).toBeLessThan(400);
      const err2 = refusal(() => parseManifest(bytesOf({ ...ociImage(), mediaType: 'x'.repeat(100_000) }), undefined));
      expect(err2.message.length).toBeLessThan(400);
      expect(JSON.stringify(err2.detail).length).toBeLessThan(400);
    });

    it('should refuse a body one byte over 4 MiB with 413 before reading it', () => {
      const bytes = Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20);
      const err = refusal(() => parseManifest(bytes, OCI));
      expect(err.code).toBe('MANIFEST_INVALID');
      expect(err.status).toBe(413);
      expect(err.detail).toEqual(expect.objectContaining({ size: MAX_MANIFEST_BYTES + 1, limit: 4 * 1024 * 1024 }));
    });
  });

  describe('structure refusals', () => {
    it.each<[string, Json, string, RegExp]>([
      ['an index with config', { ...ociIndex(), config: ociImage()['config'] }, 'config', /not allowed in an index/],
      ['an index with layers', { ...ociIndex(), layers: [] }, 'layers', /not allowed in an index/],
      ['an image with manifests', { ...ociImage(), manifests: [] }, 'manifests', /not allowed in an image manifest/],
      ['an image without config', { ...ociImage(), config: undefined }, 'config', /is required/],
      ['an image with a null config', { ...ociImage(), config: null }, 'config', /is required/],
      [
        'a config that is not an object',
        { ...ociImage(), config: 'sha256:abc' },
        'config',
        /must be a descriptor object, not string/,
      ],
      ['layers that are not an array', { ...ociImage(), layers: {} }, 'layers', /must be an array, not object/],
      ['a layer that is not an object', withLayer(5), 'layers[0]', /not number/],
      ['manifests that are not an array', { ...ociIndex(), manifests: 'x' }, 'manifests', /must be an array/],
      [
        'an invalid subject',
        { ...sbomArtifact(), subject: { mediaType: OCI, digest: 'sha256:nope', size: 1 } },
        'subject.digest',
        /digest/,
      ],
      ['a subject that is not an object', { ...sbomArtifact(), subject: [] }, 'subject', /not array/],
      ['an invalid artifactType', { ...sbomArtifact(), artifactType: 'sbom' }, 'artifactType', /RFC 6838/],
      ['a non-string artifactType', { ...sbomArtifact(), artifactType: 1 }, 'artifactType', /must be a string/],
      [
        'annotations that are not an object',
        { ...ociImage(), annotations: ['a'] },
        'annotations',
        /must be an object of strings, not array/,
      ],
      [
        'a non-string annotation',
        { ...ociImage(), annotations: { a: 'ok', b: 1 } },
        'annotations["b"]',
        /must be a string, not number/,
      ],
    ])('should refuse %s', (_label, manifest, field, message) => {
      const contentType = manifest['mediaType'] as string;
      const err = refusal(() => parseManifest(bytesOf(manifest), contentType));
      expect(err.detail.field).toBe(field);
      expect(err.message).toMatch(message);
      expect(err.message.startsWith(`manifest invalid: ${field}: `)).toBe(true);
    });
  });

  describe('descriptor refusals', () => {
    const d = goodLayer;
    it.each<[string, unknown, string, RegExp]>([
      ['a missing mediaType', { ...d(), mediaType: undefined }, 'layers[0].mediaType', /is required/],
      ['a numeric mediaType', { ...d(), mediaType: 1 }, 'layers[0].mediaType', /must be a string, not number/],
      ['a mediaType with no subtype', { ...d(), mediaType: 'text' }, 'layers[0].mediaType', /RFC 6838/],
      ['a mediaType with a space', { ...d(), mediaType: 'application/x y' }, 'layers[0].mediaType', /RFC 6838/],
      [
        'a mediaType with parameters',
        { ...d(), mediaType: 'application/json; charset=utf-8' },
        'layers[0].mediaType',
        /RFC 6838/,
      ],
      [
        'a mediaType starting with a symbol',
        { ...d(), mediaType: '+application/json' },
        'layers[0].mediaType',
        /RFC 6838/,
      ],
      ['a missing digest', { ...d(), digest: undefined }, 'layers[0].digest', /is required/],
      ['a malformed digest', { ...d(), digest: 'sha256:xyz' }, 'layers[0].digest', /invalid sha256 digest/],
      [
        'an upper-case digest',
        { ...d(), digest: digests.layer1.toUpperCase().replace('SHA256', 'sha256') },
        'layers[0].digest',
        /invalid sha256 digest/,
      ],
      ['a digest without algorithm', { ...d(), digest: digests.layer1.slice(7) }, 'layers[0].digest', /invalid digest/],
      [
        'an unsupported algorithm',
        { ...d(), digest: 'md5:d41d8cd98f00b204e9800998ecf8427e' },
        'layers[0].digest',
        /unsupported digest algorithm md5/,
      ],
      ['a missing size', { ...d(), size: undefined }, 'layers[0].size', /is required/],
      ['a negative size', { ...d(), size: -1 }, 'layers[0].size', /non-negative integer/],
      ['a fractional size', { ...d(), size: 1.5 }, 'layers[0].size', /non-negative integer/],
      ['a string size', { ...d(), size: '10' }, 'layers[0].size', /non-negative integer/],
      ['an unsafe size', { ...d(), size: 2 ** 53 }, 'layers[0].size', /non-negative integer/],
      ['urls that are not an array', { ...d(), urls: 'https://x' }, 'layers[0].urls', /array of strings, not string/],
      ['a url that is not a string', { ...d(), urls: ['https://x', 3] }, 'layers[0].urls[1]', /not number/],
      ['annotations that are a string', { ...d(), annotations: 'x' }, 'layers[0].annotations', /object of strings/],
      ['an annotation that is null', { ...d(), annotations: { k: null } }, 'layers[0].annotations["k"]', /not null/],
      ['data that is not a string', { ...d(), data: [1] }, 'layers[0].data', /must be a string, not array/],
      ['data that is not base64', { ...d(), data: 'not base64!' }, 'layers[0].data', /not base64/],
      ['unpadded base64 data', { ...d(), data: 'e30' }, 'layers[0].data', /not base64/],
      ['url-safe base64 data', { ...d(), data: '-_-_' }, 'layers[0].data', /not base64/],
      [
        'data of the wrong size',
        { ...OCI_EMPTY_DESCRIPTOR, size: 3 },
        'layers[0].data',
        /decodes to 2 bytes but size is 3/,
      ],
      [
        'data of the wrong digest',
        { ...OCI_EMPTY_DESCRIPTOR, data: Buffer.from('[]').toString('base64') },
        'layers[0].data',
        /does not match the descriptor digest/,
      ],
      ['an invalid descriptor artifactType', { ...d(), artifactType: 'nope' }, 'layers[0].artifactType', /RFC 6838/],
    ])('should refuse %s', (_label, layer, field, message) => {
      const err = refusal(() => parseManifest(bytesOf(withLayer(layer)), OCI));
      expect(err.code).toBe('MANIFEST_INVALID');
      expect(err.detail.field).toBe(field);
      expect(err.message).toMatch(message);
    });

    it('should report a bad digest as MANIFEST_INVALID with a clipped digest in the detail', () => {
      const bad = `sha256:${'g'.repeat(1000)}`;
      const err = refusal(() => parseManifest(bytesOf(withLayer({ ...d(), digest: bad })), OCI));
      expect(err.code).toBe('MANIFEST_INVALID');
      expect(String(err.detail['digest']).length).toBeLessThanOrEqual(141);
    });

    it('should check config descriptors too', () => {
      const m = { ...ociImage(), config: { ...(ociImage()['config'] as Json), size: -5 } };
      expect(refusal(() => parseManifest(bytesOf(m), OCI)).detail.field).toBe('config.size');
    });

    it.each<[string, unknown, string, RegExp]>([
      ['a platform that is not an object', 'linux/amd64', 'manifests[0].platform', /must be an object, not string/],
      ['a platform without os', { architecture: 'amd64' }, 'manifests[0].platform.os', /is required/],
      ['a numeric architecture', { architecture: 64, os: 'linux' }, 'manifests[0].platform.architecture', /not number/],
      [
        'a non-string variant',
        { architecture: 'arm', os: 'linux', variant: 7 },
        'manifests[0].platform.variant',
        /not number/,
      ],
      [
        'a non-string os.version',
        { architecture: 'a', os: 'w', 'os.version': 10 },
        'manifests[0].platform["os.version"]',
        /not number/,
      ],
      [
        'os.features that are not an array',
        { architecture: 'a', os: 'w', 'os.features': 'x' },
        'manifests[0].platform["os.features"]',
        /array of strings/,
      ],
    ])('should refuse an index entry with %s', (_label, platform, field, message) => {
      const index = ociIndex();
      (index['manifests'] as Json[])[0]['platform'] = platform;
      const err = refusal(() => parseManifest(bytesOf(index), MediaTypes.OciIndex));
      expect(err.detail.field).toBe(field);
      expect(err.message).toMatch(message);
    });

    it('should refuse an index entry with a bad digest', () => {
      const index = ociIndex();
      (index['manifests'] as Json[])[1]['digest'] = sha256Of('x').slice(0, 20);
      expect(refusal(() => parseManifest(bytesOf(index), MediaTypes.OciIndex)).detail.field).toBe(
        'manifests[1].digest',
      );
    });
  });
});

describe('assertManifestSize', () => {
  it('should allow exactly 4 MiB', () => {
    expect(() => assertManifestSize(MAX_MANIFEST_BYTES)).not.toThrow();
    expect(() => assertManifestSize(0)).not.toThrow();
  });
  it('should refuse 4 MiB + 1 with MANIFEST_INVALID and status 413', () => {
    const err = refusal(() => assertManifestSize(MAX_MANIFEST_BYTES + 1));
    expect(err.code).toBe('MANIFEST_INVALID');
    expect(err.status).toBe(413);
    expect(err.name).toBe('ManifestInvalidError');
    expect(err.message).toBe('manifest invalid: manifest is 4194305 bytes; the limit is 4194304');
  });
});
