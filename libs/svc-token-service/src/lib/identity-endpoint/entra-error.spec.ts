import { EntraError, entraErrorBody } from './entra-error';

describe(entraErrorBody.name, () => {
  it("has Entra's fields, the AADSTS code first in the description, and echoes a well-formed correlation id only", () => {
    const e = new EntraError(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
    const body = entraErrorBody(e, '0f5a7d1e-1111-4222-8333-944455556666', new Date('2026-01-02T03:04:05.678Z'));
    expect(body).toMatchObject({
      error: 'invalid_client',
      error_codes: [7000215],
      timestamp: '2026-01-02 03:04:05Z',
      correlation_id: '0f5a7d1e-1111-4222-8333-944455556666',
    });
    expect(body.error_description).toMatch(/^AADSTS7000215: Invalid client secret provided\. Trace ID: [0-9a-f-]{36} Correlation ID: 0f5a7d1e-1111-4222-8333-944455556666 Timestamp: 2026-01-02 03:04:05Z$/);
    expect(entraErrorBody(e, 'not a guid\r\n').correlation_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4/);
  });
});
