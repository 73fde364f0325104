import { Body, Controller, Get, Injectable, Module, Param, Post, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { HTTP_SERVER_TRACER, shutdownTelemetry, startTelemetry, withSpan } from '@berth/telemetry';
import { http, pollUntil, stackEnv } from '@berth/testing';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance } from 'fastify';
import { request } from 'node:http';
import { serviceRoot } from '../infrastructure.module';
import { startService, type RunningService } from '../service-runtime';

/** The span id active in a hook a module adds in onModuleInit (as the frontend's limits and pull fast path do). */
const activeInLaterHook = new Map<string, string | undefined>();

@Injectable()
class LaterHook implements OnModuleInit {
  constructor(private readonly host: HttpAdapterHost) {}
  onModuleInit(): void {
    this.host.httpAdapter.getInstance<FastifyInstance>().addHook('onRequest', (req, _reply, done) => {
      const marker = req.headers['x-marker'];
      if (typeof marker === 'string') activeInLaterHook.set(marker, trace.getActiveSpan()?.spanContext().spanId);
      done();
    });
  }
}

@Controller('things')
class ThingsController {
  @Get('fail/now')
  fail(): never {
    throw new Error('boom');
  }

  @Get('slow/now')
  async slow(): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, 400));
    return 'late';
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<{ id: string }> {
    return withSpan('berth.test.read', {}, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { id };
    });
  }

  /** A JSON body is read from the socket's events before the handler runs: the context must survive that. */
  @Post(':id')
  post(@Param('id') id: string, @Body() body: unknown): Promise<{ id: string; body: unknown }> {
    return withSpan('berth.test.write', {}, () => Promise.resolve({ id, body }));
  }
}

@Module({ controllers: [ThingsController], providers: [LaterHook] })
class ThingsModule {}

function traceparent(): { header: string; traceId: string; spanId: string } {
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  const traceId = hex(32);
  const spanId = hex(16);
  return { header: `00-${traceId}-${spanId}-01`, traceId, spanId };
}

/** Issue #7: the HTTP server span Berth creates in its first Fastify hook (HttpServerSpan), in-process. */
describe('HTTP server span', () => {
  const spans = new InMemorySpanExporter();
  let svc: RunningService;

  beforeAll(async () => {
    startTelemetry({ serviceName: 'server-span-test', spanProcessors: [new SimpleSpanProcessor(spans)] });
    svc = await startService(
      {
        name: 'server-span-test',
        mode: 'distributed',
        rootModule: (config, logger) => serviceRoot(config, logger, { needs: ['database'], modules: [ThingsModule] }),
      },
      { ...stackEnv(), BERTH_PORT: '0', BERTH_LOG_LEVEL: 'silent' },
    );
  });

  afterAll(async () => {
    await svc?.stop();
    await shutdownTelemetry();
  });

  const ofTrace = (traceId: string): ReadableSpan[] =>
    spans.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  const serverSpan = (traceId: string): Promise<ReadableSpan> =>
    pollUntil(
      'the server span',
      () => Promise.resolve(ofTrace(traceId).find((s) => s.kind === SpanKind.SERVER)),
      (s) => s !== undefined,
      { timeoutMs: 5000 },
    ) as Promise<ReadableSpan>;

  it('continues the caller’s traceparent, is named by route, carries the HTTP attributes, and parents the request’s spans', async () => {
    const caller = traceparent();
    const res = await http(`${svc.url}/things/r1?api-version=2024&token=s3cr3t`, {
      headers: { traceparent: caller.header, 'user-agent': 'test-agent/1.0', 'x-marker': 'get' },
    });
    expect(res.status).toBe(200);
    const server = await serverSpan(caller.traceId);
    expect(server.name).toBe('GET /things/:id');
    expect(server.instrumentationScope.name).toBe(HTTP_SERVER_TRACER);
    expect(server.parentSpanContext?.spanId).toBe(caller.spanId);
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
    const port = Number(new URL(svc.url).port);
    expect(server.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/things/:id',
      'http.response.status_code': 200,
      'url.scheme': 'http',
      'url.path': '/things/r1',
      'url.query': 'api-version=2024&token=REDACTED',
      'server.address': '127.0.0.1',
      'server.port': port,
      'user_agent.original': 'test-agent/1.0',
    });
    expect(server.attributes['client.address']).toMatch(/127\.0\.0\.1/);
    expect(JSON.stringify(server.attributes)).not.toContain('s3cr3t');
    // The handler's span is its child; a hook added later (in onModuleInit) already runs inside it.
    const child = ofTrace(caller.traceId).find((s) => s.name === 'berth.test.read');
    expect(child?.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(activeInLaterHook.get('get')).toBe(server.spanContext().spanId);
  });

  it('keeps the context through a JSON body that arrives in two packets', async () => {
    const caller = traceparent();
    // The second half comes later, from the socket's own events (outside any hook): only a bound request keeps the span.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${svc.url}/things/w1`,
        { method: 'POST', headers: { traceparent: caller.header, 'content-type': 'application/json', 'content-length': '9' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write('{"a":');
      setTimeout(() => req.end('123}'), 100);
    });
    expect(status).toBe(201);
    const server = await serverSpan(caller.traceId);
    expect(server.name).toBe('POST /things/:id');
    const child = ofTrace(caller.traceId).find((s) => s.name === 'berth.test.write');
    expect(child?.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
  });

  it('starts a new trace without traceparent, and marks a 5xx as an error', async () => {
    const res = await http(`${svc.url}/things/fail/now`);
    expect(res.status).toBe(500);
    const server = await pollUntil(
      'the failed request’s span',
      () => Promise.resolve(spans.getFinishedSpans().find((s) => s.name === 'GET /things/fail/now')),
      (s) => s !== undefined,
      { timeoutMs: 5000 },
    );
    expect(server?.parentSpanContext).toBeUndefined();
    expect(server?.status.code).toBe(SpanStatusCode.ERROR);
    expect(server?.attributes['http.response.status_code']).toBe(500);
    expect(server?.attributes['error.type']).toBeDefined();
  });

  it('ends the span as an error when the client goes away before the answer', async () => {
    const caller = traceparent();
    await expect(
      http(`${svc.url}/things/slow/now`, { headers: { traceparent: caller.header }, timeoutMs: 100 }),
    ).rejects.toThrow();
    const server = await serverSpan(caller.traceId);
    expect(server.name).toBe('GET /things/slow/now');
    expect(server.status.code).toBe(SpanStatusCode.ERROR);
    expect(server.attributes['error.type']).toBe('aborted');
    // The handler's late answer does not end it a second time (one span for the request).
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(ofTrace(caller.traceId).filter((s) => s.kind === SpanKind.SERVER)).toHaveLength(1);
  });

  it('names a request no route matched by its method only (never the path)', async () => {
    const caller = traceparent();
    const res = await http(`${svc.url}/nowhere/secret-repo-name`, { headers: { traceparent: caller.header } });
    expect(res.status).toBe(404);
    const server = await serverSpan(caller.traceId);
    expect(server.name).toBe('GET');
    expect(server.attributes['http.route']).toBeUndefined();
    expect(server.attributes['http.response.status_code']).toBe(404);
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('does not trace probes and scrapes', async () => {
    const callers = ['/healthz', '/readyz', '/metrics'].map((p) => ({ p, ...traceparent() }));
    for (const c of callers) await http(`${svc.url}${c.p}`, { headers: { traceparent: c.header } });
    // A traced request after them: once its span is in, theirs would have been too.
    const last = traceparent();
    await http(`${svc.url}/things/r2`, { headers: { traceparent: last.header } });
    await serverSpan(last.traceId);
    for (const c of callers) expect(ofTrace(c.traceId)).toEqual([]);
  });
});
