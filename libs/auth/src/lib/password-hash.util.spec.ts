import { hashSecret, verifySecret } from './password-hash.util';

describe('secret hashing', () => {
  it('verifies the right secret and refuses a wrong or malformed one', async () => {
    const stored = await hashSecret('correct horse battery staple');
    expect(stored).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(stored).not.toContain('correct horse');
    await expect(verifySecret('correct horse battery staple', stored)).resolves.toBe(true);
    await expect(verifySecret('correct horse battery stapl', stored)).resolves.toBe(false);
    await expect(verifySecret('x', 'scrypt$1$1$1$AA==$AA==')).resolves.toBe(false);
    await expect(verifySecret('x', 'plain')).resolves.toBe(false);
  });
  it('salts every hash', async () => {
    expect(await hashSecret('same')).not.toEqual(await hashSecret('same'));
  });
});
