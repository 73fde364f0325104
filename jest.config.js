// One Jest run, two projects: `unit` (*.spec.ts, pure and in-process, no servers) and
// `integration` (*.integration-spec.ts, against the real local stack that scripts/test.sh starts).
const path = require('node:path');
const { compilerOptions } = require('./tsconfig.base.json');

const moduleNameMapper = Object.fromEntries(
  Object.entries(compilerOptions.paths).map(([alias, [target]]) => [`^${alias}$`, path.join('<rootDir>', target)]),
);
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
        keepClassNames: true,
      },
      module: { type: 'commonjs' },
      sourceMaps: 'inline',
    },
  ],
};
const common = {
  rootDir: __dirname,
  transform,
  moduleNameMapper,
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.stack/', '/.berth-data/'],
  setupFiles: ['<rootDir>/libs/testing/src/setup-env.js'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs,tools}/**/*.integration-spec.ts'],
      globalSetup: '<rootDir>/libs/testing/src/global-setup.js',
      setupFilesAfterEnv: ['<rootDir>/libs/testing/src/integration-setup.js'],
    },
  ],
};
