export * from './lib/token-service.module';
export { KEY_ROTATION_INTERVAL_MS } from './lib/keys/key-rotation.service';
