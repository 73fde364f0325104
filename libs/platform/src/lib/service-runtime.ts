import 'reflect-metadata';
import { type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { ConfigError, loadConfig, type BerthConfig, type RunMode } from '@berth/config';
import { flushTelemetry } from '@berth/telemetry';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createLogger, JsonNestLogger, routeProcessWarnings } from './json-logger';
import { installHttpTelemetry } from './metrics/http-telemetry';
import { resolveTls } from './tls-material';

/** What an app (a thin main.ts) tells the runtime about itself. */
export interface ServiceDefinition {
  /** The service name on every log line, e.g. `registry-frontend`, or `berth` for the embedded host. */
  name: string;
  mode: RunMode;
  /**
   * Runs before Nest starts: e.g. the embedded host starts its Postgres here and returns the config to use.
   * Whatever it returns in `cleanup` runs after the application has closed.
   */
  prepare?(config: BerthConfig, logger: Logger): Promise<{ config?: BerthConfig; cleanup?: () => Promise<void> }>;
  /** The root module, built from the validated config. */
  rootModule(config: BerthConfig, logger: Logger): DynamicModule;
}

export interface RunningService {
  readonly app: NestFastifyApplication;
  readonly config: BerthConfig;
  readonly logger: Logger;
  /** `http(s)://127.0.0.1:<port>` (the port actually bound, which matters when BERTH_PORT=0 in tests). */
  readonly url: string;
  /** Graceful stop: refuse new requests, finish in-flight ones, stop consumers, close connections. Idempotent. */
  stop(): Promise<void>;
}

/** Bodies the framework parses itself (JSON for the management API, forms for /oauth2). Everything else streams. */
const JSON_BODY_LIMIT = 4 * 1024 * 1024;

/** Starts one service (or the embedded host) from the environment. Throws ConfigError for bad settings. */
export async function startService(def: ServiceDefinition, env: NodeJS.ProcessEnv = process.env): Promise<RunningService> {
  let config = loadConfig(env, def.mode);
  const logger = createLogger(def.name, config.log.level);
  const restoreWarnings = routeProcessWarnings(logger);
  let prepared: Awaited<ReturnType<NonNullable<ServiceDefinition['prepare']>>>;
  try {
    prepared = def.prepare ? await def.prepare(config, logger) : {};
  } catch (e) {
    restoreWarnings();
    throw e;
  }
  config = prepared.config ?? config;
  const cleanup = prepared.cleanup ?? (() => Promise.resolve());

  try {
    const tls = await resolveTls(config);
    const options = {
      logger: false,
      bodyLimit: JSON_BODY_LIMIT,
      forceCloseConnections: 'idle' as const,
      return503OnClosing: true,
      genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
        const given = req.headers['x-request-id'];
        return typeof given === 'string' && /^[A-Za-z0-9._-]{1,128}$/.test(given) ? given : randomUUID();
      },
      routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1024 },
    };
    const adapter = tls
      ? new FastifyAdapter({ ...options, https: { key: tls.key, cert: tls.cert } })
      : new FastifyAdapter(options);
    const fastify = adapter.getInstance();
    installHttpTelemetry(adapter, def.name, tls ? 'https' : 'http');
    // Blob and manifest bodies stream to their handlers untouched (hashed and stored as they arrive).
    fastify.addContentTypeParser('*', (_req, _payload, done) => done(null));
    // Callback-style hooks: an async hook costs Fastify two promises per request (and each promise runs the
    // AsyncLocalStorage hooks tracing installs).
    fastify.addHook('onSend', (req, reply, payload, done) => {
      reply.header('x-request-id', req.id);
      done(null, payload);
    });
    const logRequests = logger.isLevelEnabled('info');
    fastify.addHook('onResponse', (req, reply, done) => {
      // The path only: query strings may carry tokens or signatures.
      if (logRequests)
        logger.info(
          { req: { id: req.id, method: req.method, path: req.url.split('?')[0] }, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
          'request',
        );
      done();
    });

    const app = await NestFactory.create<NestFastifyApplication>(def.rootModule(config, logger), adapter, {
      logger: new JsonNestLogger(logger.child({ component: 'nest' })),
      abortOnError: false,
    });
    await app.listen(config.http.port, config.http.host);
    const address = app.getHttpServer().address() as AddressInfo;
    const url = `${tls ? 'https' : 'http'}://127.0.0.1:${address.port}`;
    logger.info({ port: address.port, host: config.http.host, tls: config.tls.mode, mode: config.mode }, 'listening');

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        logger.info('shutting down: refusing new requests, draining in-flight ones');
        try {
          await fastify.close();
          await app.close();
        } finally {
          await flushTelemetry();
          await cleanup();
          logger.info('stopped');
          restoreWarnings();
        }
      })());
    return { app, config, logger, url, stop };
  } catch (e) {
    await cleanup();
    restoreWarnings();
    throw e;
  }
}

/**
 * The whole of an app's main.ts: start, then stop gracefully on SIGTERM/SIGINT within
 * BERTH_SHUTDOWN_TIMEOUT_MS. A bad setting ends the process with one clear line and exit code 1.
 */
export function main(def: ServiceDefinition): void {
  startService(def).then(
    (running) => {
      const onSignal = (signal: NodeJS.Signals): void => {
        running.logger.info({ signal }, 'signal received');
        const timer = setTimeout(() => {
          running.logger.error({ timeoutMs: running.config.shutdownTimeoutMs }, 'graceful shutdown timed out');
          process.exit(1);
        }, running.config.shutdownTimeoutMs);
        timer.unref();
        running.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            running.logger.error({ err }, 'error during shutdown');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
    },
    (err: unknown) => {
      const logger = createLogger(def.name, 'info');
      if (err instanceof ConfigError) logger.fatal({ problems: err.problems }, err.message);
      else logger.fatal({ err }, 'start-up failed');
      // Let pino flush its line before the process ends.
      setTimeout(() => process.exit(1), 50);
    },
  );
}
