export * from './lib/processes';
export * from './lib/poll';
export * from './lib/stack';
export * from './lib/database';
export * from './lib/credentials';
export * from './lib/hosts';
