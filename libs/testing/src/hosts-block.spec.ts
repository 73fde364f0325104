import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
const hosts = require('./hosts-block') as {
  BEGIN: string;
  END: string;
  renderHostsBlock(existing: string, names: string[], suffix: string): string;
  applyHostsBlock(file: string, names: string[], suffix: string): boolean;
};

describe('the managed /etc/hosts block', () => {
  const base = '127.0.0.1 localhost\n::1 localhost\n';

  it('appends one block naming each registry on IPv4 loopback', () => {
    const out = hosts.renderHostsBlock(base, ['default', 'x'], 'berth.localhost');
    expect(out).toBe(`${base}${hosts.BEGIN}\n127.0.0.1 default.berth.localhost x.berth.localhost\n${hosts.END}\n`);
  });

  it('replaces its own block instead of adding another and leaves other lines alone', () => {
    const once = hosts.renderHostsBlock(`${base}10.0.0.5 db\n`, ['a'], 's');
    const twice = hosts.renderHostsBlock(`${once}192.168.1.1 later\n`, ['b'], 's');
    expect(twice.split(hosts.BEGIN)).toHaveLength(2);
    expect(twice).toContain('10.0.0.5 db');
    expect(twice).toContain('192.168.1.1 later');
    expect(twice).toContain('127.0.0.1 b.s');
    expect(twice).not.toContain('a.s');
  });

  it('writes a file only when the block differs, and reports a file it cannot read', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hosts-'));
    const file = path.join(dir, 'hosts');
    writeFileSync(file, base);
    expect(hosts.applyHostsBlock(file, ['r'], 's')).toBe(true);
    const first = readFileSync(file, 'utf8');
    expect(hosts.applyHostsBlock(file, ['r'], 's')).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(first);
    expect(hosts.applyHostsBlock(path.join(dir, 'missing'), ['r'], 's')).toBe(false);
  });
});
