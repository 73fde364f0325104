export * from './lib/registry-frontend.module';
export * from './lib/oci-error.filter';
