export * from './lib/json-logger';
export * from './lib/health.registry';
export * from './lib/health.module';
export * from './lib/platform.module';
export * from './lib/platform.tokens';
export * from './lib/service-runtime';
export * from './lib/tls-material';
export * from './lib/infra-needs';
