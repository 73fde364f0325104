import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { DATA_SOURCE } from '@berth/db';
import { RegistryError } from '@berth/oci';
import { ROOT_LOGGER, sendRegistryError } from '@berth/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { lookUpUploadForLimits } from '../blobs/upload-sessions.service';
import { RegistryResolver } from '../registry/registry-resolver.service';
import { pullRouteOf } from '../routing/pull-route.util';
import { DataPlaneLimits, markRateCounted, rateCounted } from './data-plane-limits.service';

const DATA_PLANE = /^\/(v2|acr\/v1)(\/|$)/;
const UPLOAD = /^\/v2\/.+\/blobs\/uploads\/([0-9a-f-]{36})$/i;
const MANIFEST_OR_UPLOAD_START = /^\/v2\/.+\/(manifests\/[^/]+|blobs\/uploads\/?)$/;

/**
 * Enforces the tier limits on every data-plane request before routing, as a Fastify `onRequest` hook (so no
 * handler has to remember it): the registry's network rules and the storage limit for the bytes a request is about
 * to add (its Content-Length, plus what an upload already holds when it is continued or completed). Requests for an
 * unknown registry pass through untouched: the handlers answer them as before. The request rates (registry-wide and
 * per identity, one counter-store call) are counted once the caller is known, by the authorization guard; requests
 * answered before it are counted here when they end. Pulls (manifest and blob GET/HEAD) are not looked at here: the
 * pull fast path (V2FastPath) applies the network rules and the rates itself (pullRouteOf decides).
 */
@Injectable()
export class LimitsHook implements OnModuleInit {
  private readonly logger: Logger;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly registries: RegistryResolver,
    private readonly limits: DataPlaneLimits,
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(ROOT_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'limits-hook' });
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    // Callback style, so that requests it does not look at cost no promise. Pulls are the fast path's (V2FastPath
    // applies the same limits, counting the registry's and the caller's rates in one call once the caller is known).
    fastify.addHook('onRequest', (req, reply, done) => {
      if (pullRouteOf(req)) {
        done();
        return;
      }
      const path = req.url.split('?')[0] ?? '';
      if (!DATA_PLANE.test(path)) {
        done();
        return;
      }
      this.enforce(req, reply, path).then(
        (answered) => {
          // A request answered here goes no further (Fastify ends the hook chain when `done` is not called).
          if (!answered) done();
        },
        (err: unknown) => done(err as Error),
      );
    });
    // The request rates are counted by the authorization guard (or the pull fast path). A data-plane request answered
    // before either ran (a storage refusal here, a body Fastify refused, a path no route takes) is counted against
    // its registry once answered, so that it still spends the registry's budget.
    fastify.addHook('onResponse', (req, _reply, done) => {
      this.countIfUncounted(req);
      done();
    });
  }

  private countIfUncounted(req: FastifyRequest): void {
    if (rateCounted(req) || pullRouteOf(req)) return;
    const path = req.url.split('?')[0] ?? '';
    if (!DATA_PLANE.test(path)) return;
    const registry = this.registries.peek(req.headers.host);
    if (!registry) return;
    this.limits.checkRegistry(registry, this.limits.categories(req.method, path)).catch(() => undefined);
  }

  /** Resolves true when it answered (a refusal), false when the request goes on. */
  private async enforce(req: FastifyRequest, reply: FastifyReply, path: string): Promise<boolean> {
    let registry;
    try {
      registry = await this.registries.resolve(req.headers.host);
    } catch {
      return false;
    }
    try {
      try {
        await this.limits.checkNetwork(registry, req.ip);
      } catch (refused) {
        // Refused by the network rules: not counted in the request rates (as before the rates moved to the guard).
        markRateCounted(req);
        throw refused;
      }
      const { adds, usedBytes } = await this.bytesAdded(req, path, registry.id);
      if (adds > 0) await this.limits.checkStorage(registry, adds, usedBytes);
    } catch (caught) {
      // A dependency failing here (the database) is a 503 the client retries, as in the handlers.
      if (!(caught instanceof RegistryError)) this.logger.warn({ err: caught, path }, 'limits could not be checked');
      const err =
        caught instanceof RegistryError
          ? caught
          : new RegistryError('UNAVAILABLE', 'a dependency is unavailable, retry later');
      sendRegistryError(reply.header('Docker-Distribution-API-Version', 'registry/2.0'), err);
      return true;
    }
    return false;
  }

  /**
   * What the request is about to store: its body, and for an upload's PATCH or final PUT also the bytes the upload
   * already holds (an upload in progress is not in the registry's stored bytes yet). For those the session row and
   * the registry's stored bytes are read in one statement, and the row is kept for the upload handler
   * (lookUpUploadForLimits): `usedBytes` is then that sum.
   */
  private async bytesAdded(req: FastifyRequest, path: string, registryId: string): Promise<{ adds: number; usedBytes?: number }> {
    if (req.method !== 'PUT' && req.method !== 'PATCH' && req.method !== 'POST') return { adds: 0 };
    const declared = Number(req.headers['content-length'] ?? 0);
    const body = Number.isSafeInteger(declared) && declared > 0 ? declared : 0;
    const upload = UPLOAD.exec(path);
    if (upload?.[1] && (req.method === 'PUT' || req.method === 'PATCH')) {
      const { session, usedBytes } = await lookUpUploadForLimits(this.ds, req, registryId, upload[1]);
      return { adds: body + (session?.offsetBytes ?? 0), usedBytes };
    }
    return { adds: upload || MANIFEST_OR_UPLOAD_START.test(path) ? body : 0 };
  }
}
