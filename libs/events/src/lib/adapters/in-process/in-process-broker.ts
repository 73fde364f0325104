import { UnknownTopicError } from '../../errors/unknown-topic.error';
import type { EventBusLogger, MessageHandler, ReceivedMessage, RedeliveryBackoff } from '../../event-bus.port';
import { describeError, redeliveryDelayMs, sleep } from '../../util/backoff.util';
import { partitionForKey } from '../../util/partition-for-key.util';
import { validatePositiveInt } from '../../util/validate-bus-arguments.util';

/*
 * The in-process broker keeps Kafka's model so that both adapters behave alike:
 *
 *   topic ── partition 0: [m0 m1 m2 ...]  append-only; key → partition by hash, so a key keeps its order
 *         └─ partition 1: [...]
 *   group × topic ── committed offset per partition (the next message to handle)
 *                └── members (subscriptions); partition p is served by members[p % members.length]
 *
 * One delivery loop per (group, topic, partition) hands messages one at a time to the member serving that
 * partition and advances the committed offset only after the handler resolved; a rejection is retried after
 * a backoff. A member's `concurrency` bounds its handler calls across partitions.
 */

export interface InProcessBrokerOptions {
  /**
   * Retention: the newest messages kept per partition (default 10,000). Older ones are dropped, as Kafka's
   * retention drops old segments; a group that lags further behind continues from the oldest kept message.
   */
  maxRetainedMessagesPerPartition?: number;
}

interface StoredMessage {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  timestamp: Date;
}

export interface AppendMessage {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

/** A promise that is resolved (and renewed) whenever something changes. */
class Signal {
  private resolve!: () => void;
  private promise = this.renew();

  wait(): Promise<void> {
    return this.promise;
  }

  notify(): void {
    const resolve = this.resolve;
    this.promise = this.renew();
    resolve();
  }

  private renew(): Promise<void> {
    return new Promise<void>((resolve) => (this.resolve = resolve));
  }
}

/** Counting semaphore with a FIFO queue; `acquire` resolves false if `signal` aborts while waiting. */
class Slots {
  private readonly queue: Array<(granted: boolean) => void> = [];
  private free: number;

  constructor(size: number) {
    this.free = size;
  }

  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const grant = (granted: boolean): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(granted);
      };
      const onAbort = (): void => {
        const i = this.queue.indexOf(grant);
        if (i >= 0) this.queue.splice(i, 1);
        resolve(false);
      };
      this.queue.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    const next = this.queue.shift();
    if (next) next(true);
    else this.free++;
  }
}

class PartitionLog {
  startOffset = 0;
  readonly messages: StoredMessage[] = [];

  get endOffset(): number {
    return this.startOffset + this.messages.length;
  }

  at(offset: number): StoredMessage {
    const message = this.messages[offset - this.startOffset];
    if (!message) throw new Error(`in-process broker: offset ${offset} is outside the log`);
    return message;
  }
}

class TopicState {
  readonly partitions: PartitionLog[];
  /** Group dispatchers reading this topic, woken on every append. */
  readonly readers = new Set<GroupTopic>();

  constructor(
    readonly name: string,
    partitionCount: number,
  ) {
    this.partitions = Array.from({ length: partitionCount }, () => new PartitionLog());
  }
}

/** A subscription as the broker sees it. */
export class Member {
  readonly abort = new AbortController();
  readonly slots: Slots;
  readonly inFlight = new Set<Promise<unknown>>();
  readonly groupTopics: GroupTopic[] = [];

  constructor(
    readonly groupId: string,
    readonly handler: MessageHandler,
    concurrency: number,
    readonly backoff: Required<RedeliveryBackoff>,
    readonly logger: EventBusLogger | undefined,
  ) {
    this.slots = new Slots(concurrency);
  }

  get stopped(): boolean {
    return this.abort.signal.aborted;
  }
}

/** One consumer group's state for one topic: committed offsets, members, delivery loops. */
class GroupTopic {
  /** Next offset to handle, per partition; undefined until the group first subscribes. */
  readonly offsets: Array<number | undefined>;
  readonly members: Member[] = [];
  readonly changed = new Signal();
  private readonly loops: Array<Promise<void> | undefined>;

  constructor(
    readonly groupId: string,
    readonly topic: TopicState,
  ) {
    this.offsets = topic.partitions.map(() => undefined);
    this.loops = topic.partitions.map(() => undefined);
  }

  join(member: Member, fromBeginning: boolean): void {
    this.topic.partitions.forEach((log, p) => {
      if (this.offsets[p] === undefined) this.offsets[p] = fromBeginning ? log.startOffset : log.endOffset;
    });
    this.members.push(member);
    member.groupTopics.push(this);
    this.topic.readers.add(this);
    this.changed.notify();
    this.topic.partitions.forEach((_, p) => {
      if (!this.loops[p]) this.loops[p] = this.run(p);
    });
  }

  leave(member: Member): void {
    const i = this.members.indexOf(member);
    if (i >= 0) this.members.splice(i, 1);
    if (this.members.length === 0) this.topic.readers.delete(this);
    this.changed.notify();
  }

  private assignee(partition: number): Member | undefined {
    const members = this.members;
    return members.length === 0 ? undefined : members[partition % members.length];
  }

  private async run(partition: number): Promise<void> {
    const log = this.topic.partitions[partition];
    let attempt = 1;
    let lastOffset = -1;
    for (;;) {
      const member = this.assignee(partition);
      if (!member || !log) {
        // Synchronously with the check, so a member joining later always finds no loop and starts one.
        this.loops[partition] = undefined;
        return;
      }
      let offset = this.offsets[partition] ?? log.endOffset;
      if (offset < log.startOffset) {
        member.logger?.warn(
          { topic: this.topic.name, partition, groupId: this.groupId, skippedTo: log.startOffset, from: offset },
          'in-process event bus: group fell behind retention; continuing from the oldest retained message',
        );
        offset = log.startOffset;
        this.offsets[partition] = offset;
      }
      if (offset >= log.endOffset) {
        await this.changed.wait();
        continue;
      }
      if (offset !== lastOffset) {
        attempt = 1;
        lastOffset = offset;
      }
      const outcome = await this.deliver(member, partition, offset, log.at(offset), attempt);
      if (outcome === 'handled') {
        if (this.offsets[partition] === offset) this.offsets[partition] = offset + 1;
      } else if (outcome === 'failed') {
        const delay = redeliveryDelayMs(attempt, member.backoff);
        attempt++;
        // Interrupted when the member stops, so its partitions move on to another member at once.
        await sleep(delay, member.abort.signal);
      }
    }
  }

  private async deliver(
    member: Member,
    partition: number,
    offset: number,
    stored: StoredMessage,
    attempt: number,
  ): Promise<'handled' | 'failed' | 'skipped'> {
    if (!(await member.slots.acquire(member.abort.signal))) return 'skipped';
    if (member.stopped) {
      member.slots.release();
      return 'skipped';
    }
    const message: ReceivedMessage = {
      topic: this.topic.name,
      partition,
      offset: String(offset),
      key: stored.key,
      value: Buffer.from(stored.value), // a copy: one group's handler cannot alter what another receives
      headers: { ...stored.headers },
      timestamp: new Date(stored.timestamp.getTime()),
      attempt,
    };
    // Called synchronously (after the check above, so never once `stop()` began); a throw becomes a rejection.
    const call = new Promise<void>((resolve) => resolve(member.handler(message)));
    member.inFlight.add(call);
    try {
      await call;
      return 'handled';
    } catch (err) {
      member.logger?.warn(
        { topic: this.topic.name, partition, offset: message.offset, groupId: this.groupId, attempt, err },
        `in-process event bus: handler rejected (${describeError(err)}); redelivering after a backoff`,
      );
      return 'failed';
    } finally {
      member.inFlight.delete(call);
      member.slots.release();
    }
  }
}

/**
 * The state behind `InProcessEventBus`: topics, their logs and consumer-group positions. Several buses may
 * share one broker, as several Kafka clients share a cluster.
 */
export class InProcessBroker {
  private readonly topics = new Map<string, TopicState>();
  private readonly groups = new Map<string, GroupTopic>();
  private readonly maxRetained: number;

  constructor(options: InProcessBrokerOptions = {}) {
    this.maxRetained = options.maxRetainedMessagesPerPartition ?? 10_000;
    validatePositiveInt(this.maxRetained, 'maxRetainedMessagesPerPartition');
  }

  hasTopic(name: string): boolean {
    return this.topics.has(name);
  }

  createTopic(name: string, partitions: number): void {
    if (!this.topics.has(name)) this.topics.set(name, new TopicState(name, partitions));
  }

  /** Appends all messages atomically (no reader runs in between), in order. */
  append(topicName: string, messages: AppendMessage[]): void {
    const topic = this.requireTopic(topicName);
    const timestamp = new Date();
    for (const m of messages) {
      const log = topic.partitions[partitionForKey(m.key, topic.partitions.length)];
      if (!log) throw new Error(`in-process broker: no partition for key in "${topicName}"`);
      log.messages.push({ key: m.key, value: m.value, headers: m.headers, timestamp });
      this.trim(log);
    }
    for (const reader of topic.readers) reader.changed.notify();
  }

  /** Adds a member to its group for each topic; all topics must exist (checked before anything changes). */
  join(member: Member, topicNames: string[], fromBeginning: boolean): void {
    const topics = topicNames.map((name) => this.requireTopic(name));
    for (const topic of topics) {
      const key = `${member.groupId}\u0000${topic.name}`;
      let groupTopic = this.groups.get(key);
      if (!groupTopic) {
        groupTopic = new GroupTopic(member.groupId, topic);
        this.groups.set(key, groupTopic);
      }
      groupTopic.join(member, fromBeginning);
    }
  }

  /** Removes the member everywhere and waits for its handler calls in progress. */
  async leave(member: Member): Promise<void> {
    member.abort.abort();
    for (const groupTopic of member.groupTopics) groupTopic.leave(member);
    await Promise.allSettled([...member.inFlight]);
  }

  /** Messages of `topicName` the group has yet to handle (0 for partitions it has no position in). */
  lag(groupId: string, topicName: string): number {
    const groupTopic = this.groups.get(`${groupId}\u0000${topicName}`);
    const topic = this.topics.get(topicName);
    if (!groupTopic || !topic) return 0;
    let lag = 0;
    topic.partitions.forEach((log, p) => {
      const at = groupTopic.offsets[p];
      if (at !== undefined) lag += Math.max(0, log.endOffset - at);
    });
    return lag;
  }

  private requireTopic(name: string): TopicState {
    const topic = this.topics.get(name);
    if (!topic) throw new UnknownTopicError(name);
    return topic;
  }

  private trim(log: PartitionLog): void {
    // Trim in chunks of ~10% so appends stay amortised O(1).
    const slack = Math.max(1, Math.floor(this.maxRetained / 10));
    if (log.messages.length <= this.maxRetained + slack) return;
    const excess = log.messages.length - this.maxRetained;
    log.messages.splice(0, excess);
    log.startOffset += excess;
  }
}
