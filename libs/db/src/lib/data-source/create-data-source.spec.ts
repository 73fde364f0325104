import { DB_ENTITIES } from '../entities';
import { DB_MIGRATIONS } from '../migrations';
import { buildDataSourceOptions, createDataSource, MIGRATIONS_TABLE } from './create-data-source';
import { SnakeNamingStrategy } from './snake-naming.strategy';

const URL = 'postgres://berth:pw@127.0.0.1:5432/berth';

describe('buildDataSourceOptions', () => {
  it('should never synchronise or migrate implicitly, and list entities and migrations explicitly', () => {
    const options = buildDataSourceOptions({ url: URL });
    expect(options).toMatchObject({
      type: 'postgres',
      synchronize: false,
      migrationsRun: false,
      migrationsTableName: MIGRATIONS_TABLE,
      installExtensions: false,
      logging: false,
    });
    expect(MIGRATIONS_TABLE).toBe('berth_migrations');
    expect(options.entities).toBe(DB_ENTITIES);
    expect(options.migrations).toBe(DB_MIGRATIONS);
    expect(DB_ENTITIES).toHaveLength(25);
    expect(options.namingStrategy).toBeInstanceOf(SnakeNamingStrategy);
  });

  it('should fail fast by default: short connect timeout, statement and idle-transaction timeouts', () => {
    const options = buildDataSourceOptions({ url: URL });
    expect(options.connectTimeoutMS).toBe(2_000);
    expect(options.poolSize).toBe(10);
    expect(options.applicationName).toBe('berth');
    expect(options.extra).toMatchObject({
      statement_timeout: 30_000,
      idle_in_transaction_session_timeout: 60_000,
      keepAlive: true,
      // Pooled connections outlive the gap between bursts of requests (no reconnect and SCRAM handshake per burst).
      idleTimeoutMillis: 300_000,
    });
  });

  it('should take overrides, and 0 to disable a server-side timeout', () => {
    const options = buildDataSourceOptions({
      url: URL,
      poolSize: 3,
      applicationName: 'token-service',
      statementTimeoutMs: 0,
      connectTimeoutMs: 500,
      idleInTransactionTimeoutMs: 0,
      idleTimeoutMs: 0,
    });
    expect(options).toMatchObject({ poolSize: 3, applicationName: 'token-service', connectTimeoutMS: 500 });
    expect(options.extra).toMatchObject({ idleTimeoutMillis: 0 });
    expect(options.extra).not.toHaveProperty('statement_timeout');
    expect(options.extra).not.toHaveProperty('idle_in_transaction_session_timeout');
  });

  it('should route TypeORM logging to the given logger, warning about slow queries', () => {
    const lines: string[] = [];
    const logger = {
      debug: (m: string) => lines.push(`debug ${m}`),
      info: (m: string) => lines.push(`info ${m}`),
      warn: (m: string) => lines.push(`warn ${m}`),
      error: (m: string) => lines.push(`error ${m}`),
    };
    const options = buildDataSourceOptions({ url: URL, logger, slowQueryMs: 250 });
    expect(options.maxQueryExecutionTime).toBe(250);
    expect(options.logging).toEqual(expect.arrayContaining(['error', 'warn', 'migration']));
  });

  it('should reject invalid settings without echoing the password', () => {
    expect(() => buildDataSourceOptions({ url: URL, poolSize: 0 })).toThrow(/poolSize/);
    expect(() => buildDataSourceOptions({ url: URL, connectTimeoutMs: -1 })).toThrow(/connectTimeoutMs/);
    expect(() => buildDataSourceOptions({ url: 'mysql://u:hunter2@h/db' })).toThrow(/postgres/);
    expect(() => buildDataSourceOptions({ url: 'mysql://u:hunter2@h/db' })).not.toThrow(/hunter2/);
  });
});

describe('createDataSource', () => {
  it('should return an unconnected DataSource', () => {
    expect(createDataSource({ url: URL }).isInitialized).toBe(false);
  });
});
