import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EventBusUnavailableError } from '../../errors/event-bus-unavailable.error';
import { pollUntil } from '../../testing/poll-until.util';
import { KafkaEventBus } from './kafka-event-bus.adapter';

/*
 * Restarts a broker under a running adapter. The broker is a private one (deploy/local/stack.sh with its
 * own data dir and free ports), so stopping it disturbs no other test using the shared local stack.
 */
const run = promisify(execFile);
const STACK = join(__dirname, '../../../../../../deploy/local/stack.sh');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function settleTime(promise: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = Date.now();
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  return { ms: Date.now() - started, error };
}

describe(`${KafkaEventBus.name} across a broker restart`, () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let brokers: string[];
  const stack = (command: 'start' | 'stop'): Promise<unknown> =>
    run('bash', [STACK, command, 'kafka'], { env, timeout: 150_000 });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-events-restart-'));
    const [port, controllerPort] = [await freePort(), await freePort()];
    env = {
      ...process.env,
      BERTH_STACK_DIR: dir,
      BERTH_STACK_KAFKA_PORT: String(port),
      BERTH_STACK_KAFKA_CONTROLLER_PORT: String(controllerPort),
    };
    brokers = [`127.0.0.1:${port}`];
    await stack('start');
  }, 180_000);

  afterAll(async () => {
    await stack('stop').catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('ping fails fast while the broker is down, then the same adapter pings, publishes and consumes again', async () => {
    const bus = new KafkaEventBus({ brokers, clientId: 'berth-restart-it', sessionTimeoutMs: 6_000 });
    try {
      await bus.ensureTopics([{ name: 'restart', partitions: 2 }]);
      const received: string[] = [];
      await bus.subscribe('restart', { groupId: 'restart-group', fromBeginning: true }, (m) => {
        received.push(m.value.toString('utf8'));
        return Promise.resolve();
      });
      await bus.publish('restart', [{ key: 'reg', value: 'before' }]);
      await pollUntil('the message before the restart', () => received.includes('before'), 30_000);
      await expect(bus.ping()).resolves.toBeUndefined();

      await stack('stop');
      for (let i = 0; i < 2; i++) {
        const { ms, error } = await settleTime(bus.ping());
        expect(error).toBeInstanceOf(EventBusUnavailableError);
        expect(ms).toBeLessThan(2_500);
      }

      await stack('start');
      await pollUntil(
        'ping to succeed after the restart',
        () =>
          bus.ping().then(
            () => true,
            () => false,
          ),
        60_000,
        100,
      );
      await bus.publish('restart', [{ key: 'reg', value: 'after' }]);
      await pollUntil('the subscription to resume', () => received.includes('after'), 60_000);
      expect(received.indexOf('after')).toBeGreaterThan(received.indexOf('before'));
    } finally {
      await bus.close();
    }
  }, 180_000);
});
