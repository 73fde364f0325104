import { Inject, Injectable } from '@nestjs/common';
import {
  generateSigningKey,
  MasterKeyError,
  importPrivateSigningKey,
  importPublicSigningJwk,
  openSecret,
  sealSecret,
  SIGNING_ALGORITHM,
  type PublicSigningJwk,
  type TokenSigner,
} from '@berth/auth';
import { DATA_SOURCE } from '@berth/db';
import { ROOT_LOGGER } from '@berth/platform';
import type { KeyLike } from 'jose';
import type { Logger } from 'pino';
import type { DataSource, EntityManager } from 'typeorm';
import { ENVELOPE_PURPOSE, MASTER_KEY } from './identity.tokens';

const HOUR_MS = 60 * 60 * 1000;

/** The key lifecycle (see docs/architecture.md, "Identity and tokens"). */
export const KEY_LIFECYCLE = {
  /** How long a key signs before its successor takes over. */
  signingPeriodMs: 30 * 24 * HOUR_MS,
  /** The successor is created this long before the period ends... */
  successorLeadMs: 24 * HOUR_MS,
  /** ...and signs only once it has been published (in the JWKS) at least this long. */
  minPublishedMs: HOUR_MS,
  /** A retired key still verifies (and stays in the JWKS) this long: longer than any token it signed lives. */
  retiredGraceMs: 4 * HOUR_MS,
  /** Public keys held in memory are re-read at least this often. */
  publicCacheMs: 60 * 1000,
  /** An unknown kid triggers a re-read at most this often (a flood of made-up kids costs one query per 5 s). */
  unknownKidRefreshMs: 5 * 1000,
} as const;

/** A constant for `pg_advisory_xact_lock`: one rotation at a time across every process. */
const ROTATION_LOCK = 0x6265_7274; // "bert"

interface KeyRow {
  kid: string;
  public_jwk: PublicSigningJwk;
  private_key: string;
  created_at: Date;
  activated_at: Date;
  retired_at: Date | null;
  expires_at: Date | null;
}

/**
 * Berth's token signing keys (ES256), kept in Postgres with the private key sealed under the master key.
 * A key is published (JWKS, verification) from creation until `expires_at`; it signs from `activated_at`
 * until a newer key activates. `rotateIfDue` (token-service: at start and hourly) keeps one key active,
 * pre-publishes the successor and retires keys with a grace period.
 */
@Injectable()
export class SigningKeys {
  private signer?: { at: number; activatedAt: number; signer: TokenSigner };
  private publicKeys = new Map<string, KeyLike>();
  private publicLoadedAt = 0;
  private publicLoading?: Promise<void>;

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(MASTER_KEY) private readonly masterKey: Buffer,
    @Inject(ROOT_LOGGER) private readonly rootLogger: Logger,
  ) {}

  private get logger(): Logger {
    return this.rootLogger.child({ component: 'signing-keys' });
  }

  /**
   * The key to sign with now: the most recently activated, unretired key. Creates the first key when there is
   * none (so a process that signs never depends on another having rotated). Cached in memory for ≤ 60 s.
   */
  async currentSigner(now: Date = new Date()): Promise<TokenSigner> {
    const cached = this.signer;
    if (cached && now.getTime() - cached.at >= 0 && now.getTime() - cached.at < KEY_LIFECYCLE.publicCacheMs) return cached.signer;
    let row = await this.activeRow(this.ds.manager, now);
    if (!row) {
      await this.rotateIfDue(now);
      row = await this.activeRow(this.ds.manager, now);
    }
    if (!row) throw new Error('no active signing key');
    let pem: string;
    try {
      pem = openSecret(this.masterKey, ENVELOPE_PURPOSE.signingKey, row.private_key).toString('utf8');
    } catch (e) {
      if (!(e instanceof MasterKeyError)) throw e;
      // BERTH_MASTER_KEY changed: the stored key cannot sign any more. A new key takes over now; tokens the
      // old one signed still verify (verification needs only the public key) until it is retired and expires.
      this.logger.warn({ kid: row.kid }, 'the active signing key does not open with BERTH_MASTER_KEY; replacing it');
      row = await this.replaceUnreadable(row.kid, now);
      pem = openSecret(this.masterKey, ENVELOPE_PURPOSE.signingKey, row.private_key).toString('utf8');
    }
    const privateKey = await importPrivateSigningKey(pem);
    const signer = { kid: row.kid, privateKey };
    this.signer = { at: now.getTime(), activatedAt: row.activated_at.getTime(), signer };
    return signer;
  }

  /**
   * The public key of a published kid, or undefined. Keys are held in memory and re-read every 60 s, and at
   * most once per 5 s when a kid is unknown (a successor published by another process).
   */
  async publicKey(kid: string, now: Date = new Date()): Promise<KeyLike | undefined> {
    const age = now.getTime() - this.publicLoadedAt;
    if (age >= KEY_LIFECYCLE.publicCacheMs || (!this.publicKeys.has(kid) && age >= KEY_LIFECYCLE.unknownKidRefreshMs)) {
      await this.reloadPublicKeys(now);
    }
    return this.publicKeys.get(kid);
  }

  /** The JWKS document: every published, unexpired public key. */
  async jwks(now: Date = new Date()): Promise<{ keys: PublicSigningJwk[] }> {
    const rows = (await this.ds.query(
      `SELECT public_jwk FROM signing_keys
        WHERE algorithm = $1 AND created_at <= $2 AND (expires_at IS NULL OR expires_at > $2)
        ORDER BY activated_at DESC, kid`,
      [SIGNING_ALGORITHM, now],
    )) as Array<Pick<KeyRow, 'public_jwk'>>;
    return { keys: rows.map((r) => r.public_jwk) };
  }

  /**
   * Runs the key lifecycle once, under a transaction-scoped advisory lock (concurrent callers in any process
   * wait, then see the result): ensures an active key exists; 24 h before the active key's 30-day period ends,
   * creates its successor, activating at the period's end but never before it was published for 1 h; retires
   * superseded keys (they verify until retirement + 4 h, then leave the JWKS); deletes long-expired rows.
   * Idempotent.
   */
  async rotateIfDue(now: Date = new Date()): Promise<void> {
    const created: string[] = [];
    await this.ds.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock($1)`, [ROTATION_LOCK]);
      const rows = (await tx.query(
        `SELECT kid, activated_at, retired_at FROM signing_keys
          WHERE retired_at IS NULL AND algorithm = $1 ORDER BY activated_at DESC`,
        [SIGNING_ALGORITHM],
      )) as Array<Pick<KeyRow, 'kid' | 'activated_at' | 'retired_at'>>;
      const active = rows.filter((r) => r.activated_at.getTime() <= now.getTime());
      const pending = rows.filter((r) => r.activated_at.getTime() > now.getTime());
      const current = active[0];
      if (!current) {
        if (pending[0]) await tx.query(`UPDATE signing_keys SET activated_at = $2 WHERE kid = $1`, [pending[0].kid, now]);
        else created.push(await this.insertKey(tx, now, now));
      } else if (pending.length === 0) {
        const periodEnd = current.activated_at.getTime() + KEY_LIFECYCLE.signingPeriodMs;
        if (now.getTime() >= periodEnd - KEY_LIFECYCLE.successorLeadMs) {
          const activateAt = new Date(Math.max(periodEnd, now.getTime() + KEY_LIFECYCLE.minPublishedMs));
          created.push(await this.insertKey(tx, now, activateAt));
        }
      }
      // Every active key but the newest is superseded: retired from its successor's activation on.
      for (let i = 1; i < active.length; i++) {
        const successor = active[i - 1];
        const old = active[i];
        if (!successor || !old) continue;
        await tx.query(`UPDATE signing_keys SET retired_at = $2, expires_at = $3 WHERE kid = $1 AND retired_at IS NULL`, [
          old.kid,
          successor.activated_at,
          new Date(successor.activated_at.getTime() + KEY_LIFECYCLE.retiredGraceMs),
        ]);
      }
      await tx.query(`DELETE FROM signing_keys WHERE expires_at < $1`, [new Date(now.getTime() - 24 * HOUR_MS)]);
    });
    for (const kid of created) this.logger.info({ kid }, 'signing key created');
    if (created.length) this.publicLoadedAt = 0;
  }

  /** Under the rotation lock: unless another process already did, activates a new key now in place of `kid`. */
  private async replaceUnreadable(kid: string, now: Date): Promise<Pick<KeyRow, 'kid' | 'private_key' | 'activated_at'>> {
    const row = await this.ds.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock($1)`, [ROTATION_LOCK]);
      const current = await this.activeRow(tx, now);
      if (current && current.kid !== kid) {
        try {
          openSecret(this.masterKey, ENVELOPE_PURPOSE.signingKey, current.private_key);
          return current;
        } catch {
          // unreadable as well: replace it below
        }
      }
      // Strictly later than every active key, so it is the newest even within one millisecond.
      const [{ latest }] = (await tx.query(`SELECT max(activated_at) AS latest FROM signing_keys WHERE retired_at IS NULL`)) as [{ latest: Date | null }];
      const activateAt = new Date(Math.max(now.getTime(), (latest?.getTime() ?? 0) + 1));
      const newKid = await this.insertKey(tx, activateAt, activateAt);
      return this.activeRow(tx, activateAt).then((r) => r ?? { kid: newKid, private_key: '', activated_at: activateAt });
    });
    this.publicLoadedAt = 0;
    return row;
  }

  private async insertKey(tx: EntityManager, now: Date, activateAt: Date): Promise<string> {
    const key = await generateSigningKey();
    await tx.query(
      `INSERT INTO signing_keys (kid, algorithm, public_jwk, private_key, created_at, activated_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [key.kid, SIGNING_ALGORITHM, key.publicJwk, sealSecret(this.masterKey, ENVELOPE_PURPOSE.signingKey, key.privatePkcs8), now, activateAt],
    );
    return key.kid;
  }

  private async activeRow(em: EntityManager, now: Date): Promise<Pick<KeyRow, 'kid' | 'private_key' | 'activated_at'> | undefined> {
    const [row] = (await em.query(
      `SELECT kid, private_key, activated_at FROM signing_keys
        WHERE algorithm = $1 AND activated_at <= $2 AND retired_at IS NULL
        ORDER BY activated_at DESC LIMIT 1`,
      [SIGNING_ALGORITHM, now],
    )) as Array<Pick<KeyRow, 'kid' | 'private_key' | 'activated_at'>>;
    return row;
  }

  private async reloadPublicKeys(now: Date): Promise<void> {
    // One read at a time: concurrent requests with unknown kids share it.
    this.publicLoading ??= (async () => {
      try {
        const { keys } = await this.jwks(now);
        const next = new Map<string, KeyLike>();
        for (const jwk of keys) {
          try {
            next.set(jwk.kid, await importPublicSigningJwk(jwk));
          } catch {
            this.logger.warn({ kid: jwk.kid }, 'a stored public key is unusable; skipped');
          }
        }
        this.publicKeys = next;
        this.publicLoadedAt = now.getTime();
      } finally {
        this.publicLoading = undefined;
      }
    })();
    await this.publicLoading;
  }
}
