import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePortSync } from '../support/test-config';

const ROOT = path.resolve(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'quickstart.sh');

function quickstart(dir: string, port: number, args: string[] = []): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(SCRIPT, args, {
      cwd: ROOT,
      env: { ...process.env, MCP_QUICKSTART_DIR: dir, MCP_QUICKSTART_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** The README's quick start as a new user runs it: up, down, and up again (issue #12). */
describe('scripts/quickstart.sh (real agent, real podman)', () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'i12-quickstart-')), 'state');
  const port = freePortSync();

  afterAll(async () => {
    await quickstart(dir, port, ['--purge']);
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  it('should come up, go down, and come up again from the same state directory', async () => {
    const first = await quickstart(dir, port);
    expect(first.output).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/ -> hello from mcp-test busybox 1\.0/);
    expect(first.code).toBe(0);

    const down = await quickstart(dir, port, ['--down']);
    expect(down.code).toBe(0);
    expect(fs.existsSync(path.join(dir, 'agent.pid'))).toBe(false);

    // The agent log still holds the first run's "listening" line: the second run must wait
    // for its own agent, not take the old line for readiness.
    const second = await quickstart(dir, port);
    expect(second.output).not.toContain('unreachable');
    expect(second.output).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/ -> hello from mcp-test busybox 1\.0/);
    expect(second.code).toBe(0);
  }, 600_000);
});
