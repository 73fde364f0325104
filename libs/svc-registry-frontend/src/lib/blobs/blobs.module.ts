import { Module } from '@nestjs/common';
import { RegistryContextModule } from '../registry/registry-context.module';
import { BlobsHandler } from './blobs.handler';
import { UploadsHandler } from './uploads.handler';

/** Blob reads and deletes, and uploads (monolithic, chunked, streamed, cross-repository mount). */
@Module({
  imports: [RegistryContextModule],
  providers: [BlobsHandler, UploadsHandler],
  exports: [BlobsHandler, UploadsHandler],
})
export class BlobsModule {}
