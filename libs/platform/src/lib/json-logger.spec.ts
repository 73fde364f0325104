import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { createLogger, routeProcessWarnings } from './json-logger';

const ROOT = path.resolve(__dirname, '../../../..');

function collectingLogger(level: 'debug' | 'info' = 'debug') {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('svc', level, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** A process stand-in with Node's own printer installed, as Node does unless warnings are switched off. */
function fakeProcess() {
  const proc = new EventEmitter();
  const printed: Error[] = [];
  proc.on('warning', function onWarning(w: Error) {
    printed.push(w);
  });
  return { proc: proc as unknown as NodeJS.Process, printed };
}

function warning(name: string, message: string, code?: string): Error {
  const w = new Error(message) as Error & { code?: string };
  w.name = name;
  if (code) w.code = code;
  return w;
}

describe('routeProcessWarnings', () => {
  it('replaces Node\'s printer with one JSON line per warning, quiet ones at debug', () => {
    const { logger, lines } = collectingLogger();
    const { proc, printed } = fakeProcess();
    routeProcessWarnings(logger, proc);

    proc.emit('warning', warning('DeprecationWarning', 'Buffer() is deprecated', 'DEP0005'));
    proc.emit('warning', warning('TimeoutNegativeWarning', '-1795477345268 is a negative number.\nTimeout duration was set to 1.'));

    expect(printed).toEqual([]);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      service: 'svc',
      component: 'node',
      msg: 'process warning',
      warning: { name: 'DeprecationWarning', code: 'DEP0005', message: 'Buffer() is deprecated' },
    });
    expect(lines[1]).toMatchObject({ level: 'debug', component: 'node', warning: { name: 'TimeoutNegativeWarning' } });
  });

  it('drops quiet warnings below debug and keeps the rest', () => {
    const { logger, lines } = collectingLogger('info');
    const { proc } = fakeProcess();
    routeProcessWarnings(logger, proc);
    proc.emit('warning', warning('TimeoutNegativeWarning', '-1 is a negative number.'));
    proc.emit('warning', warning('ExperimentalWarning', 'something is experimental'));
    expect(lines.map((l) => (l['warning'] as { name: string }).name)).toEqual(['ExperimentalWarning']);
  });

  it('puts Node\'s printer back when restored', () => {
    const { logger, lines } = collectingLogger();
    const { proc, printed } = fakeProcess();
    const restore = routeProcessWarnings(logger, proc);
    restore();
    proc.emit('warning', warning('ExperimentalWarning', 'after restore'));
    expect(lines).toEqual([]);
    expect(printed.map((w) => w.message)).toEqual(['after restore']);
    expect(proc.listenerCount('warning')).toBe(1);
  });

  it('changes nothing when the operator switched warnings off (Node installed no printer)', () => {
    const { logger, lines } = collectingLogger();
    const proc = new EventEmitter() as unknown as NodeJS.Process;
    routeProcessWarnings(logger, proc)();
    expect(proc.listenerCount('warning')).toBe(0);
    proc.emit('warning', warning('ExperimentalWarning', 'ignored'));
    expect(lines).toEqual([]);
  });

  it('leaves stderr empty and stdout JSON in a real Node process, also for a negative timer delay', () => {
    const script = [
      "const { createLogger, routeProcessWarnings } = require('./libs/platform/src/lib/json-logger.ts');",
      "routeProcessWarnings(createLogger('svc', 'debug'));",
      "process.emitWarning('a test warning', { code: 'BERTH_TEST' });",
      'setTimeout(() => undefined, -5);',
    ].join('\n');
    const result = spawnSync(process.execPath, ['-r', './scripts/register.cjs', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: string; warning: { name: string; code?: string } });
    expect(lines).toEqual(
      expect.arrayContaining([expect.objectContaining({ level: 'warn', warning: expect.objectContaining({ name: 'Warning', code: 'BERTH_TEST' }) })]),
    );
    // Node 23+ warns about the negative delay; earlier versions set it to 1 ms silently.
    if (Number(process.versions.node.split('.')[0]) >= 23) {
      expect(lines).toEqual(expect.arrayContaining([expect.objectContaining({ level: 'debug', warning: expect.objectContaining({ name: 'TimeoutNegativeWarning' }) })]));
    }
  });
});
