import { chartIdentity, imagePlatform } from './config-metadata';

describe(imagePlatform.name, () => {
  it('reads architecture and os strings, null otherwise', () => {
    expect(imagePlatform({ architecture: 'arm64', os: 'linux', variant: 'v8' })).toEqual({ architecture: 'arm64', os: 'linux' });
    expect(imagePlatform({ architecture: 5, os: '' })).toEqual({ architecture: null, os: null });
    expect(imagePlatform(undefined)).toEqual({ architecture: null, os: null });
  });
});

describe(chartIdentity.name, () => {
  const annotations = { 'org.opencontainers.image.title': 'web', 'org.opencontainers.image.version': '1.2.3' };
  it('prefers the annotations Helm writes, then the chart config, then repository and tag', () => {
    expect(chartIdentity(annotations, { name: 'other', version: '9' }, 'charts/x', 't')).toEqual({ name: 'web', version: '1.2.3' });
    expect(chartIdentity(undefined, { name: 'db', version: '2.0.0' }, 'charts/x', 't')).toEqual({ name: 'db', version: '2.0.0' });
    expect(chartIdentity(null, undefined, 'team/charts/redis', '7.1.0')).toEqual({ name: 'redis', version: '7.1.0' });
    expect(chartIdentity(null, { name: 42 }, 'redis', undefined)).toEqual({ name: 'redis' });
  });
});
