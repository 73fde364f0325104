import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One span as an OTLP trace export (JSON or protobuf) carried it, flattened. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** OTLP span kind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  /** `service.name` of the exporting process. */
  service: string;
  /** The instrumentation scope, e.g. `@opentelemetry/instrumentation-pg`. */
  scope: string;
  attributes: Record<string, unknown>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status: number;
}

export interface ReceivedRequest {
  path: string;
  contentType: string;
  bytes: number;
}

/** A minimal OTLP/HTTP receiver on 127.0.0.1 for tests and local debugging: keeps what exporters send. */
export interface OtlpReceiver {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT (exporters append `/v1/traces`, `/v1/metrics`). */
  readonly url: string;
  /** Spans decoded from the OTLP trace exports so far, JSON and protobuf. */
  spans(): ReceivedSpan[];
  requests(): ReceivedRequest[];
  close(): Promise<void>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface OtlpJsonTraces {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{
      scope?: { name?: string };
      spans?: Array<{
        traceId?: string;
        spanId?: string;
        parentSpanId?: string;
        name?: string;
        kind?: number;
        attributes?: KeyValue[];
        status?: { code?: number };
      }>;
    }>;
  }>;
}

function value(v: AnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(value);
  return undefined;
}

function attributes(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));
}

/** OTLP/JSON ids are hex; some encoders write base64 instead, as does the protobuf decoder (otlp-proto.ts). */
function hexId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  if (/^[0-9a-f]+$/i.test(id) && (id.length === 32 || id.length === 16)) return id.toLowerCase();
  return Buffer.from(id, 'base64').toString('hex');
}

function flatten(body: OtlpJsonTraces): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const service = String(attributes(rs.resource?.attributes)['service.name'] ?? '');
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: hexId(s.traceId) ?? '',
          spanId: hexId(s.spanId) ?? '',
          parentSpanId: hexId(s.parentSpanId),
          name: s.name ?? '',
          kind: s.kind ?? 0,
          service,
          scope: ss.scope?.name ?? '',
          attributes: attributes(s.attributes),
          status: s.status?.code ?? 0,
        });
      }
    }
  }
  return out;
}

/**
 * The OTLP/protobuf decoder, loaded at the first protobuf request: it needs protobufjs, a development dependency,
 * and this module is exported by the library every service loads.
 */
async function protobufDecoder(): Promise<(bytes: Uint8Array) => unknown> {
  return (await import('./otlp-proto')).decodeTraceRequest;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: ReceivedRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void answer(Buffer.concat(chunks)));
    const answer = async (body: Buffer): Promise<void> => {
      const contentType = String(req.headers['content-type'] ?? '');
      const path = (req.url ?? '').split('?')[0] ?? '';
      requests.push({ path, contentType, bytes: body.length });
      if (req.method === 'POST' && path === '/v1/traces') {
        try {
          const decoded = contentType.includes('json') ? JSON.parse(body.toString('utf8')) : (await protobufDecoder())(body);
          spans.push(...flatten(decoded as OtlpJsonTraces));
        } catch {
          res.writeHead(400).end();
          return;
        }
      }
      res
        .writeHead(200, {
          'content-type': contentType.includes('json') ? 'application/json' : 'application/x-protobuf',
        })
        .end(contentType.includes('json') ? '{}' : undefined);
    };
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => [...spans],
    requests: () => [...requests],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
