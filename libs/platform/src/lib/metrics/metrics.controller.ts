import { Controller, Get, Res } from '@nestjs/common';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheusMetrics } from '@berth/telemetry';
import type { FastifyReply } from 'fastify';

/**
 * `/metrics`: the Prometheus text exposition of this process's metrics, on the service's own port (once in
 * the embedded host). Like /healthz it carries no tenant data: metric attributes are bounded enums.
 */
@Controller()
export class MetricsController {
  @Get('metrics')
  async metrics(@Res({ passthrough: true }) res: FastifyReply): Promise<string> {
    const body = await renderPrometheusMetrics();
    res.header('content-type', PROMETHEUS_CONTENT_TYPE);
    res.header('cache-control', 'no-store');
    return body;
  }
}
