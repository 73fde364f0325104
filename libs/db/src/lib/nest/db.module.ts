import { type DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import {
  createDataSource,
  DATA_SOURCE_DEFAULTS,
  type CreateDataSourceOptions,
} from '../data-source/create-data-source';
import { initializeDataSource } from '../data-source/ping-database';
import { runMigrations } from '../migrate/run-migrations';
import { DbHealth } from './db-health';
import { DATA_SOURCE, DB_MODULE_OPTIONS } from './db.tokens';

export interface DbModuleOptions extends CreateDataSourceOptions {
  /** Apply pending migrations at start (the embedded host does; distributed installs run a migrate Job). */
  runMigrations?: boolean;
  /** How long start-up keeps retrying while Postgres is not reachable yet. Default 30 000 ms. */
  connectRetryMs?: number;
  /**
   * Connections opened in the background once the DataSource is ready (at most `poolSize`), so that the first
   * burst of requests does not open them (a PostgreSQL backend start and a SCRAM handshake each). Default 0. For a
   * PostgreSQL that only this process uses (the embedded host's): on a shared server they would count against its
   * `max_connections` for every process.
   */
  warmConnections?: number;
}

/** Closes the DataSource when the application shuts down (after the modules that use it: this one is global). */
@Injectable()
export class DbLifecycle implements OnApplicationShutdown {
  constructor(@Inject(DATA_SOURCE) private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/** Opens `count` pooled connections at once and hands them back (idle, kept for the pool's idle timeout). Never rejects. */
export async function warmPool(dataSource: DataSource, count: number): Promise<void> {
  if (count <= 0) return;
  const pool = (dataSource.driver as unknown as { master?: WarmablePool }).master;
  if (!pool) return;
  const clients = await Promise.all(Array.from({ length: count }, () => pool.connect().catch(() => undefined)));
  for (const client of clients) client?.release();
}

interface WarmablePool {
  connect(): Promise<{ release(): void }>;
}

/**
 * The database for a Nest application: provides the connected DataSource under DATA_SOURCE and DbHealth. Import
 * `DbModule.forRoot(...)` once, in the application's root module; it is global, so the service modules inject
 * DATA_SOURCE without importing it. The DataSource is connected (and, if configured, migrated) while the module
 * initialises, before any provider that depends on it is created, and destroyed on application shutdown.
 */
@Module({})
export class DbModule {
  static forRoot(options: DbModuleOptions): DynamicModule {
    return {
      module: DbModule,
      global: true,
      providers: [
        { provide: DB_MODULE_OPTIONS, useValue: options },
        {
          provide: DATA_SOURCE,
          useFactory: async (): Promise<DataSource> => {
            const dataSource = createDataSource(options);
            await initializeDataSource(dataSource, {
              timeoutMs: options.connectRetryMs,
              onRetry: (error, attempt) =>
                options.logger?.warn(
                  `postgres is not reachable yet (attempt ${attempt}: ${error instanceof Error ? error.message : String(error)}); retrying`,
                ),
            });
            try {
              if (options.runMigrations) await runMigrations(dataSource);
            } catch (error) {
              await dataSource.destroy();
              throw error;
            }
            void warmPool(
              dataSource,
              Math.min(options.warmConnections ?? 0, options.poolSize ?? DATA_SOURCE_DEFAULTS.poolSize),
            );
            return dataSource;
          },
        },
        DbLifecycle,
        DbHealth,
      ],
      exports: [DATA_SOURCE, DB_MODULE_OPTIONS, DbHealth],
    };
  }
}
