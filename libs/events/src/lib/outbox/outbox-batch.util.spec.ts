import { randomUUID } from 'node:crypto';
import { EventHeaders } from '../event-envelope.codec';
import { createEventEnvelope } from '../event-envelope.model';
import { holdBackOvertakers, orderKey, planChunks, toBusMessage } from './outbox-batch.util';
import type { OutboxRow } from './outbox-batch.util';

let seq = 0;
function row(
  topic: string,
  key: string,
  payload: unknown = { n: seq },
  headers: Record<string, string> = {},
): OutboxRow {
  seq++;
  return { id: randomUUID(), seq: String(seq), topic, key, payload, headers };
}

describe('toBusMessage', () => {
  it('should publish the envelope as JSON with the codec headers, keeping stored headers', () => {
    const envelope = createEventEnvelope({ type: 'ImagePushed', version: 1, registryId: 'reg', data: { tag: 'v1' } });
    const message = toBusMessage({
      ...row('t', 'reg', envelope, { traceparent: 'tp', 'x-extra': '1' }),
      id: envelope.id,
    });
    expect(message.key).toBe('reg');
    expect(JSON.parse(message.value as string)).toEqual(envelope);
    expect(message.headers).toEqual({
      [EventHeaders.Id]: envelope.id,
      [EventHeaders.Type]: 'ImagePushed',
      [EventHeaders.Version]: '1',
      [EventHeaders.ContentType]: 'application/json',
      traceparent: 'tp',
      'x-extra': '1',
    });
  });

  it('should publish a payload that is not an envelope as it is, with the row id as event id', () => {
    const r = row('t', 'reg', { whatever: true }, { n: 5 as unknown as string, ok: 'yes' });
    expect(toBusMessage(r)).toEqual({
      key: 'reg',
      value: '{"whatever":true}',
      headers: { ok: 'yes', [EventHeaders.Id]: r.id },
    });
  });
});

describe('planChunks', () => {
  it('should group per topic in order of first appearance, keeping seq order within each topic', () => {
    const rows = [row('a', 'k1'), row('b', 'k1'), row('a', 'k2'), row('b', 'k2'), row('a', 'k1')];
    const plan = planChunks(rows, 1024 * 1024);
    expect(plan.map((chunks) => chunks.map((c) => c.topic))).toEqual([['a'], ['b']]);
    expect(plan[0]?.[0]?.rows.map((r) => r.seq)).toEqual([rows[0], rows[2], rows[4]].map((r) => r?.seq));
    expect(plan[1]?.[0]?.rows.map((r) => r.seq)).toEqual([rows[1], rows[3]].map((r) => r?.seq));
    expect(plan[0]?.[0]?.messages).toHaveLength(3);
  });

  it('should split a topic into calls of at most maxBytes, a larger row travelling alone', () => {
    const rows = [
      row('a', 'k', 'x'.repeat(400)),
      row('a', 'k', 'y'.repeat(400)),
      row('a', 'k', 'z'.repeat(2_000)),
      row('a', 'k', 'w'),
    ];
    const plan = planChunks(rows, 1_000);
    expect(plan).toHaveLength(1);
    expect(plan[0]?.map((c) => c.rows.map((r) => r.seq))).toEqual([
      [rows[0]?.seq, rows[1]?.seq],
      [rows[2]?.seq],
      [rows[3]?.seq],
    ]);
  });
});

describe('holdBackOvertakers', () => {
  it('should hold back rows with an earlier unpublished row of their topic and key outside the batch', () => {
    const rows = [row('t', 'a'), row('t', 'b'), row('t', 'a'), row('u', 'a')];
    const earliest = new Map([[orderKey('t', 'a'), String(Number(rows[0]?.seq) - 1)]]);
    const { ready, heldBack } = holdBackOvertakers(rows, earliest);
    expect(heldBack).toEqual([rows[0], rows[2]]);
    expect(ready).toEqual([rows[1], rows[3]]);
  });

  it('should compare seq numerically', () => {
    const r = { ...row('t', 'a'), seq: '10' };
    expect(holdBackOvertakers([r], new Map([[orderKey('t', 'a'), '9']])).heldBack).toEqual([r]);
    expect(holdBackOvertakers([r], new Map([[orderKey('t', 'a'), '11']])).ready).toEqual([r]);
    expect(holdBackOvertakers([r], new Map()).ready).toEqual([r]);
  });
});
