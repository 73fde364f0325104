import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  describeFailures,
  groupByWorkflow,
  parseJunit,
  parseResultsYaml,
  testsOf,
  workflowOf,
  type ConformanceRun,
} from './conformance';

// Trimmed from a real run of the suite (v0.0.0-20260831232431-97274622c111) against CNCF Distribution v3.1.2.
const fixture = (name: string): string => readFileSync(path.join(__dirname, '__fixtures__', name), 'utf8');

describe('conformance results parsing', () => {
  describe('parseJunit', () => {
    it('should read the suite totals and every leaf test case with its decoded output', () => {
      const suite = parseJunit(fixture('junit.xml'));
      expect(suite).toMatchObject({
        name: 'OCI Conformance Test',
        tests: 852,
        failures: 91,
        errors: 0,
        skipped: 16,
        disabled: 2,
      });
      expect(suite.cases.map((c) => [c.name, c.status])).toEqual([
        ['OCI Conformance Test/ping', 'passed'],
        ['OCI Conformance Test/sha256 blobs/post only/blob-post-only', 'skipped'],
        ['OCI Conformance Test/sha256 blobs/post cancel/blob-post-cancel', 'skipped'],
        ['OCI Conformance Test/empty/referrers', 'failure'],
        ['OCI Conformance Test/sha256 blobs/range requests/range 500-1499', 'passed'],
        ['OCI Conformance Test/non-distributable-layers/tag-list', 'failure'],
        ['OCI Conformance Test/image/delete/tag-delete', 'passed'],
      ]);
      expect(suite.cases[0]?.systemErr).toContain('Method: GET\nURL: http://127.0.0.1:5301/v2/\n');
      expect(suite.cases[5]?.systemOut).toBe('missing tag "non-distributable-image" from listing');
    });

    it('should reject a file without a testsuite', () => {
      expect(() => parseJunit('<testsuites></testsuites>')).toThrow(/no <testsuite>/);
    });
  });

  describe('testsOf', () => {
    it('should tell a switched-off API (disabled) from an unsupported one (skip), and keep the messages', () => {
      const tests = testsOf(parseJunit(fixture('junit.xml')));
      expect(tests.map((t) => [t.name, t.workflow, t.status])).toEqual([
        ['ping', 'Pull', 'pass'],
        ['sha256 blobs/post only/blob-post-only', 'Push', 'skip'],
        ['sha256 blobs/post cancel/blob-post-cancel', 'Push', 'disabled'],
        ['empty/referrers', 'Content Discovery', 'fail'],
        ['sha256 blobs/range requests/range 500-1499', 'Pull', 'pass'],
        ['non-distributable-layers/tag-list', 'Content Discovery', 'fail'],
        ['image/delete/tag-delete', 'Content Management', 'pass'],
      ]);
      expect(tests[1]?.message).toBe('registry does not support content in the POST, fallback to PUT');
      expect(tests[2]?.message).toBe('api Blob upload cancel is disabled in the configuration');
      expect(tests[3]?.message).toContain('unexpected status code, expected one of [200], received 404');
    });

    it('should count an engine error as an error', () => {
      const suite = parseJunit(
        '<testsuites><testsuite name="OCI Conformance Test" tests="1" failures="0" errors="1">' +
          '<testcase name="OCI Conformance Test/image/push/blob-post-put" classname="" status="error">' +
          '<system-out>failed to generate blob: boom &amp; more</system-out></testcase></testsuite></testsuites>',
      );
      expect(testsOf(suite)).toEqual([
        {
          name: 'image/push/blob-post-put',
          workflow: 'Push',
          status: 'error',
          message: 'failed to generate blob: boom & more',
          output: '',
        },
      ]);
    });
  });

  describe('workflowOf', () => {
    it.each([
      ['ping', 'Pull'],
      ['image/pull/manifest-by-digest', 'Pull'],
      ['image/push/manifest-by-digest', 'Push'],
      ['image/head/manifest-head-by-tag', 'Pull'],
      ['sha256 blobs/get-missing', 'Pull'],
      ['sha256 blobs/range requests/range 5000-10000', 'Pull'],
      ['sha256 blobs/range requests/blob-post-put', 'Push'],
      ['missing-manifest/by-tag', 'Pull'],
      ['invalid-digest-format/manifest-put', 'Push'],
      ['invalid-digest-format/manifest-get', 'Pull'],
      ['sha256 blobs/mount/blob-mount', 'Push'],
      ['sha256 blobs/mount anonymous/blob-mount-anonymous', 'Push'],
      ['sha256 blobs/bad digest stream/blob-patch-stream', 'Push'],
      ['empty/tag list', 'Content Discovery'],
      ['index/tag-list', 'Content Discovery'],
      ['artifacts-with-subject/referrers', 'Content Discovery'],
      ['image/delete/manifest-delete', 'Content Management'],
      ['sha256 blobs/mount/blob-delete', 'Content Management'],
      ['something/new', 'Other'],
    ])('%s belongs to %s', (name, workflow) => {
      expect(workflowOf(name)).toBe(workflow);
    });
  });

  describe('parseResultsYaml', () => {
    it('should read the API features and data sets and skip the configuration', () => {
      const { apis, data } = parseResultsYaml(fixture('results.yaml'));
      expect(Object.keys(apis)).toHaveLength(28);
      expect(apis).toMatchObject({
        Ping: 'Pass',
        Referrers: 'FAIL',
        'Blob post only': 'Skip',
        'Blob upload cancel': 'Disabled',
      });
      expect(data).toMatchObject({ Image: 'Pass', 'Non-distributable Layers': 'FAIL', 'Sparse Manifests': 'Disabled' });
      expect(apis['registry']).toBeUndefined();
    });

    it('should unquote quoted keys and values', () => {
      expect(parseResultsYaml('apis:\n  "Odd: key": "Pass"\ndata:\n  \'It\'\'s\': FAIL\n')).toEqual({
        apis: { 'Odd: key': 'Pass' },
        data: { "It's": 'FAIL' },
      });
    });
  });

  describe('describeFailures', () => {
    it('should group failures by step and message with digests masked, and list the API features', () => {
      const tests = testsOf(parseJunit(fixture('junit.xml')));
      const run = {
        registry: '127.0.0.1:5301',
        resultsDir: '/tmp/r',
        exitCode: 1,
        tests,
        byWorkflow: groupByWorkflow(tests),
        apis: { Ping: 'Pass' },
      };
      const text = describeFailures(run as unknown as ConformanceRun, 'Content Discovery');
      expect(text).toContain('Content Discovery against 127.0.0.1:5301: 0 passed, 2 failed, 0 errors, 0 skipped');
      expect(text).toContain(
        '1× FAIL …/non-distributable-layers/tag-list: missing tag "non-distributable-image" from listing',
      );
      expect(text).toContain('API features (results.yaml): Ping=Pass');
      expect(describeFailures(run as unknown as ConformanceRun, 'Push')).toContain(
        '1× SKIP …/post only/blob-post-only: registry does not support content in the POST',
      );
      expect(describeFailures(run as unknown as ConformanceRun, 'Push')).not.toContain('blob-post-cancel');
    });
  });
});
