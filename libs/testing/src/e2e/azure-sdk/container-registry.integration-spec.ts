import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { REPO_ROOT } from '../../lib/processes';
import { testHostsResolvable } from '../../lib/hosts';
import { startEmbeddedBerth, type BerthUnderTest } from '../oci/berth';

jest.setTimeout(300_000);

interface Step {
  step: string;
  ok: boolean;
  message?: string;
  [k: string]: unknown;
}

/**
 * Issue #4's end-to-end: the official `@azure/container-registry` client, authenticated through
 * `@azure/identity`'s ClientSecretCredential against Berth's own identity endpoint, over HTTPS
 * (BERTH_TLS=self-signed), against the embedded default. The client runs in a child process so that the CA
 * Berth generates is trusted through NODE_EXTRA_CA_CERTS, as a user would configure it.
 */
describe('@azure/container-registry against Berth (ClientSecretCredential through Berth)', () => {
  let berth: BerthUnderTest;
  const tenantId = randomUUID();
  const subscriptionId = randomUUID();

  beforeAll(async () => {
    berth = await startEmbeddedBerth({
      BERTH_TLS: 'self-signed',
      BERTH_BOOTSTRAP_TENANT: tenantId,
      BERTH_BOOTSTRAP_SUBSCRIPTION: subscriptionId,
    });
  });

  afterAll(async () => {
    await berth?.stop();
  });

  it('uploads, lists, reads, locks, unlocks and deletes; anonymous listing and pull on a Standard registry', async () => {
    expect(testHostsResolvable()).toBe(true);
    const port = new URL(berth.url).port;
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['-r', './scripts/register.cjs', path.join('libs/testing/src/e2e/azure-sdk/container-registry.scenario.ts')],
        {
          cwd: REPO_ROOT,
          timeout: 240_000,
          env: {
            PATH: process.env['PATH'] ?? '',
            NODE_EXTRA_CA_CERTS: path.join(berth.dataDir ?? '', 'tls', 'ca.pem'),
            BERTH_URL: `https://localhost:${port}`,
            ANON_URL: `https://sdkanon.berth.localhost:${port}`,
            TENANT_ID: tenantId,
            SUBSCRIPTION_ID: subscriptionId,
            CLIENT_ID: berth.creds.username,
            CLIENT_SECRET: berth.creds.password,
          },
        },
        (err, stdout, stderr) => {
          if (err && !stdout) reject(new Error(`${err.message}\n${stderr}`));
          else resolve(stdout);
        },
      );
    });
    const steps = output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Step);
    const failed = steps.find((s) => !s.ok);
    if (failed)
      throw new Error(
        `scenario failed after ${steps
          .filter((s) => s.ok)
          .map((s) => s.step)
          .join(', ')}: ${JSON.stringify(failed)}\n${berth.logs(2000)}`,
      );
    expect(steps.map((s) => s.step)).toEqual([
      'identity-token',
      'upload-blobs-and-manifest',
      'get-manifest',
      'list-repositories',
      'list-manifest-properties-by-time',
      'read-properties',
      'locked-tag-refuses-repush-and-delete',
      'unlock-then-delete-tag-and-manifest',
      'anonymous-listing-and-pull',
      'done',
    ]);
    const locked = steps.find((s) => s.step === 'locked-tag-refuses-repush-and-delete');
    expect(locked).toMatchObject({ repush: 403, deleteLocked: 403 });
  });
});
