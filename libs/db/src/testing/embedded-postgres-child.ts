// Test support: runs startEmbeddedPostgres in a child process, for the tests that need another process (a
// non-root user, or a Berth process that gets killed and leaves its server orphaned).
//   node -r ./scripts/register.cjs libs/db/src/testing/embedded-postgres-child.ts '<options as JSON>'
// Prints `READY <url>` once the server accepts connections; on SIGTERM or when stdin closes, stops the server,
// prints `STOPPED` and exits. Prints `FAILED <message>` and exits 1 when start-up fails.
import { startEmbeddedPostgres, type EmbeddedPostgresOptions } from '../lib/embedded/embedded-postgres.launcher';

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as EmbeddedPostgresOptions;
  const server = await startEmbeddedPostgres(options);
  process.stdout.write(`READY ${server.url}\n`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void server.stop().then(() => {
      process.stdout.write('STOPPED\n');
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop).resume();
}

main().catch((error: unknown) => {
  process.stdout.write(`FAILED ${(error instanceof Error ? error.message : String(error)).replace(/\n/g, ' | ')}\n`);
  process.exit(1);
});
