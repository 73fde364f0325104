import { createHash, randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { createScratchDatabase, type ScratchDatabase } from '../testing/scratch-database';
import { createDataSource } from './data-source/create-data-source';
import {
  AdminCredentialEntity,
  BlobEntity,
  BlobRegionEntity,
  ManifestEntity,
  ManifestReferenceEntity,
  OutboxEventEntity,
  RegistryEntity,
  ReplicationEntity,
  RepositoryBlobEntity,
  RepositoryEntity,
  RepositoryManifestEntity,
  ResourceGroupEntity,
  ScopeMapEntity,
  SubscriptionEntity,
  TagEntity,
  TenantEntity,
  TokenEntity,
  UploadSessionEntity,
  UsageCounterEntity,
  WebhookDeliveryEntity,
  WebhookEntity,
} from './entities';
import { DB_MIGRATIONS } from './migrations';
import { migrationStatus, revertLastMigration, runMigrations } from './migrate/run-migrations';

const CORE = DB_MIGRATIONS.map((m) => new m().name);

const CORE_TABLES = [
  'admin_credentials',
  'blob_regions',
  'blobs',
  'manifest_references',
  'manifests',
  'outbox_events',
  'principals',
  'processed_events',
  'registries',
  'replications',
  'repositories',
  'repository_blobs',
  'repository_manifests',
  'resource_groups',
  'role_assignments',
  'scope_maps',
  'signing_keys',
  'subscriptions',
  'tags',
  'tenants',
  'tokens',
  'upload_sessions',
  'usage_counters',
  'webhook_deliveries',
  'webhooks',
];

async function publicTables(ds: DataSource): Promise<string[]> {
  const rows = (await ds.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)) as {
    tablename: string;
  }[];
  return rows.map((r) => r.tablename);
}

function digestOf(content: Buffer | string): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

/** Tenant → subscription → resource group → registry, with a unique registry name. */
async function seedRegistry(em: EntityManager, name = `reg${randomUUID().replace(/-/g, '').slice(0, 12)}`) {
  const tenant = await em.getRepository(TenantEntity).save({ displayName: 'tenant' });
  const subscription = await em.getRepository(SubscriptionEntity).save({ tenantId: tenant.id, displayName: 'sub' });
  const group = await em
    .getRepository(ResourceGroupEntity)
    .save({ subscriptionId: subscription.id, name: 'berth', location: 'eastus' });
  return em.getRepository(RegistryEntity).save({
    subscriptionId: subscription.id,
    resourceGroupId: group.id,
    name,
    loginServer: `${name.toLowerCase()}.berth.localhost`,
    location: 'eastus',
    sku: 'Premium',
  });
}

/** A repository with one blob, one manifest referencing it, and a tag. */
async function seedImage(em: EntityManager, registryId: string, repoName = 'library/hello', tag = 'v1') {
  const repo = await em.getRepository(RepositoryEntity).save({ registryId, name: repoName });
  const layer = `layer-${randomUUID()}`;
  const blobDigest = digestOf(layer);
  await em.getRepository(BlobEntity).insert({ registryId, digest: blobDigest, size: layer.length });
  await em.getRepository(RepositoryBlobEntity).insert({ registryId, repositoryId: repo.id, digest: blobDigest });
  const content = Buffer.from(
    JSON.stringify({ schemaVersion: 2, layers: [{ digest: blobDigest, size: layer.length }] }),
  );
  const manifestDigest = digestOf(content);
  await em.getRepository(ManifestEntity).insert({
    registryId,
    digest: manifestDigest,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: content.length,
    content,
  });
  await em
    .getRepository(RepositoryManifestEntity)
    .insert({ registryId, repositoryId: repo.id, digest: manifestDigest });
  await em.getRepository(ManifestReferenceEntity).insert({ registryId, manifestDigest, blobDigest, childDigest: null });
  await em.getRepository(TagEntity).insert({ registryId, repositoryId: repo.id, name: tag, manifestDigest });
  return { repo, blobDigest, manifestDigest, content };
}

describe('CoreSchema migration', () => {
  let db: ScratchDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createScratchDatabase();
    ds = createDataSource({ url: db.url });
    await ds.initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('applies up from an empty database, is a no-op the second time, reverts down cleanly and applies again', async () => {
    expect(await publicTables(ds)).toEqual([]);
    expect(await migrationStatus(ds)).toEqual({ applied: [], pending: CORE });

    expect(await runMigrations(ds)).toEqual(CORE);
    expect(await publicTables(ds)).toEqual(['berth_migrations', ...CORE_TABLES].sort());
    expect(await migrationStatus(ds)).toEqual({ applied: CORE, pending: [] });

    expect(await runMigrations(ds)).toEqual([]);

    for (const name of [...CORE].reverse()) expect(await revertLastMigration(ds)).toBe(name);
    expect(await publicTables(ds)).toEqual(['berth_migrations']);
    expect(await migrationStatus(ds)).toEqual({ applied: [], pending: CORE });
    expect(await revertLastMigration(ds)).toBeUndefined();

    expect(await runMigrations(ds)).toEqual(CORE);
    expect(await publicTables(ds)).toEqual(['berth_migrations', ...CORE_TABLES].sort());
  });

  it('leaves the entities describing the migrated schema exactly (no drift)', async () => {
    await runMigrations(ds);
    const drift = await ds.driver.createSchemaBuilder().log();
    expect(drift.upQueries.map((q) => q.query)).toEqual([]);
  });
});

describe('runMigrations across processes', () => {
  let db: ScratchDatabase;
  afterAll(async () => {
    await db?.drop();
  });

  it('applies the schema once when several services start together (advisory lock)', async () => {
    db = await createScratchDatabase();
    const sources = [0, 1, 2].map(() => createDataSource({ url: db.url }));
    const results = await Promise.all(sources.map((s) => runMigrations(s)));
    expect(results.flat()).toEqual(CORE);
    expect(results.filter((r) => r.length > 0)).toHaveLength(1);
  });
});

describe('core schema constraints', () => {
  let db: ScratchDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createScratchDatabase();
    ds = createDataSource({ url: db.url });
    await runMigrations(ds);
    await ds.initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('refuses a registry name that differs from an existing one only by case', async () => {
    const name = `Case${randomUUID().replace(/-/g, '').slice(0, 10)}`;
    await seedRegistry(ds.manager, name);
    await expect(seedRegistry(ds.manager, name.toUpperCase())).rejects.toMatchObject({ code: '23505' });
    await expect(seedRegistry(ds.manager, name.toLowerCase())).rejects.toMatchObject({
      constraint: 'registries_name_lower_key',
    });
  });

  it('refuses invalid registry names and SKUs', async () => {
    await expect(seedRegistry(ds.manager, 'ab')).rejects.toMatchObject({ constraint: 'registries_name_check' });
    await expect(seedRegistry(ds.manager, 'has-dash1')).rejects.toMatchObject({ constraint: 'registries_name_check' });
  });

  it('keeps one tag per (repository, name), one repository per (registry, name), one manifest per (registry, digest)', async () => {
    const registry = await seedRegistry(ds.manager);
    const { repo, manifestDigest, content } = await seedImage(ds.manager, registry.id);
    await expect(
      ds
        .getRepository(TagEntity)
        .insert({ registryId: registry.id, repositoryId: repo.id, name: 'v1', manifestDigest }),
    ).rejects.toMatchObject({ constraint: 'tags_pkey' });
    await expect(
      ds.getRepository(RepositoryEntity).insert({ registryId: registry.id, name: repo.name }),
    ).rejects.toMatchObject({ constraint: 'repositories_registry_id_name_key' });
    await expect(
      ds.getRepository(ManifestEntity).insert({
        registryId: registry.id,
        digest: manifestDigest,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: content.length,
        content,
      }),
    ).rejects.toMatchObject({ constraint: 'manifests_pkey' });
    // The same tag name in another repository is fine; re-tagging is an update.
    const other = await seedImage(ds.manager, registry.id, 'library/other', 'v1');
    await ds
      .getRepository(TagEntity)
      .update({ repositoryId: other.repo.id, name: 'v1' }, { manifestDigest: other.manifestDigest });
    const tag = await ds.getRepository(TagEntity).findOneByOrFail({ repositoryId: repo.id, name: 'v1' });
    expect(tag).toMatchObject({ manifestDigest, attributes: { writeEnabled: true, deleteEnabled: true } });
  });

  it('refuses malformed digests and tags, and a manifest whose size does not match its bytes', async () => {
    const registry = await seedRegistry(ds.manager);
    await expect(
      ds.getRepository(BlobEntity).insert({ registryId: registry.id, digest: 'sha256:../../etc', size: 1 }),
    ).rejects.toMatchObject({ constraint: 'blobs_digest_check' });
    const content = Buffer.from('{}');
    await expect(
      ds.getRepository(ManifestEntity).insert({
        registryId: registry.id,
        digest: digestOf(content),
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: 3,
        content,
      }),
    ).rejects.toMatchObject({ constraint: 'manifests_size_check' });
    const { repo, manifestDigest } = await seedImage(ds.manager, registry.id);
    await expect(
      ds
        .getRepository(TagEntity)
        .insert({ registryId: registry.id, repositoryId: repo.id, name: '-bad', manifestDigest }),
    ).rejects.toMatchObject({ constraint: 'tags_name_check' });
  });

  it('pins links and tags to their repository’s registry (no cross-registry rows)', async () => {
    const a = await seedRegistry(ds.manager);
    const b = await seedRegistry(ds.manager);
    const imageA = await seedImage(ds.manager, a.id);
    const repoB = await ds.getRepository(RepositoryEntity).save({ registryId: b.id, name: 'library/hello' });
    // B's repository cannot link A's blob, whichever registry id the row claims.
    await expect(
      ds
        .getRepository(RepositoryBlobEntity)
        .insert({ registryId: a.id, repositoryId: repoB.id, digest: imageA.blobDigest }),
    ).rejects.toMatchObject({ constraint: 'repository_blobs_registry_id_repository_id_fkey' });
    await expect(
      ds
        .getRepository(RepositoryBlobEntity)
        .insert({ registryId: b.id, repositoryId: repoB.id, digest: imageA.blobDigest }),
    ).rejects.toMatchObject({ constraint: 'repository_blobs_registry_id_digest_fkey' });
    // A tag cannot point at a manifest its repository does not hold.
    await expect(
      ds
        .getRepository(TagEntity)
        .insert({ registryId: b.id, repositoryId: repoB.id, name: 'v1', manifestDigest: imageA.manifestDigest }),
    ).rejects.toMatchObject({ constraint: 'tags_repository_id_manifest_digest_fkey' });
  });

  it('never deletes a blob or manifest that is still linked or referenced', async () => {
    const registry = await seedRegistry(ds.manager);
    const { repo, blobDigest, manifestDigest } = await seedImage(ds.manager, registry.id);
    await expect(
      ds.getRepository(BlobEntity).delete({ registryId: registry.id, digest: blobDigest }),
    ).rejects.toMatchObject({ code: '23503' });
    await expect(
      ds.getRepository(ManifestEntity).delete({ registryId: registry.id, digest: manifestDigest }),
    ).rejects.toMatchObject({ constraint: 'repository_manifests_registry_id_digest_fkey' });
    // Deleting the manifest from the repository takes its tags with it (ACR: delete by digest).
    await ds.getRepository(RepositoryManifestEntity).delete({ repositoryId: repo.id, digest: manifestDigest });
    expect(await ds.getRepository(TagEntity).countBy({ repositoryId: repo.id })).toBe(0);
    // Still referenced by the manifest, the blob stays protected even once unlinked.
    await ds.getRepository(RepositoryBlobEntity).delete({ repositoryId: repo.id, digest: blobDigest });
    await expect(
      ds.getRepository(BlobEntity).delete({ registryId: registry.id, digest: blobDigest }),
    ).rejects.toMatchObject({ constraint: 'manifest_references_registry_id_blob_digest_fkey' });
    // Garbage collection order: the manifest (its references go with it), then the blob.
    await ds.getRepository(ManifestEntity).delete({ registryId: registry.id, digest: manifestDigest });
    await ds.getRepository(BlobEntity).delete({ registryId: registry.id, digest: blobDigest });
    expect(await ds.getRepository(BlobEntity).countBy({ registryId: registry.id })).toBe(0);
  });

  it('deletes everything a registry owns when the registry is deleted, and nothing of other registries', async () => {
    const doomed = await seedRegistry(ds.manager);
    const kept = await seedRegistry(ds.manager);
    for (const registry of [doomed, kept]) {
      const { blobDigest } = await seedImage(ds.manager, registry.id);
      await seedImage(ds.manager, registry.id, 'team/app', 'latest');
      await ds
        .getRepository(BlobRegionEntity)
        .insert({ registryId: registry.id, digest: blobDigest, region: 'westeurope' });
      await ds.getRepository(UploadSessionEntity).insert({
        registryId: registry.id,
        repositoryName: 'team/app',
        region: 'eastus',
        storageUploadId: randomUUID(),
        expiresAt: new Date(Date.now() + 3_600_000),
      });
      await ds.getRepository(UsageCounterEntity).insert({ registryId: registry.id, metric: 'Size', value: 42 });
      await ds
        .getRepository(ReplicationEntity)
        .insert({ registryId: registry.id, name: 'westeurope', location: 'westeurope' });
      const webhook = await ds.getRepository(WebhookEntity).save({
        registryId: registry.id,
        name: 'hook1',
        location: 'eastus',
        serviceUri: 'https://example.test/hook',
        actions: ['push'],
      });
      await ds.getRepository(WebhookDeliveryEntity).insert({
        registryId: registry.id,
        webhookId: webhook.id,
        eventId: randomUUID(),
        action: 'push',
        request: { content: {}, headers: {}, method: 'POST', requestUri: 'https://example.test/hook', version: '1.1' },
      });
      const scopeMap = await ds
        .getRepository(ScopeMapEntity)
        .save({ registryId: registry.id, name: 'pullers', actions: ['repositories/*/content/read'] });
      await ds
        .getRepository(TokenEntity)
        .insert({ registryId: registry.id, name: 'ci-token', scopeMapId: scopeMap.id });
      await ds
        .getRepository(AdminCredentialEntity)
        .insert({ registryId: registry.id, name: 'password', passwordHash: 'h', encryptedValue: 'e' });
    }

    const owned = [
      RepositoryEntity,
      BlobEntity,
      BlobRegionEntity,
      RepositoryBlobEntity,
      ManifestEntity,
      RepositoryManifestEntity,
      ManifestReferenceEntity,
      TagEntity,
      UploadSessionEntity,
      UsageCounterEntity,
      ReplicationEntity,
      WebhookEntity,
      WebhookDeliveryEntity,
      ScopeMapEntity,
      TokenEntity,
      AdminCredentialEntity,
    ] as const;
    const counts = async (registryId: string) =>
      Promise.all(owned.map((entity) => ds.getRepository(entity).countBy({ registryId })));

    expect((await counts(doomed.id)).every((n) => n > 0)).toBe(true);
    const keptBefore = await counts(kept.id);

    await ds.getRepository(RegistryEntity).delete({ id: doomed.id });

    expect(await counts(doomed.id)).toEqual(owned.map(() => 0));
    expect(await counts(kept.id)).toEqual(keptBefore);
  });

  it('rolls an outbox row back together with the manifest it announces', async () => {
    const registry = await seedRegistry(ds.manager);
    const content = Buffer.from(JSON.stringify({ schemaVersion: 2, marker: randomUUID() }));
    const digest = digestOf(content);
    const eventId = randomUUID();
    await expect(
      ds.transaction(async (tx) => {
        await tx.getRepository(ManifestEntity).insert({
          registryId: registry.id,
          digest,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          size: content.length,
          content,
        });
        await tx
          .getRepository(OutboxEventEntity)
          .insert({ id: eventId, topic: 'berth.image.pushed.v1', key: registry.id, payload: { digest } });
        expect(await tx.getRepository(OutboxEventEntity).countBy({ id: eventId })).toBe(1);
        throw new Error('the tag write failed');
      }),
    ).rejects.toThrow('the tag write failed');
    expect(await ds.getRepository(ManifestEntity).countBy({ registryId: registry.id, digest })).toBe(0);
    expect(await ds.getRepository(OutboxEventEntity).countBy({ id: eventId })).toBe(0);

    // And they commit together: the relay sees the row as unpublished, in insertion order.
    await ds.transaction(async (tx) => {
      await tx.getRepository(ManifestEntity).insert({
        registryId: registry.id,
        digest,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: content.length,
        content,
      });
      await tx
        .getRepository(OutboxEventEntity)
        .insert({ id: eventId, topic: 'berth.image.pushed.v1', key: registry.id, payload: { digest } });
    });
    const event = await ds.getRepository(OutboxEventEntity).findOneByOrFail({ id: eventId });
    expect(event).toMatchObject({ publishedAt: null, headers: {}, payload: { digest } });
    expect(typeof event.seq).toBe('number');
    const stored = await ds.getRepository(ManifestEntity).findOneByOrFail({ registryId: registry.id, digest });
    expect(stored.content.equals(content)).toBe(true);
    expect(stored.size).toBe(content.length);
  });
});
