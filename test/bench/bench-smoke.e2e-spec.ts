import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

// The bench is not part of `npm test`; this smoke run (tiny sizes, 2 runs) is, so the suite
// cannot rot. It asserts that every figure is produced, never how fast anything is.
jest.setTimeout(900_000);

const ROOT = path.resolve(__dirname, '..', '..');
const IDS = ['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7', 'P8', 'P11', 'P12'];
const execFileAsync = promisify(execFile);

interface BenchFigure {
  id: string;
  error?: string;
  runs?: number;
  medianA?: unknown;
  medianB?: unknown;
  ratio?: unknown;
  peakGrowthMiB?: unknown;
  ratioSpread?: { min: number; median: number; max: number; rounds: number };
}

interface BenchReport {
  smoke: boolean;
  results: BenchFigure[];
}

function runBench(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; output: string }> } {
  const child = spawn(process.execPath, [path.join(ROOT, 'bench', 'run.js'), ...args], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const done = new Promise<{ code: number | null; output: string }>((resolve) => child.once('close', (code) => resolve({ code, output })));
  return { child, done };
}

describe('bench/run.js --smoke', () => {
  const runId = `t${randomBytes(3).toString('hex')}`;
  const prefix = `mcpbench-${runId}-`;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpbench-smoke-out-'));
  let bench: ReturnType<typeof runBench> | undefined;
  let exit: { code: number | null; output: string };
  let report: BenchReport;

  beforeAll(async () => {
    bench = runBench(['--smoke', '--out', out, '--run-id', runId]);
    exit = await bench.done;
    const file = path.join(out, 'latest.json');
    // A crash before writing leaves an empty report; the first test then shows the output.
    report = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as BenchReport) : { smoke: false, results: [] };
  });

  afterAll(async () => {
    if (bench && bench.child.exitCode === null && bench.child.signalCode === null) {
      bench.child.kill('SIGTERM');
      await bench.done;
    }
    // The bench removes its own containers; this catches whatever a crash left behind.
    const { stdout } = await execFileAsync('podman', ['ps', '--all', '--format', '{{.Names}}']);
    const leftovers = stdout.split('\n').filter((name) => name.startsWith(prefix));
    if (leftovers.length) await execFileAsync('podman', ['rm', '-f', '-t', '0', '--', ...leftovers]);
    fs.rmSync(out, { recursive: true, force: true });
  });

  it('should exit 0 and write latest.json and latest.md', () => {
    expect({ code: exit.code, tail: exit.code === 0 ? '' : exit.output.slice(-3000) }).toEqual({ code: 0, tail: '' });
    expect(report.smoke).toBe(true);
    expect(fs.readFileSync(path.join(out, 'latest.md'), 'utf8')).toContain('| P8 |');
  });

  it.each(IDS)('should report %s with numeric figures and no error', (id) => {
    const figure = report.results.find((r) => r.id === id);
    expect(figure).toBeDefined();
    expect(figure!.error).toBeUndefined();
    expect(Number.isFinite(figure!.medianA)).toBe(true);
    expect(figure!.runs).toBeGreaterThanOrEqual(1);
    if (figure!.medianB !== undefined) {
      expect(Number.isFinite(figure!.medianB)).toBe(true);
      expect(Number.isFinite(figure!.ratio)).toBe(true);
      // Every A/B figure carries the spread of its per-round ratio (issue #20).
      const spread = figure!.ratioSpread!;
      expect(spread.rounds).toBeGreaterThanOrEqual(1);
      expect(spread.min).toBeLessThanOrEqual(spread.median);
      expect(spread.median).toBeLessThanOrEqual(spread.max);
    }
  });

  it('should report the agent peak RSS growth of the push', () => {
    expect(Number.isFinite(report.results.find((r) => r.id === 'P6')?.peakGrowthMiB)).toBe(true);
  });

  it('should leave no container of its run behind', async () => {
    const { stdout } = await execFileAsync('podman', ['ps', '--all', '--format', '{{.Names}}']);
    expect(stdout.split('\n').filter((name) => name.startsWith(prefix))).toEqual([]);
  });
});
