export * from './lib/metadata-service.module';
