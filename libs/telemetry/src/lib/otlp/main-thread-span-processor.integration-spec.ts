import { spawn } from 'node:child_process';
import path from 'node:path';
import { startOtlpReceiver, type OtlpReceiver } from '../testing/otlp-receiver';

/**
 * MainThreadSpanProcessor (one CPU) in a process of its own (main-thread-export.fixture.ts), exporting OTLP/protobuf to
 * a receiver on 127.0.0.1.
 */

const ROOT = path.resolve(__dirname, '../../../../..');

/** Runs the fixture; resolves with its stdout lines once it exits 0, and calls `onLine` as each arrives. */
function runFixture(count: number, env: Record<string, string>, onLine: (line: string) => void): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', './scripts/register.cjs', path.join(__dirname, 'main-thread-export.fixture.ts'), String(count)], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let stderr = '';
    let rest = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const parts = (rest + chunk.toString()).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        onLine(line);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(lines);
      else reject(new Error(`fixture exited with ${code}: ${stderr}`));
    });
  });
}

describe('MainThreadSpanProcessor', () => {
  let receiver: OtlpReceiver;

  beforeEach(async () => {
    receiver = await startOtlpReceiver();
  });

  afterEach(async () => {
    await receiver.close();
  });

  it('sends full requests at once and the rest on flush, from the main thread, the same OTLP/protobuf', async () => {
    let beforeFlush = -1;
    const lines = await runFixture(
      600,
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '600000', FIXTURE_PAUSE_MS: '1000' },
      (line) => {
        if (line.includes('before-flush')) beforeFlush = receiver.spans().length;
      },
    );
    expect(lines.map((l) => (JSON.parse(l) as { phase: string }).phase)).toEqual(['before-flush', 'done']);
    // 512 (a full request) went on their own; the other 88 on flush; nothing after shutdown.
    expect(beforeFlush).toBe(512);
    const spans = receiver.spans();
    expect(spans).toHaveLength(600);
    expect(new Set(spans.map((s) => s.spanId)).size).toBe(600);
    expect(spans.find((s) => s.name === 'GET 599')).toMatchObject({
      kind: 2,
      service: 'main-thread-test',
      scope: 'berth.http',
      attributes: { 'test.index': 599 },
    });
    const traces = receiver.requests().filter((r) => r.path === '/v1/traces');
    expect(traces).toHaveLength(2);
    expect(traces.every((r) => r.contentType === 'application/x-protobuf')).toBe(true);
  });
});
