// Runs the TypeScript sources directly (swc, with decorator metadata and the @berth/* paths of
// tsconfig.base.json). Used by `npm start`, the per-app `serve` targets and the migrate command.
process.env.SWC_NODE_PROJECT = process.env.SWC_NODE_PROJECT || require('node:path').join(__dirname, '..', 'tsconfig.base.json');
require('@swc-node/register');
