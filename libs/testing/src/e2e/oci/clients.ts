/**
 * Round trips with real OCI clients (skopeo, crane, oras, helm, regctl) against a registry on 127.0.0.1 over
 * plain HTTP. Each function throws (node:assert) with the command's output when a step goes wrong, and bounds
 * every child process with a timeout. Every client runs with a private HOME and credential files in a temp
 * dir, so nothing on the machine (~/.docker, ~/.config/helm, registries.conf auth) is read or written.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sha256, tarOf, writeOciLayout } from './oci-layout';
import { mustRun, run, type OciTool, type RunOptions, type RunResult } from './tools';

export type ClientTool = Exclude<OciTool, 'conformance'>;

export interface ClientContext {
  /** host:port of the registry (plain HTTP). */
  host: string;
  /** A fresh temp dir for this context: HOME, credentials, layouts, charts. */
  work: string;
  tools: Record<ClientTool, string>;
  /** Environment every client runs with. */
  env: Record<string, string>;
  /** Prefix for repository names, unique per context, so runs never collide on a shared registry. */
  ns: string;
  exec(tool: ClientTool, args: string[], opts?: RunOptions): Promise<RunResult>;
  dispose(): Promise<void>;
}

/** Step budget: long enough for a slow first push on two busy cores, short enough to fail a hang fast. */
const STEP_MS = 120000;

/**
 * Prepares an isolated client environment for `host`. With credentials, a Docker-style config.json is written
 * and pointed to for every client (DOCKER_CONFIG for crane/oras/regctl, REGISTRY_AUTH_FILE for skopeo,
 * HELM_REGISTRY_CONFIG for helm); the clients only send them when the registry challenges.
 */
export async function clientContext(
  host: string,
  tools: Record<ClientTool, string>,
  creds?: { username: string; password: string },
): Promise<ClientContext> {
  const work = await mkdtemp(path.join(tmpdir(), 'berth-oci-clients-'));
  const home = path.join(work, 'home');
  const dockerDir = path.join(home, '.docker');
  await mkdir(dockerDir, { recursive: true });
  const authFile = path.join(dockerDir, 'config.json');
  const auths = creds
    ? { [host]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } }
    : {};
  await writeFile(authFile, JSON.stringify({ auths }), { mode: 0o600 });
  const env: Record<string, string> = {
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_DATA_HOME: path.join(home, '.local/share'),
    XDG_RUNTIME_DIR: path.join(home, 'run'),
    DOCKER_CONFIG: dockerDir,
    REGISTRY_AUTH_FILE: authFile,
    HELM_REGISTRY_CONFIG: authFile,
    HELM_CACHE_HOME: path.join(home, '.cache/helm'),
    HELM_CONFIG_HOME: path.join(home, '.config/helm'),
    HELM_DATA_HOME: path.join(home, '.local/share/helm'),
    // regctl keeps its own config (hosts, TLS) here.
    REGCTL_CONFIG: path.join(home, '.regctl/config.json'),
    // Keep proxies out of loopback traffic.
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
  };
  await mkdir(env['XDG_RUNTIME_DIR'] ?? '', { recursive: true, mode: 0o700 });
  const ns = `e2e-${randomBytes(4).toString('hex')}`;
  return {
    host,
    work,
    tools,
    env,
    ns,
    exec: (tool, args, opts = {}) =>
      mustRun(tools[tool], args, { cwd: work, timeoutMs: STEP_MS, ...opts, env: { ...env, ...opts.env } }),
    dispose: () => rm(work, { recursive: true, force: true }),
  };
}

function json<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${what}: not JSON: ${text.slice(0, 500)}`);
  }
}

// ---------------------------------------------------------------- skopeo

/**
 * skopeo (containers/image): a hand-written OCI layout → registry → a second layout. The manifest must come
 * back byte-for-byte (same digest) with `--preserve-digests`, the tag must be listed, and the manifest must
 * be deletable by digest (skopeo expects 202).
 */
export async function skopeoRoundTrip(c: ClientContext): Promise<{ digest: string }> {
  const repo = `${c.ns}/skopeo`;
  const src = path.join(c.work, 'skopeo-src');
  const img = await writeOciLayout(src, 'v1', { 'etc/berth-e2e.txt': `skopeo ${c.ns}\n` });
  const ref = `docker://${c.host}/${repo}:v1`;
  const g = ['--insecure-policy'];
  await c.exec('skopeo', [
    ...g,
    'copy',
    '--dest-tls-verify=false',
    '--preserve-digests',
    '--retry-times=0',
    `oci:${src}:v1`,
    ref,
  ]);

  const raw = await c.exec('skopeo', [...g, 'inspect', '--tls-verify=false', '--raw', ref]);
  assert.equal(
    sha256(raw.stdout),
    img.manifestDigest,
    'skopeo inspect --raw returned other manifest bytes than were pushed',
  );
  const tags = json<{ Tags: string[] }>(
    (await c.exec('skopeo', [...g, 'list-tags', '--tls-verify=false', `docker://${c.host}/${repo}`])).stdout,
    'list-tags',
  );
  assert.deepEqual(tags.Tags, ['v1'], 'skopeo list-tags');

  const dst = path.join(c.work, 'skopeo-dst');
  await c.exec('skopeo', [
    ...g,
    'copy',
    '--src-tls-verify=false',
    '--preserve-digests',
    '--retry-times=0',
    ref,
    `oci:${dst}:v1`,
  ]);
  const index = json<{ manifests: { digest: string; annotations?: Record<string, string> }[] }>(
    await readFile(path.join(dst, 'index.json'), 'utf8'),
    'pulled index.json',
  );
  assert.equal(
    index.manifests[0]?.digest,
    img.manifestDigest,
    'the pulled layout holds another manifest digest than the pushed one',
  );
  const layer = await readFile(path.join(dst, 'blobs', 'sha256', img.layerDigest.slice('sha256:'.length)));
  assert.equal(sha256(layer), img.layerDigest, 'pulled layer bytes differ');

  await c.exec('skopeo', [...g, 'delete', '--tls-verify=false', `docker://${c.host}/${repo}@${img.manifestDigest}`]);
  const gone = await run(
    c.tools.skopeo,
    [...g, 'inspect', '--tls-verify=false', '--raw', `docker://${c.host}/${repo}@${img.manifestDigest}`],
    {
      cwd: c.work,
      env: c.env,
      timeoutMs: STEP_MS,
    },
  );
  assert.notEqual(gone.code, 0, `the manifest is still served after skopeo delete:\n${gone.stdout.slice(0, 300)}`);
  return { digest: img.manifestDigest };
}

// ---------------------------------------------------------------- crane

/**
 * crane (go-containerregistry): an image tarball made by `crane append` (Docker v2 schema 2) pushed, read back
 * (digest, file contents via export, pull to a tarball), tagged, listed, copied to another repository
 * (cross-repo mount), and deleted by digest there.
 */
export async function craneRoundTrip(c: ClientContext): Promise<{ digest: string }> {
  const repo = `${c.host}/${c.ns}/crane`;
  const copyRepo = `${c.host}/${c.ns}/crane-copy`;
  const content = `crane ${c.ns}\n`;
  await writeFile(path.join(c.work, 'layer.tar'), tarOf({ 'etc/berth-e2e.txt': content }));
  // Without -t's registry being contacted: -o writes the image as a tarball instead of pushing it.
  await c.exec('crane', ['append', '-f', 'layer.tar', '-t', `${repo}:v1`, '-o', 'image.tar']);
  const local = (await c.exec('crane', ['digest', '--tarball', 'image.tar'])).stdout.trim();
  assert.match(local, /^sha256:[0-9a-f]{64}$/);

  await c.exec('crane', ['push', 'image.tar', `${repo}:v1`]);
  assert.equal((await c.exec('crane', ['digest', `${repo}:v1`])).stdout.trim(), local, 'digest of the pushed tag');

  await c.exec('crane', ['export', `${repo}:v1`, 'fs.tar']);
  const fsTar = await mustRun('tar', ['-xOf', 'fs.tar', 'etc/berth-e2e.txt'], { cwd: c.work, timeoutMs: 30000 });
  assert.equal(fsTar.stdout, content, 'file contents read back through crane export');

  await c.exec('crane', ['pull', `${repo}:v1`, 'pulled.tar']);
  assert.equal(
    (await c.exec('crane', ['digest', '--tarball', 'pulled.tar'])).stdout.trim(),
    local,
    'digest of the pulled tarball',
  );

  await c.exec('crane', ['tag', `${repo}:v1`, 'v2']);
  const tags = (await c.exec('crane', ['ls', repo])).stdout.split('\n').filter(Boolean).sort();
  assert.deepEqual(tags, ['v1', 'v2'], 'crane ls');

  await c.exec('crane', ['copy', `${repo}:v1`, `${copyRepo}:v1`]);
  assert.equal((await c.exec('crane', ['digest', `${copyRepo}:v1`])).stdout.trim(), local, 'digest after crane copy');
  await c.exec('crane', ['delete', `${copyRepo}@${local}`]);
  const gone = await run(c.tools.crane, ['manifest', `${copyRepo}@${local}`], {
    cwd: c.work,
    env: c.env,
    timeoutMs: STEP_MS,
  });
  assert.notEqual(gone.code, 0, 'the copied manifest is still served after crane delete');
  assert.match(gone.stderr, /MANIFEST_UNKNOWN|NOT_FOUND|404/, `crane manifest after delete:\n${gone.stderr}`);
  // The original repository is untouched by the delete in the other one.
  assert.equal((await c.exec('crane', ['digest', `${repo}:v2`])).stdout.trim(), local);
  return { digest: local };
}

interface IndexJson {
  mediaType: string;
  manifests: { digest: string; platform?: { os: string; architecture: string } }[];
}

/** crane: two platform images (`crane mutate --set-platform`) joined by `crane index append` into a multi-arch index. */
export async function craneMultiArch(c: ClientContext): Promise<{ digest: string }> {
  const repo = `${c.host}/${c.ns}/crane-multi`;
  await writeFile(path.join(c.work, 'multi.tar'), tarOf({ 'etc/berth-e2e.txt': `multi ${c.ns}\n` }));
  await c.exec('crane', ['append', '--oci-empty-base', '-f', 'multi.tar', '-t', `${repo}:base`]);
  const digests: Record<string, string> = {};
  for (const arch of ['amd64', 'arm64']) {
    await c.exec('crane', ['mutate', `${repo}:base`, '--set-platform', `linux/${arch}`, '-t', `${repo}:${arch}`]);
    digests[arch] = (await c.exec('crane', ['digest', `${repo}:${arch}`])).stdout.trim();
  }
  assert.notEqual(digests['amd64'], digests['arm64']);
  await c.exec('crane', ['index', 'append', '-m', `${repo}:amd64`, '-m', `${repo}:arm64`, '-t', `${repo}:multi`]);
  const index = json<IndexJson>(
    (await c.exec('crane', ['manifest', `${repo}:multi`])).stdout,
    'crane manifest of the index',
  );
  assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.deepEqual(
    index.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}=${m.digest}`).sort(),
    [`linux/amd64=${digests['amd64']}`, `linux/arm64=${digests['arm64']}`],
    'the index lists both platform manifests',
  );
  for (const arch of ['amd64', 'arm64']) {
    const d = (await c.exec('crane', ['digest', '--platform', `linux/${arch}`, `${repo}:multi`])).stdout.trim();
    assert.equal(d, digests[arch], `crane digest --platform linux/${arch} resolves through the index`);
  }
  return { digest: (await c.exec('crane', ['digest', `${repo}:multi`])).stdout.trim() };
}

// ---------------------------------------------------------------- oras

interface OrasDescriptor {
  digest: string;
  artifactType?: string;
  referrers?: OrasDescriptor[];
}

/**
 * oras: push an artifact with --artifact-type, attach a referrer to it (`oras attach`), find it with
 * `oras discover` (the referrers API, or the tag-schema fallback where there is none), pull both and compare
 * the bytes.
 */
export async function orasArtifacts(c: ClientContext): Promise<{ digest: string; referrer: string }> {
  const ref = `${c.host}/${c.ns}/oras:v1`;
  const dir = path.join(c.work, 'oras');
  await mkdir(path.join(dir, 'pulled'), { recursive: true });
  await mkdir(path.join(dir, 'pulled-sig'), { recursive: true });
  const artifact = randomBytes(3000);
  const signature = Buffer.from(`signature of ${c.ns}\n`);
  await writeFile(path.join(dir, 'artifact.bin'), artifact);
  await writeFile(path.join(dir, 'sig.txt'), signature);
  const o = (args: string[]): Promise<RunResult> => c.exec('oras', [...args, '--plain-http'], { cwd: dir });

  const pushed = json<OrasDescriptor>(
    (
      await o([
        'push',
        ref,
        '--artifact-type',
        'application/vnd.berth.e2e.artifact.v1',
        'artifact.bin:application/octet-stream',
        '--format',
        'json',
      ])
    ).stdout,
    'oras push',
  );
  assert.equal(pushed.artifactType, 'application/vnd.berth.e2e.artifact.v1');
  const attached = json<OrasDescriptor>(
    (
      await o([
        'attach',
        ref,
        '--artifact-type',
        'application/vnd.berth.e2e.signature.v1',
        'sig.txt:text/plain',
        '--format',
        'json',
      ])
    ).stdout,
    'oras attach',
  );

  const found = json<OrasDescriptor>((await o(['discover', ref, '--format', 'json'])).stdout, 'oras discover');
  assert.equal(found.digest, pushed.digest, 'oras discover resolved the tag to the pushed artifact');
  assert.deepEqual(
    (found.referrers ?? []).map((r) => `${r.artifactType}@${r.digest}`),
    [`application/vnd.berth.e2e.signature.v1@${attached.digest}`],
    'oras discover lists exactly the attached referrer',
  );
  const filtered = json<OrasDescriptor>(
    (await o(['discover', ref, '--artifact-type', 'application/vnd.berth.e2e.other.v1', '--format', 'json'])).stdout,
    'oras discover --artifact-type',
  );
  assert.deepEqual(filtered.referrers ?? [], [], 'oras discover --artifact-type filters out other types');

  await o(['pull', ref, '-o', 'pulled']);
  assert.ok(
    Buffer.compare(await readFile(path.join(dir, 'pulled', 'artifact.bin')), artifact) === 0,
    'pulled artifact bytes differ',
  );
  await o(['pull', `${c.host}/${c.ns}/oras@${attached.digest}`, '-o', 'pulled-sig']);
  assert.ok(
    Buffer.compare(await readFile(path.join(dir, 'pulled-sig', 'sig.txt')), signature) === 0,
    'pulled referrer bytes differ',
  );

  const manifest = json<{ subject?: { digest: string } }>(
    (await o(['manifest', 'fetch', `${c.host}/${c.ns}/oras@${attached.digest}`])).stdout,
    'oras manifest fetch',
  );
  assert.equal(manifest.subject?.digest, pushed.digest, 'the referrer manifest names the artifact as its subject');
  return { digest: pushed.digest, referrer: attached.digest };
}

// ---------------------------------------------------------------- helm

/** helm (OCI registry support): package a chart generated here, push it, pull it back and compare the archive bytes. */
export async function helmChart(c: ClientContext): Promise<{ digest: string }> {
  const dir = path.join(c.work, 'helm');
  const chart = path.join(dir, 'berth-e2e');
  await mkdir(path.join(chart, 'templates'), { recursive: true });
  await writeFile(
    path.join(chart, 'Chart.yaml'),
    `apiVersion: v2\nname: berth-e2e\ndescription: chart generated by the Berth e2e tests\ntype: application\nversion: 0.1.0\nappVersion: "1.0.0"\n`,
  );
  await writeFile(path.join(chart, 'values.yaml'), `message: ${c.ns}\n`);
  await writeFile(
    path.join(chart, 'templates', 'configmap.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-e2e\ndata:\n  message: {{ .Values.message | quote }}\n',
  );
  await mkdir(path.join(dir, 'pulled'), { recursive: true });
  const h = (args: string[]): Promise<RunResult> => c.exec('helm', args, { cwd: dir });

  await h(['package', chart, '-d', dir]);
  const tgz = path.join(dir, 'berth-e2e-0.1.0.tgz');
  const packaged = await readFile(tgz);
  const pushed = await h(['push', tgz, `oci://${c.host}/${c.ns}/charts`, '--plain-http']);
  const digest = /Digest:\s*(sha256:[0-9a-f]{64})/.exec(pushed.stdout + pushed.stderr)?.[1];
  assert.ok(digest, `helm push printed no digest:\n${pushed.stdout}\n${pushed.stderr}`);

  await h([
    'pull',
    `oci://${c.host}/${c.ns}/charts/berth-e2e`,
    '--version',
    '0.1.0',
    '--plain-http',
    '-d',
    path.join(dir, 'pulled'),
  ]);
  const pulled = await readFile(path.join(dir, 'pulled', 'berth-e2e-0.1.0.tgz'));
  assert.ok(Buffer.compare(pulled, packaged) === 0, 'the pulled chart archive differs from the packaged one');

  const shown = await h([
    'show',
    'chart',
    `oci://${c.host}/${c.ns}/charts/berth-e2e`,
    '--version',
    '0.1.0',
    '--plain-http',
  ]);
  assert.match(shown.stdout, /name: berth-e2e/);
  return { digest };
}

// ---------------------------------------------------------------- regctl

/**
 * regctl (regclient): an artifact put with a subject, then `regctl artifact list` (referrers), an image copy
 * to another repository, tag listing and a tag delete.
 */
export async function regctlRoundTrip(c: ClientContext): Promise<{ digest: string }> {
  const r = (args: string[], input?: string): Promise<RunResult> =>
    input === undefined
      ? c.exec('regctl', [...args, '--host', `reg=${c.host},tls=disabled`])
      : regctlWithFile(c, args, input);
  const repo = `${c.host}/${c.ns}/regctl`;
  const payload = `regctl ${c.ns}\n`;
  await r(['artifact', 'put', '--artifact-type', 'application/vnd.berth.e2e.regctl.v1', `${repo}:v1`], payload);
  const digest = (await r(['image', 'digest', `${repo}:v1`])).stdout.trim();
  assert.match(digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal((await r(['artifact', 'get', `${repo}:v1`])).stdout, payload, 'regctl artifact get');

  await r(
    ['artifact', 'put', '--artifact-type', 'application/vnd.berth.e2e.regctl.sbom.v1', '--subject', `${repo}:v1`],
    'sbom\n',
  );
  const listed = json<{ manifests?: { artifactType?: string }[] }>(
    (await r(['artifact', 'list', `${repo}:v1`, '--format', 'body'])).stdout,
    'regctl artifact list',
  );
  assert.deepEqual(
    (listed.manifests ?? []).map((m) => m.artifactType),
    ['application/vnd.berth.e2e.regctl.sbom.v1'],
    'regctl artifact list shows the referrer',
  );

  await r(['image', 'copy', `${repo}:v1`, `${repo}-copy:v1`]);
  assert.equal(
    (await r(['image', 'digest', `${repo}-copy:v1`])).stdout.trim(),
    digest,
    'digest after regctl image copy',
  );
  await r(['tag', 'delete', `${repo}-copy:v1`]);
  const tags = (await r(['tag', 'ls', `${repo}-copy`]).catch((e: Error) => ({ stdout: '', stderr: e.message }))).stdout;
  assert.ok(!tags.split('\n').includes('v1'), `tag v1 still listed after regctl tag delete: ${tags}`);
  return { digest };
}

/** regctl artifact put reads the payload from a file (`--file`), written here. */
async function regctlWithFile(c: ClientContext, args: string[], input: string): Promise<RunResult> {
  const file = path.join(c.work, `regctl-${randomBytes(4).toString('hex')}`);
  await writeFile(file, input);
  return c.exec('regctl', [...args, '--file', file, '--host', `reg=${c.host},tls=disabled`]);
}
