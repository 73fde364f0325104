import { basicCredentials } from './request-input.util';

describe('basicCredentials', () => {
  const enc = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
  it('splits at the first colon, so passwords may contain colons', () => {
    expect(basicCredentials(enc('user:pa:ss'))).toEqual({ username: 'user', password: 'pa:ss' });
    expect(basicCredentials(enc('user:'))).toEqual({ username: 'user', password: '' });
    expect(basicCredentials(`basic ${Buffer.from('u:p').toString('base64')}`)).toEqual({ username: 'u', password: 'p' });
  });
  it('ignores other schemes and malformed values', () => {
    expect(basicCredentials(undefined)).toBeUndefined();
    expect(basicCredentials('Bearer abc')).toBeUndefined();
    expect(basicCredentials(enc('no-colon'))).toBeUndefined();
    expect(basicCredentials('Basic !!!')).toBeUndefined();
  });
});
