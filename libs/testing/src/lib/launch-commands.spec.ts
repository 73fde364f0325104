import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { nodeRuntimeFlags, REPO_ROOT } from './processes';

/**
 * Every launcher of a Berth service runs `node <the same V8 flags> -r ./scripts/register.cjs apps/<app>/src/main.ts`:
 * the flags of `npm start` (nodeRuntimeFlags), which tests and benchmarks use too. A launcher that drifts would
 * run production differently from what was measured. (The Helm chart's rendered command is checked by
 * helm-chart.integration-spec.ts.)
 */
describe('launch commands', () => {
  const read = (file: string): string => readFileSync(path.join(REPO_ROOT, file), 'utf8');
  const flags = nodeRuntimeFlags();

  it('should give npm start a larger young generation and external memory counted in the heap limit (no major GC per few dozen MiB pushed)', () => {
    expect(flags).toEqual(['--max-semi-space-size=32', '--heap-growing-percent=100', '--no-memory-reducer', '--external-memory-accounted-in-global-limit']);
  });

  it.each(readdirSync(path.join(REPO_ROOT, 'apps')))('should serve %s with the same flags', (app) => {
    const project = JSON.parse(read(`apps/${app}/project.json`)) as { targets: { serve: { options: { command: string } } } };
    expect(project.targets.serve.options.command).toBe(['node', ...flags, '-r', './scripts/register.cjs', `apps/${app}/src/main.ts`].join(' '));
  });

  it('should start the image with the same flags', () => {
    const cmd = /^CMD (\[.*\])$/m.exec(read('deploy/docker/Dockerfile'))?.[1];
    expect(JSON.parse(cmd ?? 'null')).toEqual(['node', ...flags, '-r', './scripts/register.cjs', 'apps/berth/src/main.ts']);
  });

  it('should run every chart Deployment with the same flags', () => {
    const template = read('helm/berth/templates/deployments.yaml');
    const command = /command: (\["node".*\])/.exec(template)?.[1];
    expect(JSON.parse(command ?? 'null')).toEqual(['node', ...flags, '-r', './scripts/register.cjs', 'apps/{{ $app }}/src/main.ts']);
  });
});
