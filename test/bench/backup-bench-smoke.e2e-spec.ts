import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

// bench/backup.js at its smoke size (16 MiB in 200 files, one round), so the script cannot
// rot: every figure is produced and the run cleans up. Never how fast anything is.
jest.setTimeout(300_000);

const ROOT = path.resolve(__dirname, '..', '..');
const execFileAsync = promisify(execFile);

interface Figures {
  smoke: boolean;
  B1: { mcpMs: number; plainMs: number; ratio: number };
  B2: { mcpMs: number; plainMs: number; ratio: number };
  B3: { firstPausedS: number; secondPausedS: number };
  rounds: Array<{ files: number }>;
}

describe('bench/backup.js --smoke', () => {
  const runId = `s${randomBytes(3).toString('hex')}`;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpbench-backup-smoke-'));
  let exit: { code: number | null; output: string };

  beforeAll(async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bench', 'backup.js'), '--smoke', '--out', out, '--run-id', runId], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    exit = await new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
  });

  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  it('should exit 0, print B1–B3 and write every figure as a number', () => {
    expect({ code: exit.code, tail: exit.code === 0 ? '' : exit.output.slice(-3000) }).toEqual({ code: 0, tail: '' });
    for (const id of ['B1 ', 'B2 ', 'B3 ']) expect(exit.output).toContain(id);
    const figures = JSON.parse(fs.readFileSync(path.join(out, 'backup-smoke.json'), 'utf8')) as Figures;
    expect(figures.smoke).toBe(true);
    for (const n of [figures.B1.mcpMs, figures.B1.plainMs, figures.B1.ratio, figures.B2.mcpMs, figures.B2.plainMs, figures.B2.ratio, figures.B3.firstPausedS, figures.B3.secondPausedS]) {
      expect(Number.isFinite(n)).toBe(true);
    }
    expect(figures.B3.firstPausedS).toBeGreaterThan(0);
    expect(figures.rounds[0].files).toBe(200);
  });

  it('should leave no container of its run behind', async () => {
    const { stdout } = await execFileAsync('podman', ['ps', '--all', '--format', '{{.Names}}']);
    expect(stdout.split('\n').filter((name) => name.startsWith(`mcpbench-${runId}-`))).toEqual([]);
  });
});
