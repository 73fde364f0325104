/**
 * The shared infrastructure a service uses. The embedded host needs all of it (once); each distributed
 * service asks only for what it uses, so e.g. token-service never connects to Kafka and its /readyz
 * does not depend on it.
 */
export type InfraNeed = 'database' | 'blobs' | 'events' | 'cache';

export const ALL_INFRA_NEEDS: readonly InfraNeed[] = ['database', 'blobs', 'events', 'cache'];
