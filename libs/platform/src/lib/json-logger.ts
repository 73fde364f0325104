import { type LoggerService } from '@nestjs/common';
import { traceLogFields } from '@berth/telemetry';
import pino, { type Logger, type LevelWithSilent } from 'pino';

/**
 * Paths pino blanks before a line is written. Secrets, tokens, passwords and presigned URLs never reach logs;
 * code that logs request data passes it through these keys rather than formatting it into messages.
 */
export const REDACTED_PATHS = [
  'password',
  'secret',
  'token',
  'authorization',
  'clientSecret',
  'client_secret',
  'refresh_token',
  'access_token',
  'presignedUrl',
  '*.password',
  '*.secret',
  '*.token',
  '*.authorization',
  '*.clientSecret',
  '*.client_secret',
  '*.refresh_token',
  '*.access_token',
  '*.presignedUrl',
  'req.headers.authorization',
  'req.headers.cookie',
];

/** One JSON line per event on stdout, with the service name on every line (and the trace's ids inside a trace). */
export function createLogger(service: string, level: LevelWithSilent, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      mixin: traceLogFields,
    },
    destination,
  );
}

/** Nest's logger interface over pino, so framework messages are JSON lines too. */
export class JsonNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...context: unknown[]): void {
    this.write('info', message, context);
  }
  error(message: unknown, ...context: unknown[]): void {
    this.write('error', message, context);
  }
  warn(message: unknown, ...context: unknown[]): void {
    this.write('warn', message, context);
  }
  debug(message: unknown, ...context: unknown[]): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, ...context: unknown[]): void {
    this.write('trace', message, context);
  }
  fatal(message: unknown, ...context: unknown[]): void {
    this.write('fatal', message, context);
  }

  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal', message: unknown, context: unknown[]): void {
    // Nest passes the context name last; an error's stack comes before it.
    const ctx = typeof context[context.length - 1] === 'string' ? (context[context.length - 1] as string) : undefined;
    if (message instanceof Error) {
      this.logger[level]({ err: message, context: ctx }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.logger[level]({ ...(message as object), context: ctx });
    } else {
      this.logger[level]({ context: ctx }, String(message));
    }
  }
}
