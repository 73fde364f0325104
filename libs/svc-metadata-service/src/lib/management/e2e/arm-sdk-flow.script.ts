/**
 * The issue's "Done when" flow with the official `@azure/arm-containerregistry` client and `@azure/identity`'s
 * ClientSecretCredential, both pointed at Berth. Run as a child process by arm-sdk.integration-spec.ts (with
 * NODE_EXTRA_CA_CERTS set to Berth's self-signed CA); prints one `STEP <name>` line per passed step and exits 0,
 * or prints `FAIL <message>` and exits 1.
 * Input (environment): BERTH_URL, BERTH_TENANT, BERTH_CLIENT_ID, BERTH_CLIENT_SECRET, BERTH_SUBSCRIPTION, REGISTRY.
 */
import { ContainerRegistryManagementClient } from '@azure/arm-containerregistry';
import { ClientSecretCredential } from '@azure/identity';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

function check(cond: unknown, message: string): void {
  if (!cond) throw new Error(message);
}

async function refused(what: string, run: () => Promise<unknown>, status: number, code: string): Promise<void> {
  try {
    await run();
  } catch (e) {
    const err = e as { statusCode?: number; code?: string; message?: string };
    check(
      err.statusCode === status && err.code === code,
      `${what}: expected ${status} ${code}, got ${err.statusCode} ${err.code} ${err.message}`,
    );
    return;
  }
  throw new Error(`${what}: expected a refusal`);
}

const step = (name: string): void => void process.stdout.write(`STEP ${name}\n`);

/** A loopback OCI registry serving one image (the import source). */
async function sourceRegistry(): Promise<{ host: string; close: () => void }> {
  const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux' }));
  const layer = Buffer.from('hello from the source registry');
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(layer), size: layer.length }],
    }),
  );
  const paths = new Map<string, [Buffer, string]>([
    ['/v2/hello/world/manifests/1.0', [manifest, 'application/vnd.oci.image.manifest.v1+json']],
    [`/v2/hello/world/blobs/${sha(config)}`, [config, 'application/octet-stream']],
    [`/v2/hello/world/blobs/${sha(layer)}`, [layer, 'application/octet-stream']],
  ]);
  const server = createServer((req, res) => {
    const hit = paths.get((req.url ?? '').split('?')[0] ?? '');
    if (hit) res.writeHead(200, { 'content-type': hit[1] }).end(hit[0]);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

/** GET on the registry's login server (connecting to Berth's address), Basic-authenticated: status and body. */
function pull(
  url: string,
  loginServer: string,
  path: string,
  user: string,
  password: string,
): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path,
        servername: loginServer,
        headers: {
          host: `${loginServer}:${target.port}`,
          accept: 'application/vnd.oci.image.manifest.v1+json',
          authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
        },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A loopback webhook receiver: the bodies it was sent. */
async function receiver(): Promise<{ url: string; bodies: string[]; close: () => void }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(200).end('thanks');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    close: () => server.close(),
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function main(): Promise<void> {
  const url = env('BERTH_URL');
  const credential = new ClientSecretCredential(
    env('BERTH_TENANT'),
    env('BERTH_CLIENT_ID'),
    env('BERTH_CLIENT_SECRET'),
    {
      authorityHost: url,
      disableInstanceDiscovery: true,
    },
  );
  const client = new ContainerRegistryManagementClient(credential, env('BERTH_SUBSCRIPTION'), { endpoint: url });
  const rg = 'berth';
  const name = env('REGISTRY');

  const free = await client.registries.checkNameAvailability({ name, type: 'Microsoft.ContainerRegistry/registries' });
  check(free.nameAvailable === true, `name should be available: ${JSON.stringify(free)}`);
  step('checkNameAvailability');

  const created = await client.registries.create(rg, name, {
    location: 'eastus',
    sku: { name: 'Basic' },
    adminUserEnabled: true,
  });
  check(
    created.provisioningState === 'Succeeded' && created.sku.name === 'Basic',
    `create: ${JSON.stringify(created)}`,
  );
  step('create');

  const got = await client.registries.get(rg, name);
  check(
    got.name === name && got.loginServer?.startsWith(name.toLowerCase()) && got.adminUserEnabled === true,
    `get: ${JSON.stringify(got)}`,
  );
  const listed: string[] = [];
  for await (const r of client.registries.listByResourceGroup(rg)) listed.push(r.name ?? '');
  const all: string[] = [];
  for await (const r of client.registries.list()) all.push(r.name ?? '');
  check(listed.includes(name) && all.includes(name), `list: ${listed.join(',')} / ${all.join(',')}`);
  step('get-and-list');

  const creds = await client.registries.listCredentials(rg, name);
  check(
    creds.username === name && creds.passwords?.length === 2,
    `listCredentials: ${JSON.stringify(creds.passwords?.map((p) => p.name))}`,
  );
  const regenerated = await client.registries.regenerateCredential(rg, name, { name: 'password' });
  check(
    regenerated.passwords?.[0]?.value !== creds.passwords?.[0]?.value,
    'regenerateCredential did not change the password',
  );
  check(
    regenerated.passwords?.[1]?.value === creds.passwords?.[1]?.value,
    'regenerateCredential changed the other password',
  );
  step('credentials');

  await refused(
    'replication on Basic',
    () => client.replications.create(rg, name, 'westeurope', { location: 'westeurope' }),
    400,
    'OperationNotAllowed',
  );
  step('replication-refused-on-basic');

  const hooks = await receiver();
  const hook: Parameters<typeof client.webhooks.create>[3] = {
    location: 'eastus',
    serviceUri: hooks.url,
    actions: ['push'],
  };
  await client.webhooks.create(rg, name, 'hookone', hook);
  await client.webhooks.create(rg, name, 'hooktwo', hook);
  await refused(
    'third webhook on Basic',
    () => client.webhooks.create(rg, name, 'hookthree', hook),
    409,
    'QuotaExceeded',
  );
  step('third-webhook-refused-on-basic');

  const callback = await client.webhooks.getCallbackConfig(rg, name, 'hookone');
  check(callback.serviceUri === hooks.url, `getCallbackConfig: ${JSON.stringify(callback)}`);
  const ping = await client.webhooks.ping(rg, name, 'hookone');
  await until('the ping delivery', () =>
    Promise.resolve(hooks.bodies.some((b) => b.includes(ping.id ?? '?')) ? true : undefined),
  );
  const logged = await until('the ping in listEvents', async () => {
    for await (const e of client.webhooks.listEvents(rg, name, 'hookone')) {
      if (e.id === ping.id && e.eventResponseMessage?.statusCode === '200') return e;
    }
    return undefined;
  });
  check(logged.eventRequestMessage?.method === 'POST', `listEvents: ${JSON.stringify(logged)}`);
  hooks.close();
  step('webhook-ping-and-events');

  const upgraded = await client.registries.update(rg, name, { sku: { name: 'Premium' } });
  check(upgraded.sku?.name === 'Premium', `update: ${JSON.stringify(upgraded.sku)}`);
  step('upgrade-to-premium');

  const rep = await client.replications.create(rg, name, 'westeurope', { location: 'westeurope' });
  check(rep.location === 'westeurope' && rep.provisioningState === 'Succeeded', `replication: ${JSON.stringify(rep)}`);
  const reps: string[] = [];
  for await (const r of client.replications.list(rg, name)) reps.push(r.name ?? '');
  check(reps.includes('westeurope'), `replications: ${reps.join(',')}`);
  step('replication');

  await refused(
    'downgrade with a replication',
    () => client.registries.update(rg, name, { sku: { name: 'Basic' } }),
    400,
    'OperationNotAllowed',
  );
  step('downgrade-refused');

  const map = await client.scopeMaps.create(rg, name, 'pullers', {
    description: 'pull app',
    actions: ['repositories/app/content/read', 'repositories/app/metadata/read'],
  });
  check(
    map.typePropertiesType === 'UserDefined' && map.id && map.actions?.length === 2,
    `scope map: ${JSON.stringify(map)}`,
  );
  const token = await client.tokens.create(rg, name, 'ci-puller', { scopeMapId: map.id ?? '', status: 'enabled' });
  check(token.scopeMapId?.toLowerCase() === map.id?.toLowerCase(), `token: ${JSON.stringify(token)}`);
  const pw = await client.registries.generateCredentials(rg, name, { tokenId: token.id ?? '', name: 'password1' });
  check(
    pw.username === 'ci-puller' && (pw.passwords?.[0]?.value ?? '').length > 20,
    'generateCredentials returned no password',
  );
  // The token signs in on the data plane, within its scope map only.
  const tokenPassword = pw.passwords?.[0]?.value ?? '';
  const inScope = await pull(url, got.loginServer ?? '', '/v2/app/tags/list', 'ci-puller', tokenPassword);
  check(
    inScope.status === 404 && inScope.body.includes('NAME_UNKNOWN'),
    `token in scope: ${inScope.status} ${inScope.body}`,
  );
  const outOfScope = await pull(url, got.loginServer ?? '', '/v2/other/tags/list', 'ci-puller', tokenPassword);
  check(outOfScope.status === 403, `token out of scope: ${outOfScope.status} ${outOfScope.body}`);
  step('scope-map-and-token');

  const usages = await client.registries.listUsages(rg, name);
  const byName = new Map((usages.value ?? []).map((u) => [u.name, u]));
  check(
    byName.get('Webhooks')?.currentValue === 2 && byName.get('Webhooks')?.limit === 500,
    `usages: ${JSON.stringify(usages.value)}`,
  );
  check(
    byName.get('Geo-replications')?.currentValue === 1 &&
      byName.has('Size') &&
      byName.get('Tokens')?.currentValue === 1,
    'usages incomplete',
  );
  step('usages');

  const source = await sourceRegistry();
  try {
    await client.registries.importImage(rg, name, {
      source: { registryUri: source.host, sourceImage: 'hello/world:1.0' },
      targetTags: ['imported/world:1.0'],
      mode: 'NoForce',
    });
  } finally {
    source.close();
  }
  const admin = regenerated.passwords?.[1]?.value ?? '';
  const pulled = await pull(url, got.loginServer ?? '', '/v2/imported/world/manifests/1.0', name, admin);
  check(
    pulled.status === 200 && pulled.body.includes('application/vnd.oci.image.layer.v1.tar+gzip'),
    `pull after import: ${pulled.status} ${pulled.body}`,
  );
  step('import');

  await client.registries.delete(rg, name);
  await refused('get after delete', () => client.registries.get(rg, name), 404, 'ResourceNotFound');
  const again = await client.registries.checkNameAvailability({ name, type: 'Microsoft.ContainerRegistry/registries' });
  check(again.nameAvailable === true, 'the name is not free after delete');
  step('delete');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stdout.write(`FAIL ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
