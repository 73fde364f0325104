import { Module } from '@nestjs/common';
import { CredentialVerifier } from './credential-verifier.service';
import { MasterKeyProvider } from './master-key.provider';
import { PermissionResolver } from './permission-resolver.service';
import { RegistryDirectory } from './registry-directory.service';
import { SigningKeys } from './signing-keys.service';
import { TokenIssuer } from './token-issuer.service';
import { TokenVerifier } from './token-verifier.service';
import { MASTER_KEY } from './identity.tokens';

/**
 * Identities and tokens backed by Postgres and the cache store: signing keys, token issue and verification,
 * credential checks, permission resolution. Needs DATA_SOURCE, CACHE_STORE, BERTH_CONFIG and ROOT_LOGGER
 * (global in every Berth process). Import it from any feature module; in the embedded host it is one instance.
 */
@Module({
  providers: [MasterKeyProvider, RegistryDirectory, SigningKeys, TokenIssuer, TokenVerifier, CredentialVerifier, PermissionResolver],
  exports: [MASTER_KEY, RegistryDirectory, SigningKeys, TokenIssuer, TokenVerifier, CredentialVerifier, PermissionResolver],
})
export class IdentityModule {}
