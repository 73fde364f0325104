import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The channel on which every committed change to what a manifest GET answers is announced, so that the registry
 * frontends can cache tag → manifest answers in memory and drop them as soon as anything changes, whichever process
 * (frontend, metadata-service's import, ACR attribute updates, deletes, a registry's cascade delete) wrote it.
 */
export const REPOSITORY_CHANGES_CHANNEL = 'berth_repository_changes';

/**
 * Row triggers on `repositories`, `tags` and `repository_manifests` call `pg_notify(channel, '<registry id>:<repository
 * id>')` for every inserted, deleted or relevantly updated row. PostgreSQL delivers a notification only when (and if)
 * the writing transaction commits, and collapses identical payloads of one transaction, so a cascade that touches many
 * rows of one repository sends one notification. `manifests` needs none: its rows are immutable per digest, and a
 * manifest only becomes unreachable through its `repository_manifests` row.
 */
function notifyFunction(name: string, repositoryColumn: 'id' | 'repository_id'): string {
  return `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('${REPOSITORY_CHANGES_CHANNEL}', OLD.registry_id::text || ':' || OLD.${repositoryColumn}::text);
  ELSE
    PERFORM pg_notify('${REPOSITORY_CHANGES_CHANNEL}', NEW.registry_id::text || ':' || NEW.${repositoryColumn}::text);
    IF TG_OP = 'UPDATE' AND (OLD.registry_id, OLD.${repositoryColumn}) IS DISTINCT FROM (NEW.registry_id, NEW.${repositoryColumn}) THEN
      PERFORM pg_notify('${REPOSITORY_CHANGES_CHANNEL}', OLD.registry_id::text || ':' || OLD.${repositoryColumn}::text);
    END IF;
  END IF;
  RETURN NULL;
END
$$`;
}

/** Per table: the trigger function and the columns whose update changes a manifest GET's answer. */
const TRIGGERS = [
  { table: 'repositories', fn: 'berth_notify_repository_row', columns: 'id, registry_id, name, read_enabled' },
  {
    table: 'tags',
    fn: 'berth_notify_repository_child_row',
    columns: 'repository_id, registry_id, name, manifest_digest, read_enabled',
  },
  {
    table: 'repository_manifests',
    fn: 'berth_notify_repository_child_row',
    columns: 'repository_id, registry_id, digest, read_enabled',
  },
] as const;

export class RepositoryChangeNotify1795395238261 implements MigrationInterface {
  name = 'RepositoryChangeNotify1795395238261';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(notifyFunction('berth_notify_repository_row', 'id'));
    await queryRunner.query(notifyFunction('berth_notify_repository_child_row', 'repository_id'));
    for (const { table, fn, columns } of TRIGGERS) {
      await queryRunner.query(
        `CREATE TRIGGER ${table}_notify_change AFTER INSERT OR DELETE OR UPDATE OF ${columns} ON ${table}
           FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const { table } of TRIGGERS) await queryRunner.query(`DROP TRIGGER ${table}_notify_change ON ${table}`);
    await queryRunner.query(`DROP FUNCTION berth_notify_repository_row()`);
    await queryRunner.query(`DROP FUNCTION berth_notify_repository_child_row()`);
  }
}
