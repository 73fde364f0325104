import { startEmbeddedBerth, type BerthUnderTest } from './berth';
import {
  clientContext,
  craneMultiArch,
  craneRoundTrip,
  helmChart,
  orasArtifacts,
  regctlRoundTrip,
  skopeoRoundTrip,
  type ClientContext,
} from './clients';
import { ensureTools, INSTALL_TIMEOUT_MS } from './tools';

/**
 * Real OCI clients round-trip against the embedded default on 127.0.0.1 (plain HTTP; the bare host is the
 * default registry). The clients come from deploy/tools/install.sh, run here (cached after the first time);
 * every step of every client is a child process with its own timeout.
 */
const FLOW_TIMEOUT_MS = 8 * 60 * 1000;

describe('real OCI clients against the embedded default', () => {
  let berth: BerthUnderTest | undefined;
  let ctx: ClientContext | undefined;

  beforeAll(
    async () => {
      const tools = await ensureTools(['skopeo', 'crane', 'oras', 'regctl', 'helm']);
      berth = await startEmbeddedBerth();
      ctx = await clientContext(berth.host, tools, berth.creds);
    },
    INSTALL_TIMEOUT_MS + 3 * 60 * 1000,
  );

  afterAll(async () => {
    await berth?.stop();
    await ctx?.dispose();
  }, 60000);

  /** Runs a client flow; on failure the message gets Berth's last log lines after the client's own output. */
  async function flow<T>(fn: (c: ClientContext) => Promise<T>): Promise<T> {
    if (!ctx || !berth) throw new Error('Berth did not start (see the beforeAll error)');
    try {
      return await fn(ctx);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      err.message = `${err.message}\n${berth.logs(1500)}`;
      throw err;
    }
  }

  it(
    'skopeo: a hand-written OCI layout copied to the registry and back keeps its manifest digest; list-tags; delete',
    () => flow(skopeoRoundTrip),
    FLOW_TIMEOUT_MS,
  );

  it(
    'crane: push an image tarball, read it back (digest, export, pull), tag, list, copy across repositories, delete',
    () => flow(craneRoundTrip),
    FLOW_TIMEOUT_MS,
  );

  it(
    'crane: a multi-arch index (crane index append) resolves per platform',
    () => flow(craneMultiArch),
    FLOW_TIMEOUT_MS,
  );

  it(
    'oras: push an artifact with --artifact-type, attach a referrer, discover it, pull both byte for byte',
    () => flow(orasArtifacts),
    FLOW_TIMEOUT_MS,
  );

  it('helm: package a chart, push it to oci://, pull it back byte for byte', () => flow(helmChart), FLOW_TIMEOUT_MS);

  it(
    'regctl: artifact put with a subject, artifact list, image copy, tag delete',
    () => flow(regctlRoundTrip),
    FLOW_TIMEOUT_MS,
  );
});
