import { DiagLogLevel } from '@opentelemetry/api';

const LEVELS: Record<string, DiagLogLevel> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

/** OTEL_LOG_LEVEL as a DiagLogLevel: `warn` when unset or not a level's name. */
export function otelLogLevel(env: NodeJS.ProcessEnv): DiagLogLevel {
  return LEVELS[(env['OTEL_LOG_LEVEL'] ?? 'warn').toLowerCase()] ?? DiagLogLevel.WARN;
}
