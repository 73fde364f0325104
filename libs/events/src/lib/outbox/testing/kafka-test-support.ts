// Test support: the local stack's Kafka, unique names, and cleanup of what a spec created.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { requireStackEnv } from './outbox-test-database';

/** The local stack's bootstrap brokers. */
export function stackBrokers(): string[] {
  return requireStackEnv('BERTH_KAFKA_BROKERS').split(',');
}

/** Topics and groups a spec created, to delete afterwards. */
export class KafkaNames {
  readonly topics: string[] = [];
  readonly groups: string[] = [];

  constructor(private readonly prefix: string) {}

  topic(): string {
    const name = `${this.prefix}-${randomUUID()}`;
    this.topics.push(name);
    return name;
  }

  group(): string {
    const name = `${this.prefix}-${randomUUID()}`;
    this.groups.push(name);
    return name;
  }

  /** Deletes the topics and groups (best effort: a group still closing may refuse). */
  async cleanup(brokers: string[]): Promise<void> {
    const admin = new Kafka({ clientId: `${this.prefix}-cleanup`, brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const topics = this.topics.filter((t) => existing.has(t));
      if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 }).catch(() => undefined);
      const groups = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
      const toDelete = this.groups.filter((g) => groups.has(g));
      if (toDelete.length > 0) await admin.deleteGroups(toDelete).catch(() => undefined);
    } finally {
      await admin.disconnect();
    }
  }
}
