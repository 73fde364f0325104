// @berth/identity: the database- and cache-backed identity services (signing keys, token issue and
// verification, credential checks, permission resolution) over the pure core in @berth/auth.
export { IdentityModule } from './lib/identity.module';
export { ENVELOPE_PURPOSE, MASTER_KEY } from './lib/identity.tokens';
export { loadMasterKey } from './lib/master-key.provider';
export type { RegistryFacts, RegistryIdRef } from './lib/registry-facts';
export { RegistryDirectory } from './lib/registry-directory.service';
export { KEY_LIFECYCLE, SigningKeys } from './lib/signing-keys.service';
export { TokenIssuer, type IdentityTokenRequest, type IssuedToken } from './lib/token-issuer.service';
export { TokenVerifier, type IdentityTokenInfo, type VerifiedRegistryToken } from './lib/token-verifier.service';
export {
  CredentialVerifier,
  FAILED_LOGIN_LIMIT,
  FAILED_LOGIN_WINDOW_SEC,
  type BasicContext,
} from './lib/credential-verifier.service';
export { PermissionResolver } from './lib/permission-resolver.service';
