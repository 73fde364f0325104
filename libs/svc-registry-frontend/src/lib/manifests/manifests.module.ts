import { Module } from '@nestjs/common';
import { RegistryContextModule } from '../registry/registry-context.module';
import { CatalogHandler } from './catalog.handler';
import { ManifestsHandler } from './manifests.handler';
import { ReferrersHandler } from './referrers.handler';
import { TagsHandler } from './tags.handler';

/** Manifests and tags (with their outbox events), the tag list, the catalog and the referrers API. */
@Module({
  imports: [RegistryContextModule],
  providers: [ManifestsHandler, TagsHandler, CatalogHandler, ReferrersHandler],
  exports: [ManifestsHandler, TagsHandler, CatalogHandler, ReferrersHandler],
})
export class ManifestsModule {}
