import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Why a destination was refused; stable, for API error mapping and tests. */
export type SsrfRefusalReason =
  /** Not a parseable absolute URL. */
  | 'invalid-url'
  /** Not http: or https:. */
  | 'unsupported-scheme'
  /** The URL has no host. */
  | 'missing-host'
  /** The host name did not resolve (may succeed later: `retryable`). */
  | 'unresolvable-host'
  /** The host name resolved to no address. */
  | 'no-addresses'
  /** An address the host resolves to is loopback, link-local, private, metadata, ... and not allowed. */
  | 'blocked-address';

/** A destination refused before any connection: a private address, a bad URL, or a name that does not resolve. */
export class SsrfRefusedError extends Error {
  constructor(
    /** A sentence safe to show to the API caller (it names the host and address, never URL credentials). */
    message: string,
    readonly reason: SsrfRefusalReason,
    /** The refused address, for `blocked-address`. */
    readonly address?: string,
    /** True when trying again later may succeed (the name did not resolve); policy refusals are final. */
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'SsrfRefusedError';
  }
}

/** A webhook URL whose host was resolved and vetted: connect to `address` only. */
export interface VettedTarget {
  readonly url: URL;
  /** The URL's host name without IPv6 brackets (TLS `servername`, `Host` header). */
  readonly host: string;
  /** The vetted address to connect to. */
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to every address it has (node:dns `lookup` with `all: true` by default). */
export type HostResolver = (host: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

const defaultResolver: HostResolver = (host) => lookup(host, { all: true, verbatim: true });

/** Why an address is refused, by range (IANA special-purpose registries). */
const BLOCKED_V4: ReadonlyArray<[string, number, string]> = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved/broadcast'],
];
const BLOCKED_V6: ReadonlyArray<[string, number, string]> = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['fc00::', 7, 'unique local (private)'],
  ['ff00::', 8, 'multicast'],
];

/** Expands an IPv6 literal (with `::`, an embedded dotted quad or a zone id) to its 16 bytes; undefined if invalid. */
export function ipv6Bytes(address: string): number[] | undefined {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIP(bare) !== 6) return undefined;
  let text = bare;
  const tail: number[] = [];
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    tail.push(...quad.slice(1, 5).map(Number));
    text = text.slice(0, quad.index) + '0:0';
  }
  const [head = '', rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - headGroups.length - restGroups.length;
  const groups = rest === undefined ? headGroups : [...headGroups, ...Array<string>(missing).fill('0'), ...restGroups];
  if (groups.length !== 8) return undefined;
  const bytes = groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

/**
 * The IPv4 address an IPv6 address stands for, when it embeds one: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
 * (`::a.b.c.d`, deprecated), NAT64 (`64:ff9b::a.b.c.d`) and 6to4 (`2002:AABB:CCDD::`). Those reach the IPv4 host.
 */
export function embeddedIPv4(address: string): string | undefined {
  const b = ipv6Bytes(address);
  if (!b) return undefined;
  const quad = (from: number) => b.slice(from, from + 4).join('.');
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return quad(12);
  if (zeros(0, 12) && !zeros(12, 16) && !(zeros(12, 15) && b[15] === 1)) return quad(12);
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return quad(12);
  if (b[0] === 0x20 && b[1] === 0x02) return quad(2);
  return undefined;
}

function blockList(ranges: ReadonlyArray<[string, number, string]>, type: 'ipv4' | 'ipv6'): Array<[BlockList, string]> {
  return ranges.map(([net, prefix, reason]) => {
    const list = new BlockList();
    list.addSubnet(net, prefix, type);
    return [list, reason];
  });
}

const V4_RULES = blockList(BLOCKED_V4, 'ipv4');
const V6_RULES = blockList(BLOCKED_V6, 'ipv6');

/** Why `address` is not a public unicast address, or undefined when it is. Pure. */
export function blockedReason(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return V4_RULES.find(([list]) => list.check(bare, 'ipv4'))?.[1];
  if (family === 6) {
    const v4 = embeddedIPv4(bare);
    if (v4 !== undefined) {
      const inner = blockedReason(v4);
      return inner === undefined ? undefined : `${inner} (IPv4 embedded in IPv6)`;
    }
    return V6_RULES.find(([list]) => list.check(bare, 'ipv6'))?.[1];
  }
  return 'not an IP address';
}

/**
 * The exceptions of BERTH_WEBHOOK_ALLOWED_PRIVATE: CIDRs (`10.1.0.0/16`, `fd00::/8`), single addresses, host names
 * (`hooks.internal`, case-insensitive) and host-name suffixes (`*.internal`).
 */
export class PrivateAllowList {
  private readonly cidrs = new BlockList();
  private readonly hosts = new Set<string>();
  private readonly suffixes: string[] = [];

  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const entry = raw.trim().toLowerCase();
      if (!entry) continue;
      const slash = entry.indexOf('/');
      const ip = (slash < 0 ? entry : entry.slice(0, slash)).replace(/^\[|\]$/g, '');
      const family = isIP(ip);
      if (family !== 0) {
        const type = family === 4 ? 'ipv4' : 'ipv6';
        const prefix = slash < 0 ? (family === 4 ? 32 : 128) : Number(entry.slice(slash + 1));
        if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
          throw new Error(`BERTH_WEBHOOK_ALLOWED_PRIVATE: invalid prefix length in ${JSON.stringify(raw)}`);
        }
        this.cidrs.addSubnet(ip, prefix, type);
      } else if (entry.startsWith('*.')) {
        this.suffixes.push(entry.slice(1));
      } else if (/^[a-z0-9.-]+$/.test(entry)) {
        this.hosts.add(entry.replace(/\.$/, ''));
      } else {
        throw new Error(`BERTH_WEBHOOK_ALLOWED_PRIVATE: ${JSON.stringify(raw)} is neither a CIDR nor a host name`);
      }
    }
  }

  allowsHost(host: string): boolean {
    const name = host.toLowerCase().replace(/\.$/, '');
    return this.hosts.has(name) || this.suffixes.some((s) => name.endsWith(s));
  }

  allowsAddress(address: string): boolean {
    const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
    const family = isIP(bare);
    if (family === 4) return this.cidrs.check(bare, 'ipv4');
    if (family !== 6) return false;
    if (this.cidrs.check(bare, 'ipv6')) return true;
    const v4 = embeddedIPv4(bare);
    return v4 !== undefined && this.cidrs.check(v4, 'ipv4');
  }
}

/**
 * Vets webhook URLs: http(s) only; the host (after WHATWG URL normalisation, which turns `2130706433` and `0x7f.1`
 * into `127.0.0.1`) is resolved once and every address must be public unicast, unless the host name or the address
 * is on the allow-list. The caller then connects to `VettedTarget.address` only (no second resolution, so a DNS
 * rebinding between check and connect cannot redirect it).
 */
export class SsrfGuard {
  private readonly allow: PrivateAllowList;

  constructor(
    allowedPrivate: readonly string[] = [],
    private readonly resolve: HostResolver = defaultResolver,
  ) {
    this.allow = new PrivateAllowList(allowedPrivate);
  }

  /** Resolves and vets `uri`; rejects with SsrfRefusedError. */
  async vet(uri: string): Promise<VettedTarget> {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new SsrfRefusedError('the service URI is not a valid URL', 'invalid-url');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new SsrfRefusedError(`the service URI scheme ${url.protocol} is not http or https`, 'unsupported-scheme');
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!host) throw new SsrfRefusedError('the service URI has no host', 'missing-host');
    let addresses: ReadonlyArray<{ address: string; family: number }>;
    if (isIP(host) !== 0) {
      addresses = [{ address: host, family: isIP(host) }];
    } else {
      try {
        addresses = await this.resolve(host);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        throw new SsrfRefusedError(
          `the host ${host} could not be resolved (${typeof code === 'string' ? code : 'error'})`,
          'unresolvable-host',
          undefined,
          true,
        );
      }
    }
    if (addresses.length === 0) throw new SsrfRefusedError(`the host ${host} has no addresses`, 'no-addresses');
    const hostAllowed = this.allow.allowsHost(host);
    for (const { address } of addresses) {
      const reason = blockedReason(address);
      if (reason !== undefined && !hostAllowed && !this.allow.allowsAddress(address)) {
        throw new SsrfRefusedError(
          `SSRF protection: ${host} resolves to ${address}, a ${reason} address; ` +
            'allow it with BERTH_WEBHOOK_ALLOWED_PRIVATE',
          'blocked-address',
          address,
        );
      }
    }
    const chosen = addresses[0] as { address: string; family: number };
    return { url, host, address: chosen.address, family: chosen.family === 6 ? 6 : 4 };
  }
}

/**
 * Refuses a destination URL the server must not call (for the management API at webhook creation and update): the
 * same checks as delivery (`SsrfGuard.vet`), with `allowList` in BERTH_WEBHOOK_ALLOWED_PRIVATE's syntax. Resolves
 * when the URL is allowed; rejects with `SsrfRefusedError` (`reason` says why) otherwise. A name that does not
 * resolve is refused with reason `unresolvable-host` (`retryable`); callers may choose to accept it and let delivery
 * decide, since DNS can change. Never connects.
 */
export async function assertAllowedDestination(
  url: string,
  allowList: readonly string[],
  resolve: HostResolver = defaultResolver,
): Promise<void> {
  await new SsrfGuard(allowList, resolve).vet(url);
}
