export * from './lib/scan-worker.module';
