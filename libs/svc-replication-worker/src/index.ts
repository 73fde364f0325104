export * from './lib/replication-worker.module';
