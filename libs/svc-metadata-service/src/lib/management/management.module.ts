import { Module } from '@nestjs/common';
import { IdentityModule } from '@berth/identity';
import { ArmBodyHook } from './arm/arm-body.hook';
import { ARM_IDENTITY, CREDENTIAL_SECRETS } from './arm/arm-identity.port';
import { AuthCredentialSecrets, IdentityArmAdapter } from './arm/identity-arm.adapter';
import { OperationsService } from './arm/operations.service';
import { ReplicationsService } from './children/replications.service';
import { ScopeMapsService } from './children/scope-maps.service';
import { TokensService } from './children/tokens.service';
import { WebhooksService } from './children/webhooks.service';
import { ImportImageService } from './import/import-image.service';
import { ManagementController } from './management.controller';
import { OpenApiController } from './openapi.controller';
import { RegistriesService } from './registries/registries.service';
import { RegistryDeletion } from './registries/registry-deletion.service';
import { RegistryRecords } from './registries/registry-records.service';
import { ResourceGroupsService } from './resource-groups.service';
import { TIER_CATALOG_PROVIDER } from './tier-catalog.provider';

/** The ARM-shaped management API: `/subscriptions/...` and `/providers/Microsoft.ContainerRegistry/...`. */
@Module({
  imports: [IdentityModule],
  controllers: [ManagementController, OpenApiController],
  providers: [
    TIER_CATALOG_PROVIDER,
    ArmBodyHook,
    { provide: ARM_IDENTITY, useClass: IdentityArmAdapter },
    { provide: CREDENTIAL_SECRETS, useClass: AuthCredentialSecrets },
    OperationsService,
    RegistryRecords,
    RegistryDeletion,
    RegistriesService,
    ResourceGroupsService,
    ReplicationsService,
    WebhooksService,
    ScopeMapsService,
    TokensService,
    ImportImageService,
  ],
})
export class ManagementModule {}
