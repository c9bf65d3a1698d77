import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

jest.setTimeout(600_000);

const ROOT = path.resolve(__dirname, '..', '..');

interface SoakReport {
  cycles: number;
  leaks: {
    containers: string[];
    registryHostPorts: number[];
    boundHostPorts: number[];
    mcproxyRoutes: string[];
    fdGrowth: number;
    processGrowth: number;
    fileGrowth: number;
  };
  rssGrowthMiB: number;
  samples: Array<{ rssMiB: number; fds: number }>;
}

/**
 * The soak's short form (issue #12): `bench/soak.js --cycles 20` against the real agent.
 * Asserts that nothing is left behind; the RSS growth is reported by the bench run
 * (bench/results/soak.md), not asserted here — 20 cycles say little about memory.
 */
describe('bench/soak.js (short: 20 cycles)', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'i12-soak-'));

  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  it('should leave no container, port, route, file descriptor, file or process behind', async () => {
    const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'bench', 'soak.js'), '--cycles', '20', '--warmup', '3', '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('close', (code) => resolve({ code, output }));
    });
    expect(result.code).toBe(0);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'soak.json'), 'utf8')) as SoakReport;

    expect(report.cycles).toBe(20);
    expect(report.leaks).toEqual({
      containers: [],
      registryHostPorts: [],
      boundHostPorts: [],
      mcproxyRoutes: [],
      fdGrowth: expect.any(Number),
      processGrowth: 0,
      fileGrowth: 0,
    });
    // Descriptors come and go with HTTP/2 sessions and podman connections; a leak of one per
    // cycle would show as 20 or more.
    expect(report.leaks.fdGrowth).toBeLessThan(10);
    expect(report.samples.every((s) => s.rssMiB > 0 && s.fds > 0)).toBe(true);
    expect(typeof report.rssGrowthMiB).toBe('number');
  });
});
