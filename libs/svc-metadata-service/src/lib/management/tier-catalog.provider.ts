import type { Provider } from '@nestjs/common';
import type { BerthConfig } from '@berth/config';
import { BERTH_CONFIG } from '@berth/platform';
import { TierCatalog } from '@berth/tiers';

/** The installation's tiers: ACR's catalog with BERTH_TIER_OVERRIDES applied (checked at start-up by config). */
export const TIER_CATALOG_PROVIDER: Provider = {
  provide: TierCatalog,
  inject: [BERTH_CONFIG],
  useFactory: (config: BerthConfig) => new TierCatalog(config.tierOverrides),
};
