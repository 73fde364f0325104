import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { DataSource } from 'typeorm';
import { createScratchDatabase, type ScratchDatabase } from '../../testing/scratch-database';
import { TenantEntity } from '../entities';
import { DB_MIGRATIONS } from '../migrations';
import { DbHealth } from './db-health';
import { DbModule } from './db.module';
import { DATA_SOURCE } from './db.tokens';

/** A feature module that injects the DataSource without importing DbModule (it is global). */
@Injectable()
class TenantCounter {
  constructor(@Inject(DATA_SOURCE) readonly dataSource: DataSource) {}
  count(): Promise<number> {
    return this.dataSource.getRepository(TenantEntity).count();
  }
}
@Module({ providers: [TenantCounter], exports: [TenantCounter] })
class FeatureModule {}

describe(DbModule.name, () => {
  let db: ScratchDatabase;

  beforeAll(async () => {
    db = await createScratchDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('provides a connected, migrated DataSource to feature modules and closes it on shutdown', async () => {
    const warnings: string[] = [];
    const moduleRef = await Test.createTestingModule({
      imports: [
        DbModule.forRoot({
          url: db.url,
          runMigrations: true,
          logger: {
            debug: () => undefined,
            info: () => undefined,
            warn: (m) => warnings.push(m),
            error: (m) => warnings.push(m),
          },
        }),
        FeatureModule,
      ],
    }).compile();
    const app = await moduleRef.init();

    const counter = app.get(TenantCounter);
    expect(counter.dataSource.isInitialized).toBe(true);
    expect(await counter.count()).toBe(0);
    const applied = (await counter.dataSource.query('SELECT name FROM berth_migrations')) as { name: string }[];
    expect(applied.map((r) => r.name)).toEqual(DB_MIGRATIONS.map((m) => new m().name));

    const health = app.get(DbHealth);
    expect(health.name).toBe('postgres');
    await expect(health.ping()).resolves.toBeUndefined();

    await app.close();
    expect(counter.dataSource.isInitialized).toBe(false);
    await expect(health.ping()).rejects.toThrow(/^postgres is unavailable/);
    expect(warnings).toEqual([]);
  });

  it('opens warmConnections pooled connections after start (capped at the pool size), and none by default', async () => {
    const backends = async (ds: DataSource, name: string): Promise<number> => {
      const [row] = (await ds.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`, [
        name,
      ])) as Array<{ n: number }>;
      return row?.n ?? 0;
    };
    const start = async (
      name: string,
      warmConnections?: number,
    ): Promise<{ ds: DataSource; close: () => Promise<void> }> => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          DbModule.forRoot({ url: db.url, applicationName: name, poolSize: 4, warmConnections }),
          FeatureModule,
        ],
      }).compile();
      const app = await moduleRef.init();
      return { ds: app.get(TenantCounter).dataSource, close: () => app.close() };
    };
    const warm = await start('berth-warm-test', 9);
    const cold = await start('berth-cold-test');
    try {
      // Warming runs in the background: wait until its connections are open (the pool's size, not the 9 asked for).
      const deadline = Date.now() + 10_000;
      while ((await backends(cold.ds, 'berth-warm-test')) < 4 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(await backends(cold.ds, 'berth-warm-test')).toBe(4);
      // The cold pool has only the connection it used for start-up and the queries above.
      expect(await backends(cold.ds, 'berth-cold-test')).toBe(1);
    } finally {
      await warm.close();
      await cold.close();
    }
  });

  it('fails start-up with a message naming postgres when the database cannot be reached', async () => {
    const url = new URL(db.url);
    url.password = 'wrong-password';
    const moduleRef = Test.createTestingModule({
      imports: [DbModule.forRoot({ url: url.toString(), connectRetryMs: 1_000 })],
    });
    await expect(moduleRef.compile()).rejects.toThrow(/^postgres is unavailable: password authentication failed/);
  });
});
