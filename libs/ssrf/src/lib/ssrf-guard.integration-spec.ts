import { assertAllowedDestination, SsrfRefusedError } from './ssrf-guard';

/**
 * The creation-time check with the machine's real resolver (the unit spec stubs it): names that resolve to
 * loopback are refused unless allowed, whatever they are called.
 */
describe('assertAllowedDestination with real name resolution', () => {
  it.each(['http://localhost:9/hook', 'https://localhost/hook'])(
    'refuses %s (a name resolving to loopback)',
    async (url) => {
      const err = (await assertAllowedDestination(url, []).catch((e: unknown) => e)) as SsrfRefusedError;
      expect(err).toBeInstanceOf(SsrfRefusedError);
      expect(err.reason).toBe('blocked-address');
      expect(err.address).toMatch(/^(127\.|::1$)/);
    },
  );

  it('allows the same name once the operator allows its address', async () => {
    await expect(assertAllowedDestination('http://localhost:9/hook', ['127.0.0.1', '::1'])).resolves.toBeUndefined();
  });
});
