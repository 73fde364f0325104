import { Module } from '@nestjs/common';
import { IdentityModule } from '@berth/identity';
import type { InfraNeed } from '@berth/platform';
import { BootstrapPrincipal } from './bootstrap/bootstrap-principal.bootstrap';
import { IdentityEndpointController } from './identity-endpoint/identity-endpoint.controller';
import { IdentityEndpointService } from './identity-endpoint/identity-endpoint.service';
import { JwksController } from './identity-endpoint/jwks.controller';
import { KeyRotation } from './keys/key-rotation.service';
import { RegistryTokenController } from './registry-tokens/registry-token.controller';
import { RegistryTokenService } from './registry-tokens/registry-token.service';

/** The infrastructure token-service uses; its /readyz checks exactly these. */
export const TOKEN_SERVICE_NEEDS: readonly InfraNeed[] = ['database', 'cache'];

/**
 * Identities and tokens: ACR's registry token endpoints (`/oauth2/token`, `/oauth2/exchange`), the
 * Entra-shaped identity endpoint (`/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/oauth2/v2.0/token`,
 * JWKS), signing-key rotation, and the operator principal's bootstrap (Owner of the bootstrap subscription;
 * credentials from settings or `<data>/bootstrap.json`). The identity services themselves live in @berth/identity.
 */
@Module({
  imports: [IdentityModule],
  controllers: [RegistryTokenController, IdentityEndpointController, JwksController],
  providers: [BootstrapPrincipal, KeyRotation, RegistryTokenService, IdentityEndpointService],
})
export class TokenServiceModule {}
