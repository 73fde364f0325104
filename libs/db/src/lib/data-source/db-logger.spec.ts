import { type DbLogger, TypeOrmDbLogger } from './db-logger';

function recorder(): DbLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    debug: (m) => lines.push(`debug: ${m}`),
    info: (m) => lines.push(`info: ${m}`),
    warn: (m) => lines.push(`warn: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
  };
}

describe(TypeOrmDbLogger.name, () => {
  it('should not log ordinary queries', () => {
    const log = recorder();
    new TypeOrmDbLogger(log).logQuery();
    expect(log.lines).toEqual([]);
  });

  it('should log slow queries at warn, flattened and shortened, without their parameters', () => {
    const log = recorder();
    const logger = new TypeOrmDbLogger(log);
    logger.logQuerySlow(1500, `SELECT *\n  FROM tags WHERE name = $1 ${'x'.repeat(1000)}`);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatch(/^warn: postgres query took 1500 ms: SELECT \* FROM tags WHERE name = \$1 x+…$/);
    expect(log.lines[0].length).toBeLessThan(600);
  });

  it('should log failed queries at debug (the caller decides) and map TypeORM levels', () => {
    const log = recorder();
    const logger = new TypeOrmDbLogger(log);
    logger.logQueryError(new Error('duplicate key'), 'INSERT INTO tags VALUES ($1)');
    logger.log('warn', 'pool error');
    logger.log('info', 'hello');
    logger.logMigration('Migration X has been executed successfully.');
    expect(log.lines).toEqual([
      'debug: postgres query failed: duplicate key (query: INSERT INTO tags VALUES ($1))',
      'warn: pool error',
      'info: hello',
      'info: Migration X has been executed successfully.',
    ]);
  });
});
