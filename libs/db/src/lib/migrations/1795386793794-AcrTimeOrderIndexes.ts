import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * ACR's `orderby=timedesc|timeasc` listings (`/acr/v1/<name>/_tags`, `/_manifests`) page by
 * (update time, name or digest) within one repository; these indexes let each page read only its rows
 * instead of sorting the whole repository (`orderby=timedesc&n=1`, "the latest tag", is a common call).
 */
export class AcrTimeOrderIndexes1795386793794 implements MigrationInterface {
  name = 'AcrTimeOrderIndexes1795386793794';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX tags_repository_id_updated_at_name_idx ON tags (repository_id, updated_at, name)`);
    await queryRunner.query(
      `CREATE INDEX repository_manifests_repository_id_updated_at_digest_idx ON repository_manifests (repository_id, updated_at, digest)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX repository_manifests_repository_id_updated_at_digest_idx`);
    await queryRunner.query(`DROP INDEX tags_repository_id_updated_at_name_idx`);
  }
}
