import { OCI_ERROR_CODES, OCI_ERROR_STATUS, RegistryError, ociErrorBody, unknownErrorBody } from './errors';

describe(RegistryError.name, () => {
  it('takes its status from the table unless told otherwise', () => {
    expect(new RegistryError('BLOB_UNKNOWN', 'x').status).toBe(404);
    expect(new RegistryError('MANIFEST_INVALID', 'too big', undefined, 413).status).toBe(413);
  });
  it('renders the spec body with a null detail when absent', () => {
    expect(ociErrorBody(new RegistryError('DENIED', 'no'))).toEqual({
      errors: [{ code: 'DENIED', message: 'no', detail: null }],
    });
  });
  it('maps every spec code to a 4xx/5xx status', () => {
    for (const code of OCI_ERROR_CODES) expect(OCI_ERROR_STATUS[code]).toBeGreaterThanOrEqual(400);
    expect(OCI_ERROR_CODES).toEqual(expect.arrayContaining(['TOOMANYREQUESTS', 'UNAVAILABLE', 'NAME_UNKNOWN']));
  });
  it('hides internals of unknown errors', () => {
    expect(unknownErrorBody('id-1')).toEqual({ errors: [{ code: 'UNKNOWN', message: 'internal error', detail: { errorId: 'id-1' } }] });
  });
});
