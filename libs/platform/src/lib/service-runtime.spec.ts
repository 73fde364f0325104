import { Controller, Get, Module, type DynamicModule } from '@nestjs/common';
import { request, type IncomingHttpHeaders } from 'node:http';
import { PlatformModule } from './platform.module';
import { startService, type RunningService } from './service-runtime';

/** A request the test releases by hand, to have one in flight during shutdown. */
let release: (() => void) | undefined;
let entered: (() => void) | undefined;

@Controller('slow')
class SlowController {
  @Get()
  async slow(): Promise<{ done: true }> {
    entered?.();
    await new Promise<void>((resolve) => (release = resolve));
    return { done: true };
  }
}

function getWithHeaders(
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { agent: false, timeout: 10000, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function get(url: string, path: string): Promise<{ status: number; body: string }> {
  const { status, body } = await getWithHeaders(url, path);
  return { status, body };
}

describe(startService.name, () => {
  let running: RunningService | undefined;

  afterEach(async () => {
    release?.();
    await running?.stop();
    running = undefined;
  });

  async function start(): Promise<RunningService> {
    running = await startService(
      {
        name: 'runtime-test',
        mode: 'embedded',
        rootModule: (config, logger): DynamicModule => {
          @Module({ imports: [PlatformModule.forRoot(config, logger)], controllers: [SlowController] })
          class TestRoot {}
          return { module: TestRoot };
        },
      },
      { BERTH_PORT: '0', BERTH_LOG_LEVEL: 'silent' },
    );
    return running;
  }

  it('serves /healthz and an empty readiness when nothing is registered', async () => {
    const svc = await start();
    expect(await get(svc.url, '/healthz')).toEqual({ status: 200, body: '{"status":"ok"}' });
    expect(JSON.parse((await get(svc.url, '/readyz')).body)).toEqual({ status: 'ready', checks: {} });
  });

  it('answers every request with its x-request-id: the caller\'s when well-formed, a new UUID otherwise', async () => {
    const svc = await start();
    const given = await getWithHeaders(svc.url, '/healthz', { 'x-request-id': 'trace-me.1' });
    expect(given.headers['x-request-id']).toBe('trace-me.1');
    const bad = await getWithHeaders(svc.url, '/healthz', { 'x-request-id': 'no spaces allowed' });
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const missing = await getWithHeaders(svc.url, '/no-such-route');
    expect(missing.status).toBe(404);
    expect(missing.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('finishes a request in flight before stopping, and refuses new connections once stopping', async () => {
    const svc = await start();
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const inFlight = get(svc.url, '/slow');
    await inside;

    const stopped = svc.stop();
    // The listener closes first: a new connection is refused while the slow request is still running.
    await expect(get(svc.url, '/healthz')).rejects.toThrow(/ECONNREFUSED/);

    release?.();
    await expect(inFlight).resolves.toEqual({ status: 200, body: '{"done":true}' });
    await expect(stopped).resolves.toBeUndefined();
    // stop() is idempotent.
    await expect(svc.stop()).resolves.toBeUndefined();
  });
});
