import { EncodedTraceExport } from './encoded-trace-export';
import { EncodingSpanProcessor } from './encoding-span-processor';

/**
 * OTLP/protobuf trace export from this thread: spans encoded and batched as by every EncodingSpanProcessor, the
 * requests sent with the standard exporter's transport here. For a process limited to one CPU, where a worker thread
 * would only add its wake-ups to the same core.
 */
export class MainThreadSpanProcessor extends EncodingSpanProcessor {
  private readonly exports = new EncodedTraceExport();

  constructor() {
    super('span export');
  }

  protected send(bytes: Uint8Array, spans: number): boolean {
    this.exports.send({ bytes, spans }, () => this.answered(spans));
    return true;
  }

  protected settle(type: 'flush' | 'shutdown'): Promise<void> {
    return this.exports.settle(type);
  }
}
