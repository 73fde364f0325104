import { MAX_MANIFEST_BYTES, MediaTypes } from '@berth/oci';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { badRequest } from '../arm/arm-error';

/** Where an import reads from. */
export interface ImageSource {
  /** The manifest bytes and media type for a tag or digest; 400 ImportSourceNotFound when absent. */
  manifest(reference: string): Promise<{ bytes: Buffer; mediaType: string }>;
  /** The blob's bytes (the target store verifies the digest while storing). */
  blob(digest: string): Promise<Readable>;
}

const ACCEPT = [
  MediaTypes.OciManifest,
  MediaTypes.OciIndex,
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');
const MANIFEST_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 5;

/**
 * Any OCI registry over HTTP(S) as a client would pull: the distribution API, following a Bearer-token challenge
 * (token from the realm, with the given credentials as Basic) or a Basic challenge. `registryUri` is a host[:port]
 * (https, or http for loopback hosts) or a full `http(s)://` base URL; `docker.io` means Docker Hub.
 */
export class OciSource implements ImageSource {
  /** The registry's base URL (`scheme://host[:port]`). */
  readonly base: string;
  private readonly repository: string;
  private authorization?: string;

  /**
   * `vet` refuses a URL the server must not call (the SSRF guard); it sees every URL before it is fetched, the
   * registry's, its token realm's and every redirect's.
   */
  constructor(
    registryUri: string,
    repository: string,
    private readonly vet: (url: string) => Promise<void>,
    private readonly credentials?: { username?: string; password: string },
  ) {
    let uri = registryUri.trim().replace(/\/+$/, '');
    if (!/^https?:\/\//i.test(uri)) {
      const host = uri.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
      uri = `${host === 'localhost' || host === '127.0.0.1' || host === '::1' ? 'http' : 'https'}://${uri}`;
    }
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw badRequest('InvalidParameter', `'${registryUri}' is not a registry host or URL.`, 'source.registryUri');
    }
    const dockerHub = url.hostname === 'docker.io' || url.hostname === 'index.docker.io';
    this.base = dockerHub ? 'https://registry-1.docker.io' : `${url.protocol}//${url.host}`;
    this.repository = dockerHub && !repository.includes('/') ? `library/${repository}` : repository;
  }

  async manifest(reference: string): Promise<{ bytes: Buffer; mediaType: string }> {
    const res = await this.get(
      `/v2/${this.repository}/manifests/${reference}`,
      { accept: ACCEPT },
      AbortSignal.timeout(MANIFEST_TIMEOUT_MS),
    );
    if (res.status === 404) {
      throw badRequest(
        'ImportSourceNotFound',
        `The source image '${this.repository}:${reference}' was not found.`,
        'source.sourceImage',
      );
    }
    if (!res.ok) throw new Error(`the source registry answered ${res.status} for the manifest`);
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > MAX_MANIFEST_BYTES) throw new Error('the source manifest is larger than 4 MiB');
    const bytes = Buffer.from(await res.arrayBuffer());
    if (bytes.length > MAX_MANIFEST_BYTES) throw new Error('the source manifest is larger than 4 MiB');
    return { bytes, mediaType: (res.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '' };
  }

  async blob(digest: string): Promise<Readable> {
    const res = await this.get(`/v2/${this.repository}/blobs/${digest}`, {});
    if (!res.ok || !res.body) throw new Error(`the source registry answered ${res.status} for blob ${digest}`);
    return Readable.fromWeb(res.body as unknown as WebReadableStream);
  }

  private async get(path: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    const send = (): Promise<Response> =>
      this.fetchVetted(
        `${this.base}${path}`,
        { ...headers, ...(this.authorization ? { authorization: this.authorization } : {}) },
        signal,
      );
    let res = await send();
    if (res.status !== 401) return res;
    const challenge = res.headers.get('www-authenticate') ?? '';
    await res.arrayBuffer().catch(() => undefined);
    if (/^bearer\s/i.test(challenge)) this.authorization = `Bearer ${await this.token(challenge)}`;
    else if (/^basic\s/i.test(challenge) && this.credentials) this.authorization = this.basic();
    else
      throw badRequest(
        'ImportSourceUnauthorized',
        'The source registry refused the request; give source.credentials.',
        'source.credentials',
      );
    res = await send();
    if (res.status === 401 || res.status === 403) {
      throw badRequest(
        'ImportSourceUnauthorized',
        'The source registry refused the credentials.',
        'source.credentials',
      );
    }
    return res;
  }

  /** A token from the challenge's realm for pull on the repository. */
  private async token(challenge: string): Promise<string> {
    const params = Object.fromEntries(
      [...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]?.toLowerCase(), m[2]]),
    );
    const realm = params['realm'];
    if (!realm) throw new Error('the source registry sent a Bearer challenge without a realm');
    const url = new URL(realm, this.base);
    if (params['service']) url.searchParams.set('service', params['service']);
    url.searchParams.set('scope', params['scope'] ?? `repository:${this.repository}:pull`);
    const res = await this.fetchVetted(
      url.toString(),
      this.credentials ? { authorization: this.basic() } : {},
      AbortSignal.timeout(MANIFEST_TIMEOUT_MS),
    );
    if (res.status === 401 || res.status === 403) {
      throw badRequest(
        'ImportSourceUnauthorized',
        'The source registry refused the credentials.',
        'source.credentials',
      );
    }
    if (!res.ok) throw new Error(`the source registry's token endpoint answered ${res.status}`);
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new Error("the source registry's token endpoint returned no token");
    return token;
  }

  /**
   * GET with every hop vetted by the SSRF guard: redirects (blob downloads often go to object storage) are followed
   * by hand, at most MAX_REDIRECTS, each target checked first, and credentials are only sent to the first origin.
   */
  private async fetchVetted(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    let target = new URL(url);
    const origin = target.origin;
    for (let hop = 0; ; hop++) {
      await this.vet(target.toString());
      const sameOrigin = target.origin === origin;
      const res = await fetch(target, {
        headers: sameOrigin
          ? headers
          : Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'authorization')),
        redirect: 'manual',
        signal,
      });
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return res;
      await res.arrayBuffer().catch(() => undefined);
      if (hop >= MAX_REDIRECTS) throw new Error('the source registry redirected too often');
      target = new URL(location, target);
    }
  }

  private basic(): string {
    return `Basic ${Buffer.from(`${this.credentials?.username ?? ''}:${this.credentials?.password ?? ''}`).toString('base64')}`;
  }
}
