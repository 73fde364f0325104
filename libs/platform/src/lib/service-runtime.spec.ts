import { Controller, Get, Module, type DynamicModule } from '@nestjs/common';
import { request } from 'node:http';
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

function get(url: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { agent: false, timeout: 10000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
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
