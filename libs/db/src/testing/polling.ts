// Test support: wait for asynchronous outcomes by polling with a deadline, never by sleeping a fixed time.

/** Polls `check` until it resolves, or rejects with its last error after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/** Polls `condition` until it holds; rejects naming `what` after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  await eventually(
    () => (condition() ? Promise.resolve() : Promise.reject(new Error(`timed out waiting until ${what}`))),
    timeoutMs,
    20,
  );
}
