import { Inject, Injectable } from '@nestjs/common';
import { TokenInvalidError, hashSecret, managementAudiences, openSecret, sealSecret } from '@berth/auth';
import type { BerthConfig } from '@berth/config';
import { DATA_SOURCE } from '@berth/db';
import { MASTER_KEY, PermissionResolver, TokenVerifier } from '@berth/identity';
import { BERTH_CONFIG, ROOT_LOGGER } from '@berth/platform';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { ArmError } from './arm-error';
import type { ArmCaller, ArmIdentity, ArmOperation, CredentialSecrets } from './arm-identity.port';

/** ArmIdentity over @berth/identity: identity tokens verified against Berth's keys, roles from role_assignments. */
@Injectable()
export class IdentityArmAdapter implements ArmIdentity {
  private readonly audiences: string[];
  private readonly logger: Logger;

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly permissions: PermissionResolver,
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(BERTH_CONFIG) config: BerthConfig,
    @Inject(ROOT_LOGGER) logger: Logger,
  ) {
    this.audiences = managementAudiences(config.http.publicUrl);
    this.logger = logger.child({ component: 'management-auth' });
  }

  async authenticate(authorization: string | undefined): Promise<ArmCaller> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!authorization) {
      throw new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
    }
    if (!m?.[1]) {
      throw new ArmError(
        401,
        'AuthenticationFailed',
        "Authentication failed. The 'Authorization' header is not a Bearer token.",
      );
    }
    try {
      const info = await this.verifier.verifyIdentityToken(m[1], this.audiences);
      return { principalId: info.principalId, tenantId: info.tenantId, clientId: info.clientId };
    } catch (err) {
      if (!(err instanceof TokenInvalidError)) throw err;
      this.logger.info({ reason: err.reason }, 'management token refused');
      throw new ArmError(
        401,
        err.reason === 'expired' ? 'ExpiredAuthenticationToken' : 'InvalidAuthenticationToken',
        err.reason === 'expired' ? 'The access token expiry has passed.' : 'The access token is invalid.',
      );
    }
  }

  async seesSubscription(caller: ArmCaller, subscriptionId: string): Promise<boolean> {
    const rows = (await this.ds.query(
      `SELECT 1 FROM role_assignments a JOIN subscriptions s ON s.id = $2
        WHERE a.principal_id = $1 AND s.tenant_id = $3 AND (lower(a.scope) = $4 OR lower(a.scope) LIKE $5) LIMIT 1`,
      [
        caller.principalId,
        subscriptionId,
        caller.tenantId,
        `/subscriptions/${subscriptionId}`,
        `/subscriptions/${subscriptionId}/%`,
      ],
    )) as unknown[];
    return rows.length > 0;
  }

  may(caller: ArmCaller, scope: string, operation: ArmOperation): Promise<boolean> {
    return this.permissions.principalMay(caller.principalId, scope, operation);
  }
}

/** CredentialSecrets over @berth/auth: scrypt hashes and AES-GCM envelopes under the master key. */
@Injectable()
export class AuthCredentialSecrets implements CredentialSecrets {
  constructor(@Inject(MASTER_KEY) private readonly masterKey: Buffer) {}

  /** 32 random bytes, base64 without padding and with `/`/`+` replaced: ACR-like 43-character passwords. */
  generate(): string {
    return randomBytes(32).toString('base64url');
  }

  hash(password: string): Promise<string> {
    return hashSecret(password);
  }

  seal(purpose: string, value: string): string {
    return sealSecret(this.masterKey, purpose, value);
  }

  open(purpose: string, sealed: string): string {
    return openSecret(this.masterKey, purpose, sealed).toString('utf8');
  }
}
