/**
 * The official `@azure/container-registry` client against Berth, authenticated by `@azure/identity`'s
 * ClientSecretCredential against Berth's Entra-shaped identity endpoint. Runs as a child process (the
 * self-signed CA is only known at run time, so it comes in through NODE_EXTRA_CA_CERTS) and prints one JSON
 * line per step; the first failing step ends it with exit code 1.
 *
 * Environment: BERTH_URL (https://localhost:<port>), ANON_URL (https://sdkanon.<suffix>:<port>),
 * TENANT_ID, CLIENT_ID, CLIENT_SECRET, SUBSCRIPTION_ID.
 */
import { ClientSecretCredential } from '@azure/identity';
import {
  ContainerRegistryClient,
  ContainerRegistryContentClient,
  KnownManifestMediaType,
  type OciImageManifest,
} from '@azure/container-registry';
import { createHash, randomUUID } from 'node:crypto';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

const berthUrl = env('BERTH_URL');
const anonUrl = env('ANON_URL');
const subscriptionId = env('SUBSCRIPTION_ID');
const audience = berthUrl;
const credential = new ClientSecretCredential(env('TENANT_ID'), env('CLIENT_ID'), env('CLIENT_SECRET'), {
  authorityHost: berthUrl,
  disableInstanceDiscovery: true,
});

function report(step: string, data: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ step, ok: true, ...data })}\n`);
}

async function statusOf(p: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as { statusCode?: number }).statusCode ?? -1;
  }
}

async function pushImage(content: ContainerRegistryContentClient, seed: string, tag: string): Promise<string> {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, seed }),
  );
  const layer = Buffer.from(`layer ${seed}`);
  const cfg = await content.uploadBlob(config);
  const lyr = await content.uploadBlob(layer);
  const manifest: OciImageManifest = {
    schemaVersion: 2,
    mediaType: KnownManifestMediaType.OciImageManifest,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfg.digest, size: cfg.sizeInBytes },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: lyr.digest, size: lyr.sizeInBytes }],
  };
  return (await content.setManifest(manifest, { tag })).digest;
}

async function management(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const token = await credential.getToken(`${berthUrl}/.default`);
  const res = await fetch(`${berthUrl}${path}${path.includes('?') ? '&' : '?'}api-version=2025-11-01`, {
    method,
    headers: { authorization: `Bearer ${token?.token ?? ''}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function main(): Promise<void> {
  const token = await credential.getToken(`${berthUrl}/.default`);
  if (!token?.token) throw new Error('no identity token');
  report('identity-token', { expiresInSec: Math.round((token.expiresOnTimestamp - Date.now()) / 1000) });

  const repo = `sdk/app-${randomUUID().slice(0, 8)}`;
  const content = new ContainerRegistryContentClient(berthUrl, repo, credential, { audience });
  const digest = await pushImage(content, 'one', 'v1');
  report('upload-blobs-and-manifest', { digest });

  const fetched = await content.getManifest('v1');
  if (fetched.digest !== digest) throw new Error(`getManifest digest ${fetched.digest} != ${digest}`);
  report('get-manifest');

  const client = new ContainerRegistryClient(berthUrl, credential, { audience });
  const repositories: string[] = [];
  for await (const name of client.listRepositoryNames()) repositories.push(name);
  if (!repositories.includes(repo)) throw new Error(`listRepositoryNames lacks ${repo}: ${repositories.join(',')}`);
  report('list-repositories', { count: repositories.length });

  const second = await pushImage(content, 'two', 'v2');
  const byTime: string[] = [];
  for await (const m of client.getRepository(repo).listManifestProperties({ order: 'LastUpdatedOnDescending' }))
    byTime.push(m.digest);
  if (byTime[0] !== second || byTime[1] !== digest) throw new Error(`manifests by time: ${byTime.join(',')}`);
  report('list-manifest-properties-by-time', { digests: byTime });

  const artifact = client.getArtifact(repo, 'v1');
  const props = await artifact.getManifestProperties();
  const tagProps = await artifact.getTagProperties('v1');
  if (props.digest !== digest || tagProps.digest !== digest || props.operatingSystem !== 'linux') {
    throw new Error(`properties: ${JSON.stringify({ props, tagProps })}`);
  }
  report('read-properties', { architecture: props.architecture, os: props.operatingSystem, tags: props.tags });

  await artifact.updateTagProperties('v1', { canWrite: false, canDelete: false });
  const repush = await statusOf(pushImage(content, 'three', 'v1'));
  const deleteLocked = await statusOf(artifact.deleteTag('v1'));
  if (repush === 'ok' || deleteLocked === 'ok')
    throw new Error(`locked tag accepted: repush ${repush}, delete ${deleteLocked}`);
  report('locked-tag-refuses-repush-and-delete', { repush, deleteLocked });

  await artifact.updateTagProperties('v1', { canWrite: true, canDelete: true });
  await artifact.deleteTag('v1');
  const tagGone = await statusOf(artifact.getTagProperties('v1'));
  await client.getArtifact(repo, digest).delete();
  const manifestGone = await statusOf(client.getArtifact(repo, digest).getManifestProperties());
  if (tagGone !== 404 || manifestGone !== 404)
    throw new Error(`after deletes: tag ${tagGone}, manifest ${manifestGone}`);
  report('unlock-then-delete-tag-and-manifest', { tagGone, manifestGone });

  // Anonymous pull on a Standard registry created through the management API with anonymousPullEnabled.
  const registryPath = `/subscriptions/${subscriptionId}/resourceGroups/berth/providers/Microsoft.ContainerRegistry/registries/sdkanon`;
  const created = await management('PUT', registryPath, {
    location: 'eastus',
    sku: { name: 'Standard' },
    properties: { anonymousPullEnabled: true },
  });
  if (created.status >= 300) throw new Error(`create registry: ${created.status} ${JSON.stringify(created.json)}`);
  for (let i = 0; i < 60; i += 1) {
    const got = await management('GET', registryPath);
    const state = (got.json['properties'] as Record<string, unknown> | undefined)?.['provisioningState'];
    if (state === 'Succeeded') break;
    if (state === 'Failed' || i === 59) throw new Error(`registry provisioning: ${JSON.stringify(got.json)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const publicRepo = 'public/hello';
  const anonDigest = await pushImage(
    new ContainerRegistryContentClient(anonUrl, publicRepo, credential, { audience }),
    'anon',
    'latest',
  );
  const anonymous = new ContainerRegistryClient(anonUrl, { audience });
  const anonRepos: string[] = [];
  for await (const name of anonymous.listRepositoryNames()) anonRepos.push(name);
  if (!anonRepos.includes(publicRepo)) throw new Error(`anonymous listing: ${anonRepos.join(',')}`);
  const anonProps = await anonymous.getArtifact(publicRepo, 'latest').getManifestProperties();
  if (anonProps.digest !== anonDigest) throw new Error(`anonymous properties: ${JSON.stringify(anonProps)}`);
  // A Docker client's anonymous pull: `GET /v2/` is challenged, the realm hands out a token without credentials,
  // the manifest comes with it. (Berth also answers an anonymous manifest GET directly on such a registry.)
  const manifestUrl = `${anonUrl}/v2/${publicRepo}/manifests/latest`;
  const challenge = await fetch(`${anonUrl}/v2/`);
  const params = Object.fromEntries(
    [...(challenge.headers.get('www-authenticate') ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
  ) as Record<string, string>;
  const scope = `repository:${publicRepo}:pull`;
  const tokenRes = await fetch(
    `${params['realm']}?service=${encodeURIComponent(params['service'] ?? '')}&scope=${encodeURIComponent(scope)}`,
  );
  const { access_token: anonToken } = (await tokenRes.json()) as { access_token?: string };
  const pulled = await fetch(manifestUrl, {
    headers: { authorization: `Bearer ${anonToken ?? ''}`, accept: KnownManifestMediaType.OciImageManifest },
  });
  const pulledDigest = pulled.headers.get('docker-content-digest');
  const direct = await fetch(manifestUrl, { headers: { accept: KnownManifestMediaType.OciImageManifest } });
  if (
    challenge.status !== 401 ||
    tokenRes.status !== 200 ||
    pulled.status !== 200 ||
    pulledDigest !== anonDigest ||
    direct.status !== 200
  ) {
    throw new Error(
      `anonymous pull: challenge ${challenge.status}, token ${tokenRes.status}, pull ${pulled.status} ${pulledDigest}, direct ${direct.status}`,
    );
  }
  const anonPush = (
    await fetch(`${anonUrl}/v2/${publicRepo}/blobs/uploads/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${anonToken ?? ''}` },
    })
  ).status;
  if (anonPush < 400) throw new Error(`anonymous push accepted: ${anonPush}`);
  report('anonymous-listing-and-pull', { repositories: anonRepos.length, anonPush });
  process.stdout.write(
    `${JSON.stringify({ step: 'done', ok: true, sha: createHash('sha256').update(repo).digest('hex').slice(0, 8) })}\n`,
  );
}

main().catch((e: unknown) => {
  const err = e as { message?: string; statusCode?: number; code?: string };
  process.stdout.write(
    `${JSON.stringify({ step: 'failed', ok: false, message: err.message, statusCode: err.statusCode, code: err.code })}\n`,
  );
  process.exit(1);
});
