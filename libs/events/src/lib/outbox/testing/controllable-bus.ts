// Test support: an EventBus wrapper whose publishes can be made to fail (the bus is "down") or to wait at a gate.
import { EventBusUnavailableError } from '../../errors/event-bus-unavailable.error';
import type {
  BusMessage,
  EventBus,
  MessageHandler,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from '../../event-bus.port';

/** Delegates to `inner`; `down` makes publish reject as an unreachable broker would; `gate` holds publishes. */
export class ControllableBus implements EventBus {
  /** While true, publish rejects with EventBusUnavailableError (nothing is stored). */
  down = false;
  /** Publish calls so far (including failed and held ones). */
  publishCalls = 0;
  /** Publish calls that failed because the bus was down. */
  failures = 0;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  constructor(private readonly inner: EventBus) {}

  /** From now on, publishes wait (before reaching the inner bus) until `release()`. */
  hold(): void {
    this.gate = new Promise<void>((resolve) => (this.openGate = resolve));
  }

  /** Lets held publishes through. */
  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  async publish(topic: string, messages: BusMessage[]): Promise<void> {
    this.publishCalls++;
    if (this.gate) await this.gate;
    if (this.down) {
      this.failures++;
      throw new EventBusUnavailableError('test bus: the broker is down');
    }
    await this.inner.publish(topic, messages);
  }

  ensureTopics(topics: TopicSpec[]): Promise<void> {
    return this.inner.ensureTopics(topics);
  }

  subscribe(topics: string | string[], options: SubscribeOptions, handler: MessageHandler): Promise<Subscription> {
    return this.inner.subscribe(topics, options, handler);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
