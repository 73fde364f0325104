export * from './lib/token-service.module';
