import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ManifestCache } from '../manifests/manifest-cache';
import { RegistryResolver } from '../registry/registry-resolver.service';
import { parseV2Route } from './v2-route.util';

const MANIFEST = /^\/v2\/.+\/manifests\/[^/]+$/;
const ACR = /^\/acr\/v1\//;

/**
 * Read-your-writes for this process's own writes: every manifest PUT/DELETE and every `/acr/v1` write (tag and
 * manifest attributes, untag, repository delete) drops what the ManifestCache holds for it before its answer leaves
 * (an `onSend` hook: after the handler's transaction committed). Other processes' writes reach the cache through the
 * PostgreSQL notifications (RepositoryChanges), a few milliseconds after their commit; those arrive here too.
 */
@Injectable()
export class LocalWritesHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly registries: RegistryResolver,
    private readonly cache: ManifestCache,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onSend', (req, _reply, payload, done) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') this.invalidate(req);
      done(null, payload);
    });
  }

  /** Exposed for tests. */
  invalidate(req: FastifyRequest): void {
    const path = req.url.split('?')[0] ?? '';
    const isManifest = MANIFEST.test(path);
    if (!isManifest && !ACR.test(path)) return;
    const registry = this.registries.peek(req.headers.host);
    if (!registry) {
      // Not resolvable from memory any more: which registry is unknown, so nothing stays.
      this.cache.clear();
      return;
    }
    if (isManifest) {
      try {
        const route = parseV2Route(path);
        if (route.kind === 'manifest') {
          this.cache.repositoryNamed(registry.id, route.name);
          return;
        }
      } catch {
        // fall through: the whole registry
      }
    }
    this.cache.registryChanged(registry.id);
  }
}
