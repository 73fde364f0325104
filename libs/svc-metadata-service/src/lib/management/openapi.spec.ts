import { readFileSync } from 'node:fs';
import { matchRoute } from './arm/arm-route.util';
import { MANAGEMENT_ROUTES } from './management.controller';
import { MANAGEMENT_OPENAPI_FILE } from './openapi.controller';

const managementOpenApi = JSON.parse(readFileSync(MANAGEMENT_OPENAPI_FILE, 'utf8')) as {
  openapi: string;
  paths: Record<string, unknown>;
};

describe('docs/openapi/management.openapi.json', () => {
  const paths = Object.keys(managementOpenApi.paths);

  it('is an OpenAPI 3 document', () => {
    expect(managementOpenApi.openapi).toMatch(/^3\./);
  });

  it('describes only routes the controller serves', () => {
    const unrouted = paths.filter((p) => !matchRoute(MANAGEMENT_ROUTES, p));
    expect(unrouted).toEqual([]);
  });

  it('describes every route the controller serves', () => {
    const described = new Set(paths.map((p) => matchRoute(MANAGEMENT_ROUTES, p)?.key));
    expect(MANAGEMENT_ROUTES.map((r) => r.key).filter((k) => !described.has(k))).toEqual([]);
  });

  it('describes every registry action and child collection', () => {
    for (const action of [
      'listCredentials',
      'regenerateCredential',
      'generateCredentials',
      'listUsages',
      'importImage',
      'replications',
      'webhooks',
      'scopeMaps',
      'tokens',
    ]) {
      expect(paths.some((p) => p.endsWith(`/registries/{registryName}/${action}`))).toBe(true);
    }
  });
});
