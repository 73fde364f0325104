import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { invalidContent } from './arm-error';

/** The content type management JSON bodies are re-labelled with, so Fastify keeps them as text. */
const ARM_JSON = 'application/x-berth-arm-json';
const MANAGEMENT_PATH = /^\/(subscriptions|providers)(\/|$|\?)/i;

/** A management request body before parsing: text, or undefined when none was sent. */
export interface RawArmBody {
  readonly armRaw: string;
}

/**
 * Management bodies are parsed by the API itself, not by Fastify: a malformed JSON body must be answered with ARM's
 * `InvalidRequestContent` error, and Fastify's parser fails before any Nest filter of this module sees the request.
 * For management paths only, a JSON body is re-labelled on arrival and kept as text; `parseArmJson` parses it.
 */
@Injectable()
export class ArmBodyHook implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addContentTypeParser(ARM_JSON, { parseAs: 'string' }, (_req, body, done) =>
      done(null, { armRaw: String(body) }),
    );
    fastify.addHook('onRequest', (req, _reply, done) => {
      const type = req.headers['content-type'];
      if (MANAGEMENT_PATH.test(req.url) && (type === undefined || /^application\/(.*\+)?json\b/i.test(type))) {
        req.headers['content-type'] = ARM_JSON;
      }
      done();
    });
  }
}

/** The JSON body of a management request; undefined when there is none, 400 InvalidRequestContent when malformed. */
export function parseArmJson(body: unknown): unknown {
  if (body === undefined || body === null) return undefined;
  if (typeof body !== 'object' || !('armRaw' in body)) return body;
  const raw = (body as RawArmBody).armRaw;
  if (raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch (e) {
    throw invalidContent(`The request content was invalid and could not be deserialized: ${(e as Error).message}.`);
  }
}
