import { Wakeup } from './wakeup.util';

describe(Wakeup.name, () => {
  it('should remember a signal sent while nobody waits, once', async () => {
    const wakeup = new Wakeup();
    wakeup.signal();
    wakeup.signal();
    const never = new AbortController().signal;
    await expect(wakeup.wait(60_000, never)).resolves.toBe(true);
    await expect(wakeup.wait(1, never)).resolves.toBe(false);
  });

  it('should wake a waiter on signal', async () => {
    const wakeup = new Wakeup();
    const waiting = wakeup.wait(60_000, new AbortController().signal);
    wakeup.signal();
    await expect(waiting).resolves.toBe(true);
  });

  it('should resolve false on abort, and at once when already aborted', async () => {
    const wakeup = new Wakeup();
    const abort = new AbortController();
    const waiting = wakeup.wait(60_000, abort.signal);
    abort.abort();
    await expect(waiting).resolves.toBe(false);
    await expect(wakeup.wait(60_000, abort.signal)).resolves.toBe(false);
  });

  it('should forget a remembered signal on clear', async () => {
    const wakeup = new Wakeup();
    wakeup.signal();
    wakeup.clear();
    await expect(wakeup.wait(1, new AbortController().signal)).resolves.toBe(false);
  });
});
