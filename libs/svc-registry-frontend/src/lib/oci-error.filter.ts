import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import { ROOT_LOGGER, asRegistryError, sendRegistryError } from '@berth/platform';
import { RegistryError, ociErrorBody, unknownErrorBody, type OciErrorCode } from '@berth/oci';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';

/** HTTP statuses the framework raises itself (unknown route, bad method) and the OCI code that matches. */
const FRAMEWORK_CODES: Record<number, OciErrorCode> = {
  400: 'UNSUPPORTED',
  401: 'UNAUTHORIZED',
  403: 'DENIED',
  404: 'NAME_UNKNOWN',
  405: 'UNSUPPORTED',
  413: 'SIZE_INVALID',
  415: 'UNSUPPORTED',
  429: 'TOOMANYREQUESTS',
  503: 'UNAVAILABLE',
};

/**
 * The only place that knows the /v2 wire format: `{"errors":[{code,message,detail}]}`. Domain errors keep
 * their code and status; anything unexpected is logged with an id and answered 500 UNKNOWN without
 * internals. Requests outside /v2 keep Nest's default JSON error shape.
 */
@Catch()
export class OciErrorFilter implements ExceptionFilter {
  private readonly logger: Logger;

  constructor(@Inject(ROOT_LOGGER) logger: Logger) {
    this.logger = logger.child({ component: 'oci-error-filter' });
  }

  catch(err: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<FastifyReply>();
    const req = ctx.getRequest<FastifyRequest>();
    const path = req.url.split('?')[0] ?? '';
    if (!DATA_PLANE.test(path)) {
      this.renderPlain(err, res, path);
      return;
    }
    res.header('Docker-Distribution-API-Version', 'registry/2.0');
    const known = asRegistryError(err);
    if (known) {
      void sendRegistryError(res, known);
      return;
    }
    if (err instanceof HttpException && err.getStatus() < 500) {
      const status = err.getStatus();
      const code = FRAMEWORK_CODES[status] ?? 'UNSUPPORTED';
      void res.status(status).send(ociErrorBody(new RegistryError(code, messageOf(err), undefined, status)));
      return;
    }
    void res.status(500).send(unknownErrorBody(this.logUnexpected(err, path)));
  }

  /** Routes other services own keep a plain JSON error until their own filters take over. */
  private renderPlain(err: unknown, res: FastifyReply, path: string): void {
    if (err instanceof HttpException && err.getStatus() < 500) {
      void res.status(err.getStatus()).send({ statusCode: err.getStatus(), message: messageOf(err) });
      return;
    }
    void res.status(500).send({ statusCode: 500, message: 'internal error', errorId: this.logUnexpected(err, path) });
  }

  private logUnexpected(err: unknown, path: string): string {
    const errorId = randomUUID();
    this.logger.error({ err, errorId, path }, 'unhandled error');
    return errorId;
  }
}

/** The data-plane routes whose errors use the OCI format. */
const DATA_PLANE = /^\/(v2|acr\/v1)(\/|$)/;

function messageOf(err: HttpException): string {
  const body = err.getResponse();
  if (typeof body === 'object' && body !== null && 'message' in body) {
    const m = (body as { message: unknown }).message;
    if (typeof m === 'string') return m;
  }
  return err.message;
}
