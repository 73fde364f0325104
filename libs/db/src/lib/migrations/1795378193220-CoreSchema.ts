import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The core schema: identities and tenancy, registries and their child resources, repository content (blobs,
 * manifests, tags, links, uploads), the event outbox, consumer idempotency, webhook deliveries and usage.
 *
 * Conventions (the entities under ../entities mirror this file; the schema-drift test checks they agree):
 * - constraint names are PostgreSQL's defaults (`<table>_pkey`, `<table>_<cols>_key|_fkey|_idx`);
 * - every blob/manifest/tag table carries `registry_id`; composite foreign keys through
 *   `repositories (registry_id, id)` pin each row to its repository's registry;
 * - deleting a registry deletes every row it owns (ON DELETE CASCADE); content that is still linked or
 *   referenced cannot be deleted on its own (foreign keys without cascade), so garbage collection cannot
 *   remove a blob or manifest in use. Those protective keys are DEFERRABLE INITIALLY DEFERRED (checked at
 *   commit): PostgreSQL checks a non-deferred one while the registry's cascade is still under way and would
 *   refuse the registry delete;
 * - names compared ignoring case (registries, resource groups, child resources) have unique indexes on `lower()`;
 * - repository and tag names are collated "C": listings are in byte order and paginate with `name > $last`.
 *
 * Never edit this migration once it is on main; add a new one.
 */
export class CoreSchema1795378193220 implements MigrationInterface {
  name = 'CoreSchema1795378193220';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const statement of UP) await queryRunner.query(statement);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const statement of DOWN) await queryRunner.query(statement);
  }
}

const DIGEST = `'^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$'`;
const TAG = `'^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$'`;
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const UP: readonly string[] = [
  // ---------------------------------------------------------------- tenancy and identities
  `CREATE TABLE tenants (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    display_name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenants_pkey PRIMARY KEY (id)
  )`,
  `CREATE TABLE subscriptions (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL,
    display_name text NOT NULL,
    state text NOT NULL DEFAULT 'Enabled',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subscriptions_pkey PRIMARY KEY (id),
    CONSTRAINT subscriptions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT subscriptions_state_check CHECK (state IN ('Enabled', 'Disabled', 'Warned', 'PastDue', 'Deleted'))
  )`,
  `CREATE INDEX subscriptions_tenant_id_idx ON subscriptions (tenant_id)`,
  `CREATE TABLE resource_groups (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    subscription_id uuid NOT NULL,
    name text NOT NULL,
    location text NOT NULL,
    tags jsonb NOT NULL DEFAULT '{}',
    provisioning_state text NOT NULL DEFAULT 'Succeeded',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT resource_groups_pkey PRIMARY KEY (id),
    CONSTRAINT resource_groups_subscription_id_fkey
      FOREIGN KEY (subscription_id) REFERENCES subscriptions (id) ON DELETE CASCADE
  )`,
  `CREATE UNIQUE INDEX resource_groups_subscription_id_name_lower_key ON resource_groups (subscription_id, lower(name))`,
  `CREATE TABLE principals (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL,
    kind text NOT NULL,
    display_name text NOT NULL,
    client_id uuid,
    user_principal_name text,
    password_hash text,
    secret_expires_at timestamptz,
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT principals_pkey PRIMARY KEY (id),
    CONSTRAINT principals_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT principals_client_id_key UNIQUE (client_id),
    CONSTRAINT principals_kind_check CHECK (kind IN ('User', 'ServicePrincipal')),
    CONSTRAINT principals_client_id_check CHECK (kind <> 'ServicePrincipal' OR client_id IS NOT NULL)
  )`,
  `CREATE INDEX principals_tenant_id_idx ON principals (tenant_id)`,
  `CREATE UNIQUE INDEX principals_user_principal_name_lower_key ON principals (lower(user_principal_name))`,
  `CREATE TABLE signing_keys (
    kid text NOT NULL,
    algorithm text NOT NULL,
    public_jwk jsonb NOT NULL,
    private_key text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz,
    expires_at timestamptz,
    CONSTRAINT signing_keys_pkey PRIMARY KEY (kid)
  )`,

  // ---------------------------------------------------------------- registries and their resources
  `CREATE TABLE registries (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    subscription_id uuid NOT NULL,
    resource_group_id uuid NOT NULL,
    name text NOT NULL,
    login_server text NOT NULL,
    location text NOT NULL,
    sku text NOT NULL,
    admin_user_enabled boolean NOT NULL DEFAULT false,
    anonymous_pull_enabled boolean NOT NULL DEFAULT false,
    policies jsonb NOT NULL DEFAULT '{}',
    properties jsonb NOT NULL DEFAULT '{}',
    identity jsonb,
    tags jsonb NOT NULL DEFAULT '{}',
    provisioning_state text NOT NULL DEFAULT 'Succeeded',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT registries_pkey PRIMARY KEY (id),
    CONSTRAINT registries_subscription_id_fkey
      FOREIGN KEY (subscription_id) REFERENCES subscriptions (id) ON DELETE CASCADE,
    CONSTRAINT registries_resource_group_id_fkey
      FOREIGN KEY (resource_group_id) REFERENCES resource_groups (id) ON DELETE CASCADE,
    CONSTRAINT registries_name_check CHECK (name ~ '^[a-zA-Z0-9]{5,50}$'),
    CONSTRAINT registries_sku_check CHECK (sku IN ('Basic', 'Standard', 'Premium'))
  )`,
  `CREATE UNIQUE INDEX registries_name_lower_key ON registries (lower(name))`,
  `CREATE UNIQUE INDEX registries_login_server_lower_key ON registries (lower(login_server))`,
  `CREATE INDEX registries_subscription_id_idx ON registries (subscription_id)`,
  `CREATE INDEX registries_resource_group_id_idx ON registries (resource_group_id)`,
  `CREATE TABLE role_assignments (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    principal_id uuid NOT NULL,
    role_definition_id uuid NOT NULL,
    scope text NOT NULL,
    subscription_id uuid,
    resource_group_id uuid,
    registry_id uuid,
    condition text,
    condition_version text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT role_assignments_pkey PRIMARY KEY (id),
    CONSTRAINT role_assignments_principal_id_fkey
      FOREIGN KEY (principal_id) REFERENCES principals (id) ON DELETE CASCADE,
    CONSTRAINT role_assignments_subscription_id_fkey
      FOREIGN KEY (subscription_id) REFERENCES subscriptions (id) ON DELETE CASCADE,
    CONSTRAINT role_assignments_resource_group_id_fkey
      FOREIGN KEY (resource_group_id) REFERENCES resource_groups (id) ON DELETE CASCADE,
    CONSTRAINT role_assignments_registry_id_fkey
      FOREIGN KEY (registry_id) REFERENCES registries (id) ON DELETE CASCADE
  )`,
  `CREATE UNIQUE INDEX role_assignments_principal_id_role_scope_key
    ON role_assignments (principal_id, role_definition_id, lower(scope))`,
  `CREATE INDEX role_assignments_subscription_id_idx ON role_assignments (subscription_id)`,
  `CREATE INDEX role_assignments_resource_group_id_idx ON role_assignments (resource_group_id)`,
  `CREATE INDEX role_assignments_registry_id_idx ON role_assignments (registry_id)`,
  `CREATE TABLE admin_credentials (
    registry_id uuid NOT NULL,
    name text NOT NULL,
    password_hash text NOT NULL,
    encrypted_value text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT admin_credentials_pkey PRIMARY KEY (registry_id, name),
    CONSTRAINT admin_credentials_registry_id_fkey
      FOREIGN KEY (registry_id) REFERENCES registries (id) ON DELETE CASCADE,
    CONSTRAINT admin_credentials_name_check CHECK (name IN ('password', 'password2'))
  )`,
  `CREATE TABLE replications (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    registry_id uuid NOT NULL,
    name text NOT NULL,
    location text NOT NULL,
    region_endpoint_enabled boolean NOT NULL DEFAULT true,
    zone_redundancy text NOT NULL DEFAULT 'Disabled',
    tags jsonb NOT NULL DEFAULT '{}',
    provisioning_state text NOT NULL DEFAULT 'Succeeded',
    status jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT replications_pkey PRIMARY KEY (id),
    CONSTRAINT replications_registry_id_fkey FOREIGN KEY (registry_id) REFERENCES registries (id) ON DELETE CASCADE,
    CONSTRAINT replications_registry_id_location_key UNIQUE (registry_id, location)
  )`,
  `CREATE UNIQUE INDEX replications_registry_id_name_lower_key ON replications (registry_id, lower(name))`,
  `CREATE TABLE webhooks (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    registry_id uuid NOT NULL,
    name text NOT NULL,
    location text NOT NULL,
    service_uri text NOT NULL,
    custom_headers jsonb NOT NULL DEFAULT '{}',
    status text NOT NULL DEFAULT 'enabled',
    scope text NOT NULL DEFAULT '',
    actions text[] NOT NULL,
    tags jsonb NOT NULL DEFAULT '{}',
    provisioning_state text NOT NULL DEFAULT 'Succeeded',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhooks_pkey PRIMARY KEY (id),
    CONSTRAINT webhooks_registry_id_fkey FOREIGN KEY (registry_id) REFERENCES registries (id) ON DELETE CASCADE,
    CONSTRAINT webhooks_status_check CHECK (status IN ('enabled', 'disabled')),
    CONSTRAINT webhooks_actions_check
      CHECK (actions <@ ARRAY['push', 'delete', 'quarantine', 'chart_push', 'chart_delete']::text[])
  )`,
  `CREATE UNIQUE INDEX webhooks_registry_id_name_lower_key ON webhooks (registry_id, lower(name))`,
  `CREATE TABLE webhook_deliveries (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    webhook_id uuid NOT NULL,
    registry_id uuid NOT NULL,
    event_id uuid NOT NULL,
    action text NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    request jsonb NOT NULL,
    response jsonb,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_deliveries_webhook_id_fkey FOREIGN KEY (webhook_id) REFERENCES webhooks (id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_registry_id_fkey
      FOREIGN KEY (registry_id) REFERENCES registries (id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_webhook_id_event_id_key UNIQUE (webhook_id, event_id),
    CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('pending', 'succeeded', 'failed'))
  )`,
  `CREATE INDEX webhook_deliveries_webhook_id_created_at_idx ON webhook_deliveries (webhook_id, created_at)`,
  `CREATE INDEX webhook_deliveries_registry_id_idx ON webhook_deliveries (registry_id)`,
  `CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`,
  `CREATE TABLE scope_maps (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    registry_id uuid NOT NULL,
    name text NOT NULL,
    description text,
    type text NOT NULL DEFAULT 'UserDefined',
    actions text[] NOT NULL,
    provisioning_state text NOT NULL DEFAULT 'Succeeded',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT scope_maps_pkey PRIMARY KEY (id),
    CONSTRAINT scope_maps_registry_id_fkey FOREIGN KEY (registry_id) REFERENCES registries (id) ON DELETE CASCADE,
    CONSTRAINT scope_maps_registry_id_id_key UNIQUE (registry_id, id),
    CONSTRAINT scope_maps_type_check CHECK (type IN ('UserDefined', 'SystemDefined'))
  )`,
  `CREATE UNIQUE INDEX scope_maps_registry_id_name_lower_key ON scope_maps (registry_id, lower(name))`,
  `CREATE TABLE tokens (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    registry_id uuid NOT NULL,
    name text NOT NULL,
    scope_map_id uuid NOT NULL,
    status text NOT NULL DEFAULT 'enabled',
    password1_hash text,
    password1_created_at timestamptz,
    password1_expires_at timestamptz,
    password2_hash text,
    password2_created_at timestamptz,
    password2_expires_at timestamptz,
    certificates jsonb NOT NULL DEFAULT '[]',
    provisioning_state text NOT NULL DEFAULT 'Succeeded',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tokens_pkey PRIMARY KEY (id),
    CONSTRAINT tokens_registry_id_fkey FOREIGN KEY (registry_id) REFERENCES registries (id) ON DELETE CASCADE,
    CONSTRAINT tokens_registry_id_scope_map_id_fkey
      FOREIGN KEY (registry_id, scope_map_id) REFERENCES scope_maps (registry_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT tokens_status_check CHECK (status IN ('enabled', 'disabled'))
  )`,
  `CREATE UNIQUE INDEX tokens_registry_id_name_lower_key ON tokens (registry_id, lower(name))`,
  `CREATE INDEX tokens_registry_id_scope_map_id_idx ON tokens (registry_id, scope_map_id)`,

  // ---------------------------------------------------------------- repository content
  `CREATE TABLE repositories (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    registry_id uuid NOT NULL,
    name text COLLATE "C" NOT NULL,
    delete_enabled boolean NOT NULL DEFAULT true,
    write_enabled boolean NOT NULL DEFAULT true,
    read_enabled boolean NOT NULL DEFAULT true,
    list_enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT repositories_pkey PRIMARY KEY (id),
    CONSTRAINT repositories_registry_id_fkey FOREIGN KEY (registry_id) REFERENCES registries (id) ON DELETE CASCADE,
    CONSTRAINT repositories_registry_id_name_key UNIQUE (registry_id, name),
    CONSTRAINT repositories_registry_id_id_key UNIQUE (registry_id, id)
  )`,
  `CREATE TABLE blobs (
    registry_id uuid NOT NULL,
    digest text NOT NULL,
    size bigint NOT NULL,
    media_type text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT blobs_pkey PRIMARY KEY (registry_id, digest),
    CONSTRAINT blobs_registry_id_fkey FOREIGN KEY (registry_id) REFERENCES registries (id) ON DELETE CASCADE,
    CONSTRAINT blobs_digest_check CHECK (digest ~ ${DIGEST}),
    CONSTRAINT blobs_size_check CHECK (size >= 0)
  )`,
  `CREATE TABLE blob_regions (
    registry_id uuid NOT NULL,
    digest text NOT NULL,
    region text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT blob_regions_pkey PRIMARY KEY (registry_id, digest, region),
    CONSTRAINT blob_regions_registry_id_digest_fkey
      FOREIGN KEY (registry_id, digest) REFERENCES blobs (registry_id, digest) ON DELETE CASCADE
  )`,
  `CREATE TABLE repository_blobs (
    repository_id uuid NOT NULL,
    digest text NOT NULL,
    registry_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT repository_blobs_pkey PRIMARY KEY (repository_id, digest),
    CONSTRAINT repository_blobs_registry_id_repository_id_fkey
      FOREIGN KEY (registry_id, repository_id) REFERENCES repositories (registry_id, id) ON DELETE CASCADE,
    CONSTRAINT repository_blobs_registry_id_digest_fkey
      FOREIGN KEY (registry_id, digest) REFERENCES blobs (registry_id, digest) DEFERRABLE INITIALLY DEFERRED
  )`,
  `CREATE INDEX repository_blobs_registry_id_digest_idx ON repository_blobs (registry_id, digest)`,
  `CREATE TABLE manifests (
    registry_id uuid NOT NULL,
    digest text NOT NULL,
    media_type text NOT NULL,
    artifact_type text,
    subject_digest text,
    config_digest text,
    config_media_type text,
    size bigint NOT NULL,
    content bytea NOT NULL,
    annotations jsonb,
    architecture text,
    os text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT manifests_pkey PRIMARY KEY (registry_id, digest),
    CONSTRAINT manifests_registry_id_fkey FOREIGN KEY (registry_id) REFERENCES registries (id) ON DELETE CASCADE,
    CONSTRAINT manifests_digest_check CHECK (digest ~ ${DIGEST}),
    CONSTRAINT manifests_size_check CHECK (size = octet_length(content) AND size <= ${MAX_MANIFEST_BYTES})
  )`,
  `CREATE INDEX manifests_registry_id_subject_digest_idx
    ON manifests (registry_id, subject_digest) WHERE subject_digest IS NOT NULL`,
  `CREATE TABLE repository_manifests (
    repository_id uuid NOT NULL,
    digest text NOT NULL,
    registry_id uuid NOT NULL,
    delete_enabled boolean NOT NULL DEFAULT true,
    write_enabled boolean NOT NULL DEFAULT true,
    read_enabled boolean NOT NULL DEFAULT true,
    list_enabled boolean NOT NULL DEFAULT true,
    quarantine_state text,
    quarantine_details text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT repository_manifests_pkey PRIMARY KEY (repository_id, digest),
    CONSTRAINT repository_manifests_registry_id_repository_id_fkey
      FOREIGN KEY (registry_id, repository_id) REFERENCES repositories (registry_id, id) ON DELETE CASCADE,
    CONSTRAINT repository_manifests_registry_id_digest_fkey
      FOREIGN KEY (registry_id, digest) REFERENCES manifests (registry_id, digest) DEFERRABLE INITIALLY DEFERRED
  )`,
  `CREATE INDEX repository_manifests_registry_id_digest_idx ON repository_manifests (registry_id, digest)`,
  `CREATE TABLE manifest_references (
    id bigint GENERATED ALWAYS AS IDENTITY,
    registry_id uuid NOT NULL,
    manifest_digest text NOT NULL,
    blob_digest text,
    child_digest text,
    CONSTRAINT manifest_references_pkey PRIMARY KEY (id),
    CONSTRAINT manifest_references_registry_id_manifest_digest_fkey
      FOREIGN KEY (registry_id, manifest_digest) REFERENCES manifests (registry_id, digest) ON DELETE CASCADE,
    CONSTRAINT manifest_references_registry_id_blob_digest_fkey
      FOREIGN KEY (registry_id, blob_digest) REFERENCES blobs (registry_id, digest) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT manifest_references_registry_id_child_digest_fkey
      FOREIGN KEY (registry_id, child_digest) REFERENCES manifests (registry_id, digest)
      DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT manifest_references_blob_key UNIQUE (registry_id, manifest_digest, blob_digest),
    CONSTRAINT manifest_references_child_key UNIQUE (registry_id, manifest_digest, child_digest),
    CONSTRAINT manifest_references_target_check CHECK (num_nonnulls(blob_digest, child_digest) = 1)
  )`,
  `CREATE INDEX manifest_references_registry_id_blob_digest_idx ON manifest_references (registry_id, blob_digest)`,
  `CREATE INDEX manifest_references_registry_id_child_digest_idx ON manifest_references (registry_id, child_digest)`,
  `CREATE TABLE tags (
    repository_id uuid NOT NULL,
    name text COLLATE "C" NOT NULL,
    registry_id uuid NOT NULL,
    manifest_digest text NOT NULL,
    delete_enabled boolean NOT NULL DEFAULT true,
    write_enabled boolean NOT NULL DEFAULT true,
    read_enabled boolean NOT NULL DEFAULT true,
    list_enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tags_pkey PRIMARY KEY (repository_id, name),
    CONSTRAINT tags_registry_id_repository_id_fkey
      FOREIGN KEY (registry_id, repository_id) REFERENCES repositories (registry_id, id) ON DELETE CASCADE,
    CONSTRAINT tags_repository_id_manifest_digest_fkey
      FOREIGN KEY (repository_id, manifest_digest) REFERENCES repository_manifests (repository_id, digest)
      ON DELETE CASCADE,
    CONSTRAINT tags_name_check CHECK (name ~ ${TAG})
  )`,
  `CREATE INDEX tags_repository_id_manifest_digest_idx ON tags (repository_id, manifest_digest)`,
  `CREATE TABLE upload_sessions (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    registry_id uuid NOT NULL,
    repository_name text NOT NULL,
    region text NOT NULL,
    storage_upload_id text NOT NULL,
    offset_bytes bigint NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    CONSTRAINT upload_sessions_pkey PRIMARY KEY (id),
    CONSTRAINT upload_sessions_registry_id_fkey
      FOREIGN KEY (registry_id) REFERENCES registries (id) ON DELETE CASCADE,
    CONSTRAINT upload_sessions_offset_bytes_check CHECK (offset_bytes >= 0)
  )`,
  `CREATE INDEX upload_sessions_registry_id_idx ON upload_sessions (registry_id)`,
  `CREATE INDEX upload_sessions_expires_at_idx ON upload_sessions (expires_at)`,
  `CREATE TABLE usage_counters (
    registry_id uuid NOT NULL,
    metric text NOT NULL,
    value bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT usage_counters_pkey PRIMARY KEY (registry_id, metric),
    CONSTRAINT usage_counters_registry_id_fkey FOREIGN KEY (registry_id) REFERENCES registries (id) ON DELETE CASCADE
  )`,

  // ---------------------------------------------------------------- events
  `CREATE TABLE outbox_events (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    seq bigint GENERATED ALWAYS AS IDENTITY,
    topic text NOT NULL,
    key text NOT NULL,
    payload jsonb NOT NULL,
    headers jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    CONSTRAINT outbox_events_pkey PRIMARY KEY (id)
  )`,
  `CREATE INDEX outbox_events_unpublished_idx ON outbox_events (seq) WHERE published_at IS NULL`,
  `CREATE INDEX outbox_events_published_at_idx ON outbox_events (published_at) WHERE published_at IS NOT NULL`,
  `CREATE TABLE processed_events (
    consumer_group text NOT NULL,
    event_id uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT processed_events_pkey PRIMARY KEY (consumer_group, event_id)
  )`,
  `CREATE INDEX processed_events_processed_at_idx ON processed_events (processed_at)`,
];

// Children before parents.
const DOWN: readonly string[] = [
  'processed_events',
  'outbox_events',
  'usage_counters',
  'upload_sessions',
  'tags',
  'manifest_references',
  'repository_manifests',
  'manifests',
  'repository_blobs',
  'blob_regions',
  'blobs',
  'repositories',
  'tokens',
  'scope_maps',
  'webhook_deliveries',
  'webhooks',
  'replications',
  'admin_credentials',
  'role_assignments',
  'registries',
  'signing_keys',
  'principals',
  'resource_groups',
  'subscriptions',
  'tenants',
].map((table) => `DROP TABLE ${table}`);
