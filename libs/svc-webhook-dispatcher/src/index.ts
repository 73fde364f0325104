export * from './lib/webhook-dispatcher.module';
