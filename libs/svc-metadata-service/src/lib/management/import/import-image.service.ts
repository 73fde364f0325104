import { Inject, Injectable } from '@nestjs/common';
import { DATA_SOURCE } from '@berth/db';
import { buildRegistryEvent, writeRegistryEvent, type RegistryEventData } from '@berth/events';
import {
  MediaTypes,
  chartIdentity,
  imagePlatform,
  isHelmChart,
  isRepositoryName,
  isTag,
  parseManifest,
  referencesOf,
  type ParsedManifest,
} from '@berth/oci';
import type { BerthConfig } from '@berth/config';
import { BERTH_CONFIG, ROOT_LOGGER } from '@berth/platform';
import { SsrfRefusedError, assertAllowedDestination } from '@berth/ssrf';
import { currentTraceparent } from '@berth/telemetry';
import { BLOB_STORES, type BlobStores } from '@berth/storage';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { DataSource, EntityManager } from 'typeorm';
import type { ArmContext, ArmResponse } from '../arm/arm-context';
import { ArmError, badRequest, conflict } from '../arm/arm-error';
import { ARM_IDENTITY, type ArmIdentity } from '../arm/arm-identity.port';
import { arr, obj, parseBody, str } from '../arm/body-shape.util';
import { OperationsService } from '../arm/operations.service';
import { RegistryRecords, type RegistryRow } from '../registries/registry-records.service';
import { OciSource, type ImageSource } from './oci-source';

const IMPORT_BODY = obj(
  {
    source: obj(
      {
        resourceId: str({ minLength: 1 }),
        registryUri: str({ minLength: 1, maxLength: 512 }),
        credentials: obj({ username: str({ maxLength: 512 }), password: str({ minLength: 1, maxLength: 8192 }) }, [
          'password',
        ]),
        sourceImage: str({ minLength: 1, maxLength: 1024 }),
      },
      ['sourceImage'],
    ),
    targetTags: arr(str({ minLength: 1, maxLength: 512 }), 50),
    untaggedTargetRepositories: arr(str({ minLength: 1, maxLength: 512 }), 50),
    mode: str({ enum: ['NoForce', 'Force'] }),
  },
  ['source'],
);

interface ImportBody {
  source: {
    resourceId?: string;
    registryUri?: string;
    credentials?: { username?: string; password: string };
    sourceImage: string;
  };
  targetTags?: string[];
  untaggedTargetRepositories?: string[];
  mode?: 'NoForce' | 'Force';
}

/** At most this many manifests per imported image (an index and its children), as ACR. */
const MAX_MANIFESTS = 50;
const MAX_CONFIG_BYTES = 1024 * 1024;

interface FetchedManifest {
  digest: string;
  bytes: Buffer;
  parsed: ParsedManifest;
  platform: { architecture: string | null; os: string | null };
  /** The config JSON when it was small enough to read (chart name and version for chart events). */
  config?: Record<string, unknown>;
}

/**
 * POST importImage (reference §4.5): copies an image (a manifest, or an index with its children, and every blob)
 * from another registry of this installation (`source.resourceId`, read permission required) or from any OCI
 * registry over HTTP(S) (`source.registryUri`, with optional credentials; Bearer-token and Basic challenges are
 * followed) into the target repositories. Checks run before the answer (202 + Location); the copy runs in the
 * background: blobs are stored (verified by digest) first, then every row commits in one transaction, so a failed
 * import leaves no manifest or tag behind. `NoForce` refuses an existing target tag, `Force` moves it.
 */
@Injectable()
export class ImportImageService {
  private readonly logger: Logger;

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(BLOB_STORES) private readonly stores: BlobStores,
    @Inject(ARM_IDENTITY) private readonly identity: ArmIdentity,
    @Inject(ROOT_LOGGER) logger: Logger,
    @Inject(BERTH_CONFIG) private readonly config: BerthConfig,
    private readonly records: RegistryRecords,
    private readonly operations: OperationsService,
  ) {
    this.logger = logger.child({ component: 'import-image' });
  }

  async importImage(ctx: ArmContext, rg: string, registry: string): Promise<ArmResponse> {
    const body = parseBody<ImportBody>(IMPORT_BODY, ctx.body);
    const target = await this.records.get(ctx.subscriptionId, rg, registry, { live: true });
    const { repository: srcRepo, reference } = parseImage(body.source.sourceImage, 'source.sourceImage');
    const defaultTag = reference.startsWith('sha256:') ? undefined : reference;
    const targets = (body.targetTags ?? []).map((t) => {
      const parsed = parseImage(t, 'targetTags');
      if (parsed.reference.startsWith('sha256:'))
        throw badRequest('InvalidParameter', `A target tag cannot name a digest: '${t}'.`, 'targetTags');
      return { repository: parsed.repository, tag: t.includes(':') ? parsed.reference : (defaultTag ?? 'latest') };
    });
    const untagged = (body.untaggedTargetRepositories ?? []).map((r) => {
      if (!isRepositoryName(r))
        throw badRequest('InvalidParameter', `'${r}' is not a repository name.`, 'untaggedTargetRepositories');
      return r;
    });
    if (targets.length === 0 && untagged.length === 0)
      targets.push({ repository: srcRepo, tag: defaultTag ?? 'latest' });
    const mode = body.mode ?? 'NoForce';
    const source = await this.source(ctx, body, srcRepo);
    if (mode === 'NoForce') await this.refuseExistingTags(this.ds, target, targets);

    const op = await this.operations.start(ctx.subscriptionId, async () => {
      try {
        await this.copy(target, source, reference, targets, untagged, mode);
      } catch (err) {
        this.logger.warn({ err, registryId: target.id }, 'import failed');
        if (err instanceof ArmError) throw err;
        throw new ArmError(
          400,
          'ImportFailed',
          `The import failed: ${err instanceof Error ? err.message : 'unknown error'}.`,
        );
      }
    });
    const urls = this.operations.urls(ctx.baseUrl, op, target.location, ctx.apiVersion);
    return { status: 202, headers: { Location: urls.location, 'Retry-After': '1' } };
  }

  private async source(ctx: ArmContext, body: ImportBody, repository: string): Promise<ImageSource> {
    const { resourceId, registryUri, credentials } = body.source;
    if ((resourceId === undefined) === (registryUri === undefined)) {
      throw badRequest('InvalidParameter', 'Give exactly one of source.resourceId and source.registryUri.', 'source');
    }
    if (resourceId !== undefined) {
      const m =
        /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerRegistry\/registries\/([^/]+)$/i.exec(
          resourceId,
        );
      if (!m?.[1] || !m[2] || !m[3])
        throw badRequest('InvalidParameter', 'source.resourceId must be a registry resource id.', 'source.resourceId');
      const sub = m[1].toLowerCase();
      if (
        !(await this.identity.seesSubscription(ctx.caller, sub)) ||
        !(await this.identity.may(ctx.caller, resourceId, 'read'))
      ) {
        throw new ArmError(
          403,
          'AuthorizationFailed',
          `The client does not have authorization to read the source registry '${resourceId}'.`,
        );
      }
      const src = await this.records.get(sub, m[2], m[3], { live: true });
      return new BerthSource(this.ds, this.stores, src, repository);
    }
    const allow = this.config.webhookAllowedPrivate;
    const source = new OciSource(String(registryUri), repository, (url) => this.vetSource(url, allow), credentials);
    await this.vetSource(`${source.base}/v2/`, allow);
    return source;
  }

  /** The SSRF guard of webhooks, with the same allow-list (BERTH_WEBHOOK_ALLOWED_PRIVATE), for import sources. */
  private async vetSource(url: string, allow: readonly string[]): Promise<void> {
    try {
      await assertAllowedDestination(url, allow);
    } catch (err) {
      if (!(err instanceof SsrfRefusedError)) throw err;
      throw badRequest('InvalidImportSource', `The import source is not allowed: ${err.message}`, 'source.registryUri');
    }
  }

  private async refuseExistingTags(
    db: DataSource | EntityManager,
    target: RegistryRow,
    targets: Array<{ repository: string; tag: string }>,
  ): Promise<void> {
    for (const t of targets) {
      const rows = (await db.query(
        `SELECT 1 FROM tags g JOIN repositories r ON r.id = g.repository_id WHERE r.registry_id = $1 AND r.name = $2 AND g.name = $3`,
        [target.id, t.repository, t.tag],
      )) as unknown[];
      if (rows.length) {
        throw conflict(
          'ImportTagAlreadyExists',
          `The target tag '${t.repository}:${t.tag}' already exists; use mode Force to overwrite it.`,
          'targetTags',
        );
      }
    }
  }

  private async copy(
    target: RegistryRow,
    source: ImageSource,
    reference: string,
    targets: Array<{ repository: string; tag: string }>,
    untagged: string[],
    mode: 'NoForce' | 'Force',
  ): Promise<void> {
    const manifests: FetchedManifest[] = [];
    const blobs = new Map<string, number>();
    const store = this.stores.get(target.location);
    const fetchManifest = async (ref: string): Promise<FetchedManifest> => {
      if (manifests.length >= MAX_MANIFESTS)
        throw badRequest('ImportTooLarge', `An imported image may have at most ${MAX_MANIFESTS} manifests.`);
      const { bytes, mediaType } = await source.manifest(ref);
      const parsed = parseManifest(bytes, mediaType);
      if (ref.startsWith('sha256:') && parsed.digest !== ref)
        throw new Error(`the source returned a manifest whose digest is not ${ref}`);
      const fetched: FetchedManifest = {
        digest: parsed.digest,
        bytes,
        parsed,
        platform: { architecture: null, os: null },
      };
      const isChart = isHelmChart(parsed);
      for (const r of referencesOf(parsed)) {
        if (r.kind === 'manifest') await fetchManifest(r.digest);
        else if (!blobs.has(r.digest)) {
          blobs.set(r.digest, r.size);
          const isConfig = parsed.kind === 'image' && parsed.config.digest === r.digest;
          if (isConfig) {
            fetched.config = await this.copyConfig(store, target.id, source, r.digest, r.size);
            fetched.platform = isChart ? fetched.platform : imagePlatform(fetched.config);
          }
          if (!isConfig) await store.putBlob(target.id, await source.blob(r.digest), r.digest);
        }
      }
      manifests.push(fetched);
      return fetched;
    };
    const root = await fetchManifest(reference);
    // The import is a push into each target: one `push` (or `chart_push`) event per target tag and per untagged
    // target repository, in the transaction that stores the rows (the outbox), as a client's push would raise.
    const request = {
      id: randomUUID(),
      host: target.login_server,
      method: 'POST',
      useragent: 'berth-import',
      ...optional('traceparent', currentTraceparent()),
    };

    await this.ds.transaction(async (tx) => {
      if (mode === 'NoForce') await this.refuseExistingTags(tx, target, targets);
      for (const [digest, size] of blobs) {
        await tx.query(`INSERT INTO blobs (registry_id, digest, size) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [
          target.id,
          digest,
          size,
        ]);
        await tx.query(
          `INSERT INTO blob_regions (registry_id, digest, region) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
          [target.id, digest, target.location],
        );
      }
      for (const m of manifests) await insertManifestRow(tx, target.id, m);
      const repos = new Set([...targets.map((t) => t.repository), ...untagged]);
      for (const name of repos) {
        await tx.query(`INSERT INTO repositories (registry_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
          target.id,
          name,
        ]);
        const [repo] = (await tx.query(`SELECT id FROM repositories WHERE registry_id = $1 AND name = $2`, [
          target.id,
          name,
        ])) as Array<{ id: string }>;
        for (const digest of blobs.keys()) {
          await tx.query(
            `INSERT INTO repository_blobs (repository_id, digest, registry_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
            [repo?.id, digest, target.id],
          );
        }
        for (const m of manifests) {
          await tx.query(
            `INSERT INTO repository_manifests (repository_id, digest, registry_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
            [repo?.id, m.digest, target.id],
          );
        }
        for (const t of targets.filter((x) => x.repository === name)) {
          const moved = (await tx.query(
            `INSERT INTO tags (repository_id, name, registry_id, manifest_digest) VALUES ($1, $2, $3, $4)
             ON CONFLICT (repository_id, name) DO UPDATE SET manifest_digest = EXCLUDED.manifest_digest, updated_at = now()
               WHERE tags.write_enabled RETURNING name`,
            [repo?.id, t.tag, target.id, root.digest],
          )) as unknown[];
          if (moved.length === 0)
            throw conflict('ImportTagLocked', `The target tag '${name}:${t.tag}' is write-locked.`, 'targetTags');
        }
      }
      const pushed = [...targets, ...untagged.map((repository) => ({ repository, tag: undefined }))];
      for (const t of pushed) {
        const chart = isHelmChart(root.parsed);
        const common = { mediaType: root.parsed.mediaType, size: root.bytes.length, digest: root.digest };
        const tagPart = t.tag === undefined ? {} : { tag: t.tag };
        const eventTarget: RegistryEventData['target'] = chart
          ? { ...common, repository: t.repository, ...tagPart, ...chartIdentity(root.parsed.annotations, root.config, t.repository, t.tag) }
          : { ...common, length: root.bytes.length, repository: t.repository, ...tagPart };
        await writeRegistryEvent(
          tx,
          buildRegistryEvent({ registryId: target.id, action: chart ? 'chart_push' : 'push', target: eventTarget, request }),
        );
      }
    });
    this.logger.info(
      { registryId: target.id, digest: root.digest, manifests: manifests.length, blobs: blobs.size },
      'image imported',
    );
  }

  /** Copies the config blob, reading it once for what listings and events show (image platform, chart name). */
  private async copyConfig(
    store: ReturnType<BlobStores['get']>,
    registryId: string,
    source: ImageSource,
    digest: string,
    size: number,
  ): Promise<Record<string, unknown> | undefined> {
    if (size > MAX_CONFIG_BYTES) {
      await store.putBlob(registryId, await source.blob(digest), digest);
      return undefined;
    }
    const chunks: Buffer[] = [];
    for await (const c of await source.blob(digest)) chunks.push(Buffer.from(c as Buffer));
    const bytes = Buffer.concat(chunks);
    await store.putBlob(registryId, Readable.from([bytes]), digest);
    try {
      const cfg: unknown = JSON.parse(bytes.toString('utf8'));
      return typeof cfg === 'object' && cfg !== null && !Array.isArray(cfg) ? (cfg as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
}

async function insertManifestRow(tx: EntityManager, registryId: string, m: FetchedManifest): Promise<void> {
  const p = m.parsed;
  const config = p.kind === 'image' ? p.config : undefined;
  await tx.query(
    `INSERT INTO manifests (registry_id, digest, media_type, artifact_type, subject_digest, config_digest, config_media_type,
                            size, content, annotations, architecture, os)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12) ON CONFLICT (registry_id, digest) DO NOTHING`,
    [
      registryId,
      m.digest,
      p.mediaType,
      p.artifactType ?? null,
      p.subject?.digest ?? null,
      config?.digest ?? null,
      config?.mediaType ?? null,
      m.bytes.length,
      m.bytes,
      p.annotations === undefined ? null : JSON.stringify(p.annotations),
      m.platform.architecture,
      m.platform.os,
    ],
  );
  for (const r of referencesOf(p)) {
    await tx.query(
      r.kind === 'blob'
        ? `INSERT INTO manifest_references (registry_id, manifest_digest, blob_digest) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`
        : `INSERT INTO manifest_references (registry_id, manifest_digest, child_digest) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
      [registryId, m.digest, r.digest],
    );
  }
}

/** `repo`, `repo:tag` or `repo@sha256:...` → repository and reference (tag `latest` by default). */
export function parseImage(image: string, target: string): { repository: string; reference: string } {
  const at = image.indexOf('@');
  let repository: string;
  let reference: string;
  if (at >= 0) {
    repository = image.slice(0, at);
    reference = image.slice(at + 1);
    if (!/^sha256:[a-f0-9]{64}$/.test(reference))
      throw badRequest('InvalidParameter', `'${image}' has an invalid digest.`, target);
  } else {
    const colon = image.lastIndexOf(':');
    const slash = image.lastIndexOf('/');
    repository = colon > slash ? image.slice(0, colon) : image;
    reference = colon > slash ? image.slice(colon + 1) : 'latest';
    if (!isTag(reference)) throw badRequest('InvalidParameter', `'${image}' has an invalid tag.`, target);
  }
  if (!isRepositoryName(repository))
    throw badRequest('InvalidParameter', `'${image}' does not name a repository.`, target);
  return { repository, reference };
}

/** A registry of this installation: manifests from Postgres, blobs from its home region's storage. */
class BerthSource implements ImageSource {
  constructor(
    private readonly ds: DataSource,
    private readonly stores: BlobStores,
    private readonly registry: RegistryRow,
    private readonly repository: string,
  ) {}

  async manifest(reference: string): Promise<{ bytes: Buffer; mediaType: string }> {
    const byDigest = reference.startsWith('sha256:');
    const rows = (await this.ds.query(
      `SELECT m.content, m.media_type FROM repositories r
         JOIN repository_manifests rm ON rm.repository_id = r.id
         JOIN manifests m ON m.registry_id = rm.registry_id AND m.digest = rm.digest
        WHERE r.registry_id = $1 AND r.name = $2 AND rm.read_enabled AND
              ${byDigest ? 'rm.digest = $3' : 'rm.digest = (SELECT manifest_digest FROM tags WHERE repository_id = r.id AND name = $3 AND read_enabled)'}`,
      [this.registry.id, this.repository, reference],
    )) as Array<{ content: Buffer; media_type: string }>;
    const row = rows[0];
    if (!row)
      throw badRequest(
        'ImportSourceNotFound',
        `The source image '${this.repository}:${reference}' was not found in registry '${this.registry.name}'.`,
        'source.sourceImage',
      );
    return { bytes: row.content, mediaType: row.media_type || MediaTypes.OciManifest };
  }

  async blob(digest: string): Promise<Readable> {
    return this.stores.get(this.registry.location).open({ registryId: this.registry.id, digest });
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
