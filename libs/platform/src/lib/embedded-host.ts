import type { BerthConfig } from '@berth/config';
import { startEmbeddedPostgres } from '@berth/db';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';

/**
 * The embedded default's preparation: a real PostgreSQL in `<data>/postgres`, started by this process on a
 * free loopback port (data survives restarts; the port need not), unless BERTH_DATABASE_URL names one.
 */
export async function prepareEmbedded(
  config: BerthConfig,
  logger: Logger,
): Promise<{ config: BerthConfig; cleanup?: () => Promise<void> }> {
  // Traversable (not listable by others): as root, the embedded Postgres runs as the `postgres` OS user and must
  // reach <data>/postgres. Secrets inside (bootstrap.json, TLS keys, the Postgres password) are 0600 files.
  await mkdir(config.dataDir, { recursive: true, mode: 0o711 });
  if (!config.database.embedded) return { config };
  const log = logger.child({ component: 'embedded-postgres' });
  const started = Date.now();
  const pg = await startEmbeddedPostgres({
    dataDir: path.join(config.dataDir, 'postgres'),
    port: await freeLoopbackPort(),
    logger: {
      debug: (m) => log.debug(m),
      info: (m) => log.info(m),
      warn: (m) => log.warn(m),
      error: (m) => log.error(m),
    },
  });
  log.info({ ms: Date.now() - started }, 'embedded postgres ready');
  return {
    config: { ...config, database: { ...config.database, url: pg.url } },
    cleanup: () => pg.stop(),
  };
}

/** A free TCP port on 127.0.0.1 (the OS picks it; there is a small window before the caller binds it). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no free port'))));
    });
  });
}
