// Integration tests run against the real local stack (deploy/local/stack.sh). scripts/test.sh starts it
// and exports its settings; when a developer runs Jest directly we start it here and load the same
// settings, so an integration test never silently runs without its servers.
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { applyHostsBlock } = require('./hosts-block');

module.exports = async function globalSetup() {
  process.env.BERTH_TEST_HOSTS = applyHostsBlock() ? 'resolvable' : 'unavailable';
  if (process.env.BERTH_STACK_READY === '1') return;
  const script = path.join(__dirname, '..', '..', '..', 'deploy', 'local', 'stack.sh');
  execFileSync('bash', [script, 'start'], { stdio: 'inherit' });
  const env = execFileSync('bash', [script, 'env'], { encoding: 'utf8' });
  for (const line of env.split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) process.env[m[1]] = m[2];
  }
  process.env.BERTH_STACK_READY = '1';
};
