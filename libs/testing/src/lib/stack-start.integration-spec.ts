import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, REPO_ROOT } from './processes';

/*
 * deploy/local/stack.sh launches a server again when it exits because its port was taken between the
 * script's check (no listener) and the server's bind(). That is what an outgoing connection does when the
 * kernel hands it the port as its ephemeral local port: the stack's default ports all lie in Linux's
 * ephemeral range, and a private stack started mid-suite (readiness-chaos) once lost its Kafka this way.
 *
 * The taker here is a plain socket bound to 127.0.0.1:<port> without SO_REUSEADDR and never listening (Perl,
 * which every Debian system has in perl-base; Node's own sockets always set SO_REUSEADDR, which does not
 * block a listener's bind). Redis is the server: it starts in milliseconds and exits at once on a taken port.
 */
const STACK = path.join(REPO_ROOT, 'deploy/local/stack.sh');

interface Outcome {
  code: number;
  output: string;
}

function stackSh(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile('bash', [STACK, ...args], { env, timeout: 60_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** Binds 127.0.0.1:port (no listen, no SO_REUSEADDR) in another process for holdMs, resolving once it holds it. */
function holdPort(port: number, holdMs: number): Promise<ChildProcess> {
  const script =
    'use Socket; socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!"; ' +
    'bind($s, sockaddr_in($ARGV[0], inet_aton("127.0.0.1"))) or die "bind: $!"; ' +
    '$| = 1; print "held\\n"; select(undef, undef, undef, $ARGV[1] / 1000);';
  const child = spawn('perl', ['-e', script, String(port), String(holdMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve(child));
    child.on('exit', (code) => reject(new Error(`perl exited (${code}) before holding port ${port}: ${err}`)));
  });
}

function ping(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(3000, () => socket.destroy(new Error('no reply to PING')));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) socket.end();
    });
    socket.on('close', () => resolve(reply.trim()));
    socket.on('error', reject);
  });
}

describe('stack.sh start when a port is taken during the launch', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let port: number;
  let holder: ChildProcess | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-stack-start-'));
    port = await freePort();
    env = { ...process.env, BERTH_STACK_DIR: dir, BERTH_STACK_REDIS_PORT: String(port), BERTH_STACK_START_RETRY_SECS: '1' };
  });

  afterEach(async () => {
    holder?.kill('SIGKILL');
    await stackSh(env, 'stop', 'redis');
    await rm(dir, { recursive: true, force: true });
  });

  it('launches the server again once the port is free, and it serves', async () => {
    holder = await holdPort(port, 1500);
    const result = await stackSh(env, 'start', 'redis');

    expect(result.output).toContain('Address already in use');
    expect(result.output).toMatch(/redis: its port was taken while it started; launching again in 1s \(attempt 2 of 3\)/);
    expect(result.code).toBe(0);
    expect(result.output).toContain(`redis: ready on 127.0.0.1:${port}`);
    await expect(ping(port)).resolves.toBe('+PONG');
  }, 60_000);

  it('gives up after the configured attempts, naming the component', async () => {
    holder = await holdPort(port, 30_000);
    const result = await stackSh({ ...env, BERTH_STACK_START_ATTEMPTS: '2' }, 'start', 'redis');

    expect(result.code).not.toBe(0);
    expect(result.output.match(/launching again/g)).toHaveLength(1);
    expect(result.output).toContain('failed to start: redis');
  }, 60_000);

  it('refuses at once, without launching, when a server already listens on the port', async () => {
    const server = createServer().listen(port, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const result = await stackSh(env, 'start', 'redis');
      expect(result.code).not.toBe(0);
      expect(result.output).toContain(`redis: port ${port} is already in use by another process`);
      expect(result.output).not.toContain('launching again');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }, 60_000);
});
