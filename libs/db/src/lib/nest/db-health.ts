import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { pingDatabase } from '../data-source/ping-database';
import { DATA_SOURCE } from './db.tokens';

/** Readiness of the database, for /readyz (register `() => dbHealth.ping()` under the name it carries). */
@Injectable()
export class DbHealth {
  /** The dependency name readiness reports use. */
  readonly name = 'postgres';

  constructor(@Inject(DATA_SOURCE) private readonly dataSource: DataSource) {}

  /**
   * Resolves when Postgres answers `SELECT 1`; rejects with a DatabaseUnavailableError naming postgres otherwise,
   * within about 2 s whatever the server's state. Succeeds again once Postgres is back (same pool, new connections).
   */
  ping(): Promise<void> {
    return pingDatabase(this.dataSource);
  }
}
