import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a registry stores (the bytes of its blobs and manifests), kept in `usage_counters` by triggers so that the
 * storage-limit check reads a few rows instead of summing every blob and manifest of the registry on each write.
 *
 * Statement-level triggers on `blobs` and `manifests` add what each INSERT, DELETE or UPDATE changes, per
 * registry, in the same transaction, whoever writes (frontend, import, garbage collection). The total is spread over
 * 32 rows, metric `storage_bytes:<n>` with n = the backend's pid mod 32, so that concurrent pushes to one registry
 * do not all wait on one row lock; a reader sums the registry's `storage_bytes:%` rows (a row may go negative when
 * a delete runs on another backend than the insert; only the sum means anything). Rows of a registry that is being
 * deleted are not recreated (the cascade removes them). The migration fills the counters from the current rows.
 */
const TABLES = ['blobs', 'manifests'] as const;

/**
 * A trigger function adding, per registry, the sizes of the transition tables `sources` names (new rows count
 * positive, old rows negative). PL/pgSQL resolves a transition table only in a trigger that declares it, hence one
 * function per event shape.
 */
function deltaFunction(name: string, sources: ReadonlyArray<'new' | 'old'>): string {
  const rows = sources
    .map((s) => `SELECT registry_id, ${s === 'new' ? '' : '-'}coalesce(size, 0) AS bytes FROM berth_${s}_rows`)
    .join('\n      UNION ALL\n      ');
  return `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_counters (registry_id, metric, value, updated_at)
  SELECT d.registry_id, 'storage_bytes:' || (pg_backend_pid() % 32), sum(d.bytes), now()
    FROM (
      ${rows}
    ) d
   WHERE EXISTS (SELECT 1 FROM registries r WHERE r.id = d.registry_id)
   GROUP BY d.registry_id
  HAVING sum(d.bytes) <> 0
  ON CONFLICT (registry_id, metric) DO UPDATE SET value = usage_counters.value + EXCLUDED.value, updated_at = now();
  RETURN NULL;
END
$$`;
}

export class StorageUsageCounters1795387936696 implements MigrationInterface {
  name = 'StorageUsageCounters1795387936696';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(deltaFunction('berth_storage_bytes_inserted', ['new']));
    await queryRunner.query(deltaFunction('berth_storage_bytes_deleted', ['old']));
    await queryRunner.query(deltaFunction('berth_storage_bytes_changed', ['new', 'old']));
    for (const table of TABLES) {
      await queryRunner.query(
        `CREATE TRIGGER ${table}_storage_bytes_insert AFTER INSERT ON ${table}
           REFERENCING NEW TABLE AS berth_new_rows FOR EACH STATEMENT EXECUTE FUNCTION berth_storage_bytes_inserted()`,
      );
      await queryRunner.query(
        `CREATE TRIGGER ${table}_storage_bytes_delete AFTER DELETE ON ${table}
           REFERENCING OLD TABLE AS berth_old_rows FOR EACH STATEMENT EXECUTE FUNCTION berth_storage_bytes_deleted()`,
      );
      await queryRunner.query(
        `CREATE TRIGGER ${table}_storage_bytes_update AFTER UPDATE ON ${table}
           REFERENCING OLD TABLE AS berth_old_rows NEW TABLE AS berth_new_rows FOR EACH STATEMENT EXECUTE FUNCTION berth_storage_bytes_changed()`,
      );
    }
    await queryRunner.query(
      `INSERT INTO usage_counters (registry_id, metric, value)
       SELECT registry_id, 'storage_bytes:0', sum(bytes)
         FROM (SELECT registry_id, coalesce(size, 0) AS bytes FROM blobs
               UNION ALL SELECT registry_id, coalesce(size, 0) FROM manifests) s
        GROUP BY registry_id
       ON CONFLICT (registry_id, metric) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of TABLES) {
      for (const event of ['insert', 'delete', 'update']) await queryRunner.query(`DROP TRIGGER ${table}_storage_bytes_${event} ON ${table}`);
    }
    for (const fn of ['inserted', 'deleted', 'changed']) await queryRunner.query(`DROP FUNCTION berth_storage_bytes_${fn}()`);
    await queryRunner.query(`DELETE FROM usage_counters WHERE metric LIKE 'storage\\_bytes:%'`);
  }
}
