import type { EventBusLogger, RedeliveryBackoff } from '../../event-bus.port';

/** How much of kafkajs' own logging reaches `logger`. */
export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export interface KafkaEventBusOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Names this process to the brokers (logs, quotas). */
  clientId: string;
  /**
   * Prefix of every topic and consumer group on the cluster (`<namespace>.<topic>`), so several installations or
   * test runs share one cluster without seeing each other's events. Callers keep using the plain names: topics in
   * received messages come back without it. Default '' (no prefix).
   */
  namespace?: string;
  /** TCP connect timeout per broker. Default 1000 ms. */
  connectionTimeoutMs?: number;
  /** Timeout of one request to a broker. Default 30000 ms. */
  requestTimeoutMs?: number;
  /** Level of kafkajs' logs forwarded to `logger`. Default 'warn'. Ignored without a logger. */
  logLevel?: KafkaLogLevel;
  /** Receives kafkajs' logs and handler failures. Default: nothing is logged. */
  logger?: EventBusLogger;
  /** Partitions of a topic created without an explicit count. Default 6. */
  defaultPartitions?: number;
  /** Replication factor of created topics. Default min(3, number of brokers in the cluster). */
  replicationFactor?: number;
  /** Upper bound of `ping()`. Default 2000 ms. */
  pingTimeoutMs?: number;
  /** How long `subscribe` waits to join its consumer group before it gives up. Default 30000 ms. */
  subscribeTimeoutMs?: number;
  /**
   * Longest a fetch waits on the broker for new messages. Bounds how long `stop()` waits for an idle
   * consumer. Default 1000 ms.
   */
  maxFetchWaitMs?: number;
  /**
   * How long the group waits for a silent member before giving its partitions to others. Handler calls in
   * progress keep heartbeating, so this only needs to cover a dead or frozen process. It also bounds how
   * long delivery pauses after a broker restart (the group first forgets the members it had). The broker
   * accepts 6000-300000 by default. Default 10000 ms.
   */
  sessionTimeoutMs?: number;
  /** Backoff between redeliveries of a rejected message. Default 200 ms doubling up to 5 s. */
  redelivery?: RedeliveryBackoff;
}
