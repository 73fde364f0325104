import { Module } from '@nestjs/common';
import type { BerthConfig } from '@berth/config';
import { BERTH_CONFIG } from '@berth/platform';
import { TierCatalog } from '@berth/tiers';
import { RegistryContextModule } from '../registry/registry-context.module';
import { DataPlaneLimits } from './data-plane-limits.service';
import { LimitsHook } from './limits.hook';

/** Tier limits on the data plane: throttling, storage quota and network rules (see LimitsHook, DataPlaneLimits). */
@Module({
  imports: [RegistryContextModule],
  providers: [
    {
      provide: TierCatalog,
      inject: [BERTH_CONFIG],
      useFactory: (config: BerthConfig) => new TierCatalog(config.tierOverrides),
    },
    DataPlaneLimits,
    LimitsHook,
  ],
  exports: [DataPlaneLimits],
})
export class LimitsModule {}
