/*
 * The size of libuv's thread pool, which runs every filesystem call, DNS lookup and async crypto (pbkdf2, scrypt).
 * Imported by every app's main.ts BEFORE anything else (instrument.ts included): libuv reads UV_THREADPOOL_SIZE
 * once, when the pool first gets work, and Node's default of 4 threads is too few for the filesystem blob store,
 * where an upload keeps several positional writes and a background fdatasync in flight and every fsync holds a
 * thread until the disk answers (measured: a 64 MiB push 0.3-0.5x of Distribution's speed with 4 threads,
 * 0.75-0.9x with 16). An operator's own UV_THREADPOOL_SIZE wins.
 */
const DEFAULT_THREAD_POOL_SIZE = 16;

if (process.env['UV_THREADPOOL_SIZE'] === undefined) {
  process.env['UV_THREADPOOL_SIZE'] = String(DEFAULT_THREAD_POOL_SIZE);
}

export {};
