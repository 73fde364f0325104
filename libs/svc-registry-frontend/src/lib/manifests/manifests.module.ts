import { Module } from '@nestjs/common';
import { RegistryContextModule } from '../registry/registry-context.module';
import { RepositoryChanges } from '../registry/repository-changes.service';
import { CatalogHandler } from './catalog.handler';
import { ListingsService } from './listings.service';
import { ManifestCache, listeningManifestCache } from './manifest-cache';
import { ManifestConfigReader } from './manifest-config.service';
import { ManifestDeletes } from './manifest-deletes.service';
import { ManifestsHandler } from './manifests.handler';
import { ManifestsService } from './manifests.service';
import { ReferrersHandler } from './referrers.handler';
import { TagsHandler } from './tags.handler';

/** Manifests and tags (with their outbox events), the tag list, the catalog and the referrers API. */
@Module({
  imports: [RegistryContextModule],
  providers: [
    { provide: ManifestCache, inject: [RepositoryChanges], useFactory: (changes: RepositoryChanges) => listeningManifestCache(changes) },
    ManifestsService,
    ManifestDeletes,
    ManifestConfigReader,
    ListingsService,
    ManifestsHandler,
    TagsHandler,
    CatalogHandler,
    ReferrersHandler,
  ],
  exports: [ManifestCache, ManifestsHandler, TagsHandler, CatalogHandler, ReferrersHandler, ManifestDeletes, ListingsService],
})
export class ManifestsModule {}
