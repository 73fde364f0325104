import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { NestInstrumentation } from '@opentelemetry/instrumentation-nestjs-core';
import { instrumentations } from './telemetry';

/** The auto-instrumentations installed, by name (each disabled again: constructing one patches modules). */
function installed(recordSpans: boolean): string[] {
  const list = instrumentations(recordSpans);
  for (const i of list) i.disable();
  return list.map((i) => i.instrumentationName).sort();
}

describe('auto-instrumentations', () => {
  afterEach(() => jest.restoreAllMocks());

  it('a process that records spans traces HTTP and undici clients, Nest, pg, ioredis and kafkajs', () => {
    expect(installed(true)).toEqual([
      '@opentelemetry/instrumentation-http',
      '@opentelemetry/instrumentation-ioredis',
      '@opentelemetry/instrumentation-kafkajs',
      '@opentelemetry/instrumentation-nestjs-core',
      '@opentelemetry/instrumentation-pg',
      '@opentelemetry/instrumentation-undici',
    ]);
  });

  it('one that records none keeps only those that propagate trace context or record metrics', () => {
    // HTTP, undici and kafkajs put `traceparent` on outgoing calls and messages; pg records db.client.* metrics.
    expect(installed(false)).toEqual([
      '@opentelemetry/instrumentation-http',
      '@opentelemetry/instrumentation-kafkajs',
      '@opentelemetry/instrumentation-pg',
      '@opentelemetry/instrumentation-undici',
    ]);
  });

  it('never enables the left-out ones: an instrumentation patches its module when it is constructed', () => {
    const nest = jest.spyOn(NestInstrumentation.prototype, 'enable');
    const redis = jest.spyOn(IORedisInstrumentation.prototype, 'enable');
    installed(false);
    expect(nest).not.toHaveBeenCalled();
    expect(redis).not.toHaveBeenCalled();
    installed(true);
    expect(nest).toHaveBeenCalledTimes(1);
    expect(redis).toHaveBeenCalledTimes(1);
  });
});
