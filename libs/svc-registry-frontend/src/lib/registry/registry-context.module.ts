import { Module } from '@nestjs/common';
import { RegistryResolver } from './registry-resolver.service';
import { RepositoryRecords } from './repository-records.service';

/** Registry resolution and repository records, shared by every data-plane feature. */
@Module({ providers: [RegistryResolver, RepositoryRecords], exports: [RegistryResolver, RepositoryRecords] })
export class RegistryContextModule {}
