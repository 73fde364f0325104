import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import { RegistryError, ociErrorBody, unknownErrorBody } from '@berth/oci';
import { ROOT_LOGGER, asRegistryError, sendRegistryError } from '@berth/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';

/**
 * Renders errors of the registry token endpoints (`/oauth2/*`) in the registry format
 * `{"errors":[{code,message,detail}]}` with the error's headers (Retry-After, WWW-Authenticate); an unavailable
 * database is 503 UNAVAILABLE, as on the data plane. Unexpected
 * errors are logged with an id and answered 500 UNKNOWN without internals.
 */
@Catch()
export class RegistryErrorFilter implements ExceptionFilter {
  private readonly logger: Logger;

  constructor(@Inject(ROOT_LOGGER) logger: Logger) {
    this.logger = logger.child({ component: 'token-endpoint' });
  }

  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<FastifyReply>();
    const req = host.switchToHttp().getRequest<FastifyRequest>();
    res.header('cache-control', 'no-store');
    const known = asRegistryError(err);
    if (known) {
      void sendRegistryError(res, known);
      return;
    }
    if (err instanceof HttpException && err.getStatus() < 500) {
      const status = err.getStatus();
      const code = status === 401 ? 'UNAUTHORIZED' : status === 429 ? 'TOOMANYREQUESTS' : 'UNSUPPORTED';
      void res.status(status).send(ociErrorBody(new RegistryError(code, 'request refused', null, status)));
      return;
    }
    const errorId = randomUUID();
    this.logger.error({ err, errorId, path: req.url.split('?')[0] }, 'unhandled error');
    void res.status(500).send(unknownErrorBody(errorId));
  }
}
