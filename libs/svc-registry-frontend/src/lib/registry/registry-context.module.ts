import { Module } from '@nestjs/common';
import { RegistryResolver } from './registry-resolver.service';
import { RepositoryChanges } from './repository-changes.service';
import { RepositoryRecords } from './repository-records.service';

/** Registry resolution, repository records and the repository-change listener, shared by every data-plane feature. */
@Module({
  providers: [RegistryResolver, RepositoryRecords, RepositoryChanges],
  exports: [RegistryResolver, RepositoryRecords, RepositoryChanges],
})
export class RegistryContextModule {}
