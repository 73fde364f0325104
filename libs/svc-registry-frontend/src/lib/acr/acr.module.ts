import { type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import { ManifestsModule } from '../manifests/manifests.module';
import { RegistryContextModule } from '../registry/registry-context.module';
import { AcrBodyMiddleware } from './acr-body.middleware';
import { AcrController } from './acr.controller';
import { AcrManifests } from './acr-manifests.service';
import { AcrRepositories } from './acr-repositories.service';
import { AcrTags } from './acr-tags.service';

/** The ACR data-plane API under `/acr/v1/` (acr.md §2). */
@Module({
  imports: [RegistryContextModule, ManifestsModule],
  controllers: [AcrController],
  providers: [AcrRepositories, AcrTags, AcrManifests],
})
export class AcrModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(AcrBodyMiddleware).forRoutes({ path: 'acr/v1/*path', method: RequestMethod.ALL });
  }
}
