import { parse as parseYaml } from 'yaml';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BerthMetricAttr, HttpMetricAttr } from './attributes';
import {
  allPrometheusSeries,
  COMMON_PROMETHEUS_LABELS,
  METRIC_CATALOG,
  prometheusLabel,
  prometheusSeries,
} from './metric-names';

/**
 * The dashboards, scrape configuration, rules and collector configuration under deploy/observability parse,
 * and every metric and label they query is one the services export.
 */
const ROOT = path.resolve(__dirname, '../../../../deploy/observability');

const yaml = { load: (text: string): unknown => parseYaml(text) };

type Json = Record<string, unknown>;

function readYaml(rel: string): Json {
  return yaml.load(readFileSync(path.join(ROOT, rel), 'utf8')) as Json;
}

/** Series the services do not define but Prometheus or the exporter does. */
const BUILTIN_SERIES = new Set(['up', 'target_info']);
/** Labels Prometheus adds at scrape time (plus those our scrape configuration adds). */
const SCRAPE_LABELS = ['job', 'instance', 'namespace', 'pod', 'component', 'deployment'];
const KNOWN_LABELS = new Set<string>([
  ...[...Object.values(BerthMetricAttr), ...Object.values(HttpMetricAttr)].map(prometheusLabel),
  ...COMMON_PROMETHEUS_LABELS,
  ...SCRAPE_LABELS,
]);
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);
const FUNCTIONS = new Set([
  'abs',
  'absent',
  'absent_over_time',
  'avg',
  'avg_over_time',
  'ceil',
  'clamp',
  'clamp_max',
  'clamp_min',
  'count',
  'count_over_time',
  'delta',
  'deriv',
  'floor',
  'histogram_quantile',
  'increase',
  'irate',
  'label_replace',
  'last_over_time',
  'max',
  'max_over_time',
  'min',
  'min_over_time',
  'quantile',
  'rate',
  'round',
  'scalar',
  'sort',
  'sort_desc',
  'sum',
  'sum_over_time',
  'time',
  'topk',
  'bottomk',
  'vector',
  'label_values',
]);

interface Query {
  where: string;
  expr: string;
}

/** Metric names and label names a PromQL (or Grafana `label_values(...)`) expression uses. */
export function promqlNames(expr: string): { metrics: string[]; labels: string[]; functions: string[] } {
  const labels: string[] = [];
  let e = expr
    .replace(/\$\{[^}]*\}|\$[A-Za-z_]\w*/g, ' ') // Grafana variables
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""'); // label values and strings
  // label_values(metric{...}, label): the last argument is a label
  e = e.replace(
    /label_values\s*\(([^,()]*(?:\{[^}]*\})?)\s*,\s*([A-Za-z_]\w*)\s*\)/g,
    (_m, metric: string, label: string) => {
      labels.push(label);
      return ` ${metric} `;
    },
  );
  e = e.replace(/\{([^}]*)\}/g, (_m, body: string) => {
    for (const m of body.matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)) if (m[1]) labels.push(m[1]);
    return ' ';
  });
  e = e.replace(/\[[^\]]*\]/g, ' ');
  e = e.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_m, _kw: string, list: string) => {
    for (const l of list
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean))
      labels.push(l);
    return ' ';
  });
  const metrics: string[] = [];
  const functions: string[] = [];
  for (const m of e.matchAll(/[A-Za-z_:][\w:]*|\d[\w.]*/g)) {
    const token = m[0];
    if (/^\d/.test(token) || KEYWORDS.has(token.toLowerCase())) continue;
    const rest = e.slice((m.index ?? 0) + token.length);
    if (/^\s*\(/.test(rest)) functions.push(token);
    else metrics.push(token);
  }
  return { metrics, labels, functions };
}

function balanced(expr: string): boolean {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  for (const ch of expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if ('([{'.includes(ch)) stack.push(ch);
    else if (ch in pairs && stack.pop() !== pairs[ch]) return false;
  }
  return stack.length === 0;
}

function dashboards(): Array<{ file: string; json: Json }> {
  const dir = path.join(ROOT, 'grafana/dashboards');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({ file, json: JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Json }));
}

function dashboardQueries(): Query[] {
  const out: Query[] = [];
  for (const { file, json } of dashboards()) {
    const walk = (panels: unknown): void => {
      for (const p of (panels as Json[] | undefined) ?? []) {
        for (const t of (p['targets'] as Json[] | undefined) ?? [])
          out.push({ where: `${file}: ${String(p['title'])}`, expr: String(t['expr']) });
        walk(p['panels']);
      }
    };
    walk(json['panels']);
    for (const v of ((json['templating'] as Json | undefined)?.['list'] as Json[] | undefined) ?? []) {
      if (v['type'] !== 'query') continue;
      const q = v['query'];
      out.push({
        where: `${file}: variable ${String(v['name'])}`,
        expr: typeof q === 'string' ? q : String((q as Json)['query']),
      });
    }
  }
  return out;
}

const RULE_FILES = ['prometheus/rules/berth-slo.rules.yml', 'prometheus/rules/berth-alerts.rules.yml'];

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function rules(): Array<{ file: string; group: string; rule: Rule }> {
  return RULE_FILES.flatMap((file) =>
    ((readYaml(file)['groups'] as Json[] | undefined) ?? []).flatMap((g) =>
      ((g['rules'] as Rule[] | undefined) ?? []).map((rule) => ({ file, group: String(g['name']), rule })),
    ),
  );
}

function ruleQueries(): Query[] {
  return rules().map(({ file, rule }) => ({
    where: `${file}: ${rule.record ?? rule.alert ?? '?'}`,
    expr: String(rule.expr),
  }));
}

const recorded = (): Set<string> => new Set(rules().flatMap(({ rule }) => (rule.record ? [rule.record] : [])));

describe('deploy/observability', () => {
  it('the query parser finds metrics and labels (and ignores functions, strings, ranges and variables)', () => {
    const r = promqlNames(
      'histogram_quantile(0.99, sum by (le, http_route) (rate(http_server_request_duration_bucket{service_name=~"$service",x="a{b}"}[$__rate_interval]))) > 2.5 and on(job) up offset 1h',
    );
    expect(r.metrics.sort()).toEqual(['http_server_request_duration_bucket', 'up']);
    expect(r.labels.sort()).toEqual(['http_route', 'job', 'le', 'service_name', 'x']);
    expect(r.functions.sort()).toEqual(['histogram_quantile', 'rate', 'sum']);
    expect(promqlNames('label_values(berth_registry_pulls_total, berth_region)')).toEqual({
      metrics: ['berth_registry_pulls_total'],
      labels: ['berth_region'],
      functions: [],
    });
    expect(
      promqlNames('label_values(http_server_request_duration_count{service_name=~"$service"}, http_route)').metrics,
    ).toEqual(['http_server_request_duration_count']);
    expect(promqlNames('sum(rate(berth_registry_pull_total[5m]))').metrics).toEqual(['berth_registry_pull_total']);
  });

  it('every dashboard is valid Grafana JSON with a unique uid, a Prometheus data source variable and panels with queries', () => {
    const all = dashboards();
    expect(all.map((d) => d.file).sort()).toEqual([
      'berth-events.json',
      'berth-registry-overview.json',
      'berth-service-red.json',
      'berth-webhooks.json',
    ]);
    const uids = all.map((d) => d.json['uid']);
    expect(new Set(uids).size).toBe(uids.length);
    for (const { file, json } of all) {
      expect({ file, title: typeof json['title'], schema: typeof json['schemaVersion'] }).toEqual({
        file,
        title: 'string',
        schema: 'number',
      });
      const vars = ((json['templating'] as Json)['list'] as Json[]).map((v) => v['name']);
      expect(vars).toContain('datasource');
      const panels = (json['panels'] as Json[]).filter((p) => p['type'] !== 'row');
      expect(panels.length).toBeGreaterThan(3);
      const ids = (json['panels'] as Json[]).map((p) => p['id']);
      expect(new Set(ids).size).toBe(ids.length);
      for (const p of panels)
        expect({ file, panel: p['title'], targets: ((p['targets'] as Json[]) ?? []).length > 0 }).toEqual({
          file,
          panel: p['title'],
          targets: true,
        });
    }
  });

  it('every metric a dashboard or an alert rule queries is exported by the services (or recorded by a rule)', () => {
    const known = new Set([...allPrometheusSeries(), ...BUILTIN_SERIES, ...recorded()]);
    const unknown: string[] = [];
    for (const q of [...dashboardQueries(), ...ruleQueries()]) {
      for (const m of promqlNames(q.expr).metrics) if (!known.has(m)) unknown.push(`${q.where}: ${m}`);
    }
    expect(unknown).toEqual([]);
  });

  it('every label they use exists, every function is PromQL, and brackets balance', () => {
    const problems: string[] = [];
    for (const q of [...dashboardQueries(), ...ruleQueries()]) {
      const { labels, functions } = promqlNames(q.expr);
      for (const l of labels) if (!KNOWN_LABELS.has(l)) problems.push(`${q.where}: label ${l}`);
      for (const f of functions) if (!FUNCTIONS.has(f)) problems.push(`${q.where}: function ${f}`);
      if (!balanced(q.expr)) problems.push(`${q.where}: unbalanced brackets`);
    }
    expect(problems).toEqual([]);
  });

  it('every Berth metric is charted on some dashboard', () => {
    const used = new Set(dashboardQueries().flatMap((q) => promqlNames(q.expr).metrics));
    const missing = Object.values(METRIC_CATALOG).filter((d) => !prometheusSeries(d).some((s) => used.has(s)));
    expect(missing.map((d) => d.name)).toEqual([]);
  });

  it('rule files are valid: named groups, recording names level:metric:operation, alerts with severity, summary and durations', () => {
    const all = rules();
    expect(all.length).toBeGreaterThan(10);
    const names = new Set<string>();
    for (const { file, group, rule } of all) {
      const where = `${file}/${group}/${rule.record ?? rule.alert ?? '?'}`;
      expect({ where, one: Boolean(rule.record) !== Boolean(rule.alert) }).toEqual({ where, one: true });
      expect(typeof rule.expr).toBe('string');
      if (rule.record) expect(rule.record).toMatch(/^[a-z_]+:[a-z_]+:[a-z0-9_]+$/);
      if (rule.alert) {
        expect(rule.alert).toMatch(/^Berth[A-Za-z]+$/);
        expect(names.has(rule.alert)).toBe(false);
        names.add(rule.alert);
        expect(['page', 'ticket', 'info']).toContain(rule.labels?.severity);
        expect(rule.annotations?.summary).toEqual(expect.any(String));
        if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smhd]$/);
      }
    }
  });

  it('has a multi-window burn-rate alert on pull availability', () => {
    const burn = rules().filter(({ rule }) => rule.labels?.['slo'] === 'pull-availability');
    expect(burn.map(({ rule }) => rule.alert).sort()).toEqual([
      'BerthPullAvailabilityBudgetBurnFast',
      'BerthPullAvailabilityBudgetBurnSlow',
    ]);
    const fast = burn.find(({ rule }) => rule.alert === 'BerthPullAvailabilityBudgetBurnFast')?.rule.expr ?? '';
    expect(fast).toContain('berth:registry_pull_errors:ratio_rate1h');
    expect(fast).toContain('berth:registry_pull_errors:ratio_rate5m');
    expect(fast).toContain('14.4');
    for (const { rule } of rules().filter(({ rule }) => rule.record?.startsWith('berth:registry_pull_errors'))) {
      expect(rule.expr).toContain('berth_outcome="server_error"');
    }
  });

  it('the scrape configuration loads the rule files and scrapes /metrics', () => {
    const prom = readYaml('prometheus/prometheus.yml');
    expect((prom['rule_files'] as string[]).sort()).toEqual(RULE_FILES.map((f) => f.replace('prometheus/', '')).sort());
    const jobs = prom['scrape_configs'] as Json[];
    const names = jobs.map((j) => j['job_name']);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(['berth', 'berth-local']));
    for (const j of jobs.filter((j) => String(j['job_name']).startsWith('berth')))
      expect(j['metrics_path']).toBe('/metrics');
  });

  it('the collector configuration receives OTLP over HTTP and wires only components it defines', () => {
    const c = readYaml('otel-collector/config.yaml');
    const otlp = (c['receivers'] as Json)['otlp'] as Json;
    expect(((otlp['protocols'] as Json)['http'] as Json)['endpoint']).toBe('0.0.0.0:4318');
    const pipelines = (c['service'] as Json)['pipelines'] as Record<string, Record<string, string[]>>;
    expect(Object.keys(pipelines)).toEqual(expect.arrayContaining(['traces', 'metrics']));
    for (const [name, p] of Object.entries(pipelines)) {
      for (const kind of ['receivers', 'processors', 'exporters'] as const) {
        for (const component of p[kind] ?? []) {
          expect({ pipeline: name, component, defined: component in ((c[kind] as Json | undefined) ?? {}) }).toEqual({
            pipeline: name,
            component,
            defined: true,
          });
        }
      }
    }
    for (const ext of ((c['service'] as Json)['extensions'] as string[] | undefined) ?? [])
      expect(Object.keys(c['extensions'] as Json)).toContain(ext);
  });

  it('the Grafana provisioning files parse', () => {
    expect(readYaml('grafana/provisioning/datasources/prometheus.yml')['datasources']).toEqual([
      expect.objectContaining({ type: 'prometheus' }),
    ]);
    expect(readYaml('grafana/provisioning/dashboards/berth.yml')['providers']).toEqual([
      expect.objectContaining({ type: 'file' }),
    ]);
  });
});
