import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SigningKeys } from '@berth/identity';
import { ROOT_LOGGER } from '@berth/platform';
import type { Logger } from 'pino';

/** How often token-service runs the key lifecycle (it is cheap: one locked transaction). */
export const KEY_ROTATION_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Runs `SigningKeys.rotateIfDue` at start and hourly. Every token-service replica does; the advisory lock
 * inside makes them take turns, and each run is idempotent. A failed run is logged and retried next hour
 * (signing keeps working: an active key lives 30 days, and signing creates the first key if needed).
 */
@Injectable()
export class KeyRotation implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private readonly logger: Logger;

  constructor(
    private readonly keys: SigningKeys,
    @Inject(ROOT_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'key-rotation' });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.run();
    this.timer = setInterval(() => void this.run(), KEY_ROTATION_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async run(): Promise<void> {
    try {
      await this.keys.rotateIfDue();
    } catch (err) {
      this.logger.error({ err }, 'signing key rotation failed; retrying next hour');
    }
  }
}
