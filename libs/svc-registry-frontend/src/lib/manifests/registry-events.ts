/**
 * The registry event contract (ACR's webhook payload in a versioned envelope) lives in `@berth/events`, shared with
 * metadata-service's importImage and the consumers; these names keep the data plane's call sites short.
 */
export { buildRegistryEvent, writeRegistryEvent as writeOutbox } from '@berth/events';
export type { EventRequestInfo, RegistryEventData } from '@berth/events';
