import { isDatabaseUnavailable } from '@berth/db';
import { RegistryError, ociErrorBody } from '@berth/oci';
import type { FastifyReply } from 'fastify';

/**
 * The error a client gets for `err`, when it is one a registry endpoint answers on purpose: its own RegistryError,
 * or the database being unavailable (down, restarting, or no pooled connection free in time under a burst), which
 * is 503 UNAVAILABLE with Retry-After rather than a 500: the client may simply try again. Undefined otherwise (a
 * bug: the caller logs it with an id and answers 500 without internals).
 */
export function asRegistryError(err: unknown): RegistryError | undefined {
  if (err instanceof RegistryError) return err;
  if (isDatabaseUnavailable(err)) {
    return new RegistryError('UNAVAILABLE', 'the registry is temporarily unavailable; try again', null, 503, {
      'Retry-After': '1',
    });
  }
  return undefined;
}

/** Answers `err` in the registry wire format `{"errors":[{code,message,detail}]}` with its status and headers. */
export function sendRegistryError(reply: FastifyReply, err: RegistryError): FastifyReply {
  for (const [name, value] of Object.entries(err.headers)) reply.header(name, value);
  return reply.status(err.status).header('content-type', 'application/json').send(ociErrorBody(err));
}
