import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { HealthRegistry } from './health.registry';

/** Liveness and readiness, on every service (and once in the embedded host). */
@Controller()
export class HealthController {
  constructor(private readonly registry: HealthRegistry) {}

  /** Alive: the process runs its event loop. Never consults dependencies (a restart would not fix them). */
  @Get('healthz')
  @HttpCode(200)
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready: every dependency answers; 503 names the ones that do not. */
  @Get('readyz')
  async readyz(@Res({ passthrough: true }) res: FastifyReply): Promise<object> {
    const report = await this.registry.readiness();
    res.status(report.ready ? 200 : 503);
    res.header('cache-control', 'no-store');
    return report.ready
      ? { status: 'ready', checks: report.checks }
      : { status: 'unavailable', failing: report.failing, checks: report.checks };
  }
}
