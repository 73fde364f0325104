import { AdminCredentialEntity } from './admin-credential.entity';
import { BlobRegionEntity } from './blob-region.entity';
import { BlobEntity } from './blob.entity';
import { ManifestReferenceEntity } from './manifest-reference.entity';
import { ManifestEntity } from './manifest.entity';
import { OutboxEventEntity } from './outbox-event.entity';
import { PrincipalEntity } from './principal.entity';
import { ProcessedEventEntity } from './processed-event.entity';
import { RegistryEntity } from './registry.entity';
import { ReplicationEntity } from './replication.entity';
import { RepositoryBlobEntity } from './repository-blob.entity';
import { RepositoryManifestEntity } from './repository-manifest.entity';
import { RepositoryEntity } from './repository.entity';
import { ResourceGroupEntity } from './resource-group.entity';
import { RoleAssignmentEntity } from './role-assignment.entity';
import { ScopeMapEntity } from './scope-map.entity';
import { SigningKeyEntity } from './signing-key.entity';
import { SubscriptionEntity } from './subscription.entity';
import { TagEntity } from './tag.entity';
import { TenantEntity } from './tenant.entity';
import { TokenEntity } from './token.entity';
import { UploadSessionEntity } from './upload-session.entity';
import { UsageCounterEntity } from './usage-counter.entity';
import { WebhookDeliveryEntity } from './webhook-delivery.entity';
import { WebhookEntity } from './webhook.entity';

export * from './admin-credential.entity';
export * from './blob-region.entity';
export * from './blob.entity';
export * from './changeable-attributes';
export * from './manifest-reference.entity';
export * from './manifest.entity';
export * from './outbox-event.entity';
export * from './principal.entity';
export * from './processed-event.entity';
export * from './registry.entity';
export * from './replication.entity';
export * from './repository-blob.entity';
export * from './repository-manifest.entity';
export * from './repository.entity';
export * from './resource-group.entity';
export * from './role-assignment.entity';
export * from './scope-map.entity';
export * from './signing-key.entity';
export * from './subscription.entity';
export * from './tag.entity';
export * from './tenant.entity';
export * from './token.entity';
export * from './upload-session.entity';
export * from './usage-counter.entity';
export * from './webhook-delivery.entity';
export * from './webhook.entity';

/**
 * Every entity, listed explicitly: the code runs from TypeScript sources (swc) and later as bundled JavaScript,
 * where glob loading of entity files would find nothing.
 */
export const DB_ENTITIES = [
  TenantEntity,
  SubscriptionEntity,
  ResourceGroupEntity,
  PrincipalEntity,
  RoleAssignmentEntity,
  SigningKeyEntity,
  RegistryEntity,
  AdminCredentialEntity,
  ReplicationEntity,
  WebhookEntity,
  WebhookDeliveryEntity,
  ScopeMapEntity,
  TokenEntity,
  RepositoryEntity,
  BlobEntity,
  BlobRegionEntity,
  RepositoryBlobEntity,
  ManifestEntity,
  RepositoryManifestEntity,
  ManifestReferenceEntity,
  TagEntity,
  UploadSessionEntity,
  OutboxEventEntity,
  ProcessedEventEntity,
  UsageCounterEntity,
];
