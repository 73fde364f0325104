/**
 * A level-triggered wake-up signal: `signal()` sets it, `wait(ms)` resolves at once if it is set (clearing it),
 * otherwise on the next `signal()`, after `ms`, or when `abort` fires. Signals arriving while nobody waits are
 * remembered (once), so a notification received during a round triggers exactly one more round.
 */
export class Wakeup {
  private pending = false;
  private waiter: (() => void) | undefined;

  /** Sets the signal, waking the current waiter if any. */
  signal(): void {
    this.pending = true;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /** Clears a remembered signal. */
  clear(): void {
    this.pending = false;
  }

  /** Resolves true when signalled, false on timeout or abort. Never rejects; the timer does not keep Node alive. */
  wait(ms: number, abort: AbortSignal): Promise<boolean> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve(true);
    }
    if (abort.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const finish = (signalled: boolean): void => {
        clearTimeout(timer);
        abort.removeEventListener('abort', onAbort);
        if (this.waiter === onSignal) this.waiter = undefined;
        if (signalled) this.pending = false;
        resolve(signalled);
      };
      const onSignal = (): void => finish(true);
      const onAbort = (): void => finish(false);
      const timer = setTimeout(() => finish(false), Math.max(0, ms));
      timer.unref();
      abort.addEventListener('abort', onAbort, { once: true });
      this.waiter = onSignal;
    });
  }
}
