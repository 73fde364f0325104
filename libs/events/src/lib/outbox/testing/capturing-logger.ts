// Test support: an EventBusLogger that keeps its entries (and prints nothing).
import type { EventBusLogger } from '../../event-bus.port';

export interface LogEntry {
  level: 'error' | 'warn' | 'info' | 'debug';
  fields: Record<string, unknown>;
  message: string;
}

export class CapturingLogger implements EventBusLogger {
  readonly entries: LogEntry[] = [];

  error(fields: Record<string, unknown>, message: string): void {
    this.entries.push({ level: 'error', fields, message });
  }
  warn(fields: Record<string, unknown>, message: string): void {
    this.entries.push({ level: 'warn', fields, message });
  }
  info(fields: Record<string, unknown>, message: string): void {
    this.entries.push({ level: 'info', fields, message });
  }
  debug(fields: Record<string, unknown>, message: string): void {
    this.entries.push({ level: 'debug', fields, message });
  }

  /** Messages of the entries at `level` that match `pattern`. */
  matching(level: LogEntry['level'], pattern: RegExp): string[] {
    return this.entries.filter((e) => e.level === level && pattern.test(e.message)).map((e) => e.message);
  }
}
