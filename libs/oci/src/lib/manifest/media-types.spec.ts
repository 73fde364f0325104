import { digestOf } from './digest-of';
import {
  MANIFEST_MEDIA_TYPES,
  MediaTypes,
  OCI_EMPTY_DESCRIPTOR,
  isIndexMediaType,
  isManifestMediaType,
  isValidMediaType,
  mediaTypeOfContentType,
} from './media-types';

describe('media types', () => {
  it('should describe the empty config exactly (sha256 of `{}`, base64 e30=)', () => {
    const bytes = Buffer.from(OCI_EMPTY_DESCRIPTOR.data, 'base64');
    expect(bytes.toString()).toBe('{}');
    expect(OCI_EMPTY_DESCRIPTOR.size).toBe(bytes.length);
    expect(digestOf(bytes)).toBe(OCI_EMPTY_DESCRIPTOR.digest);
    expect(OCI_EMPTY_DESCRIPTOR.mediaType).toBe('application/vnd.oci.empty.v1+json');
    expect(Object.isFrozen(OCI_EMPTY_DESCRIPTOR)).toBe(true);
  });

  it('should give every known media type valid RFC 6838 syntax', () => {
    for (const mediaType of Object.values(MediaTypes)) expect(isValidMediaType(mediaType)).toBe(true);
  });

  it.each(['application/vnd.example+json', 'text/plain', 'a/b', `a/${'b'.repeat(127)}`, 'application/x!#$&^_.+-'])(
    'should accept %s as a media type',
    (mediaType) => expect(isValidMediaType(mediaType)).toBe(true),
  );

  it.each(['', 'text', '/json', 'application/', 'a/b/c', 'a/b; x=y', ' a/b', '-a/b', `a/${'b'.repeat(128)}`, 'ä/b'])(
    'should refuse %j as a media type',
    (mediaType) => expect(isValidMediaType(mediaType)).toBe(false),
  );

  it('should tell manifest and index types apart', () => {
    expect(MANIFEST_MEDIA_TYPES.every(isManifestMediaType)).toBe(true);
    expect(isManifestMediaType(MediaTypes.DockerSchema1SignedManifest)).toBe(false);
    expect(isManifestMediaType(MediaTypes.OciArtifactManifestDraft)).toBe(false);
    expect(isManifestMediaType(MediaTypes.OciConfig)).toBe(false);
    expect(isIndexMediaType(MediaTypes.OciIndex)).toBe(true);
    expect(isIndexMediaType(MediaTypes.DockerManifestList)).toBe(true);
    expect(isIndexMediaType(MediaTypes.OciManifest)).toBe(false);
  });

  it.each<[string | undefined, string | undefined]>([
    [undefined, undefined],
    ['', undefined],
    ['   ', undefined],
    [';charset=utf-8', undefined],
    ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.manifest.v1+json'],
    ['Application/VND.OCI.Image.Index.v1+JSON; charset=utf-8', 'application/vnd.oci.image.index.v1+json'],
    ['  application/json ;a=b;c=d', 'application/json'],
  ])('should read the media type of Content-Type %j as %j', (header, expected) =>
    expect(mediaTypeOfContentType(header)).toBe(expected),
  );
});
