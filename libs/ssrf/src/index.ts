export {
  assertAllowedDestination,
  blockedReason,
  embeddedIPv4,
  ipv6Bytes,
  PrivateAllowList,
  SsrfGuard,
  SsrfRefusedError,
  type HostResolver,
  type SsrfRefusalReason,
  type VettedTarget,
} from './lib/ssrf-guard';
export {
  DEFAULT_SEND_TIMEOUT_MS,
  MAX_RESPONSE_BODY_BYTES,
  pinnedLookup,
  postToVettedTarget,
  type SendOptions,
  type SendResult,
} from './lib/pinned-post';
