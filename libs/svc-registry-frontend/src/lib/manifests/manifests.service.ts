import { Inject, Injectable } from '@nestjs/common';
import { DATA_SOURCE, retryOnWriteConflict } from '@berth/db';
import {
  type ParsedManifest,
  RegistryError,
  assertTag,
  isHelmChart,
  parseManifest,
  referencesOf,
  type ManifestReference as ContentReference,
} from '@berth/oci';
import type { DataSource, EntityManager } from 'typeorm';
import { preparedQuery } from '../registry/prepared-query.util';
import { RepositoryRecords, type RepositoryRecord } from '../registry/repository-records.service';
import { ManifestConfigReader, chartIdentity, imagePlatform, type ImagePlatform } from './manifest-config.service';
import { ManifestCache, type ManifestAnswer } from './manifest-cache';
import { denied, manifestUnknown } from './manifest-errors.util';
import { parseManifestReference } from './manifest-reference.util';
import { buildRegistryEvent, writeOutbox, type EventRequestInfo, type RegistryEventData } from './registry-events';

/**
 * How many `?tag=` parameters one PUT by digest may carry (distribution-spec main, end-7b: SHOULD allow at
 * least 10; more is answered 414).
 */
export const MAX_TAGS_PER_PUT = 32;

export interface PutManifestCommand {
  readonly registryId: string;
  /** The registry's home region: where pushed blobs (the config among them) are stored. */
  readonly homeRegion: string;
  readonly repository: string;
  /** The path `<reference>`: a tag or a digest. */
  readonly reference: string;
  /** `?tag=` parameters (only with a digest reference). */
  readonly extraTags: readonly string[];
  /** The client's Content-Type. */
  readonly contentType: string | undefined;
  /** The exact body bytes. */
  readonly body: Buffer;
  readonly request: EventRequestInfo;
}

export interface PutManifestResult {
  readonly digest: string;
  readonly subject?: string;
  /** Tags now pointing at the manifest (the reference tag, or the accepted `?tag=` parameters). */
  readonly tags: readonly string[];
}

export interface StoredManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  /** Absent when the caller asked for headers only (HEAD). */
  readonly content?: Buffer;
}

interface ManifestRow {
  repository_id: string;
  digest: string;
  media_type: string;
  size: string | number;
  content: Buffer | null;
  repo_read: boolean;
  manifest_read: boolean;
  tag_read: boolean | null;
}

/**
 * Manifests and tags of a repository (distribution-spec v1.1 "Pushing/Pulling/Deleting manifests"), with the
 * ACR locks (changeable attributes, acr.md §8.4) and the outbox events (acr.md §5). Every query is scoped by
 * the registry id and the repository id of that registry: a manifest or blob of another repository or
 * registry is never visible here.
 */
@Injectable()
export class ManifestsService {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    private readonly repositories: RepositoryRecords,
    private readonly configs: ManifestConfigReader,
    private readonly cache: ManifestCache,
  ) {}

  /**
   * Validates and stores a manifest, its references, its tags and one `push` (or `chart_push`) event per
   * tag (one without a tag when pushed by digest only), all in one transaction. Nothing is stored when
   * anything is refused.
   *
   * The config blob of an image or chart is read first (outside the transaction, best effort) for what ACR
   * lists but the manifest does not carry: the image platform (`architecture`, `os`) and the chart name and
   * version. A Helm chart (config `application/vnd.cncf.helm.config.v1+json`) raises `chart_push` INSTEAD of
   * `push`, with ACR's chart payload (acr.md §5.2: `size` without `length`, `name`, `version`, no `request`):
   * in ACR these are separate actions a webhook subscribes to, and one push must not notify twice.
   */
  async put(cmd: PutManifestCommand): Promise<PutManifestResult> {
    const ref = parseManifestReference(cmd.reference);
    const tags = ref.kind === 'tag' ? [ref.tag] : [...new Set(cmd.extraTags.map(assertTag))];
    if (tags.length > MAX_TAGS_PER_PUT) {
      throw new RegistryError(
        'TAG_INVALID',
        `at most ${MAX_TAGS_PER_PUT} tags per request`,
        { count: tags.length },
        414,
      );
    }
    const parsed = parseManifest(cmd.body, cmd.contentType, {
      algorithm: ref.kind === 'digest' ? ref.digest.algorithm : 'sha256',
    });
    if (ref.kind === 'digest' && parsed.digest !== ref.digest.value) {
      // distribution-spec: the digest of the body must match the digest reference.
      throw new RegistryError('DIGEST_INVALID', 'manifest digest does not match the reference', {
        reference: ref.digest.value,
        digest: parsed.digest,
      });
    }
    const refs = referencesOf(parsed);
    const config =
      parsed.kind === 'image' ? await this.configs.read(cmd.registryId, cmd.homeRegion, parsed.config) : undefined;
    const chart = isHelmChart(parsed);

    // Tags are written in one order (a push naming the same tags in another order cannot deadlock with this one), and a
    // transaction that still lost a race (its repository deleted under it, a deadlock) runs again from the start.
    const tagOrder = [...tags].sort();
    await retryOnWriteConflict(() =>
      this.ds.transaction(async (em) => {
        const repo = await this.repositories.findOrCreate(cmd.registryId, cmd.repository, em);
        if (!repo.writeEnabled) throw denied('the repository is write-locked', { repository: repo.name });
        await assertReferencesPresent(em, repo, refs);

        const link = (await em.query(
          `SELECT write_enabled FROM repository_manifests WHERE repository_id = $1 AND digest = $2 FOR UPDATE`,
          [repo.id, parsed.digest],
        )) as Array<{ write_enabled: boolean }>;
        if (link[0] && !link[0].write_enabled) throw denied('the manifest is write-locked', { digest: parsed.digest });

        await insertManifest(
          em,
          cmd.registryId,
          parsed,
          cmd.body,
          refs,
          chart ? { architecture: null, os: null } : imagePlatform(config),
        );
        await em.query(
          `INSERT INTO repository_manifests (repository_id, digest, registry_id) VALUES ($1, $2, $3)
         ON CONFLICT (repository_id, digest) DO NOTHING`,
          [repo.id, parsed.digest, cmd.registryId],
        );
        for (const tag of tagOrder) await upsertTag(em, repo, tag, parsed.digest);

        for (const tag of tags.length ? tags : [undefined]) {
          const common = { mediaType: parsed.mediaType, size: parsed.size, digest: parsed.digest };
          const tagPart = tag === undefined ? {} : { tag };
          const target: RegistryEventData['target'] = chart
            ? {
                ...common,
                repository: repo.name,
                ...tagPart,
                ...chartIdentity(parsed.annotations, config, repo.name, tag),
              }
            : { ...common, length: parsed.size, repository: repo.name, ...tagPart };
          await writeOutbox(
            em,
            buildRegistryEvent({
              registryId: cmd.registryId,
              action: chart ? 'chart_push' : 'push',
              target,
              request: cmd.request,
            }),
          );
        }
      }),
    );
    return { digest: parsed.digest, ...(parsed.subject ? { subject: parsed.subject.digest } : {}), tags };
  }

  /**
   * The manifest a tag or digest names in this repository, or MANIFEST_UNKNOWN (404). A repository, tag or
   * manifest with `read_enabled = false` answers DENIED (403): ACR blocks the pull with an error rather than
   * pretending the content is absent (acr.md §8.4 "readEnabled false = pull blocked").
   */
  async get(registryId: string, repository: string, reference: string, withContent: boolean): Promise<StoredManifest> {
    return this.read(registryId, repository, reference, withContent);
  }

  /**
   * `get`, answered synchronously when the answer (and, for a GET, the bytes) is in the ManifestCache: the pull fast
   * path's way, with no promise on a hit; a promise otherwise. Throws (or rejects with) the same errors.
   */
  read(
    registryId: string,
    repository: string,
    reference: string,
    withContent: boolean,
  ): StoredManifest | Promise<StoredManifest> {
    const known = this.cache.answer(registryId, repository, reference);
    if (known) {
      if (!withContent) return stored(known, reference);
      const content = this.cache.content(registryId, known.digest);
      if (content) return stored(known, reference, content);
    }
    return this.readDatabase(registryId, repository, reference, withContent);
  }

  private async readDatabase(
    registryId: string,
    repository: string,
    reference: string,
    withContent: boolean,
  ): Promise<StoredManifest> {
    const ref = parseManifestReference(reference);
    const ticket = this.cache.ticket();
    const content = withContent ? 'm.content' : 'NULL::bytea AS content';
    // One round trip on the hottest read path, a prepared statement (one per shape): the repository is resolved
    // inside the query (a missing repository and a missing manifest are the same MANIFEST_UNKNOWN to the client).
    const shape = `${ref.kind}-${withContent ? 'get' : 'head'}`;
    const rows = (
      ref.kind === 'tag'
        ? await preparedQuery<ManifestRow>(
            this.ds,
            `berth-manifest-by-${shape}`,
            `SELECT r.id AS repository_id, m.digest, m.media_type, m.size, ${content}, r.read_enabled AS repo_read,
                    rm.read_enabled AS manifest_read, t.read_enabled AS tag_read
               FROM repositories r
               JOIN tags t ON t.registry_id = r.registry_id AND t.repository_id = r.id
               JOIN repository_manifests rm ON rm.repository_id = t.repository_id AND rm.digest = t.manifest_digest
               JOIN manifests m ON m.registry_id = rm.registry_id AND m.digest = rm.digest
              WHERE r.registry_id = $1 AND r.name = $2 AND t.name = $3`,
            [registryId, repository, ref.tag],
          )
        : await preparedQuery<ManifestRow>(
            this.ds,
            `berth-manifest-by-${shape}`,
            `SELECT r.id AS repository_id, m.digest, m.media_type, m.size, ${content}, r.read_enabled AS repo_read,
                    rm.read_enabled AS manifest_read, NULL AS tag_read
               FROM repositories r
               JOIN repository_manifests rm ON rm.registry_id = r.registry_id AND rm.repository_id = r.id
               JOIN manifests m ON m.registry_id = rm.registry_id AND m.digest = rm.digest
              WHERE r.registry_id = $1 AND r.name = $2 AND rm.digest = $3`,
            [registryId, repository, ref.digest.value],
          )
    ) as ManifestRow[];
    const row = rows[0];
    // Absent answers are not remembered: a push creates them, and nothing would announce it for a repository not seen.
    if (!row) throw manifestUnknown(reference);
    const answer: ManifestAnswer = {
      repositoryId: row.repository_id,
      digest: row.digest,
      mediaType: row.media_type,
      size: Number(row.size),
      readable: row.repo_read && row.manifest_read && row.tag_read !== false,
    };
    this.cache.store(ticket, registryId, repository, reference, answer, row.content ?? undefined);
    return stored(answer, reference, row.content ?? undefined);
  }
}

/** The stored manifest of an answer, or DENIED when reading it is disabled. */
function stored(answer: ManifestAnswer, reference: string, content?: Buffer): StoredManifest {
  if (!answer.readable) throw denied('reading is disabled for this repository, tag or manifest', { reference });
  return { digest: answer.digest, mediaType: answer.mediaType, size: answer.size, ...(content ? { content } : {}) };
}

/**
 * Every blob (config, layers) and child manifest (index entries) must already be in THIS repository: a blob
 * of another repository is not enough (DESIGN: never answer for a blob by digest alone). The rows found are
 * locked `FOR SHARE` until commit, so a concurrent blob or manifest delete cannot remove them in between.
 * The first missing one is MANIFEST_BLOB_UNKNOWN (400) naming its digest, for blobs and child manifests
 * alike: distribution answers a missing index child the same way (`ErrManifestBlobUnknown` in
 * `registry/storage/ocimanifesthandler.go`), and clients already handle that code on manifest PUT.
 */
async function assertReferencesPresent(
  em: EntityManager,
  repo: RepositoryRecord,
  refs: readonly ContentReference[],
): Promise<void> {
  const blobs = refs.filter((r) => r.kind === 'blob').map((r) => r.digest);
  const children = refs.filter((r) => r.kind === 'manifest').map((r) => r.digest);
  const found = new Set<string>();
  if (blobs.length) {
    const rows = (await em.query(
      `SELECT digest FROM repository_blobs WHERE registry_id = $1 AND repository_id = $2 AND digest = ANY($3::text[]) FOR SHARE`,
      [repo.registryId, repo.id, blobs],
    )) as Array<{ digest: string }>;
    for (const r of rows) found.add(`blob ${r.digest}`);
  }
  if (children.length) {
    const rows = (await em.query(
      `SELECT digest FROM repository_manifests WHERE registry_id = $1 AND repository_id = $2 AND digest = ANY($3::text[]) FOR SHARE`,
      [repo.registryId, repo.id, children],
    )) as Array<{ digest: string }>;
    for (const r of rows) found.add(`manifest ${r.digest}`);
  }
  const missing = refs.find((r) => !found.has(`${r.kind} ${r.digest}`));
  if (missing) {
    throw new RegistryError(
      'MANIFEST_BLOB_UNKNOWN',
      missing.kind === 'blob'
        ? 'manifest references a blob unknown to the repository'
        : 'index references a manifest unknown to the repository',
      { digest: missing.digest },
    );
  }
}

async function insertManifest(
  em: EntityManager,
  registryId: string,
  parsed: ParsedManifest,
  body: Buffer,
  refs: readonly ContentReference[],
  platform: ImagePlatform,
): Promise<void> {
  const config = parsed.kind === 'image' ? parsed.config : undefined;
  // Same digest, same bytes: a manifest already stored (by this or another repository) is kept as is.
  await em.query(
    `INSERT INTO manifests (registry_id, digest, media_type, artifact_type, subject_digest, config_digest,
                            config_media_type, size, content, annotations, architecture, os)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12)
     ON CONFLICT (registry_id, digest) DO NOTHING`,
    [
      registryId,
      parsed.digest,
      parsed.mediaType,
      parsed.artifactType ?? null,
      parsed.subject?.digest ?? null,
      config?.digest ?? null,
      config?.mediaType ?? null,
      parsed.size,
      body,
      parsed.annotations === undefined ? null : JSON.stringify(parsed.annotations),
      platform.architecture,
      platform.os,
    ],
  );
  const blobs = refs.filter((r) => r.kind === 'blob').map((r) => r.digest);
  const children = refs.filter((r) => r.kind === 'manifest').map((r) => r.digest);
  if (blobs.length) {
    await em.query(
      `INSERT INTO manifest_references (registry_id, manifest_digest, blob_digest)
       SELECT $1, $2, d FROM unnest($3::text[]) AS d ON CONFLICT DO NOTHING`,
      [registryId, parsed.digest, blobs],
    );
  }
  if (children.length) {
    await em.query(
      `INSERT INTO manifest_references (registry_id, manifest_digest, child_digest)
       SELECT $1, $2, d FROM unnest($3::text[]) AS d ON CONFLICT DO NOTHING`,
      [registryId, parsed.digest, children],
    );
  }
}

/**
 * Points the tag at the manifest (moving a tag is allowed). A tag with `write_enabled = false` is immutable
 * (ACR image lock): moving or re-pushing it is DENIED. The conditional upsert makes the check race-free.
 */
async function upsertTag(em: EntityManager, repo: RepositoryRecord, tag: string, digest: string): Promise<void> {
  const rows = (await em.query(
    `INSERT INTO tags (repository_id, name, registry_id, manifest_digest) VALUES ($1, $2, $3, $4)
     ON CONFLICT (repository_id, name) DO UPDATE SET manifest_digest = EXCLUDED.manifest_digest, updated_at = now()
       WHERE tags.write_enabled
     RETURNING name`,
    [repo.id, tag, repo.registryId, digest],
  )) as unknown[];
  if (rows.length === 0) throw denied('the tag is write-locked', { tag });
}
