import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { IdentityModule } from '@berth/identity';
import { LimitsModule } from '../limits/limits.module';
import { RegistryContextModule } from '../registry/registry-context.module';
import { DataPlaneAuthGuard } from './data-plane-auth.guard';
import { DataPlaneAuthorizer } from './data-plane-authorizer.service';
import { TokenRouteForwarder } from './token-route-forwarder';

/** Authentication and authorization of the data plane (`/v2`, `/acr/v1`), and `/oauth2/*` forwarding in distributed mode. */
@Module({
  imports: [IdentityModule, RegistryContextModule, LimitsModule],
  providers: [DataPlaneAuthorizer, TokenRouteForwarder, DataPlaneAuthGuard, { provide: APP_GUARD, useExisting: DataPlaneAuthGuard }],
  exports: [DataPlaneAuthGuard, DataPlaneAuthorizer],
})
export class DataPlaneAuthModule {}
