import { createHash, randomUUID } from 'node:crypto';
import { createDataSource } from '@berth/db';
import { migratedDatabase, stackEnv } from '@berth/testing';
import type { DataSource } from 'typeorm';
import { RepositoryRecords } from '../registry/repository-records.service';
import { BlobLinks } from './blob-links.service';
import { UploadSessions, type UploadSession } from './upload-sessions.service';

/*
 * The two statements of a pushed layer that batch under load (StatementBatcher): the POST's session insert
 * (UploadSessions.createIfWritable) and the PUT's record-link-close (BlobLinks.recordAndLinkExisting). Run against
 * the real PostgreSQL: every call of a burst must get the outcome its own statement would have given it, and the
 * burst must reach PostgreSQL as fewer statements than calls.
 */
describe('batched upload statements under a burst', () => {
  let db: { url: string; drop(): Promise<void> };
  let ds: DataSource;
  let sessions: UploadSessions;
  let links: BlobLinks;
  let registryId: string;
  let otherRegistryId: string;
  let statements: string[];

  const digestOf = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

  beforeAll(async () => {
    db = await migratedDatabase(stackEnv()['BERTH_DATABASE_URL'] ?? '', 'upload_batch');
    ds = createDataSource({ url: db.url, poolSize: 10 });
    await ds.initialize();
    sessions = new UploadSessions(ds);
    links = new BlobLinks(ds, new RepositoryRecords(ds));
    const [tenant] = (await ds.query(`INSERT INTO tenants (display_name) VALUES ('t') RETURNING id`)) as Array<{ id: string }>;
    const [sub] = (await ds.query(`INSERT INTO subscriptions (tenant_id, display_name) VALUES ($1, 's') RETURNING id`, [
      tenant?.id,
    ])) as Array<{ id: string }>;
    const [rg] = (await ds.query(
      `INSERT INTO resource_groups (subscription_id, name, location) VALUES ($1, 'rg', 'eastus') RETURNING id`,
      [sub?.id],
    )) as Array<{ id: string }>;
    const ids: string[] = [];
    for (const name of ['batchone', 'batchtwo']) {
      const [r] = (await ds.query(
        `INSERT INTO registries (subscription_id, resource_group_id, name, login_server, location, sku)
         VALUES ($1, $2, $3, $4, 'eastus', 'Premium') RETURNING id`,
        [sub?.id, rg?.id, name, `${name}.berth.localhost`],
      )) as Array<{ id: string }>;
      ids.push(String(r?.id));
    }
    [registryId, otherRegistryId] = ids as [string, string];
    const records = new RepositoryRecords(ds);
    for (const name of ['app', 'lib']) await records.findOrCreate(registryId, name);
    await records.findOrCreate(otherRegistryId, 'app');
    await ds.query(`UPDATE repositories SET write_enabled = false WHERE registry_id = $1 AND name = 'lib'`, [registryId]);

    // Every statement the pool sends, by prepared-statement name (or text, for unnamed ones).
    const pool = (ds.driver as unknown as { master: { query: (...args: unknown[]) => unknown } }).master;
    const original = pool.query.bind(pool);
    statements = [];
    pool.query = (...args: unknown[]) => {
      const first = args[0] as { name?: string; text?: string } | string;
      statements.push(typeof first === 'string' ? first : (first.name ?? first.text ?? ''));
      return original(...args);
    };
  }, 120_000);

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  beforeEach(() => statements.splice(0));

  it('creates the sessions of 60 concurrent POSTs, each with its own outcome, in fewer statements than POSTs', async () => {
    const asks = Array.from({ length: 60 }, (_, i) => {
      if (i % 10 === 3) return { registry: registryId, repo: 'lib', want: 'read-only' };
      if (i % 10 === 7) return { registry: registryId, repo: `missing-${i}`, want: 'missing' };
      if (i % 10 === 9) return { registry: otherRegistryId, repo: 'app', want: 'session' };
      return { registry: registryId, repo: 'app', want: 'session' };
    });

    const outcomes = await Promise.all(asks.map((a) => sessions.createIfWritable(a.registry, a.repo, 'eastus')));

    outcomes.forEach((outcome, i) => {
      const ask = asks[i] as (typeof asks)[number];
      if (ask.want !== 'session') {
        expect(outcome).toBe(ask.want);
        return;
      }
      const session = outcome as UploadSession;
      expect(session).toMatchObject({ registryId: ask.registry, repositoryName: ask.repo, region: 'eastus', storageUploadId: '', offsetBytes: 0 });
      expect(session.expiresAt.getTime() - session.startedAt.getTime()).toBe(24 * 60 * 60 * 1000);
    });
    const created = outcomes.filter((o): o is UploadSession => typeof o === 'object');
    expect(new Set(created.map((s) => s.id)).size).toBe(created.length);
    // Every session is in the table, as the registry and repository it was made for: find() sees it.
    for (const s of created) await expect(sessions.find(s.registryId, s.repositoryName, s.id)).resolves.toEqual(s);
    const [count] = (await ds.query(`SELECT count(*)::int AS n FROM upload_sessions`)) as Array<{ n: number }>;
    expect(count?.n).toBe(created.length);

    const inserts = statements.filter((s) => s.startsWith('berth-upload-session-create'));
    expect(inserts).toContain('berth-upload-session-create-many');
    expect(inserts.length).toBeLessThan(asks.length / 2);
  });

  it('records and links the blobs of 60 concurrent PUTs (some pushing the same layer), closing their sessions', async () => {
    const puts = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const registry = i % 10 === 9 ? otherRegistryId : registryId;
        const repo = i % 10 === 7 ? `missing-${i}` : 'app';
        const session = await sessions.createIfWritable(registry, 'app', 'eastus');
        // Every fifth PUT pushes a layer another PUT of the burst pushes too.
        const digest = digestOf(i % 5 === 0 ? 'shared layer' : `layer ${i}`);
        return { registry, repo, digest, size: 100 + i, session: (session as UploadSession).id };
      }),
    );
    statements.splice(0);

    const linked = await Promise.all(
      puts.map((p) => links.recordAndLinkExisting(p.registry, p.repo, { digest: p.digest, size: p.size }, 'eastus', p.session)),
    );

    expect(linked).toEqual(puts.map((p) => !p.repo.startsWith('missing-')));
    for (const p of puts) {
      const found = await links.findLinked(p.registry, 'app', p.digest, 'eastus', 'eastus');
      if (p.repo.startsWith('missing-')) {
        // Nothing changed for a PUT into a repository that does not exist: its session stays, no link was made.
        expect(found).toBeUndefined();
        await expect(sessions.find(p.registry, 'app', p.session)).resolves.toBeDefined();
      } else {
        expect(found).toMatchObject({ digest: p.digest, region: 'eastus' });
        await expect(sessions.find(p.registry, 'app', p.session)).resolves.toBeUndefined();
      }
    }
    // One blob row per registry and content: the shared layer is stored once per registry.
    const [blobs] = (await ds.query(`SELECT count(*)::int AS n FROM blobs WHERE digest = $1`, [digestOf('shared layer')])) as Array<{ n: number }>;
    expect(blobs?.n).toBe(1);

    const records = statements.filter((s) => s.startsWith('berth-blob-record-link-close'));
    expect(records).toContain('berth-blob-record-link-close-many');
    expect(records.length).toBeLessThan(puts.length / 2);
  });

  it('gives each call its own outcome when a batch fails: a session id that already exists fails alone', async () => {
    // Make every batched insert fail by taking the ids it would insert: a constraint violation spoils the batch,
    // which is then run call by call (the single statement lets PostgreSQL pick the id).
    const uuid = jest.spyOn(require('node:crypto') as { randomUUID: () => string }, 'randomUUID');
    const taken = randomUUID();
    await ds.query(
      `INSERT INTO upload_sessions (id, registry_id, repository_name, region, storage_upload_id, expires_at)
       VALUES ($1, $2, 'app', 'eastus', '', now() + interval '1 day')`,
      [taken, registryId],
    );
    uuid.mockReturnValue(taken as ReturnType<typeof randomUUID>);
    try {
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => sessions.createIfWritable(registryId, 'app', 'eastus')));
      expect(outcomes.every((o) => typeof o === 'object')).toBe(true);
      expect(new Set(outcomes.map((o) => (o as UploadSession).id)).size).toBe(20);
      expect(statements).toContain('berth-upload-session-create-many');
      // Every batch failed, so every call ran its own statement in the end.
      expect(statements.filter((name) => name === 'berth-upload-session-create')).toHaveLength(20);
    } finally {
      uuid.mockRestore();
    }
  });
});
