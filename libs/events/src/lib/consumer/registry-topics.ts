import type { EventBus } from '../event-bus.port';

/**
 * The topics of Berth's registry events. Version suffixes follow the envelope rule: additive changes stay on `v1`;
 * a breaking change gets a new topic, dual-published for a while.
 */
export const RegistryTopics = {
  /** Every data-plane and lifecycle event (push, delete, quarantine, chart_push, chart_delete), keyed by registry id. */
  Events: 'berth.registry.events.v1',
  /** Where consumers park registry events they could not handle after their last attempt (same key, same value). */
  DeadLetter: 'berth.registry.events.v1.dlq',
} as const;

/** Options of `ensureEventTopics`. */
export interface EnsureEventTopicsOptions {
  /**
   * Partitions of the events topic when it is created (an existing topic keeps its count: changing it would move
   * registries to other partitions and break their order). Default: the adapter's default (6).
   */
  partitions?: number;
  /** Partitions of the dead-letter topic when it is created. Default: `partitions`. */
  deadLetterPartitions?: number;
}

/**
 * Creates the registry event topic and its dead-letter topic if they do not exist. Idempotent and safe to run from
 * several processes at once: the start-up step of every service that publishes or consumes registry events.
 */
export async function ensureEventTopics(bus: EventBus, options: EnsureEventTopicsOptions = {}): Promise<void> {
  await bus.ensureTopics([
    { name: RegistryTopics.Events, partitions: options.partitions },
    { name: RegistryTopics.DeadLetter, partitions: options.deadLetterPartitions ?? options.partitions },
  ]);
}
