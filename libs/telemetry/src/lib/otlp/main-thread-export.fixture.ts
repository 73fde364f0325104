/**
 * Run as its own process by main-thread-span-processor.integration-spec.ts (the OpenTelemetry HTTP transport loads
 * `http` with a dynamic import, which Jest's module sandbox does not allow): ends `argv[2]` server spans through a
 * MainThreadSpanProcessor exporting to `OTEL_EXPORTER_OTLP_ENDPOINT`, flushes, shuts down, and prints one JSON line
 * with what it saw.
 */
import { SpanKind } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { MainThreadSpanProcessor } from './main-thread-span-processor';

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? '0');
  const processor = new MainThreadSpanProcessor();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'main-thread-test' }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('berth.http');
  for (let i = 0; i < count; i++) tracer.startSpan(`GET ${i}`, { kind: SpanKind.SERVER, attributes: { 'test.index': i } }).end();
  // What a full batch sent on its own before any flush (the receiver counts it).
  await new Promise((resolve) => setTimeout(resolve, Number(process.env['FIXTURE_PAUSE_MS'] ?? '0')));
  process.stdout.write(`${JSON.stringify({ phase: 'before-flush' })}\n`);
  await processor.forceFlush();
  await provider.shutdown();
  // Spans after shutdown are ignored.
  tracer.startSpan('late').end();
  await processor.forceFlush();
  process.stdout.write(`${JSON.stringify({ phase: 'done' })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
