import { freePort, http, migratedDatabase, pollUntil, PrivateStack, startApp, stopProcess, type ServiceProcess, type StackComponent } from '../index';

/**
 * Stopping a backing server makes the services that use it unready (503, naming it) and ready again when
 * it returns, without restarting them. Runs on a private stack (own ports and data) so that the shared
 * stack every other test uses is never disturbed.
 */
const stack = new PrivateStack('chaos', {
  postgres: 25532,
  redis: 26479,
  kafka: 29192,
  kafkaController: 29193,
  minio: 29100,
  minioConsole: 29101,
});

interface Readiness {
  status: string;
  failing?: string[];
  checks: Record<string, string>;
}

const CHECK_NAME: Record<StackComponent, string> = { postgres: 'postgres', redis: 'redis', kafka: 'kafka', minio: 's3' };

describe('readiness follows the real dependencies', () => {
  let metadata: ServiceProcess;
  let tokens: ServiceProcess;

  beforeAll(async () => {
    stack.run('start');
    const settings = stack.settings();
    const db = await migratedDatabase(settings['BERTH_DATABASE_URL'] ?? '', 'chaos');
    const env = { ...settings, BERTH_DATABASE_URL: db.url };
    metadata = startApp('metadata-service', env, await freePort());
    tokens = startApp('token-service', env, await freePort());
    for (const svc of [metadata, tokens]) {
      await pollUntil(`${svc.name} ready`, () => http(`${svc.url}/readyz`), (r) => r.status === 200, { timeoutMs: 90000 }).catch(
        (e: Error) => {
          throw new Error(`${e.message}\n--- ${svc.name} output ---\n${svc.output().slice(-3000)}`);
        },
      );
    }
  });

  afterAll(async () => {
    await Promise.allSettled([metadata && stopProcess(metadata), tokens && stopProcess(tokens)]);
    stack.run('stop');
  });

  it.each<StackComponent>(['kafka', 'minio', 'redis', 'postgres'])(
    'stopping %s makes its users answer 503 naming it, and 200 once it is back',
    async (component) => {
      const name = CHECK_NAME[component];
      stack.run('stop', component);
      try {
        const down = await pollUntil(
          `metadata-service unready for ${component}`,
          () => http(`${metadata.url}/readyz`, { timeoutMs: 8000 }),
          (r) => r.status === 503,
          { timeoutMs: 30000 },
        );
        const body = down.json<Readiness>();
        expect(body.status).toBe('unavailable');
        expect(body.failing).toEqual([name]);
        expect(body.checks[name]).toMatch(/^down: /);

        // token-service uses only Postgres and Redis: it stays ready while Kafka or MinIO is away.
        const tokenState = await http(`${tokens.url}/readyz`, { timeoutMs: 8000 });
        if (component === 'kafka' || component === 'minio') expect(tokenState.status).toBe(200);
        else expect(tokenState.json<Readiness>().failing).toEqual([name]);
      } finally {
        stack.run('start', component);
      }
      for (const svc of [metadata, tokens]) {
        await pollUntil(`${svc.name} ready again after ${component}`, () => http(`${svc.url}/readyz`, { timeoutMs: 8000 }), (r) => r.status === 200, {
          timeoutMs: 60000,
        });
      }
      // Still the same processes: nothing was restarted.
      expect(metadata.child.exitCode).toBeNull();
      expect(tokens.child.exitCode).toBeNull();
    },
  );
});
