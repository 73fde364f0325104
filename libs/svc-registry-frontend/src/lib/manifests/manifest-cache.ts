import type { RepositoryChanges } from '../registry/repository-changes.service';

/** What a manifest GET/HEAD by tag or digest answers, as read from the database (content apart). */
export interface ManifestAnswer {
  /** The id of the repository the answer came from: changes are announced by it. */
  readonly repositoryId: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  /** False when the repository, the tag or the manifest has `read_enabled = false` (the answer is then DENIED). */
  readonly readable: boolean;
}

export interface ManifestCacheLimits {
  /** Most (registry, repository, reference) answers kept. */
  readonly maxAnswers: number;
  /** Most manifest bytes kept (contents are kept per registry and digest, once however many tags name them). */
  readonly maxContentBytes: number;
}

export const DEFAULT_MANIFEST_CACHE_LIMITS: ManifestCacheLimits = { maxAnswers: 50_000, maxContentBytes: 64 * 1024 * 1024 };

/** The answers of one repository, by reference (a tag or a digest). */
interface RepositoryEntries {
  readonly registryId: string;
  readonly name: string;
  readonly repositoryId: string;
  readonly answers: Map<string, ManifestAnswer>;
}

/**
 * Manifest GET/HEAD answers kept in memory: (registry, repository, reference) → digest, media type, size and whether
 * reading is allowed; and (registry, digest) → the manifest's bytes, which never change for a digest. Bounded by
 * answers and by bytes (the oldest written go first).
 *
 * Correctness rests on invalidation, never on expiry: an answer is dropped when its repository changes (the owner
 * calls `repositoryChanged` from the PostgreSQL notifications and `registryChanged` for this process's own writes),
 * and everything is dropped, and nothing is kept, while the owner cannot hear about changes (`setActive(false)`).
 * A read that started before an invalidation must not store what it read: callers take a `ticket()` before reading
 * the database and `store` refuses tickets older than the last invalidation.
 */
export class ManifestCache {
  private readonly byName = new Map<string, RepositoryEntries>();
  private readonly byRepositoryId = new Map<string, RepositoryEntries>();
  private readonly contents = new Map<string, Buffer>();
  private answerCount = 0;
  private contentBytes = 0;
  private generation = 0;
  private active = false;

  constructor(private readonly limits: ManifestCacheLimits = DEFAULT_MANIFEST_CACHE_LIMITS) {}

  /** Whether answers are being served and stored. */
  get isActive(): boolean {
    return this.active;
  }

  get size(): { answers: number; contentBytes: number } {
    return { answers: this.answerCount, contentBytes: this.contentBytes };
  }

  /** Turns the cache on (changes are heard from now on) or off (they are not); either way it starts empty. */
  setActive(active: boolean): void {
    this.clear();
    this.active = active;
  }

  /** The remembered answer, if any (only while active). */
  answer(registryId: string, repository: string, reference: string): ManifestAnswer | undefined {
    if (!this.active) return undefined;
    return this.byName.get(nameKey(registryId, repository))?.answers.get(reference);
  }

  /** The remembered bytes of a manifest of the registry, if any. */
  content(registryId: string, digest: string): Buffer | undefined {
    return this.active ? this.contents.get(contentKey(registryId, digest)) : undefined;
  }

  /** To take before reading what will be stored: stores with an older ticket are refused. */
  ticket(): number {
    return this.generation;
  }

  /** Keeps an answer (and the bytes, when read) unless anything was invalidated since `ticket` was taken. */
  store(ticket: number, registryId: string, repository: string, reference: string, answer: ManifestAnswer, content?: Buffer): void {
    if (!this.active || ticket !== this.generation) return;
    const key = nameKey(registryId, repository);
    let entries = this.byName.get(key);
    if (entries && entries.repositoryId !== answer.repositoryId) {
      this.drop(entries);
      entries = undefined;
    }
    if (!entries) {
      entries = { registryId, name: repository, repositoryId: answer.repositoryId, answers: new Map() };
      this.byName.set(key, entries);
      this.byRepositoryId.set(answer.repositoryId, entries);
    }
    if (!entries.answers.has(reference)) this.answerCount += 1;
    entries.answers.set(reference, answer);
    if (content && content.length <= this.limits.maxContentBytes) {
      const ck = contentKey(registryId, answer.digest);
      if (!this.contents.has(ck)) {
        this.contents.set(ck, content);
        this.contentBytes += content.length;
      }
    }
    this.evict();
  }

  /** A repository changed (announced by its id): its answers go. */
  repositoryChanged(repositoryId: string): void {
    this.generation += 1;
    const entries = this.byRepositoryId.get(repositoryId);
    if (entries) this.drop(entries);
  }

  /** A repository changed (known by name: this process's own write): its answers go. */
  repositoryNamed(registryId: string, repository: string): void {
    this.generation += 1;
    const entries = this.byName.get(nameKey(registryId, repository));
    if (entries) this.drop(entries);
  }

  /** Something in the registry changed and which repository is not known: every answer of the registry goes. */
  registryChanged(registryId: string): void {
    this.generation += 1;
    for (const entries of [...this.byRepositoryId.values()]) if (entries.registryId === registryId) this.drop(entries);
  }

  clear(): void {
    this.generation += 1;
    this.byName.clear();
    this.byRepositoryId.clear();
    this.contents.clear();
    this.answerCount = 0;
    this.contentBytes = 0;
  }

  private drop(entries: RepositoryEntries): void {
    this.byName.delete(nameKey(entries.registryId, entries.name));
    if (this.byRepositoryId.get(entries.repositoryId) === entries) this.byRepositoryId.delete(entries.repositoryId);
    this.answerCount -= entries.answers.size;
  }

  /** Oldest repositories first (a Map iterates in insertion order), oldest contents first. */
  private evict(): void {
    while (this.answerCount > this.limits.maxAnswers) {
      const oldest = this.byName.values().next();
      if (oldest.done) break;
      this.drop(oldest.value);
    }
    while (this.contentBytes > this.limits.maxContentBytes) {
      const oldest = this.contents.entries().next();
      if (oldest.done) break;
      this.contents.delete(oldest.value[0]);
      this.contentBytes -= oldest.value[1].length;
    }
  }
}

function nameKey(registryId: string, repository: string): string {
  return `${registryId}\n${repository}`;
}

function contentKey(registryId: string, digest: string): string {
  return `${registryId}\n${digest}`;
}

/**
 * The process's ManifestCache, fed by the repository-change listener: active only while it listens, emptied whenever
 * it (re)connects or disconnects, and told about every committed change.
 */
export function listeningManifestCache(changes: RepositoryChanges, limits?: ManifestCacheLimits): ManifestCache {
  const cache = new ManifestCache(limits);
  changes.subscribe({
    repositoryChanged: (_registryId, repositoryId) => cache.repositoryChanged(repositoryId),
    listeningChanged: (listening) => cache.setActive(listening),
  });
  cache.setActive(changes.isListening);
  return cache;
}
