import { redisKeyPrefix } from './infrastructure.module';

describe(redisKeyPrefix.name, () => {
  it('puts every key of an installation under berth:, or under its BERTH_REDIS_NAMESPACE first', () => {
    expect(redisKeyPrefix('')).toBe('berth:');
    expect(redisKeyPrefix('run-42')).toBe('run-42:berth:');
  });
});
