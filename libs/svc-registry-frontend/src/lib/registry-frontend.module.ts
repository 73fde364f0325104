import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { InfraNeed } from '@berth/platform';
import { BlobsHandler } from './blobs/blobs.handler';
import { UploadsHandler } from './blobs/uploads.handler';
import { CatalogHandler } from './manifests/catalog.handler';
import { ManifestsHandler } from './manifests/manifests.handler';
import { ReferrersHandler } from './manifests/referrers.handler';
import { TagsHandler } from './manifests/tags.handler';
import { RegistryResolver } from './registry/registry-resolver.service';
import { RepositoryRecords } from './registry/repository-records.service';
import { V2Controller } from './routing/v2.controller';
import { OciErrorFilter } from './oci-error.filter';

/** The infrastructure registry-frontend uses; its /readyz checks exactly these. */
export const REGISTRY_FRONTEND_NEEDS: readonly InfraNeed[] = ['database', 'blobs', 'cache'];

/**
 * The data plane: the OCI Distribution API under /v2/ (and, with later issues, the ACR data-plane API
 * under /acr/v1/). Errors on these routes are rendered in the OCI error format.
 */
@Module({
  controllers: [V2Controller],
  providers: [
    { provide: APP_FILTER, useClass: OciErrorFilter },
    RegistryResolver,
    RepositoryRecords,
    BlobsHandler,
    UploadsHandler,
    ManifestsHandler,
    TagsHandler,
    CatalogHandler,
    ReferrersHandler,
  ],
})
export class RegistryFrontendModule {}
