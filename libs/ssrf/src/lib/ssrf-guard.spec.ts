import {
  assertAllowedDestination,
  blockedReason,
  embeddedIPv4,
  ipv6Bytes,
  PrivateAllowList,
  SsrfGuard,
  SsrfRefusedError,
  type HostResolver,
} from './ssrf-guard';

const resolver =
  (table: Record<string, string[]>): HostResolver =>
  (host) => {
    const addresses = table[host];
    if (!addresses) return Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }));
    return Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  };

describe('blockedReason', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'reserved/broadcast'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fc00::1', 'unique local (private)'],
    ['fd12:3456::1', 'unique local (private)'],
    ['ff02::1', 'multicast'],
  ])('refuses %s (%s)', (address, reason) => {
    expect(blockedReason(address)).toBe(reason);
  });

  it.each([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local (cloud metadata)'],
    ['::ffff:a00:1', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['2002:a9fe:a9fe::1', 'link-local (cloud metadata)'],
  ])('refuses the IPv4-embedding IPv6 address %s', (address, reason) => {
    expect(blockedReason(address)).toBe(`${reason} (IPv4 embedded in IPv6)`);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '169.255.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'accepts the public address %s',
    (address) => {
      expect(blockedReason(address)).toBeUndefined();
    },
  );

  it('treats non-addresses as refused', () => {
    expect(blockedReason('example.com')).toBe('not an IP address');
  });
});

describe('ipv6Bytes / embeddedIPv4', () => {
  it('expands compressed and dotted forms', () => {
    expect(ipv6Bytes('::1')).toEqual([...Array<number>(15).fill(0), 1]);
    expect(ipv6Bytes('::ffff:1.2.3.4')?.slice(10)).toEqual([0xff, 0xff, 1, 2, 3, 4]);
    expect(ipv6Bytes('1::')).toEqual([0, 1, ...Array<number>(14).fill(0)]);
    expect(ipv6Bytes('not-ip')).toBeUndefined();
  });
  it('extracts embedded IPv4 addresses only where the prefix embeds one', () => {
    expect(embeddedIPv4('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(embeddedIPv4('::1')).toBeUndefined();
    expect(embeddedIPv4('2606:4700::1')).toBeUndefined();
  });
});

describe('PrivateAllowList', () => {
  const allow = new PrivateAllowList([
    '127.0.0.1/32',
    '10.1.0.0/16',
    'fd00::/8',
    '192.168.5.5',
    'hooks.internal',
    '*.corp.example',
  ]);
  it('matches CIDRs, single addresses, mapped forms and host names', () => {
    expect(allow.allowsAddress('127.0.0.1')).toBe(true);
    expect(allow.allowsAddress('127.0.0.2')).toBe(false);
    expect(allow.allowsAddress('10.1.200.3')).toBe(true);
    expect(allow.allowsAddress('10.2.0.1')).toBe(false);
    expect(allow.allowsAddress('fd00::5')).toBe(true);
    expect(allow.allowsAddress('192.168.5.5')).toBe(true);
    expect(allow.allowsAddress('::ffff:127.0.0.1')).toBe(true);
    expect(allow.allowsHost('HOOKS.internal')).toBe(true);
    expect(allow.allowsHost('a.b.corp.example')).toBe(true);
    expect(allow.allowsHost('corp.example.evil')).toBe(false);
  });
  it('rejects malformed entries', () => {
    expect(() => new PrivateAllowList(['10.0.0.0/33'])).toThrow(/prefix/);
    expect(() => new PrivateAllowList(['bad host!'])).toThrow(/neither/);
  });
});

describe('SsrfGuard', () => {
  const dns = resolver({
    'hooks.example.com': ['93.184.216.34'],
    'rebind.example.com': ['93.184.216.34', '10.0.0.7'],
    'internal.example.com': ['10.0.0.8'],
    'v6only.example.com': ['::1'],
    localhost: ['127.0.0.1', '::1'],
    'hooks.internal': ['10.9.9.9'],
  });
  const guard = new SsrfGuard([], dns);

  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.1/',
    'http://localhost/',
    'http://127.0.0.1:8080/x',
    'http://[::1]/',
    'http://[fe80::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:169.254.169.254]/',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://0177.0.0.1/',
    'http://0x7f000001/',
    'http://017700000001/',
    'http://127.1/',
    'http://0/',
    'http://internal.example.com/',
    'http://rebind.example.com/',
    'http://v6only.example.com/',
    'http://100.64.1.1/',
    'http://[fd00::1]/',
  ])('refuses %s', async (uri) => {
    await expect(guard.vet(uri)).rejects.toThrow(SsrfRefusedError);
  });

  it('relies on the WHATWG URL parser normalising numeric hosts', () => {
    expect(new URL('http://2130706433/').hostname).toBe('127.0.0.1');
    expect(new URL('http://0x7f.1/').hostname).toBe('127.0.0.1');
    expect(new URL('http://0177.0.0.1/').hostname).toBe('127.0.0.1');
    expect(new URL('http://[::ffff:127.0.0.1]/').hostname).toBe('[::ffff:7f00:1]');
  });

  it('names the metadata address in the refusal', async () => {
    await expect(guard.vet('http://169.254.169.254/')).rejects.toThrow(
      /SSRF protection: 169\.254\.169\.254 resolves to 169\.254\.169\.254, a link-local/,
    );
  });

  it('refuses other schemes, bad URLs and unresolvable names (the latter as retryable)', async () => {
    await expect(guard.vet('ftp://hooks.example.com/')).rejects.toThrow(/scheme/);
    await expect(guard.vet('file:///etc/passwd')).rejects.toThrow(/scheme/);
    await expect(guard.vet('not a url')).rejects.toThrow(/valid URL/);
    const err = await guard.vet('http://nowhere.example.com/').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SsrfRefusedError);
    expect((err as SsrfRefusedError).retryable).toBe(true);
    const policy = await guard.vet('http://10.0.0.1/').catch((e: unknown) => e);
    expect((policy as SsrfRefusedError).retryable).toBe(false);
  });

  it('resolves public hosts and returns the address to connect to', async () => {
    const t = await guard.vet('https://hooks.example.com:8443/path?q=1');
    expect(t).toMatchObject({ host: 'hooks.example.com', address: '93.184.216.34', family: 4 });
    expect(t.url.port).toBe('8443');
    await expect(guard.vet('http://[2606:4700:4700::1111]/')).resolves.toMatchObject({
      address: '2606:4700:4700::1111',
      family: 6,
    });
  });

  it('lets the allow-list open addresses and host names', async () => {
    const open = new SsrfGuard(['127.0.0.1/32', 'hooks.internal'], dns);
    await expect(open.vet('http://127.0.0.1:9000/')).resolves.toMatchObject({ address: '127.0.0.1' });
    await expect(open.vet('http://2130706433/')).resolves.toMatchObject({ address: '127.0.0.1' });
    await expect(open.vet('http://hooks.internal/')).resolves.toMatchObject({ address: '10.9.9.9' });
    await expect(open.vet('http://localhost/')).rejects.toThrow(/::1/);
    await expect(open.vet('http://10.0.0.1/')).rejects.toThrow(SsrfRefusedError);
    await expect(open.vet('http://169.254.169.254/')).rejects.toThrow(SsrfRefusedError);
  });

  it('uses the real resolver for localhost', async () => {
    await expect(new SsrfGuard([]).vet('http://localhost/')).rejects.toThrow(/loopback/);
  });
});

describe('assertAllowedDestination', () => {
  const dns = resolver({ 'hooks.example.com': ['93.184.216.34'], 'loop.example.com': ['127.0.0.1'] });
  const refusal = (url: string, allow: string[] = []) =>
    assertAllowedDestination(url, allow, dns).then(
      () => undefined,
      (e: unknown) => e as SsrfRefusedError,
    );

  it('resolves for a public destination', async () => {
    await expect(assertAllowedDestination('https://hooks.example.com/h', [], dns)).resolves.toBeUndefined();
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', 'blocked-address', '169.254.169.254'],
    ['http://10.0.0.1/', 'blocked-address', '10.0.0.1'],
    ['http://loop.example.com:8080/', 'blocked-address', '127.0.0.1'],
  ])('refuses %s with reason %s', async (url, reason, address) => {
    const err = await refusal(url);
    expect(err).toBeInstanceOf(SsrfRefusedError);
    expect(err).toMatchObject({ reason, address, retryable: false });
  });

  it('gives a reason for malformed URLs and unresolvable names', async () => {
    expect((await refusal('nope'))?.reason).toBe('invalid-url');
    expect((await refusal('gopher://hooks.example.com/'))?.reason).toBe('unsupported-scheme');
    expect(await refusal('http://missing.example.com/')).toMatchObject({
      reason: 'unresolvable-host',
      retryable: true,
    });
  });

  it('honours the allow-list', async () => {
    await expect(assertAllowedDestination('http://loop.example.com/', ['127.0.0.1/32'], dns)).resolves.toBeUndefined();
    expect((await refusal('http://10.0.0.1/', ['127.0.0.1/32']))?.reason).toBe('blocked-address');
  });
});
