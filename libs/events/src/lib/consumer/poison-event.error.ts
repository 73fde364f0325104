/**
 * Thrown by an event handler to say that retrying cannot help (the event refers to something that can never exist,
 * its data is unusable): the consumer dead-letters the event at once instead of using up its attempts.
 */
export class PoisonEventError extends Error {
  /** @param message why the event can never be handled (ends up in the `berth-error` header). */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
