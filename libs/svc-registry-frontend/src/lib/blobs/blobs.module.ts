import { Module } from '@nestjs/common';
import { RegistryContextModule } from '../registry/registry-context.module';
import { BlobLinks } from './blob-links.service';
import { BlobsHandler } from './blobs.handler';
import { UploadExpiry } from './upload-expiry.service';
import { UploadLocks } from './upload-lock.service';
import { UploadSessions } from './upload-sessions.service';
import { UploadsHandler } from './uploads.handler';

/** Blob reads and deletes, and uploads (monolithic, chunked, streamed, cross-repository mount), with upload expiry. */
@Module({
  imports: [RegistryContextModule],
  providers: [BlobsHandler, UploadsHandler, BlobLinks, UploadSessions, UploadLocks, UploadExpiry],
  exports: [BlobsHandler, UploadsHandler, BlobLinks, UploadExpiry],
})
export class BlobsModule {}
