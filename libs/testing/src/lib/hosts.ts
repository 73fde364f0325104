const block = require('../hosts-block') as { TEST_REGISTRY_NAMES: readonly string[] };

/** Registry names whose login servers (`<name>.berth.localhost`) the test set-up makes resolve to 127.0.0.1 (/etc/hosts block). */
export const TEST_REGISTRY_NAMES: readonly string[] = block.TEST_REGISTRY_NAMES;

/** Whether the jest global set-up could manage that block (false where /etc/hosts is read-only). */
export function testHostsResolvable(): boolean {
  return process.env['BERTH_TEST_HOSTS'] === 'resolvable';
}
