import { startDistributedBerth, startEmbeddedBerth, type BerthUnderTest } from './berth';
import {
  describeFailures,
  notPassed,
  removeRun,
  runConformance,
  summary,
  WORKFLOWS,
  type ConformanceRun,
} from './conformance';
import { ensureTools, INSTALL_TIMEOUT_MS } from './tools';

/**
 * The OCI distribution-spec conformance suite (redesigned, OCI_VERSION=1.1 defaults) against Berth, once
 * against the embedded default and once against the distributed services. Every test of the Pull, Push,
 * Content Discovery and Content Management workflows must pass; a failure lists what did not, with the
 * suite's own message. The suite binary comes from deploy/tools/install.sh, run here (cached after the first time).
 */
const SUITE_TIMEOUT_MS = 15 * 60 * 1000;
const SETUP_TIMEOUT_MS = INSTALL_TIMEOUT_MS + 3 * 60 * 1000 + SUITE_TIMEOUT_MS;

function conformanceAgainst(title: string, start: () => Promise<BerthUnderTest>): void {
  describe(title, () => {
    let berth: BerthUnderTest | undefined;
    let result: ConformanceRun | undefined;

    beforeAll(async () => {
      const { conformance } = await ensureTools(['conformance']);
      berth = await start();
      result = await runConformance({
        binary: conformance,
        registry: berth.host,
        username: berth.creds.username,
        password: berth.creds.password,
        timeoutMs: SUITE_TIMEOUT_MS,
      });
      console.log(summary(result));
    }, SETUP_TIMEOUT_MS);

    afterAll(async () => {
      await berth?.stop();
      // Keep the results (junit.xml, report.html) of a run that found something; drop a clean one.
      if (result && result.tests.every((t) => t.status === 'pass' || t.status === 'disabled')) await removeRun(result);
    }, 60000);

    function ran(): ConformanceRun {
      if (!result) throw new Error('the conformance suite did not run (see the beforeAll error)');
      return result;
    }

    it('runs the suite to completion and places every test in a workflow', () => {
      const r = ran();
      expect(r.tests.length).toBeGreaterThan(0);
      expect(WORKFLOWS.filter((w) => r.byWorkflow[w].length === 0)).toEqual([]);
      // A test the mapping does not know means the suite changed: extend conformance.ts:workflowOf.
      expect(r.byWorkflow.Other.map((t) => t.name)).toEqual([]);
    });

    it.each(WORKFLOWS)('%s: every test passes', (workflow) => {
      const r = ran();
      if (notPassed(r.byWorkflow[workflow]).length > 0) {
        throw new Error(`${describeFailures(r, workflow)}\n${berth?.logs(1500) ?? ''}`);
      }
      expect(r.byWorkflow[workflow].some((t) => t.status === 'pass')).toBe(true);
    });
  });
}

conformanceAgainst(
  'OCI conformance: embedded default (npm start), the bare host = the default registry',
  startEmbeddedBerth,
);

conformanceAgainst(
  'OCI conformance: distributed mode (six services on the local stack), through the registry-frontend',
  () => startDistributedBerth('ociconf'),
);
