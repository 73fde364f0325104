import type * as http from 'node:http';
import type { BearerAuth } from './auth';
import { BodyCheck, type BlobSpec } from './data';
import { header, request, resolveLocation, type Payload, type RequestOptions, type Response } from './http';

/**
 * The OCI distribution API over raw HTTP/1.1 with keep-alive agents, the same requests for every registry
 * (distribution-spec v1.1 "Pushing blobs", "Pushing manifests", "Pulling blobs"). Every call checks the status
 * and the digest headers the spec requires and throws with the answer otherwise. With `auth` (Berth), every request
 * carries a registry access token for its repository, fetched from the challenge's realm as docker does.
 */
export class RegistryClient {
  constructor(
    /** http://127.0.0.1:<port> */
    readonly base: string,
    private readonly agent: http.Agent,
    private readonly auth?: BearerAuth,
  ) {}

  /** One request on `repo`: with a Bearer token when the registry needs one, fetched again once after a 401 challenge. */
  private async send(repo: string, opts: Omit<RequestOptions, 'agent'>): Promise<Response> {
    if (!this.auth) return request({ ...opts, agent: this.agent });
    const authorization = await this.auth.headerFor(repo);
    const res = await request({ ...opts, agent: this.agent, headers: { ...opts.headers, Authorization: authorization } });
    if (res.status !== 401) return res;
    const renewed = await this.auth.renew(res, repo);
    return renewed ? request({ ...opts, agent: this.agent, headers: { ...opts.headers, Authorization: renewed } }) : res;
  }

  /** The Authorization header for `repo` (undefined without auth), e.g. for a pull that follows redirects itself. */
  authorization(repo: string): Promise<string | undefined> {
    return this.auth ? this.auth.headerFor(repo) : Promise.resolve(undefined);
  }

  /** POST /v2/<repo>/blobs/uploads/ → the session's upload URL. */
  async startUpload(repo: string): Promise<URL> {
    const res = await this.call(repo, 'POST', `/v2/${repo}/blobs/uploads/`, { 'Content-Length': 0 });
    expectStatus(res, 202, `POST /v2/${repo}/blobs/uploads/`);
    return this.location(res);
  }

  /** POST, then one PUT `?digest=` carrying the whole blob (the "monolithic" POST-PUT upload). */
  async pushMonolithic(repo: string, blob: BlobSpec): Promise<void> {
    const upload = await this.startUpload(repo);
    await this.finish(repo, upload, blob, { seed: blob.seed, start: 0, end: blob.size });
  }

  /** POST, then PATCHes of `chunkSize` with `Content-Range`, then an empty PUT `?digest=`. */
  async pushChunked(repo: string, blob: BlobSpec, chunkSize: number): Promise<number> {
    let upload = await this.startUpload(repo);
    let chunks = 0;
    for (let start = 0; start < blob.size; start += chunkSize) {
      const end = Math.min(blob.size, start + chunkSize);
      const res = await this.send(repo, {
        method: 'PATCH',
        url: upload,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${start}-${end - 1}` },
        body: { seed: blob.seed, start, end },
      });
      expectStatus(res, 202, `PATCH chunk ${start}-${end - 1}`);
      const range = header(res, 'range');
      if (range !== `0-${end - 1}`) throw new Error(`PATCH chunk ${start}-${end - 1}: Range ${String(range)}, expected 0-${end - 1}`);
      upload = this.location(res);
      chunks++;
    }
    await this.finish(repo, upload, blob, undefined);
    return chunks;
  }

  /** Monolithic push of a blob held in memory. */
  async pushBytes(repo: string, digest: string, bytes: Buffer): Promise<void> {
    const upload = await this.startUpload(repo);
    const url = resolveLocation(this.base, upload.toString(), { digest });
    const res = await this.send(repo, {
      method: 'PUT',
      url,
      headers: { 'Content-Type': 'application/octet-stream' },
      body: bytes,
    });
    expectStatus(res, 201, `PUT ${digest}`);
    expectDigest(res, digest, `PUT ${digest}`);
  }

  /**
   * HEAD the blob: its size and digest as the registry reports them. A redirect (Distribution on S3 redirects
   * HEAD too) is followed for the size; the digest is the registry's header, when it sent one.
   */
  async headBlob(repo: string, digest: string): Promise<{ size: number; digest: string | undefined }> {
    const res = await this.call(repo, 'HEAD', `/v2/${repo}/blobs/${digest}`);
    if (isRedirect(res.status)) {
      const location = header(res, 'location');
      if (!location) throw new Error(`HEAD blob ${digest}: ${res.status} without Location`);
      const target = await request({ method: 'HEAD', url: new URL(location, this.base), agent: this.agent });
      expectStatus(target, 200, `HEAD blob ${digest} (after redirect)`);
      return { size: Number(header(target, 'content-length')), digest: header(res, 'docker-content-digest') ?? digest };
    }
    expectStatus(res, 200, `HEAD blob ${digest}`);
    return { size: Number(header(res, 'content-length')), digest: header(res, 'docker-content-digest') };
  }

  /**
   * GET the blob, following a redirect (to S3) if there is one, and check the body with `check`. Returns
   * whether it was redirected and the URL the bytes came from.
   */
  async pullBlob(repo: string, blob: BlobSpec, mode: 'hash' | 'spot', pullAgent: http.Agent): Promise<{ redirected: boolean; from: string }> {
    return pullUrl(new URL(`/v2/${repo}/blobs/${blob.digest}`, this.base), blob, mode, pullAgent, await this.authorization(repo));
  }

  /** The target of the blob GET's redirect (the presigned storage URL), or undefined if it streams. */
  async redirectOf(repo: string, digest: string): Promise<string | undefined> {
    const res = await this.send(repo, { method: 'GET', url: new URL(`/v2/${repo}/blobs/${digest}`, this.base), sink: () => undefined });
    if (isRedirect(res.status)) return header(res, 'location');
    expectStatus(res, 200, `GET blob ${digest}`);
    return undefined;
  }

  async putManifest(repo: string, tag: string, mediaType: string, body: Buffer, digest: string): Promise<void> {
    const res = await this.send(repo, {
      method: 'PUT',
      url: new URL(`/v2/${repo}/manifests/${tag}`, this.base),
      headers: { 'Content-Type': mediaType },
      body,
    });
    expectStatus(res, 201, `PUT manifest ${repo}:${tag}`);
    expectDigest(res, digest, `PUT manifest ${repo}:${tag}`);
  }

  async getManifest(repo: string, tag: string, accept: string): Promise<Response> {
    return this.call(repo, 'GET', `/v2/${repo}/manifests/${tag}`, { Accept: accept });
  }

  private async finish(repo: string, upload: URL, blob: BlobSpec, body: Payload | undefined): Promise<void> {
    const url = resolveLocation(this.base, upload.toString(), { digest: blob.digest });
    const res = await this.send(repo, {
      method: 'PUT',
      url,
      headers: body === undefined ? { 'Content-Length': 0 } : { 'Content-Type': 'application/octet-stream' },
      body,
      // A registry may verify and assemble a large blob before it answers.
      idleTimeoutMs: 600_000,
    });
    expectStatus(res, 201, `PUT ${repo}@${blob.digest}`);
    expectDigest(res, blob.digest, `PUT ${repo}@${blob.digest}`);
  }

  private call(repo: string, method: string, path: string, headers: Record<string, string | number> = {}): Promise<Response> {
    return this.send(repo, { method, url: new URL(path, this.base), headers });
  }

  private location(res: Response): URL {
    const location = header(res, 'location');
    if (!location) throw new Error(`status ${res.status} without Location`);
    return resolveLocation(this.base, location);
  }
}

/**
 * GET `url`, following at most one redirect, checking the body against `blob`. `authorization` goes to the registry
 * only, never to the redirect's target (a presigned storage URL carries its own credentials).
 */
export async function pullUrl(
  url: URL,
  blob: BlobSpec,
  mode: 'hash' | 'spot',
  agent: http.Agent,
  authorization?: string,
): Promise<{ redirected: boolean; from: string }> {
  let target = url;
  for (let hop = 0; hop < 2; hop++) {
    const check = new BodyCheck(blob, mode);
    const headers = hop === 0 && authorization ? { Authorization: authorization } : undefined;
    const res = await request({ method: 'GET', url: target, agent, headers, sink: (c) => check.update(c) });
    if (isRedirect(res.status)) {
      const location = header(res, 'location');
      if (!location) throw new Error(`GET ${target.pathname}: ${res.status} without Location`);
      target = new URL(location, target);
      continue;
    }
    expectStatus(res, 200, `GET ${target.host}${target.pathname}`);
    const problem = check.problem();
    if (problem) throw new Error(`GET ${target.host}${target.pathname}: ${problem}`);
    return { redirected: hop > 0, from: `${target.protocol}//${target.host}` };
  }
  throw new Error(`GET ${url.pathname}: more than one redirect`);
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

export function expectStatus(res: Response, status: number, what: string): void {
  if (res.status !== status) {
    throw new Error(`${what}: HTTP ${res.status}, expected ${status}: ${res.body.toString('utf8').slice(0, 400)}`);
  }
}

function expectDigest(res: Response, digest: string, what: string): void {
  const got = header(res, 'docker-content-digest');
  if (got !== digest) throw new Error(`${what}: Docker-Content-Digest ${String(got)}, expected ${digest}`);
}
