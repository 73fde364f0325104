import { Root, type Type } from 'protobufjs';

/**
 * The OTLP trace export request (opentelemetry-proto `collector/trace/v1`, `trace/v1`, `common/v1`, `resource/v1`)
 * as a protobufjs schema, for tests: decoding what an exporter sent with a general protobuf library, independently
 * of the encoders under test. Field names and numbers as in the proto files; enums read as their numbers.
 */
const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id });
const field = (type: string, id: number) => ({ type, id });

const root = Root.fromJSON({
  nested: {
    otlp: {
      nested: {
        ExportTraceServiceRequest: { fields: { resourceSpans: repeated('ResourceSpans', 1) } },
        ResourceSpans: {
          fields: { resource: field('Resource', 1), scopeSpans: repeated('ScopeSpans', 2), schemaUrl: field('string', 3) },
        },
        Resource: { fields: { attributes: repeated('KeyValue', 1), droppedAttributesCount: field('uint32', 2) } },
        ScopeSpans: {
          fields: { scope: field('InstrumentationScope', 1), spans: repeated('Span', 2), schemaUrl: field('string', 3) },
        },
        InstrumentationScope: {
          fields: {
            name: field('string', 1),
            version: field('string', 2),
            attributes: repeated('KeyValue', 3),
            droppedAttributesCount: field('uint32', 4),
          },
        },
        Span: {
          fields: {
            traceId: field('bytes', 1),
            spanId: field('bytes', 2),
            traceState: field('string', 3),
            parentSpanId: field('bytes', 4),
            name: field('string', 5),
            kind: field('int32', 6),
            startTimeUnixNano: field('fixed64', 7),
            endTimeUnixNano: field('fixed64', 8),
            attributes: repeated('KeyValue', 9),
            droppedAttributesCount: field('uint32', 10),
            events: repeated('Event', 11),
            droppedEventsCount: field('uint32', 12),
            links: repeated('Link', 13),
            droppedLinksCount: field('uint32', 14),
            status: field('Status', 15),
            flags: field('fixed32', 16),
          },
        },
        Event: {
          fields: {
            timeUnixNano: field('fixed64', 1),
            name: field('string', 2),
            attributes: repeated('KeyValue', 3),
            droppedAttributesCount: field('uint32', 4),
          },
        },
        Link: {
          fields: {
            traceId: field('bytes', 1),
            spanId: field('bytes', 2),
            traceState: field('string', 3),
            attributes: repeated('KeyValue', 4),
            droppedAttributesCount: field('uint32', 5),
            flags: field('fixed32', 6),
          },
        },
        Status: { fields: { message: field('string', 2), code: field('int32', 3) } },
        KeyValue: { fields: { key: field('string', 1), value: field('AnyValue', 2) } },
        AnyValue: {
          oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'] } },
          fields: {
            stringValue: field('string', 1),
            boolValue: field('bool', 2),
            intValue: field('int64', 3),
            doubleValue: field('double', 4),
            arrayValue: field('ArrayValue', 5),
            kvlistValue: field('KeyValueList', 6),
            bytesValue: field('bytes', 7),
          },
        },
        ArrayValue: { fields: { values: repeated('AnyValue', 1) } },
        KeyValueList: { fields: { values: repeated('KeyValue', 1) } },
      },
    },
  },
});

const request: Type = root.lookupType('otlp.ExportTraceServiceRequest');

/**
 * An OTLP/protobuf trace request as the plain object its OTLP/JSON form would parse to, except that ids and bytes are
 * base64 (as protobuf's JSON mapping writes them) and 64-bit integers are decimal strings. Throws on malformed input.
 */
export function decodeTraceRequest(bytes: Uint8Array): Record<string, unknown> {
  return request.toObject(request.decode(bytes), { longs: String, bytes: String, defaults: false, arrays: true }) as Record<string, unknown>;
}
