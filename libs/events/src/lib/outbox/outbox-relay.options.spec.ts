import { InvalidEventBusArgumentError } from '../errors/invalid-event-bus-argument.error';
import { OUTBOX_RELAY_DEFAULTS, resolveOutboxRelayOptions } from './outbox-relay.options';
import { OUTBOX_CHANNEL, OUTBOX_LEADER_LOCK_KEY } from './outbox.constants';

describe('resolveOutboxRelayOptions', () => {
  it('should apply the production defaults', () => {
    expect(resolveOutboxRelayOptions()).toEqual({
      ...OUTBOX_RELAY_DEFAULTS,
      backoff: { ...OUTBOX_RELAY_DEFAULTS.backoff },
      channel: OUTBOX_CHANNEL,
      leaderLockKey: OUTBOX_LEADER_LOCK_KEY,
      logger: undefined,
    });
  });

  it('should keep the publish timeout below the idle-in-transaction timeout of the data source (60 s)', () => {
    expect(OUTBOX_RELAY_DEFAULTS.publishTimeoutMs).toBeLessThan(60_000);
  });

  it('should name the setting it refuses', () => {
    expect(() => resolveOutboxRelayOptions({ batchSize: 0 })).toThrow(InvalidEventBusArgumentError);
    expect(() => resolveOutboxRelayOptions({ pollIntervalMs: 1.5 })).toThrow(/pollIntervalMs/);
    expect(() => resolveOutboxRelayOptions({ retentionMs: -1 })).toThrow(/retentionMs/);
    expect(() => resolveOutboxRelayOptions({ channel: 'Bad-Channel' })).toThrow(/channel/);
    expect(() => resolveOutboxRelayOptions({ leaderLockKey: '9223372036854775808' })).toThrow(/leaderLockKey/);
    expect(() => resolveOutboxRelayOptions({ leaderLockKey: 'abc' })).toThrow(/leaderLockKey/);
    expect(() => resolveOutboxRelayOptions({ backoff: { initialMs: 10, maxMs: 5 } })).toThrow(/maxMs/);
  });

  it('should accept zero for retention (delete once published) and for the purge interval (never)', () => {
    expect(resolveOutboxRelayOptions({ retentionMs: 0, purgeIntervalMs: 0 })).toMatchObject({
      retentionMs: 0,
      purgeIntervalMs: 0,
    });
  });
});
