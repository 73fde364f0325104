import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { TierCatalog, TierOverridesError } from '@berth/tiers';
import path from 'node:path';
import { BerthEnv } from './berth-env.schema';

/** How this process runs: every service in one process (`npm start`), or one service per process. */
export type RunMode = 'embedded' | 'distributed';

export interface S3Settings {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  bucketPrefix: string;
  publicEndpoint?: string;
}

/** The typed, validated configuration every app and service module reads. Built once at start-up. */
export interface BerthConfig {
  mode: RunMode;
  http: { host: string; port: number; publicUrl: string };
  dataDir: string;
  loginSuffix: string;
  tls: { mode: 'off' | 'self-signed' | 'files'; certFile?: string; keyFile?: string };
  bootstrap: {
    tenant: string;
    subscription: string;
    clientId?: string;
    clientSecret?: string;
    defaultRegistry: string;
    resourceGroup: 'berth';
  };
  regions: string[];
  webhookAllowedPrivate: string[];
  /**
   * BERTH_MASTER_KEY as given (hex or base64, at least 32 bytes; never logged). Unset only in the embedded
   * default, which then generates `<data>/master.key` once (libs/identity).
   */
  masterKey?: string;
  /** BERTH_TIER_OVERRIDES, checked at start-up; feed it to `new TierCatalog()` of @berth/tiers. */
  tierOverrides?: string;
  /** Distributed mode: token-service's base URL, to which registry-frontend forwards `/oauth2/*`. */
  tokenServiceUrl?: string;
  database: { url?: string; embedded: boolean; migrate: boolean; poolSize: number };
  /** `pull`: redirect (307 to a presigned URL) or proxy; the filesystem driver always streams. */
  storage: { driver: 'fs' | 's3'; fsRoot: string; pull: 'redirect' | 'proxy'; s3?: S3Settings };
  /** `namespace`: BERTH_KAFKA_NAMESPACE, prefixed to every topic and consumer group ('' = none). */
  bus: { driver: 'kafka' | 'inprocess'; brokers: string[]; namespace: string };
  /** `namespace`: BERTH_REDIS_NAMESPACE, prefixed to every Redis key ('' = none). */
  cache: { driver: 'redis' | 'memory'; redisUrl?: string; namespace: string };
  log: { level: BerthEnv['BERTH_LOG_LEVEL'] };
  shutdownTimeoutMs: number;
}

/** Start-up refused because of a setting. The message names settings and rules, never values (they may be secrets). */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** The defaults of each mode: the embedded default needs nothing; distributed processes name their servers. */
function defaults(mode: RunMode): Record<string, string> {
  const embedded = mode === 'embedded';
  return {
    BERTH_PORT: '5000',
    BERTH_HOST: embedded ? '127.0.0.1' : '0.0.0.0',
    BERTH_DATA_DIR: './.berth-data',
    BERTH_LOGIN_SUFFIX: 'berth.localhost',
    BERTH_TLS: 'off',
    BERTH_BOOTSTRAP_TENANT: 'berth',
    BERTH_BOOTSTRAP_SUBSCRIPTION: '00000000-0000-4000-8000-000000000001',
    BERTH_DEFAULT_REGISTRY: 'default',
    BERTH_REGIONS: 'eastus,westeurope,southeastasia',
    BERTH_DATABASE_MIGRATE: embedded ? 'true' : 'false',
    BERTH_DATABASE_POOL_SIZE: '20',
    BERTH_BLOB_DRIVER: embedded ? 'fs' : 's3',
    BERTH_S3_REGION: 'us-east-1',
    BERTH_S3_BUCKET_PREFIX: 'berth-',
    BERTH_BLOB_PULL: 'redirect',
    BERTH_BUS: embedded ? 'inprocess' : 'kafka',
    BERTH_CACHE: embedded ? 'memory' : 'redis',
    BERTH_LOG_LEVEL: 'info',
    BERTH_SHUTDOWN_TIMEOUT_MS: '15000',
  };
}

const BOOLEAN_SETTINGS = new Set(['BERTH_DATABASE_MIGRATE']);

/**
 * Reads and validates the environment. Empty values count as unset. Throws ConfigError naming every
 * bad setting at once, so an operator fixes them in one go.
 */
export function loadConfig(env: NodeJS.ProcessEnv, mode: RunMode): BerthConfig {
  const raw: Record<string, unknown> = { ...defaults(mode) };
  for (const [k, v] of Object.entries(env)) {
    if (k.startsWith('BERTH_') && v !== undefined && v !== '') raw[k] = v;
  }
  const problems: string[] = [];
  for (const k of BOOLEAN_SETTINGS) {
    const v = String(raw[k]).toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) raw[k] = true;
    else if (['false', '0', 'no', 'off'].includes(v)) raw[k] = false;
    else problems.push(`${k} must be true or false`);
  }
  const parsed = plainToInstance(BerthEnv, raw, { enableImplicitConversion: false });
  problems.push(...flatten(validateSync(parsed, { forbidUnknownValues: false })));
  if (mode === 'distributed' && !parsed.BERTH_DATABASE_URL) {
    problems.push('BERTH_DATABASE_URL is required when services run as separate processes');
  }
  if (mode === 'distributed' && parsed.BERTH_BUS === 'inprocess') {
    problems.push('BERTH_BUS=inprocess only works in the embedded default (one process)');
  }
  if (mode === 'distributed' && !parsed.BERTH_MASTER_KEY) {
    problems.push('BERTH_MASTER_KEY is required when services run as separate processes (every service must share it)');
  }
  if (parsed.BERTH_MASTER_KEY && !isMasterKey(parsed.BERTH_MASTER_KEY)) {
    problems.push('BERTH_MASTER_KEY must be hex or base64 of at least 32 bytes');
  }
  if (parsed.BERTH_TIER_OVERRIDES) {
    try {
      new TierCatalog(parsed.BERTH_TIER_OVERRIDES);
    } catch (e) {
      problems.push(e instanceof TierOverridesError ? e.message : 'BERTH_TIER_OVERRIDES is invalid');
    }
  }
  if (problems.length) throw new ConfigError(problems);

  const regions = parsed.BERTH_REGIONS.split(',');
  if (new Set(regions).size !== regions.length) throw new ConfigError(['BERTH_REGIONS must not repeat a region']);
  const dataDir = path.resolve(parsed.BERTH_DATA_DIR);
  const scheme = parsed.BERTH_TLS === 'off' ? 'http' : 'https';
  const publicUrl = (parsed.BERTH_PUBLIC_URL ?? `${scheme}://localhost:${parsed.BERTH_PORT}`).replace(/\/+$/, '');

  return {
    mode,
    http: { host: parsed.BERTH_HOST, port: parsed.BERTH_PORT, publicUrl },
    dataDir,
    loginSuffix: parsed.BERTH_LOGIN_SUFFIX,
    tls: { mode: parsed.BERTH_TLS, certFile: parsed.BERTH_TLS_CERT, keyFile: parsed.BERTH_TLS_KEY },
    bootstrap: {
      tenant: parsed.BERTH_BOOTSTRAP_TENANT,
      subscription: parsed.BERTH_BOOTSTRAP_SUBSCRIPTION.toLowerCase(),
      clientId: parsed.BERTH_BOOTSTRAP_CLIENT_ID,
      clientSecret: parsed.BERTH_BOOTSTRAP_CLIENT_SECRET,
      defaultRegistry: parsed.BERTH_DEFAULT_REGISTRY.toLowerCase(),
      resourceGroup: 'berth',
    },
    regions,
    tokenServiceUrl: parsed.BERTH_TOKEN_SERVICE_URL?.replace(/\/+$/, ''),
    tierOverrides: parsed.BERTH_TIER_OVERRIDES || undefined,
    webhookAllowedPrivate: (parsed.BERTH_WEBHOOK_ALLOWED_PRIVATE ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    masterKey: parsed.BERTH_MASTER_KEY?.trim(),
    database: {
      url: parsed.BERTH_DATABASE_URL,
      embedded: !parsed.BERTH_DATABASE_URL,
      migrate: parsed.BERTH_DATABASE_MIGRATE,
      poolSize: parsed.BERTH_DATABASE_POOL_SIZE,
    },
    storage: {
      driver: parsed.BERTH_BLOB_DRIVER,
      fsRoot: path.join(dataDir, 'blobs'),
      pull: parsed.BERTH_BLOB_PULL,
      s3:
        parsed.BERTH_BLOB_DRIVER === 's3'
          ? {
              endpoint: String(parsed.BERTH_S3_ENDPOINT).replace(/\/+$/, ''),
              accessKey: String(parsed.BERTH_S3_ACCESS_KEY),
              secretKey: String(parsed.BERTH_S3_SECRET_KEY),
              region: parsed.BERTH_S3_REGION,
              bucketPrefix: parsed.BERTH_S3_BUCKET_PREFIX,
              publicEndpoint: parsed.BERTH_S3_PUBLIC_ENDPOINT?.replace(/\/+$/, ''),
            }
          : undefined,
    },
    bus: {
      driver: parsed.BERTH_BUS,
      brokers: parsed.BERTH_BUS === 'kafka' ? String(parsed.BERTH_KAFKA_BROKERS).split(',') : [],
      namespace: parsed.BERTH_KAFKA_NAMESPACE ?? '',
    },
    cache: {
      driver: parsed.BERTH_CACHE,
      redisUrl: parsed.BERTH_CACHE === 'redis' ? parsed.BERTH_REDIS_URL : undefined,
      namespace: parsed.BERTH_REDIS_NAMESPACE ?? '',
    },
    log: { level: parsed.BERTH_LOG_LEVEL },
    shutdownTimeoutMs: parsed.BERTH_SHUTDOWN_TIMEOUT_MS,
  };
}

/** Hex, or base64/base64url, decoding to at least 32 bytes (the same rule as @berth/auth's parseMasterKey). */
function isMasterKey(value: string): boolean {
  const text = value.trim();
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0) return text.length >= 64;
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return false;
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64').length >= 32;
}

function flatten(errors: ValidationError[]): string[] {
  const out: string[] = [];
  for (const e of errors) {
    // class-validator's messages name the property and the rule; values are never interpolated here.
    for (const msg of Object.values(e.constraints ?? {})) out.push(msg);
    if (e.children?.length) out.push(...flatten(e.children));
  }
  return out;
}
