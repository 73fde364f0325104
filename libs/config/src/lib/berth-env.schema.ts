import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';

/** Every setting Berth reads from the environment. One name per setting across code, Helm values and docs. */
export class BerthEnv {
  // ---- the operator contract (../shared/DESIGN.md) ----
  /** 0 binds any free port (tests); the bound port is logged. */
  @Type(() => Number) @IsInt() @Min(0) @Max(65535)
  BERTH_PORT!: number;

  @IsString() @Matches(/^[0-9a-fA-F:.]+$|^localhost$/, { message: 'BERTH_HOST must be an IP address or localhost' })
  BERTH_HOST!: string;

  @IsString() @MinLength(1)
  BERTH_DATA_DIR!: string;

  @IsString()
  @Matches(/^(?=.{1,200}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, {
    message: 'BERTH_LOGIN_SUFFIX must be a lower-case DNS name',
  })
  BERTH_LOGIN_SUFFIX!: string;

  @IsIn(['off', 'self-signed', 'files'], { message: 'BERTH_TLS must be one of off, self-signed, files' })
  BERTH_TLS!: 'off' | 'self-signed' | 'files';

  @ValidateIf((e: BerthEnv) => e.BERTH_TLS === 'files') @IsString() @MinLength(1, { message: 'BERTH_TLS_CERT is required when BERTH_TLS=files' })
  BERTH_TLS_CERT?: string;

  @ValidateIf((e: BerthEnv) => e.BERTH_TLS === 'files') @IsString() @MinLength(1, { message: 'BERTH_TLS_KEY is required when BERTH_TLS=files' })
  BERTH_TLS_KEY?: string;

  @IsString() @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, { message: 'BERTH_BOOTSTRAP_TENANT must be a tenant name or id' })
  BERTH_BOOTSTRAP_TENANT!: string;

  @IsString() @Matches(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, {
    message: 'BERTH_BOOTSTRAP_SUBSCRIPTION must be a GUID',
  })
  BERTH_BOOTSTRAP_SUBSCRIPTION!: string;

  @IsOptional() @IsString() @Matches(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, {
    message: 'BERTH_BOOTSTRAP_CLIENT_ID must be a GUID (an application/client id)',
  })
  BERTH_BOOTSTRAP_CLIENT_ID?: string;

  @ValidateIf((e: BerthEnv) => e.BERTH_BOOTSTRAP_CLIENT_ID !== undefined)
  @IsString()
  @MinLength(16, { message: 'BERTH_BOOTSTRAP_CLIENT_SECRET must be set with BERTH_BOOTSTRAP_CLIENT_ID and be at least 16 characters' })
  BERTH_BOOTSTRAP_CLIENT_SECRET?: string;

  /** ACR registry names: 5-50 alphanumerics. */
  @IsString() @Matches(/^[a-zA-Z0-9]{5,50}$/, { message: 'BERTH_DEFAULT_REGISTRY must be 5-50 letters or digits' })
  BERTH_DEFAULT_REGISTRY!: string;

  @IsOptional() @IsString() @Matches(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, { message: 'BERTH_PUBLIC_URL must be an http(s) URL' })
  BERTH_PUBLIC_URL?: string;

  @IsString() @Matches(/^[a-z0-9]+(,[a-z0-9]+)*$/, { message: 'BERTH_REGIONS must be a comma-separated list of lower-case region names' })
  BERTH_REGIONS!: string;

  @IsOptional() @IsString()
  BERTH_WEBHOOK_ALLOWED_PRIVATE?: string;

  /** Encrypts signing keys and admin passwords at rest: hex or base64 of at least 32 bytes (checked in loadConfig). */
  @IsOptional() @IsString()
  BERTH_MASTER_KEY?: string;

  /** Distributed mode: where registry-frontend forwards `/oauth2/*` (token-service's base URL). Unset: the frontend serves no token routes. */
  @IsOptional() @Matches(/^https?:\/\/[^\s/]+\/?$/, { message: 'BERTH_TOKEN_SERVICE_URL must be an http(s) URL (scheme, host and port)' })
  BERTH_TOKEN_SERVICE_URL?: string;

  /**
   * JSON overriding figures of the SKU catalog (libs/tiers), keyed by SKU name, e.g.
   * `{"Basic":{"storageLimitBytes":1048576,"throttle":{"read":{"perRegistry":5}}}}`. For raised limits and tests.
   */
  @IsOptional() @IsString()
  BERTH_TIER_OVERRIDES?: string;

  // ---- infrastructure ----
  @ValidateIf((e: BerthEnv) => e.BERTH_DATABASE_URL !== undefined)
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'BERTH_DATABASE_URL must be a postgres:// URL' })
  BERTH_DATABASE_URL?: string;

  @Type(() => Boolean) @IsBoolean()
  BERTH_DATABASE_MIGRATE!: boolean;

  /** Connections each process's pool may open; a request waits for a free one (up to 5 s) before answering 503. */
  @Type(() => Number) @IsInt({ message: 'BERTH_DATABASE_POOL_SIZE must be an integer from 1 to 500' }) @Min(1) @Max(500)
  BERTH_DATABASE_POOL_SIZE!: number;

  @IsIn(['fs', 's3'], { message: 'BERTH_BLOB_DRIVER must be fs or s3' })
  BERTH_BLOB_DRIVER!: 'fs' | 's3';

  @ValidateIf((e: BerthEnv) => e.BERTH_BLOB_DRIVER === 's3')
  @Matches(/^https?:\/\/[^\s/]+\/?$/, { message: 'BERTH_S3_ENDPOINT must be an http(s) URL (scheme, host and port)' })
  BERTH_S3_ENDPOINT?: string;

  @ValidateIf((e: BerthEnv) => e.BERTH_BLOB_DRIVER === 's3') @IsString() @MinLength(3, { message: 'BERTH_S3_ACCESS_KEY is required with BERTH_BLOB_DRIVER=s3' })
  BERTH_S3_ACCESS_KEY?: string;

  @ValidateIf((e: BerthEnv) => e.BERTH_BLOB_DRIVER === 's3') @IsString() @MinLength(8, { message: 'BERTH_S3_SECRET_KEY is required with BERTH_BLOB_DRIVER=s3 (at least 8 characters)' })
  BERTH_S3_SECRET_KEY?: string;

  @IsString() @Matches(/^[a-z0-9-]{1,40}$/, { message: 'BERTH_S3_REGION must be an S3 region name' })
  BERTH_S3_REGION!: string;

  @IsString() @Matches(/^[a-z0-9][a-z0-9.-]{0,30}$/, { message: 'BERTH_S3_BUCKET_PREFIX must be a lower-case bucket name prefix' })
  BERTH_S3_BUCKET_PREFIX!: string;

  @IsOptional() @Matches(/^https?:\/\/[^\s/]+\/?$/, { message: 'BERTH_S3_PUBLIC_ENDPOINT must be an http(s) URL' })
  BERTH_S3_PUBLIC_ENDPOINT?: string;

  /** How blob pulls are served with S3 storage: a 307 to a presigned URL, or streamed through the frontend. */
  @IsIn(['redirect', 'proxy'], { message: 'BERTH_BLOB_PULL must be redirect or proxy' })
  BERTH_BLOB_PULL!: 'redirect' | 'proxy';

  @IsIn(['kafka', 'inprocess'], { message: 'BERTH_BUS must be kafka or inprocess' })
  BERTH_BUS!: 'kafka' | 'inprocess';

  @ValidateIf((e: BerthEnv) => e.BERTH_BUS === 'kafka')
  @Matches(/^[^\s,]+:\d+(,[^\s,]+:\d+)*$/, { message: 'BERTH_KAFKA_BROKERS must be host:port[,host:port...]' })
  BERTH_KAFKA_BROKERS?: string;

  /**
   * Prefix of every Kafka topic and consumer group this installation uses (`<namespace>.berth.registry.events.v1`),
   * so several installations (or test runs) can share one Kafka cluster. Empty: no prefix.
   */
  @IsOptional()
  @Matches(/^[a-zA-Z0-9_-]{0,64}$/, { message: 'BERTH_KAFKA_NAMESPACE must be letters, digits, _ or -, at most 64' })
  BERTH_KAFKA_NAMESPACE?: string;

  @IsIn(['redis', 'memory'], { message: 'BERTH_CACHE must be redis or memory' })
  BERTH_CACHE!: 'redis' | 'memory';

  @ValidateIf((e: BerthEnv) => e.BERTH_CACHE === 'redis')
  @Matches(/^rediss?:\/\/.+/, { message: 'BERTH_REDIS_URL must be a redis:// URL' })
  BERTH_REDIS_URL?: string;

  /**
   * Prefix of every Redis key this installation writes (`<namespace>:berth:…`: request counters, login throttling,
   * operation records), so several installations (or test runs) can share one Redis. Empty: no prefix.
   */
  @IsOptional()
  @Matches(/^[a-zA-Z0-9_-]{0,64}$/, { message: 'BERTH_REDIS_NAMESPACE must be letters, digits, _ or -, at most 64' })
  BERTH_REDIS_NAMESPACE?: string;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    message: 'BERTH_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
  })
  BERTH_LOG_LEVEL!: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

  @Type(() => Number) @IsInt() @Min(0) @Max(600000)
  BERTH_SHUTDOWN_TIMEOUT_MS!: number;
}
