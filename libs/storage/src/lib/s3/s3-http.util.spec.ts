import { classifyS3Error, describeError } from './s3-http.util';

describe(classifyS3Error.name, () => {
  const withCode = (code: string, message = code): Error => Object.assign(new Error(message), { code });

  it.each([
    ['ECONNRESET', 'transient'],
    ['SlowDown', 'transient'],
    ['XMinioServerNotInitialized', 'transient'],
    ['ECONNREFUSED', 'unavailable'],
    ['ETIMEDOUT', 'unavailable'],
    ['NoSuchBucket', 'unavailable'],
    ['SignatureDoesNotMatch', 'unavailable'],
    ['NoSuchKey', 'other'],
    ['InvalidRange', 'other'],
  ])('should classify %s as %s', (code, kind) => {
    expect(classifyS3Error(withCode(code))).toBe(kind);
  });

  it('should treat a hung-up socket as transient and anything else as other', () => {
    expect(classifyS3Error(new Error('socket hang up'))).toBe('transient');
    expect(classifyS3Error(new Error('boom'))).toBe('other');
    expect(classifyS3Error('boom')).toBe('other');
  });

  it('should describe errors with their code, shortened', () => {
    expect(describeError(withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'))).toBe(
      'connect ECONNREFUSED 127.0.0.1:1',
    );
    expect(describeError(withCode('NoSuchBucket', 'The specified bucket does not exist'))).toBe(
      'NoSuchBucket: The specified bucket does not exist',
    );
    expect(describeError(new Error('x'.repeat(500))).length).toBeLessThanOrEqual(301);
  });
});
