export * from './lib/load-config';
export { BerthEnv } from './lib/berth-env.schema';
