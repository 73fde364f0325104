import { useTestTracing } from '@berth/telemetry';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { InProcessEventBus } from '../adapters/in-process/in-process-event-bus.adapter';
import { consume } from '../consumer/idempotent-consumer';
import { createEventEnvelope } from '../event-envelope.model';
import { pollUntil } from '../testing/poll-until.util';
import { OutboxRelay } from './outbox-relay';
import { notifyOutbox, writeOutboxEvent } from './outbox-writer';
import { createTestDatabase, type TestDatabase } from './testing/outbox-test-database';

const hex = (n: number): string =>
  Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');

/**
 * Issue #7: one push = one trace. The relay publishes each outbox row under a PRODUCER span that is a child of the
 * row's stored traceparent, and a consumer (`consume()`) handles it under a CONSUMER span continuing that producer
 * span, so the handler's own work belongs to the request's trace.
 */
describe('trace context through the outbox relay and consume() (Postgres, in-process bus)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let tracing: ReturnType<typeof useTestTracing>;

  beforeAll(async () => {
    db = await createTestDatabase('berth_events_trace');
    ds = db.dataSource;
  });
  afterAll(async () => {
    await db?.drop();
  });
  beforeEach(() => {
    tracing = useTestTracing();
  });
  afterEach(() => tracing.restore());

  it('continues each stored traceparent: request span → send span (relay) → process span (consumer) → handler', async () => {
    const topic = `trace-it-${randomUUID()}`;
    const dlq = `${topic}.dlq`;
    const bus = new InProcessEventBus({ defaultPartitions: 2 });
    await bus.ensureTopics([{ name: topic }, { name: dlq }]);
    const seen = new Map<string, { traceId?: string; parentSpanId?: string }>();
    const consumer = await consume<{ n: number }>(bus, {
      topics: topic,
      groupId: `g-${randomUUID()}`,
      dataSource: ds,
      deadLetterTopic: dlq,
      fromBeginning: true,
      lagIntervalMs: 0,
      handler: (event) => {
        const span = trace.getSpan(context.active());
        seen.set(event.id, { traceId: span?.spanContext().traceId, parentSpanId: span?.spanContext().spanId });
        return Promise.resolve();
      },
    });
    const relay = new OutboxRelay(ds, bus, { pollIntervalMs: 50, purgeIntervalMs: 0 });
    try {
      // Three requests, three traces; one registry, so one publish batch carries all of them.
      const requests = [0, 1, 2].map(() => ({ traceId: hex(32), spanId: hex(16) }));
      const envelopes = requests.map((r, n) =>
        createEventEnvelope({
          type: 'ImagePushed',
          version: 1,
          registryId: 'reg-1',
          data: { n },
          traceparent: `00-${r.traceId}-${r.spanId}-01`,
        }),
      );
      await ds.transaction(async (em) => {
        for (const envelope of envelopes) await writeOutboxEvent(em, { topic, envelope });
        await notifyOutbox(em);
      });
      relay.start();
      await pollUntil('every event handled', () => seen.size === 3, 15_000);
      // A consumer span ends after the handler resolved and the event was recorded: wait for the spans too.
      await pollUntil(
        'every consumer span ended',
        () => tracing.spans.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER).length === 3,
        15_000,
      );

      const spans = tracing.spans.getFinishedSpans();
      envelopes.forEach((envelope, i) => {
        const request = requests[i] as { traceId: string; spanId: string };
        const send = spans.find((s) => s.kind === SpanKind.PRODUCER && s.attributes['berth.event_id'] === envelope.id);
        const process = spans.find(
          (s) => s.kind === SpanKind.CONSUMER && s.attributes['berth.event_id'] === envelope.id,
        );
        expect(send?.spanContext().traceId).toBe(request.traceId);
        expect(send?.parentSpanContext?.spanId).toBe(request.spanId);
        expect(send?.name).toBe(`send ${topic}`);
        expect(process?.spanContext().traceId).toBe(request.traceId);
        expect(process?.parentSpanContext?.spanId).toBe(send?.spanContext().spanId);
        expect(process?.attributes['messaging.system']).toBe('in_process');
        // The handler runs inside the consumer span.
        expect(seen.get(envelope.id)).toEqual({
          traceId: request.traceId,
          parentSpanId: process?.spanContext().spanId,
        });
      });
      // The stored envelope is untouched: it still names the request's span.
      const [row] = (await ds.query(`SELECT payload FROM outbox_events WHERE id = $1`, [envelopes[0]?.id])) as Array<{
        payload: { traceparent: string };
      }>;
      expect(row?.payload.traceparent).toBe(envelopes[0]?.traceparent);
    } finally {
      await relay.stop();
      await consumer.stop();
      await bus.close();
    }
  });

  it('reports consumer lag for the gauge: the backlog of a group that is not keeping up', async () => {
    const topic = `lag-it-${randomUUID()}`;
    const bus = new InProcessEventBus({ defaultPartitions: 2 });
    await bus.ensureTopics([{ name: topic }, { name: `${topic}.dlq` }]);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const consumer = await consume(bus, {
      topics: topic,
      groupId: `g-${randomUUID()}`,
      dataSource: ds,
      deadLetterTopic: `${topic}.dlq`,
      lagIntervalMs: 60_000,
      handler: () => gate,
    });
    try {
      const messages = [1, 2, 3, 4].map((n) => {
        const e = createEventEnvelope({ type: 'T', version: 1, registryId: 'reg-1', data: { n } });
        return { key: 'reg-1', value: JSON.stringify(e), headers: { 'berth-event-id': e.id } };
      });
      await bus.publish(topic, messages);
      await consumer.sampleLag();
      expect(consumer.lag()).toEqual([{ group: consumer.groupId, topic, lag: 4 }]);
      release();
      await pollUntil(
        'the backlog to drain',
        async () => {
          await consumer.sampleLag();
          return consumer.lag()[0]?.lag === 0;
        },
        15_000,
      );
    } finally {
      release();
      await consumer.stop();
      await bus.close();
    }
  });
});
