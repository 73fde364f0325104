import { unixSocketDirFor } from './embedded-postgres.launcher';

describe('unixSocketDirFor', () => {
  it('puts the socket in the data folder when <dataDir>/.s.PGSQL.<port> fits 107 bytes', () => {
    expect(unixSocketDirFor('/var/lib/berth/postgres', 5432)).toBe('/var/lib/berth/postgres');
    const longest = `/${'a'.repeat(107 - '/'.length - '/.s.PGSQL.65535'.length)}`;
    expect(Buffer.byteLength(`${longest}/.s.PGSQL.65535`)).toBe(107);
    expect(unixSocketDirFor(longest, 65535)).toBe(longest);
  });

  it('gives no socket (TCP only) for a longer path, counted in bytes, or a name unix_socket_directories would need quoted', () => {
    expect(unixSocketDirFor(`/${'a'.repeat(92)}`, 65535)).toBeUndefined();
    expect(unixSocketDirFor(`/${'é'.repeat(46)}`, 65535)).toBeUndefined(); // 92 bytes in UTF-8
    expect(unixSocketDirFor('/data/a,b/postgres', 5432)).toBeUndefined();
    expect(unixSocketDirFor('/data/my data/postgres', 5432)).toBeUndefined();
    expect(unixSocketDirFor('/data/"q"/postgres', 5432)).toBeUndefined();
  });
});
