import { randomUUID } from 'node:crypto';

/** Entra ID's OAuth2 error codes (`error`) used here. */
export type EntraErrorCode = 'invalid_request' | 'invalid_client' | 'unauthorized_client' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_scope' | 'invalid_resource' | 'invalid_tenant';

/**
 * An error of the identity endpoint, rendered in Entra's shape
 * `{error, error_description, error_codes, timestamp, trace_id, correlation_id}` (AADSTS codes as Entra uses them).
 */
export class EntraError extends Error {
  constructor(
    readonly status: 400 | 401,
    readonly error: EntraErrorCode,
    /** The AADSTS number, e.g. 7000215 (invalid client secret). */
    readonly aadsts: number,
    readonly description: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(description);
    this.name = new.target.name;
  }
}

export interface EntraErrorBody {
  error: EntraErrorCode;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
}

/** The body for an EntraError; `correlationId` echoes the client's `client-request-id` when it sent one. */
export function entraErrorBody(e: EntraError, correlationId: string | undefined, now = new Date()): EntraErrorBody {
  const traceId = randomUUID();
  const correlation = correlationId && /^[0-9a-f-]{36}$/i.test(correlationId) ? correlationId : randomUUID();
  const timestamp = `${now.toISOString().slice(0, 19).replace('T', ' ')}Z`;
  return {
    error: e.error,
    error_description: `AADSTS${e.aadsts}: ${e.description} Trace ID: ${traceId} Correlation ID: ${correlation} Timestamp: ${timestamp}`,
    error_codes: [e.aadsts],
    timestamp,
    trace_id: traceId,
    correlation_id: correlation,
  };
}
