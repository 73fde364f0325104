import type * as http from 'node:http';
import { header, keepAliveAgent, request, type Response } from './http';

/** A Bearer challenge (`WWW-Authenticate: Bearer realm=…,service=…,scope=…`), or undefined for any other answer. */
export function parseChallenge(res: Response): { realm: string; service?: string; scope?: string } | undefined {
  const value = header(res, 'www-authenticate');
  if (res.status !== 401 || !value || !/^bearer\s/i.test(value)) return undefined;
  const params: Record<string, string> = {};
  for (const m of value.slice(7).matchAll(/([a-z_]+)="([^"]*)"/gi)) params[(m[1] as string).toLowerCase()] = m[2] as string;
  if (!params['realm']) return undefined;
  return { realm: params['realm'], service: params['service'], scope: params['scope'] };
}

/** Refetch a token this long before it expires, so that no request carries one that lapses in flight. */
const EXPIRY_MARGIN_MS = 60_000;

/**
 * What `docker login` + `docker push/pull` do: the registry's 401 Bearer challenge names the token realm and
 * service; the realm is asked, with the Basic credentials, for a registry access token for a scope; the token is
 * sent as `Authorization: Bearer` until it is about to expire (its `expires_in`), then fetched again. One token per
 * scope (the bench asks for `repository:<repo>:pull,push`, which covers every request it makes on a repository).
 */
export class BearerAuth {
  private readonly tokens = new Map<string, { token: string; renewAt: number }>();
  private readonly pending = new Map<string, Promise<string>>();
  private challenge?: { realm: string; service?: string };
  private readonly agent: http.Agent = keepAliveAgent(8);
  /** Tokens fetched (for the report: how often the client went to the realm). */
  fetched = 0;

  constructor(
    /** http://127.0.0.1:<port> of the registry. */
    private readonly base: string,
    private readonly basic: { username: string; password: string },
  ) {}

  /** The Authorization header for requests on `repo` (a cached token, or a new one when it is due). */
  async headerFor(repo: string): Promise<string> {
    return `Bearer ${await this.token(`repository:${repo}:pull,push`)}`;
  }

  /** The cached header for `repo` if one is valid now (no I/O), for hot loops that refresh out of band. */
  cachedHeaderFor(repo: string): string | undefined {
    const hit = this.tokens.get(`repository:${repo}:pull,push`);
    return hit && Date.now() < hit.renewAt ? `Bearer ${hit.token}` : undefined;
  }

  /** After a 401 with a challenge (an expired token, another scope): forget the scope's token and fetch a new one. */
  async renew(res: Response, repo: string): Promise<string | undefined> {
    const c = parseChallenge(res);
    if (!c) return undefined;
    this.challenge = { realm: c.realm, service: c.service };
    const scope = c.scope ?? `repository:${repo}:pull,push`;
    this.tokens.delete(scope);
    return `Bearer ${await this.token(scope)}`;
  }

  close(): void {
    this.agent.destroy();
  }

  private async token(scope: string): Promise<string> {
    const hit = this.tokens.get(scope);
    if (hit && Date.now() < hit.renewAt) return hit.token;
    let p = this.pending.get(scope);
    if (!p) {
      p = this.fetch(scope).finally(() => this.pending.delete(scope));
      this.pending.set(scope, p);
    }
    return p;
  }

  private async fetch(scope: string): Promise<string> {
    if (!this.challenge) {
      const res = await request({ method: 'GET', url: new URL('/v2/', this.base), agent: this.agent });
      const c = parseChallenge(res);
      if (!c) throw new Error(`GET /v2/ without credentials: HTTP ${res.status} without a Bearer challenge`);
      this.challenge = { realm: c.realm, service: c.service };
    }
    const url = new URL(this.challenge.realm);
    if (this.challenge.service) url.searchParams.set('service', this.challenge.service);
    url.searchParams.set('scope', scope);
    const basic = Buffer.from(`${this.basic.username}:${this.basic.password}`).toString('base64');
    const res = await request({ method: 'GET', url, agent: this.agent, headers: { Authorization: `Basic ${basic}` } });
    if (res.status !== 200) throw new Error(`token realm ${url.origin}${url.pathname}: HTTP ${res.status}: ${res.body.toString('utf8').slice(0, 300)}`);
    const body = JSON.parse(res.body.toString('utf8')) as { access_token?: string; token?: string; expires_in?: number };
    const token = body.access_token ?? body.token;
    if (!token) throw new Error(`token realm ${url.origin}${url.pathname}: no access_token in the answer`);
    // Docker's default when expires_in is absent is 60 s.
    const lifetimeMs = (body.expires_in ?? 60) * 1000;
    this.tokens.set(scope, { token, renewAt: Date.now() + Math.max(lifetimeMs / 2, lifetimeMs - EXPIRY_MARGIN_MS) });
    this.fetched++;
    return token;
  }
}
