import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import { ROOT_LOGGER } from '@berth/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ArmError, armErrorBody } from './arm-error';

/** Framework statuses (bad JSON, too large...) and ARM's code for them. */
const FRAMEWORK_CODES: Record<number, string> = {
  400: 'InvalidRequestContent',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
};

/**
 * The only place that knows the management API's wire format for errors: `{"error":{"code","message","target"}}`.
 * Anything unexpected is logged with an id and answered 500 InternalServerError without internals.
 */
@Catch()
export class ArmErrorFilter implements ExceptionFilter {
  private readonly logger: Logger;

  constructor(@Inject(ROOT_LOGGER) logger: Logger) {
    this.logger = logger.child({ component: 'arm-error-filter' });
  }

  catch(err: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const req = ctx.getRequest<FastifyRequest>();
    reply.header('x-ms-request-id', req.id);
    if (err instanceof ArmError) {
      for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
      void reply.status(err.status).send(req.method === 'HEAD' ? undefined : armErrorBody(err));
      return;
    }
    const status = err instanceof HttpException ? err.getStatus() : (err as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const code = FRAMEWORK_CODES[status] ?? 'BadRequest';
      const message =
        status === 400 ? 'The request content was invalid and could not be deserialized.' : (err as Error).message;
      void reply.status(status).send(armErrorBody(new ArmError(status, code, message)));
      return;
    }
    const errorId = randomUUID();
    this.logger.error({ err, errorId, path: req.url.split('?')[0] ?? '' }, 'unhandled error');
    void reply
      .status(500)
      .send(
        armErrorBody(new ArmError(500, 'InternalServerError', `An internal error occurred (error id ${errorId}).`)),
      );
  }
}
