import { InvalidEventEnvelopeError } from './errors/invalid-event-envelope.error';
import { decodeEventEnvelope, encodeEventEnvelope, EventHeaders } from './event-envelope.codec';
import { createEventEnvelope } from './event-envelope.model';
import type { EventEnvelope } from './event-envelope.model';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function envelope(overrides: Partial<EventEnvelope<unknown>> = {}): EventEnvelope<unknown> {
  return {
    id: '6f1c1c1e-4b8a-4b55-9d3a-0b2f6c1f2a10',
    type: 'ImagePushed',
    version: 1,
    occurredAt: '2026-01-01T12:00:00.000Z',
    registryId: 'reg-1',
    data: { repository: 'hello', digest: 'sha256:abc' },
    ...overrides,
  };
}

function decodeJson(value: unknown): EventEnvelope<unknown> {
  return decodeEventEnvelope({ value: Buffer.from(JSON.stringify(value)) });
}

describe('createEventEnvelope', () => {
  it('should fill a random UUID id and the current UTC time', () => {
    const before = Date.now();
    const e = createEventEnvelope({ type: 'ImagePushed', version: 1, registryId: 'r', data: {} });
    expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(e.occurredAt.endsWith('Z')).toBe(true);
    expect(Date.parse(e.occurredAt)).toBeGreaterThanOrEqual(before - 1);
    expect('traceparent' in e).toBe(false);
    expect(createEventEnvelope({ type: 't', version: 1, registryId: 'r', data: 1 }).id).not.toBe(e.id);
  });

  it('should keep a given id, time (Date or string) and traceparent', () => {
    const e = createEventEnvelope({
      id: envelope().id,
      occurredAt: new Date('2026-02-03T04:05:06.007Z'),
      traceparent: TRACEPARENT,
      type: 'T',
      version: 2,
      registryId: 'r',
      data: null,
    });
    expect(e).toMatchObject({ id: envelope().id, occurredAt: '2026-02-03T04:05:06.007Z', traceparent: TRACEPARENT });
  });
});

describe('encodeEventEnvelope', () => {
  it('should key the message by registry id, with JSON value and identifying headers', () => {
    const e = envelope({ traceparent: TRACEPARENT });
    const message = encodeEventEnvelope(e);
    expect(message.key).toBe('reg-1');
    expect(JSON.parse(message.value.toString())).toEqual(e);
    expect(message.headers).toEqual({
      [EventHeaders.Id]: e.id,
      [EventHeaders.Type]: 'ImagePushed',
      [EventHeaders.Version]: '1',
      [EventHeaders.ContentType]: 'application/json',
      [EventHeaders.Traceparent]: TRACEPARENT,
    });
  });

  it('should omit the traceparent header when the envelope has none', () => {
    expect(encodeEventEnvelope(envelope()).headers).not.toHaveProperty(EventHeaders.Traceparent);
  });

  it('should refuse to encode an invalid envelope', () => {
    expect(() => encodeEventEnvelope(envelope({ id: 'nope' }))).toThrow(InvalidEventEnvelopeError);
  });
});

describe('decodeEventEnvelope', () => {
  it('should round-trip an encoded envelope, from a Buffer or a string', () => {
    const e = envelope({ traceparent: TRACEPARENT });
    const message = encodeEventEnvelope(e);
    expect(decodeEventEnvelope(message)).toEqual(e);
    expect(decodeEventEnvelope({ value: Buffer.from(message.value) })).toEqual(e);
  });

  it('should accept offsets other than Z and unknown extra fields (additive changes)', () => {
    expect(decodeJson({ ...envelope(), occurredAt: '2026-01-01T13:00:00+01:00', extra: true }).type).toBe(
      'ImagePushed',
    );
  });

  it.each([
    ['not JSON', Buffer.from('{nope'), 'value'],
    ['an array', Buffer.from('[]'), 'envelope'],
    ['null', Buffer.from('null'), 'envelope'],
    ['empty', Buffer.alloc(0), 'value'],
  ])('should reject a value that is %s', (_label, value, field) => {
    const attempt = (): unknown => decodeEventEnvelope({ value });
    expect(attempt).toThrow(InvalidEventEnvelopeError);
    expect(attempt).toThrow(expect.objectContaining({ field, code: 'INVALID_EVENT_ENVELOPE' }) as Error);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['id is not a UUID', { id: '123' }, 'id'],
    ['id is missing', { id: undefined }, 'id'],
    ['type is empty', { type: ' ' }, 'type'],
    ['version is 0', { version: 0 }, 'version'],
    ['version is fractional', { version: 1.5 }, 'version'],
    ['version is a string', { version: '1' }, 'version'],
    ['occurredAt has no offset', { occurredAt: '2026-01-01T12:00:00' }, 'occurredAt'],
    ['occurredAt is a date only', { occurredAt: '2026-01-01' }, 'occurredAt'],
    ['occurredAt is impossible', { occurredAt: '2026-13-45T99:00:00Z' }, 'occurredAt'],
    ['registryId is empty', { registryId: '' }, 'registryId'],
    ['registryId is a number', { registryId: 7 }, 'registryId'],
    ['traceparent is malformed', { traceparent: '00-xyz' }, 'traceparent'],
    [
      'traceparent has an all-zero trace id',
      { traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` },
      'traceparent',
    ],
    [
      'traceparent has version ff',
      { traceparent: 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      'traceparent',
    ],
    ['data is missing', { data: undefined }, 'data'],
  ])('should reject an envelope whose %s', (_label, overrides, field) => {
    const attempt = (): unknown => decodeJson({ ...envelope(), ...overrides });
    expect(attempt).toThrow(expect.objectContaining({ field }) as Error);
  });

  it('should validate data with the given parser and wrap its error', () => {
    const parse = (data: unknown): { repository: string } => {
      if (
        typeof data !== 'object' ||
        data === null ||
        typeof (data as { repository?: unknown }).repository !== 'string'
      ) {
        throw new Error('repository missing');
      }
      return { repository: (data as { repository: string }).repository };
    };
    const message = encodeEventEnvelope(envelope());
    expect(decodeEventEnvelope(message, parse).data).toEqual({ repository: 'hello' });
    const bad = encodeEventEnvelope(envelope({ data: { nope: 1 } }));
    expect(() => decodeEventEnvelope(bad, parse)).toThrow(/data was refused by its parser: repository missing/);
  });

  it('should never copy the payload into the error message', () => {
    const secret = 'super-secret-token';
    try {
      decodeJson({ ...envelope(), id: secret });
      throw new Error('expected a rejection');
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidEventEnvelopeError);
      expect((err as Error).message).not.toContain(secret);
    }
  });
});
