import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { InfraNeed } from '@berth/platform';
import { AcrModule } from './acr/acr.module';
import { DataPlaneAuthModule } from './auth/data-plane-auth.module';
import { BlobsModule } from './blobs/blobs.module';
import { LimitsModule } from './limits/limits.module';
import { ManifestsModule } from './manifests/manifests.module';
import { RegistryContextModule } from './registry/registry-context.module';
import { RawBodyMiddleware } from './routing/raw-body.middleware';
import { V2Controller } from './routing/v2.controller';
import { LocalWritesHook } from './routing/local-writes.hook';
import { RegistryMetricsHook } from './routing/registry-metrics.hook';
import { V2FastPath } from './routing/v2-fast-path';
import { OciErrorFilter } from './oci-error.filter';

/** The infrastructure registry-frontend uses; its /readyz checks exactly these. */
export const REGISTRY_FRONTEND_NEEDS: readonly InfraNeed[] = ['database', 'blobs', 'cache'];

/**
 * The data plane: the OCI Distribution API under /v2/ (and, with later issues, the ACR data-plane API
 * under /acr/v1/). Errors on these routes are rendered in the OCI error format; data-plane bodies reach the
 * handlers unparsed, whatever Content-Type the client declared (RawBodyMiddleware).
 */
@Module({
  imports: [RegistryContextModule, LimitsModule, DataPlaneAuthModule, BlobsModule, ManifestsModule, AcrModule],
  controllers: [V2Controller],
  providers: [{ provide: APP_FILTER, useClass: OciErrorFilter }, RawBodyMiddleware, V2FastPath, RegistryMetricsHook, LocalWritesHook],
})
export class RegistryFrontendModule {}
