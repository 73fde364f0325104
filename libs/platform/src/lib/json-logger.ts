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

/**
 * Warnings that report a library's harmless habit rather than anything an operator can act on, logged at debug.
 * `TimeoutNegativeWarning` (Node 23+): kafkajs 2.2.4 schedules its request queue's check with a negative delay on
 * every connection; Node runs such a timer after 1 ms, as earlier Node versions did without a word.
 */
const QUIET_WARNINGS = new Set(['TimeoutNegativeWarning']);

/**
 * Node prints process warnings (deprecations, experimental features, negative timer delays) to stderr as plain
 * text, which would break the one-JSON-object-per-line log. This replaces Node's printer with a JSON line on the
 * service's logger (`component: node`, the warning's name, code and message; warn level, debug for
 * QUIET_WARNINGS). When the operator switched warnings off (`--no-warnings`, `NODE_NO_WARNINGS=1`), Node
 * installed no printer and nothing changes. Returns a function that puts Node's printer back.
 */
export function routeProcessWarnings(logger: Logger, proc: NodeJS.Process = process): () => void {
  const nodePrinters = proc.listeners('warning').filter((listener) => listener.name === 'onWarning');
  if (nodePrinters.length === 0) return () => undefined;
  for (const printer of nodePrinters) proc.removeListener('warning', printer);
  const log = logger.child({ component: 'node' });
  const onWarning = (warning: Error & { code?: unknown }): void => {
    const fields = { warning: { name: warning.name, code: typeof warning.code === 'string' ? warning.code : undefined, message: warning.message } };
    if (QUIET_WARNINGS.has(warning.name)) log.debug(fields, 'process warning');
    else log.warn(fields, 'process warning');
  };
  proc.on('warning', onWarning);
  return () => {
    proc.removeListener('warning', onWarning);
    for (const printer of nodePrinters) proc.on('warning', printer);
  };
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
