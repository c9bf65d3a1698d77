import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { summarize, readResults } = require('./results-summary') as {
  summarize: (runs: Array<{ label: string; results: unknown }>, options?: { top?: number; root?: string }) => string[];
  readResults: (file: string) => unknown;
};

const ROOT = '/repo';

function suite(name: string, startTime: number, seconds: number, status = 'passed') {
  return { name: path.join(ROOT, name), startTime, endTime: startTime + seconds * 1000, status, assertionResults: [] };
}

function results(startTime: number, files: ReturnType<typeof suite>[], passed: number, failed = 0) {
  return { startTime, numPassedTests: passed, numFailedTests: failed, testResults: files };
}

describe('test/results-summary.js (the closing lines of scripts/test-all.sh)', () => {
  const serial = results(1_000, [suite('test/e2e/fleet.e2e-spec.ts', 2_000, 20), suite('test/e2e/install.e2e-spec.ts', 22_000, 3)], 9);
  const concurrent = results(
    1_000,
    [
      suite('test/e2e/safe-deploys.e2e-spec.ts', 1_500, 100),
      suite('libs/a.spec.ts', 1_500, 1.25),
      suite('libs/b.spec.ts', 3_000, 0.5, 'failed'),
      suite('test/e2e/crash-points.e2e-spec.ts', 1_500, 57),
    ],
    40,
    2,
  );

  it('should add up the tests and suites of every group and give each group its wall time', () => {
    const lines = summarize([{ label: 'serial', results: serial }, { label: 'concurrent', results: concurrent }], { root: ROOT });
    expect(lines.slice(0, 2)).toEqual(['tests: 49 passed, 2 failed', 'suites: 5 passed, 1 failed']);
    // serial: from its start (1.0 s) to its last suite's end (25.0 s); concurrent: to 101.5 s.
    expect(lines[2]).toBe('groups: serial: 2 suites in 24.0 s; concurrent: 4 suites in 100.5 s');
  });

  it('should list the slowest suites first, with their group, and mark one that did not pass', () => {
    const lines = summarize([{ label: 'serial', results: serial }, { label: 'concurrent', results: concurrent }], { root: ROOT, top: 4 });
    expect(lines.slice(3)).toEqual([
      'slowest 4 suites (wall time, concurrent suites share the machine):',
      '  100.0 s  test/e2e/safe-deploys.e2e-spec.ts  [concurrent]',
      '   57.0 s  test/e2e/crash-points.e2e-spec.ts  [concurrent]',
      '   20.0 s  test/e2e/fleet.e2e-spec.ts  [serial]',
      '    3.0 s  test/e2e/install.e2e-spec.ts  [serial]',
    ]);
    const all = summarize([{ label: 'concurrent', results: concurrent }], { root: ROOT });
    expect(all).toContain('    0.5 s  libs/b.spec.ts  [concurrent, failed]');
    expect(all.filter((line) => line.startsWith('  '))).toHaveLength(4);
  });

  it('should count a suite that failed to load (no test ran) as a failed suite', () => {
    const broken = results(0, [suite('libs/broken.spec.ts', 0, 0.2, 'failed')], 0, 0);
    expect(summarize([{ label: 'unit', results: broken }], { root: ROOT }).slice(0, 2)).toEqual(['tests: 0 passed, 0 failed', 'suites: 0 passed, 1 failed']);
  });

  it('should say which group wrote no results (a crashed Jest) instead of failing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'i20-summary-'));
    try {
      fs.writeFileSync(path.join(dir, 'empty.json'), '');
      expect(readResults(path.join(dir, 'empty.json'))).toBeNull();
      expect(readResults(path.join(dir, 'missing.json'))).toBeNull();
      const lines = summarize([{ label: 'serial', results: null }, { label: 'concurrent', results: concurrent }], { root: ROOT, top: 1 });
      expect(lines.slice(0, 2)).toEqual(['tests: 40 passed, 2 failed', 'suites: 3 passed, 1 failed']);
      expect(lines[2]).toBe('groups: serial: no results (the Jest run did not finish); concurrent: 4 suites in 100.5 s');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
