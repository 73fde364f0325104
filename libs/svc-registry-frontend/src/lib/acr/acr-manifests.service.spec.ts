import { indexReferences } from './acr-manifests.service';

describe(indexReferences.name, () => {
  it('lists the children of an index with their platforms', () => {
    const index = {
      manifests: [
        { digest: 'sha256:aa', platform: { architecture: 'amd64', os: 'linux' } },
        { digest: 'sha256:bb' },
        { nodigest: true },
      ],
    };
    expect(indexReferences(Buffer.from(JSON.stringify(index)))).toEqual([
      { digest: 'sha256:aa', architecture: 'amd64', os: 'linux' },
      { digest: 'sha256:bb' },
    ]);
    expect(indexReferences(Buffer.from('not json'))).toBeUndefined();
  });
});
