import { assertRepositoryName, assertTag, isRepositoryName, isTag } from './names';
import { RegistryError } from './errors';

describe('repository names', () => {
  it.each(['library/alpine', 'a', 'a0/b_c/d__e/f-g/h--i', 'x.y.z', 'team/app.v2'])('accepts %s', (n) =>
    expect(isRepositoryName(n)).toBe(true),
  );
  it.each([
    '',
    '../etc/passwd',
    'a/../b',
    'A/b',
    '/a',
    'a/',
    'a//b',
    'a___b',
    '-a',
    'a-',
    'a.',
    'a/b:c',
    'a'.repeat(256),
  ])('refuses %j with NAME_INVALID', (n) => {
    expect(isRepositoryName(n)).toBe(false);
    expect(() => assertRepositoryName(n)).toThrow(RegistryError);
    try {
      assertRepositoryName(n);
    } catch (e) {
      expect((e as RegistryError).code).toBe('NAME_INVALID');
      expect((e as RegistryError).status).toBe(400);
    }
  });
  it('accepts a name of exactly the maximum length', () => {
    const n = `${'a'.repeat(127)}/${'b'.repeat(127)}`;
    expect(n.length).toBe(255);
    expect(isRepositoryName(n)).toBe(true);
  });
});

describe('tags', () => {
  it.each(['latest', 'v1.2.3', '_x', 'A-b_c.d', 'a'.repeat(128)])('accepts %s', (t) => expect(isTag(t)).toBe(true));
  it.each(['', '.a', '-a', 'a/b', 'a:b', 'a'.repeat(129)])('refuses %j with TAG_INVALID', (t) => {
    expect(isTag(t)).toBe(false);
    expect(() => assertTag(t)).toThrow(expect.objectContaining({ code: 'TAG_INVALID' }));
  });
});
