import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import { ROOT_LOGGER } from '@berth/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { EntraError, entraErrorBody } from './entra-error';

/** Renders the identity endpoint's errors in Entra's shape; unexpected errors are logged with an id and answered 500. */
@Catch()
export class EntraErrorFilter implements ExceptionFilter {
  private readonly logger: Logger;

  constructor(@Inject(ROOT_LOGGER) logger: Logger) {
    this.logger = logger.child({ component: 'identity-endpoint' });
  }

  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<FastifyReply>();
    const req = host.switchToHttp().getRequest<FastifyRequest>();
    const correlation = req.headers['client-request-id'];
    res.header('cache-control', 'no-store');
    const known =
      err instanceof EntraError
        ? err
        : err instanceof HttpException && err.getStatus() < 500
          ? new EntraError(400, 'invalid_request', 900144, 'The request is not valid.')
          : undefined;
    if (known) {
      for (const [name, value] of Object.entries(known.headers)) res.header(name, value);
      void res.status(known.status).send(entraErrorBody(known, typeof correlation === 'string' ? correlation : undefined));
      return;
    }
    const errorId = randomUUID();
    this.logger.error({ err, errorId, path: req.url.split('?')[0] }, 'unhandled error');
    void res.status(500).send({ error: 'server_error', error_description: `internal error ${errorId}`, error_codes: [], trace_id: errorId });
  }
}
