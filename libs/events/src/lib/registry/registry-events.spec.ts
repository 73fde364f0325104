import { REGISTRY_EVENT_TYPES, REGISTRY_EVENT_VERSION, buildRegistryEvent } from './registry-events';

describe(buildRegistryEvent.name, () => {
  const request = { id: 'r1', host: 'reg.berth.localhost', method: 'PUT', useragent: 'docker/27' };
  const target = { mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 10, length: 10, digest: 'sha256:ab', repository: 'app', tag: 'v1' };

  it('should wrap the ACR webhook payload in a versioned envelope whose id is the event id', () => {
    const now = new Date('2026-01-01T00:00:00.000Z');
    const env = buildRegistryEvent({ registryId: 'reg-1', action: 'push', target, request }, now);
    expect(env).toMatchObject({ type: REGISTRY_EVENT_TYPES.push, version: REGISTRY_EVENT_VERSION, registryId: 'reg-1', occurredAt: now.toISOString() });
    expect(env.data).toEqual({ id: env.id, timestamp: now.toISOString(), action: 'push', target, request });
    expect(env.traceparent).toBeUndefined();
  });

  it('should carry the traceparent on the envelope and keep it out of the ACR request object', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const env = buildRegistryEvent({ registryId: 'r', action: 'delete', target, request: { ...request, traceparent } });
    expect(env.traceparent).toBe(traceparent);
    expect(env.data.request).toEqual(request);
    expect(env.type).toBe('ImageDeleted');
  });

  it('should leave the request object out of chart events, as ACR chart payloads carry none', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const env = buildRegistryEvent({ registryId: 'r', action: 'chart_delete', target, request: { ...request, traceparent } });
    expect(env.type).toBe('ChartDeleted');
    expect(env.traceparent).toBe(traceparent);
    expect(env.data).not.toHaveProperty('request');
  });

  it('should give every event a new id', () => {
    const a = buildRegistryEvent({ registryId: 'r', action: 'delete', target, request });
    const b = buildRegistryEvent({ registryId: 'r', action: 'delete', target, request });
    expect(a.id).not.toBe(b.id);
  });
});
