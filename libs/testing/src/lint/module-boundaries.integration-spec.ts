import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../../../..');
const RULE = '@nx/enforce-module-boundaries';

interface LintMessage {
  ruleId: string | null;
  message: string;
  fatal?: boolean;
}

/**
 * Lints a fixture (eslint.config.mjs ignores them in the tree) with the project's own config, the way
 * `npm run lint` does: the ESLint CLI in a child process (it loads its config with a dynamic import,
 * which Jest's module sandbox does not allow).
 */
function boundaryMessages(file: string): string[] {
  const run = spawnSync('npx', ['eslint', '--no-ignore', '--format', 'json', file], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false' },
  });
  const results = JSON.parse(run.stdout) as Array<{ messages: LintMessage[] }>;
  const messages = results.flatMap((r) => r.messages);
  const fatal = messages.filter((m) => m.fatal);
  if (fatal.length) throw new Error(`cannot lint ${file}: ${fatal.map((m) => m.message).join('; ')}`);
  return messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
}

describe('module boundaries (Nx tags in eslint.config.mjs)', () => {
  beforeAll(() => {
    // The rule reads Nx's cached project graph; without it the rule would silently skip.
    execFileSync('npx', ['nx', 'show', 'projects'], {
      cwd: root,
      stdio: 'ignore',
      env: { ...process.env, NX_DAEMON: 'false' },
    });
  });

  it('reports a domain lib importing an infrastructure package', () => {
    const messages = boundaryMessages('libs/oci/src/lib/__fixtures__/forbidden-infra-package.ts');
    expect(messages.join('\n')).toMatch(/typeorm/);
  });

  it('reports a domain lib importing an infrastructure lib', () => {
    const messages = boundaryMessages('libs/oci/src/lib/__fixtures__/forbidden-infra-lib.ts');
    expect(messages.join('\n')).toMatch(/type:domain/);
  });

  it('reports an infrastructure lib importing a feature lib', () => {
    const messages = boundaryMessages('libs/config/src/lib/__fixtures__/forbidden-feature-lib.ts');
    // Reported as a tag violation, or as a cycle (feature libs depend on infra libs): either way, refused.
    expect(messages.join('\n')).toMatch(/type:infra|Circular dependency/);
  });

  it('allows a feature lib to import a domain lib', () => {
    expect(boundaryMessages('libs/svc-scan-worker/src/lib/__fixtures__/allowed-import.ts')).toEqual([]);
  });
});
