/**
 * Polls `probe` until it returns a value `accept` approves, or fails after `timeoutMs` with the last
 * value or error in the message. Never a fixed sleep as synchronisation: the interval only paces retries.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  { timeoutMs = 30000, intervalMs = 250 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (accept(value)) return value;
      last = value;
    } catch (e) {
      last = e instanceof Error ? e.message : e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 500)}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface HttpResult {
  status: number;
  headers: Headers;
  body: string;
  json<T = unknown>(): T;
}

/** One HTTP request with a hard timeout; resolves for any status. */
export async function http(url: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<HttpResult> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(init.timeoutMs ?? 5000) });
  const body = await res.text();
  return { status: res.status, headers: res.headers, body, json: <T>() => JSON.parse(body) as T };
}
