/**
 * Runs the OCI distribution-spec conformance suite (the redesigned one, a plain Go program installed by
 * deploy/tools/install.sh as `oci-conformance`) against a registry and parses what it wrote.
 *
 * What the suite writes to $OCI_RESULTS_DIR (source: distribution-spec `conformance/{main,run,results,junit}.go`):
 * - `junit.xml`: `<testsuites><testsuite name="OCI Conformance Test" tests failures errors skipped disabled>` with
 *   one `<testcase name="<path>" status="passed|skipped|failure|error">` per LEAF of the test tree. The name is
 *   the full path, `/`-joined, starting with the root `OCI Conformance Test` (e.g.
 *   `OCI Conformance Test/Image/push/blob-post-put`). The errors of a leaf are in `<system-out>`, the HTTP
 *   exchange it logged (and a skip's reason, "skipping test: ...") in `<system-err>`. No `<failure>` child is
 *   written. `skipped` covers both "disabled by the configuration" and "registry does not support it".
 * - `results.yaml`: `config:` (the effective, redacted configuration), `apis:` (28 API features such as
 *   `Blob chunked: Pass`) and `data:` (each data set such as `Image: FAIL`), each a status
 *   Pass | Skip | Disabled | FAIL | Error | Unknown.
 * - `report.html` (not parsed).
 * The suite exits 0 when its configuration or setup fails (it prints to stderr and writes nothing) and 1 only
 * when tests ran and did not all pass, so the exit code alone proves nothing: a run is trusted only when
 * junit.xml is present and lists tests.
 *
 * The redesigned suite has no workflows any more; the legacy suite's four (Pull, Push, Content Discovery,
 * Content Management) are recovered from each leaf's name, following the suite's own legacy mapping
 * (`config.go:confLegacyEnv`: CONTENT_DISCOVERY = tag list + referrers, CONTENT_MANAGEMENT = every delete).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run } from './tools';

export const WORKFLOWS = ['Pull', 'Push', 'Content Discovery', 'Content Management'] as const;
export type Workflow = (typeof WORKFLOWS)[number];

/** `disabled`: switched off by the configuration (OCI_VERSION=1.1 turns some off); not a result of the registry. */
export type TestStatus = 'pass' | 'fail' | 'error' | 'skip' | 'disabled';

export interface ConformanceTest {
  /** Full path without the root, e.g. `Image/push/blob-post-put`. */
  name: string;
  workflow: Workflow | 'Other';
  status: TestStatus;
  /** The errors the suite recorded (empty when it passed); a skip's reason for a skip. */
  message: string;
  /** The HTTP requests and responses it logged. */
  output: string;
}

export interface JunitSuite {
  name: string;
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  disabled: number;
  cases: { name: string; status: string; systemOut: string; systemErr: string }[];
}

export interface ConformanceRun {
  registry: string;
  resultsDir: string;
  exitCode: number | string;
  stdout: string;
  stderr: string;
  suite: JunitSuite;
  tests: ConformanceTest[];
  byWorkflow: Record<Workflow | 'Other', ConformanceTest[]>;
  /** results.yaml `apis:` — feature name → Pass | FAIL | Skip | Disabled | Error | Unknown. */
  apis: Record<string, string>;
  /** results.yaml `data:` — data set name → status. */
  data: Record<string, string>;
}

const ROOT = 'OCI Conformance Test';

// ---------------------------------------------------------------- parsing

function decodeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g, (_, e: string) => {
    switch (e) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default:
        return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    }
  });
}

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([A-Za-z_][\w.-]*)="([^"]*)"/g)) out[m[1] ?? ''] = decodeXml(m[2] ?? '');
  return out;
}

function element(body: string, name: string): string {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(body);
  return m ? decodeXml(m[1] ?? '') : '';
}

/** Parses the suite's junit.xml (the subset Go's encoding/xml writes for it: no CDATA, no nesting of testcases). */
export function parseJunit(xml: string): JunitSuite {
  const open = /<testsuite\s([^>]*)>/.exec(xml);
  if (!open) throw new Error(`junit.xml has no <testsuite>: ${xml.slice(0, 300)}`);
  const a = attrs(open[1] ?? '');
  const num = (k: string): number => Number(a[k] ?? 0);
  const cases: JunitSuite['cases'] = [];
  for (const m of xml.matchAll(/<testcase\s([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const ca = attrs(m[1] ?? '');
    const body = m[3] ?? '';
    cases.push({
      name: ca['name'] ?? '',
      status: ca['status'] ?? '',
      systemOut: element(body, 'system-out'),
      systemErr: element(body, 'system-err'),
    });
  }
  return {
    name: a['name'] ?? '',
    tests: num('tests'),
    failures: num('failures'),
    errors: num('errors'),
    skipped: num('skipped'),
    disabled: num('disabled'),
    cases,
  };
}

function unquote(s: string): string {
  const t = s.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return JSON.parse(t) as string;
  if (t.length >= 2 && t.startsWith("'") && t.endsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
  return t;
}

/**
 * Reads the `apis:` and `data:` maps of results.yaml: top-level keys at column 0, entries as `  key: value`
 * (goccy/go-yaml's block style; keys may be quoted). The `config:` section is not needed and is skipped.
 */
export function parseResultsYaml(yaml: string): { apis: Record<string, string>; data: Record<string, string> } {
  const sections: Record<string, Record<string, string>> = {};
  let current: Record<string, string> | undefined;
  for (const line of yaml.split('\n')) {
    if (!line.trim() || line.trimStart().startsWith('#')) continue;
    const top = /^([A-Za-z_][\w]*):\s*(.*)$/.exec(line);
    if (top) {
      current = top[2] === '' || top[2] === undefined ? (sections[top[1] ?? ''] = {}) : undefined;
      continue;
    }
    const entry = /^ {2}("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^:]+):\s*(.*)$/.exec(line);
    if (current && entry) current[unquote(entry[1] ?? '')] = unquote(entry[2] ?? '');
  }
  return { apis: sections['apis'] ?? {}, data: sections['data'] ?? {} };
}

const PULL_LEAVES = new Set([
  'ping',
  'blob-get',
  'blob-head',
  'manifest-head-by-digest',
  'manifest-head-by-tag',
  'get-missing',
  'manifest-get',
]);
const PUSH_LEAVES = new Set([
  'blob-post-only',
  'blob-post-put',
  'blob-patch-chunked',
  'blob-patch-stream',
  'blob-mount',
  'blob-mount-anonymous',
  'blob-post-cancel',
  'manifest-put',
]);
const DISCOVERY_LEAVES = new Set(['tag-list', 'tag list', 'referrers']);
const MANAGEMENT_LEAVES = new Set(['tag-delete', 'manifest-delete', 'blob-delete']);

/** The legacy workflow a leaf of the redesigned suite belongs to, from its path (without the root). */
export function workflowOf(name: string): Workflow | 'Other' {
  const parts = name.split('/');
  const leaf = parts[parts.length - 1] ?? '';
  const parent = parts[parts.length - 2] ?? '';
  if (leaf === 'manifest-by-digest' || leaf === 'manifest-by-tag') {
    if (parent === 'push') return 'Push';
    if (parent === 'pull') return 'Pull';
    return 'Other';
  }
  // `range requests/range 500-1499` etc.; its other leaves are the blob push that sets the range tests up.
  if (parent === 'range requests' && leaf.startsWith('range ')) return 'Pull';
  // `missing-manifest/by-digest`, `missing-manifest/by-tag`: GET of an unknown manifest must be 404.
  if (parent === 'missing-manifest') return 'Pull';
  if (PULL_LEAVES.has(leaf)) return 'Pull';
  if (PUSH_LEAVES.has(leaf)) return 'Push';
  if (DISCOVERY_LEAVES.has(leaf)) return 'Content Discovery';
  if (MANAGEMENT_LEAVES.has(leaf)) return 'Content Management';
  return 'Other';
}

function statusOf(junitStatus: string, systemErr: string): TestStatus {
  switch (junitStatus) {
    case 'passed':
      return 'pass';
    case 'failure':
      return 'fail';
    case 'skipped':
      // TestSkip logs "<name>: skipping test:\n  api <X> is disabled in the configuration" for a switched-off API.
      return /is disabled in the configuration/.test(systemErr) ? 'disabled' : 'skip';
    default:
      return 'error';
  }
}

/** Turns the parsed junit.xml into per-test outcomes with their workflow. */
export function testsOf(suite: JunitSuite): ConformanceTest[] {
  return suite.cases.map((c) => {
    const name = c.name.startsWith(`${ROOT}/`) ? c.name.slice(ROOT.length + 1) : c.name;
    const status = statusOf(c.status, c.systemErr);
    const skipReason = /skipping test:\s*([\s\S]*)$/.exec(c.systemErr)?.[1]?.trim() ?? '';
    return {
      name,
      workflow: workflowOf(name),
      status,
      message: c.systemOut.trim() || (status === 'skip' || status === 'disabled' ? skipReason : ''),
      output: c.systemErr,
    };
  });
}

export function groupByWorkflow(tests: ConformanceTest[]): Record<Workflow | 'Other', ConformanceTest[]> {
  const out = { Pull: [], Push: [], 'Content Discovery': [], 'Content Management': [], Other: [] } as Record<
    Workflow | 'Other',
    ConformanceTest[]
  >;
  for (const t of tests) out[t.workflow].push(t);
  return out;
}

// ---------------------------------------------------------------- running

export interface ConformanceOptions {
  /** The conformance binary (from ensureTools(['conformance'])). */
  binary: string;
  /** host:port, plain HTTP. */
  registry: string;
  repo1?: string;
  repo2?: string;
  username?: string;
  password?: string;
  /** Extra OCI_* settings (e.g. OCI_FILTER_TEST, OCI_LOG=debug). */
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Kept for reading afterwards; a fresh temp dir when omitted. */
  resultsDir?: string;
}

/**
 * Runs the suite with OCI_TLS=disabled and OCI_VERSION=1.1 from an empty working directory (so no stray
 * oci-conformance.yaml is read) and with no OCI_* variable inherited from this process. Rejects when the
 * suite did not produce results (a setup error, which it reports with exit code 0), with its output.
 */
export async function runConformance(opts: ConformanceOptions): Promise<ConformanceRun> {
  const work = await mkdtemp(path.join(tmpdir(), 'berth-oci-conformance-'));
  const resultsDir = opts.resultsDir ?? path.join(work, 'results');
  // Never read a previous run's files after a setup error (which writes nothing).
  await Promise.all(
    ['junit.xml', 'results.yaml', 'report.html'].map((f) => rm(path.join(resultsDir, f), { force: true })),
  );
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OCI_'))) as Record<
    string,
    string
  >;
  const env: Record<string, string> = {
    ...inherited,
    OCI_REGISTRY: opts.registry,
    OCI_TLS: 'disabled',
    OCI_VERSION: '1.1',
    OCI_REPO1: opts.repo1 ?? 'conformance/repo1',
    OCI_REPO2: opts.repo2 ?? 'conformance/repo2',
    OCI_RESULTS_DIR: resultsDir,
    ...(opts.username && opts.password ? { OCI_USERNAME: opts.username, OCI_PASSWORD: opts.password } : {}),
    ...opts.env,
  };
  const res = await run(opts.binary, [], {
    cwd: work,
    env,
    replaceEnv: true,
    timeoutMs: opts.timeoutMs ?? 10 * 60 * 1000,
  });
  // The working directory only holds the results when the caller named no results dir of its own.
  if (opts.resultsDir) await rm(work, { recursive: true, force: true });
  const failRun = (why: string): Error =>
    new Error(
      `the conformance suite did not produce results (${why}; exit ${res.code}); against ${opts.registry}\n` +
        `--- stderr ---\n${res.stderr.slice(-4000)}\n--- stdout ---\n${res.stdout.slice(-2000)}`,
    );
  let junit: string;
  let yaml: string;
  try {
    junit = await readFile(path.join(resultsDir, 'junit.xml'), 'utf8');
    yaml = await readFile(path.join(resultsDir, 'results.yaml'), 'utf8');
  } catch (e) {
    if (!opts.resultsDir) await rm(work, { recursive: true, force: true });
    throw failRun(e instanceof Error ? e.message : String(e));
  }
  const suite = parseJunit(junit);
  if (suite.cases.length === 0 || suite.tests === 0) throw failRun('junit.xml lists no test');
  const tests = testsOf(suite);
  // An engine error on an inner node of the test tree (e.g. "failed to generate blob") is counted in the
  // suite's totals but is no junit leaf; surface it as a test of its own so it cannot go unseen.
  const leafErrors = tests.filter((t) => t.status === 'error').length;
  if (suite.errors > leafErrors) {
    const inner = res.stdout
      .split('\n')
      .filter((l) => / Error$/.test(l))
      .map((l) => l.trim());
    tests.push({
      name: '(suite engine errors outside junit.xml)',
      workflow: 'Other',
      status: 'error',
      message: `${suite.errors - leafErrors} error(s) on inner nodes: ${inner.join('; ')}`,
      output: '',
    });
  }
  const { apis, data } = parseResultsYaml(yaml);
  return {
    registry: opts.registry,
    resultsDir,
    exitCode: res.code,
    stdout: res.stdout,
    stderr: res.stderr,
    suite,
    tests,
    byWorkflow: groupByWorkflow(tests),
    apis,
    data,
  };
}

/** Removes the temp directory a run wrote (its results dir's parent when it was made by runConformance). */
export async function removeRun(run: ConformanceRun): Promise<void> {
  const parent = path.dirname(run.resultsDir);
  if (path.basename(parent).startsWith('berth-oci-conformance-')) await rm(parent, { recursive: true, force: true });
}

// ---------------------------------------------------------------- reporting

export function counts(tests: ConformanceTest[]): Record<TestStatus, number> {
  const c: Record<TestStatus, number> = { pass: 0, fail: 0, error: 0, skip: 0, disabled: 0 };
  for (const t of tests) c[t.status]++;
  return c;
}

/** The tests of a workflow that count against the registry: everything not passed, except what the configuration disabled. */
export function notPassed(tests: ConformanceTest[]): ConformanceTest[] {
  return tests.filter((t) => t.status !== 'pass' && t.status !== 'disabled');
}

function oneLine(s: string, max = 300): string {
  const one = s.replace(/\s*\n\s*/g, ' | ').trim();
  return one.length > max ? `${one.slice(0, max)}…` : one;
}

/**
 * A readable account of what did not pass in one workflow, so a reader sees what is missing without opening
 * the files: the counts, then the failing tests grouped by (status, step, message) with digests and random
 * tags masked, most frequent first, each with a count and one full test name; then the API features of
 * results.yaml.
 */
export function describeFailures(run: ConformanceRun, workflow: Workflow | 'Other', maxGroups = 60): string {
  const bad = notPassed(run.byWorkflow[workflow]);
  const c = counts(run.byWorkflow[workflow]);
  const groups = new Map<string, { n: number; example: string }>();
  for (const t of bad) {
    const step = t.name.split('/').slice(-2).join('/');
    const msg = oneLine(t.message || '(no message)')
      .replace(/sha(256|512):[0-9a-f]{64,128}/g, 'sha$1:<digest>')
      .replace(/\b[0-9a-f]{64,128}\b/g, '<hex>')
      .replace(/\d+ bytes not shown/g, 'N bytes not shown');
    const key = `${t.status.toUpperCase()} …/${step}: ${msg}`;
    const g = groups.get(key);
    if (g) g.n++;
    else groups.set(key, { n: 1, example: t.name });
  }
  const sorted = [...groups.entries()].sort((a, b) => b[1].n - a[1].n);
  const lines = [
    `${workflow} against ${run.registry}: ${c.pass} passed, ${c.fail} failed, ${c.error} errors, ${c.skip} skipped ` +
      `(${c.disabled} disabled by the configuration); suite exit ${run.exitCode}; results in ${run.resultsDir}`,
  ];
  for (const [key, g] of sorted.slice(0, maxGroups)) lines.push(`  ${g.n}× ${key}   [e.g. ${g.example}]`);
  if (sorted.length > maxGroups)
    lines.push(`  … and ${sorted.length - maxGroups} more kinds of failure (see junit.xml)`);
  lines.push(
    `API features (results.yaml): ${Object.entries(run.apis)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`,
  );
  return lines.join('\n');
}

/** One line per run for the test log: `Pull 328/328, Push 175/175 (2 disabled), ...` (passed/counted). */
export function summary(run: ConformanceRun): string {
  const parts = [...WORKFLOWS, 'Other' as const].flatMap((w) => {
    const c = counts(run.byWorkflow[w]);
    const counted = run.byWorkflow[w].length - c.disabled;
    if (w === 'Other' && run.byWorkflow[w].length === 0) return [];
    return [`${w} ${c.pass}/${counted}${c.disabled ? ` (${c.disabled} disabled)` : ''}`];
  });
  return `OCI conformance against ${run.registry}: ${parts.join(', ')}; suite exit ${run.exitCode}`;
}
