// Registry login servers are `<registry>.<BERTH_LOGIN_SUFFIX>`; on a machine without wildcard DNS for
// `*.berth.localhost` (plain glibc resolution: CI, containers) real clients could not reach them by name.
// The test set-up therefore keeps a marked block in /etc/hosts naming the registries end-to-end tests use
// (README tells users to do the same). The block is replaced, never duplicated, and nothing outside it is
// touched; where /etc/hosts is not writable the tests that need names say so when they run.
const fs = require('node:fs');

const BEGIN = '# >>> berth test registries (managed by libs/testing; safe to delete) >>>';
const END = '# <<< berth test registries <<<';

/** Registry names end-to-end tests may address by login server. */
const TEST_REGISTRY_NAMES = ['default', 'sdkanon', 'sdkregistry', 'armregistry', 'e2eone', 'e2etwo'];

/** The hosts file text with the managed block set to `names` under `suffix` (pure). */
function renderHostsBlock(existing, names, suffix) {
  const lines = existing.split('\n');
  const start = lines.indexOf(BEGIN);
  const end = lines.indexOf(END);
  const kept = start >= 0 && end > start ? [...lines.slice(0, start), ...lines.slice(end + 1)] : lines;
  while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop();
  const hosts = names.map((n) => `${n}.${suffix}`).join(' ');
  // IPv4 only: the embedded default binds 127.0.0.1, and a name that also resolved to ::1 would be tried there first.
  return [...kept, BEGIN, `127.0.0.1 ${hosts}`, END, ''].join('\n');
}

/** Writes the block when it differs. Resolves true when the names resolve through the file afterwards. */
function applyHostsBlock(file = '/etc/hosts', names = TEST_REGISTRY_NAMES, suffix = 'berth.localhost') {
  let existing;
  try {
    existing = fs.readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  const wanted = renderHostsBlock(existing, names, suffix);
  if (wanted === existing) return true;
  try {
    fs.writeFileSync(file, wanted);
    return true;
  } catch {
    return false;
  }
}

module.exports = { BEGIN, END, TEST_REGISTRY_NAMES, renderHostsBlock, applyHostsBlock };
