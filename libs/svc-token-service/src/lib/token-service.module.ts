import { Module } from '@nestjs/common';
import { BootstrapPrincipal } from './bootstrap/bootstrap-principal.bootstrap';
import type { InfraNeed } from '@berth/platform';

/** The infrastructure token-service uses; its /readyz checks exactly these. */
export const TOKEN_SERVICE_NEEDS: readonly InfraNeed[] = ['database', 'cache'];

/**
 * Identities and tokens: the Docker token endpoint, ACR /oauth2/exchange and /oauth2/token, the
 * Entra-shaped identity endpoint, admin users, scoped tokens, role assignments and signing keys.
 * Token features arrive with the identity issue; today it bootstraps the operator service principal
 * (Owner of the bootstrap subscription; credentials from settings or `<data>/bootstrap.json`) and reports readiness.
 */
@Module({ providers: [BootstrapPrincipal] })
export class TokenServiceModule {}
