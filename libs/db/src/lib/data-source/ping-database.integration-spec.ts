import type { DataSource } from 'typeorm';
import { eventually, waitUntil } from '../../testing/polling';
import { closedPort, TcpProxy } from '../../testing/tcp-proxy';
import { requireStackEnv } from '../../testing/scratch-database';
import { createDataSource } from './create-data-source';
import { DatabaseUnavailableError, initializeDataSource, pingDatabase } from './ping-database';
import { parsePostgresUrl } from './redact-url.util';

/** The stack's URL pointed at another port on 127.0.0.1 (same credentials and database). */
function urlOnPort(port: number): string {
  const url = new URL(requireStackEnv('BERTH_DATABASE_URL'));
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}

async function elapsed(work: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = Date.now();
  try {
    await work;
    return { ms: Date.now() - started, error: undefined };
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
}

describe('pingDatabase', () => {
  let ds: DataSource;
  let proxy: TcpProxy;

  beforeAll(async () => {
    const target = parsePostgresUrl(requireStackEnv('BERTH_DATABASE_URL'));
    proxy = new TcpProxy(target.host, target.port);
    await proxy.open();
    ds = createDataSource({ url: urlOnPort(proxy.port), applicationName: 'berth-db-ping-test' });
    await ds.initialize();
  });
  afterAll(async () => {
    await proxy?.close();
    await ds?.destroy();
  });

  it('resolves while Postgres answers', async () => {
    await expect(pingDatabase(ds)).resolves.toBeUndefined();
  });

  it('rejects within ~2 s naming postgres while the port is closed, and succeeds again on the same pool once it is back', async () => {
    await pingDatabase(ds);
    await proxy.close(); // the server "stops": pooled connections are cut, the port refuses new ones

    const down = await elapsed(pingDatabase(ds));
    expect(down.error).toBeInstanceOf(DatabaseUnavailableError);
    expect((down.error as Error).message).toMatch(/^postgres /);
    expect(down.ms).toBeLessThan(2_500);

    await proxy.open(); // the server "starts" again on the same port
    await eventually(() => pingDatabase(ds), 5_000);
    await expect(pingDatabase(ds)).resolves.toBeUndefined();
  });

  it('rejects within ~2 s when Postgres hangs (open connections and new ones get no answer), and recovers', async () => {
    await eventually(() => pingDatabase(ds), 5_000);
    proxy.freeze();
    try {
      for (let i = 0; i < 2; i++) {
        const hung = await elapsed(pingDatabase(ds));
        expect(hung.error).toBeInstanceOf(DatabaseUnavailableError);
        expect((hung.error as Error).message).toMatch(/^postgres did not answer within 2000 ms/);
        expect(hung.ms).toBeGreaterThanOrEqual(1_900);
        expect(hung.ms).toBeLessThan(2_500);
      }
    } finally {
      proxy.thaw();
    }
    await eventually(() => pingDatabase(ds), 5_000);
  });

  it('rejects at once, naming postgres, for a data source that is not connected', async () => {
    const idle = createDataSource({ url: urlOnPort(await closedPort()) });
    await expect(pingDatabase(idle)).rejects.toThrow(/^postgres is unavailable/);
  });
});

describe('initializeDataSource', () => {
  it('gives up on a closed port within its bound, naming postgres', async () => {
    const ds = createDataSource({ url: urlOnPort(await closedPort()) });
    const attempt = await elapsed(initializeDataSource(ds, { timeoutMs: 1_000, retryDelayMs: 200 }));
    expect(attempt.error).toBeInstanceOf(DatabaseUnavailableError);
    expect((attempt.error as Error).message).toMatch(/^postgres is unavailable: .*ECONNREFUSED/);
    expect(attempt.ms).toBeLessThan(2_500);
    expect(ds.isInitialized).toBe(false);
  });

  it('fails at once on wrong credentials (retrying cannot fix them) without echoing the password', async () => {
    const url = new URL(requireStackEnv('BERTH_DATABASE_URL'));
    url.password = 'definitely-not-the-password';
    const ds = createDataSource({ url: url.toString() });
    const attempt = await elapsed(initializeDataSource(ds, { timeoutMs: 10_000 }));
    expect((attempt.error as Error).message).toMatch(/^postgres is unavailable: password authentication failed/);
    expect((attempt.error as Error).message).not.toContain('definitely-not-the-password');
    expect(attempt.ms).toBeLessThan(2_500);
  });

  it('connects once Postgres becomes reachable during the retry window', async () => {
    const target = parsePostgresUrl(requireStackEnv('BERTH_DATABASE_URL'));
    const late = new TcpProxy(target.host, target.port);
    late.port = await closedPort();
    const ds = createDataSource({ url: urlOnPort(late.port) });
    const refused: unknown[] = [];
    try {
      const connecting = initializeDataSource(ds, {
        timeoutMs: 10_000,
        retryDelayMs: 100,
        onRetry: (error) => refused.push(error),
      });
      // Open the port only after an attempt was refused.
      await waitUntil(() => refused.length > 0, 5_000, 'an attempt was refused');
      await late.open();
      await connecting;
      await expect(pingDatabase(ds)).resolves.toBeUndefined();
    } finally {
      if (ds.isInitialized) await ds.destroy();
      await late.close();
    }
  });
});
