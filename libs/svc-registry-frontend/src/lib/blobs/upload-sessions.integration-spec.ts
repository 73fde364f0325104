import { createDataSource, runMigrations, startEmbeddedPostgres, type EmbeddedPostgresInstance } from '@berth/db';
import { freePort, seedRegistries } from '@berth/testing';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { DataSource } from 'typeorm';
import { UploadSessions } from './upload-sessions.service';

/**
 * The commit of a new upload session does not wait for a WAL flush, and nothing else does less: measured on the
 * embedded PostgreSQL (the local stack's server runs with fsync off, where no commit flushes), through
 * `pg_stat_io`'s count of WAL fsyncs (PostgreSQL 18).
 */
describe('UploadSessions: a new session commits without waiting for the WAL (embedded PostgreSQL)', () => {
  let base: string;
  let pg: EmbeddedPostgresInstance | undefined;
  let ds: DataSource;
  let sessions: UploadSessions;
  let registryId: string;

  const walSyncs = async (): Promise<number> => {
    // This session's own counts reach the shared statistics when it next reports them (at most once a second).
    await ds.query(`SELECT pg_stat_force_next_flush()`);
    await ds.query(`SELECT 1`);
    const rows = (await ds.query(`SELECT coalesce(sum(fsyncs), 0)::text AS n FROM pg_stat_io WHERE object = 'wal'`)) as Array<{ n: string }>;
    return Number(rows[0]?.n);
  };

  beforeAll(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'berth-upload-sessions-'));
    // As root the server runs as the OS user "postgres", which must be able to enter the folder.
    await chmod(base, 0o755);
    pg = await startEmbeddedPostgres({ dataDir: path.join(base, 'postgres'), port: await freePort(), startTimeoutMs: 60_000 });
    // One connection: the statements below and the SHOW after them run on the same server session.
    ds = createDataSource({ url: pg.url, poolSize: 1 });
    await ds.initialize();
    await runMigrations(ds);
    registryId = (await seedRegistries(ds, ['sessions'])).registryIds['sessions'] ?? '';
    await ds.query(`INSERT INTO repositories (registry_id, name) VALUES ($1, 'app')`, [registryId]);
    sessions = new UploadSessions(ds);
  }, 120_000);

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await pg?.stop();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('flushes the WAL for none of 20 new sessions, where 20 ordinary commits flush it each time', async () => {
    // The control: the same server flushes on an ordinary commit (fsync on, synchronous_commit on).
    const c0 = await walSyncs();
    for (let i = 0; i < 20; i++) await ds.query(`INSERT INTO tenants (display_name) VALUES ('control')`);
    expect((await walSyncs()) - c0).toBeGreaterThanOrEqual(20);

    const s0 = await walSyncs();
    const created = [];
    for (let i = 0; i < 10; i++) created.push(await sessions.createIfWritable(registryId, 'app', 'eastus'));
    for (let i = 0; i < 10; i++) created.push(await sessions.create(registryId, 'app', 'eastus'));
    // The WAL writer may flush in the background meanwhile (every 200 ms): a few, never one per session.
    expect((await walSyncs()) - s0).toBeLessThan(5);
    expect(new Set(created.map((c) => (typeof c === 'string' ? c : c.id))).size).toBe(20);
    for (const c of created) {
      if (typeof c === 'string') throw new Error(`no session: ${c}`);
      expect(await sessions.find(registryId, 'app', c.id)).toMatchObject({ id: c.id, offsetBytes: 0 });
    }
  });

  it('keeps the setting to the statement: the pooled connection commits synchronously again afterwards', async () => {
    await sessions.createIfWritable(registryId, 'app', 'eastus');
    expect(await ds.query(`SHOW synchronous_commit`)).toEqual([{ synchronous_commit: 'on' }]);
    // A session's first append records its storage upload synchronously: that commit flushes (and with it the WAL of
    // the session's own asynchronous insert, which comes before it in the log).
    const session = await sessions.create(registryId, 'app', 'eastus');
    const s0 = await walSyncs();
    expect(await sessions.recordBegun(session.id, registryId, 'storage-upload-1', 10)).toBe(true);
    expect((await walSyncs()) - s0).toBeGreaterThanOrEqual(1);
  });
});
