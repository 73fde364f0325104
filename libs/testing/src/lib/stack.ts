import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './processes';

export type StackComponent = 'postgres' | 'redis' | 'kafka' | 'minio';

/** The settings of the shared local stack that the integration project's global setup started. */
export function stackEnv(): Record<string, string> {
  const names = [
    'BERTH_DATABASE_URL',
    'BERTH_REDIS_URL',
    'BERTH_KAFKA_BROKERS',
    'BERTH_S3_ENDPOINT',
    'BERTH_S3_ACCESS_KEY',
    'BERTH_S3_SECRET_KEY',
    'BERTH_S3_REGION',
  ];
  const missing = names.filter((n) => !process.env[n]);
  if (missing.length) {
    throw new Error(`the local stack is not configured (${missing.join(', ')} unset): run through npm test or jest's integration project`);
  }
  return { ...Object.fromEntries(names.map((n) => [n, String(process.env[n])])), BERTH_MASTER_KEY: TEST_MASTER_KEY };
}

/** The fixed master key of test stacks (distributed processes require one, and every service must share it). */
export const TEST_MASTER_KEY = 'b3f1c0de5e7a9d24c6b8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5';

/**
 * A private stack on its own ports and data folder, for tests that stop and start servers: the shared
 * stack stays untouched for every other test running at the same time.
 */
export class PrivateStack {
  private readonly env: Record<string, string>;

  constructor(name: string, ports: { postgres: number; redis: number; kafka: number; kafkaController: number; minio: number; minioConsole: number }) {
    this.env = {
      BERTH_STACK_DIR: path.join(REPO_ROOT, '.stack', name),
      BERTH_STACK_PG_PORT: String(ports.postgres),
      BERTH_STACK_REDIS_PORT: String(ports.redis),
      BERTH_STACK_KAFKA_PORT: String(ports.kafka),
      BERTH_STACK_KAFKA_CONTROLLER_PORT: String(ports.kafkaController),
      BERTH_STACK_MINIO_PORT: String(ports.minio),
      BERTH_STACK_MINIO_CONSOLE_PORT: String(ports.minioConsole),
    };
  }

  run(command: 'start' | 'stop' | 'reset' | 'status', ...components: StackComponent[]): string {
    return execFileSync('bash', [path.join(REPO_ROOT, 'deploy/local/stack.sh'), command, ...components], {
      env: { ...process.env, ...this.env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  /** The BERTH_* connection settings of this stack. */
  settings(): Record<string, string> {
    const out = execFileSync('bash', [path.join(REPO_ROOT, 'deploy/local/stack.sh'), 'env'], {
      env: { ...process.env, ...this.env },
      encoding: 'utf8',
    });
    const settings: Record<string, string> = {};
    for (const line of out.split('\n')) {
      const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
      if (m?.[1] && m[2] !== undefined) settings[m[1]] = m[2];
    }
    return { ...settings, BERTH_MASTER_KEY: TEST_MASTER_KEY };
  }
}
