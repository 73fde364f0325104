/**
 * The registry error table: every error code Berth answers on the OCI/Docker data plane, with the HTTP
 * status that distribution pairs with it. This is the only place codes and statuses are decided; the
 * wire format (`{"errors":[{code,message,detail}]}`) is rendered at the edge by the frontend's filter.
 */
export const OCI_ERROR_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 404,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  MANIFEST_UNVERIFIED: 400,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  TAG_INVALID: 400,
  RANGE_INVALID: 416,
  PAGINATION_NUMBER_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  UNAVAILABLE: 503,
  UNKNOWN: 500,
} as const;

export type OciErrorCode = keyof typeof OCI_ERROR_STATUS;

export const OCI_ERROR_CODES = Object.keys(OCI_ERROR_STATUS) as OciErrorCode[];

/** A failure the data plane reports to clients with a spec error code. Services throw these, never HTTP exceptions. */
export class RegistryError extends Error {
  constructor(
    readonly code: OciErrorCode,
    message: string,
    readonly detail?: unknown,
    /** Overrides the table's status where the spec asks for another (e.g. 413 for an oversize manifest). */
    readonly status: number = OCI_ERROR_STATUS[code],
    /** Response headers the error carries (`WWW-Authenticate` on 401, `Retry-After` on 429). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The body the spec defines for an error response. */
export interface OciErrorBody {
  errors: Array<{ code: OciErrorCode; message: string; detail: unknown }>;
}

export function ociErrorBody(err: RegistryError): OciErrorBody {
  return { errors: [{ code: err.code, message: err.message, detail: err.detail ?? null }] };
}

/** Returned for any failure that is not a RegistryError: no internals, only an id to find it in the logs. */
export function unknownErrorBody(errorId: string): OciErrorBody {
  return { errors: [{ code: 'UNKNOWN', message: 'internal error', detail: { errorId } }] };
}
