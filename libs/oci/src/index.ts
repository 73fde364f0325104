export * from './lib/errors';
export * from './lib/digest';
export * from './lib/names';
export * from './lib/manifest';
