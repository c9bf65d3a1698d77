import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TypeormRegistry } from './typeorm-registry';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Runs the child that commits `count` services and SIGKILLs itself; resolves to what it reported. */
function commitAndDie(file: string, count: number): Promise<{ signal: NodeJS.Signals | null; committed: string[]; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', path.join(ROOT, 'test', 'support', 'ts-register.js'), path.join(ROOT, 'test', 'support', 'registry-commit-and-die.ts'), file, String(count)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (_code, signal) => resolve({ signal, stderr, committed: stdout.split('\n').filter(Boolean).map((line) => line.replace('committed ', '')) }));
  });
}

/** A process that commits through the registry and is killed right after: nothing it was told is committed may be lost. */
describe(`${TypeormRegistry.name} crash durability`, () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'i12-durable-'));
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('should keep every commit of a process SIGKILLed after them, on reopen', async () => {
    const file = path.join(dir, 'mcp.db');

    const child = await commitAndDie(file, 5);

    expect(child.stderr).toBe('');
    expect(child.signal).toBe('SIGKILL');
    expect(child.committed).toEqual(['durable-0', 'durable-1', 'durable-2', 'durable-3', 'durable-4']);
    // The commits sit in the write-ahead log (no checkpoint before the kill): what reopening must keep.
    expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(0);

    const sut = await TypeormRegistry.open({ path: file });
    try {
      expect((await sut.listServices()).map((s) => s.name).sort()).toEqual(child.committed);
      expect((await sut.listEvents({ service: 'durable-4' })).map((e) => e.message)).toEqual(['commit 4']);
    } finally {
      await sut.close();
    }
  });

  it('should keep the commits of two killed processes in a row', async () => {
    const file = path.join(dir, 'mcp.db');
    await commitAndDie(file, 2);

    const second = await commitAndDie(file, 3);

    expect(second.signal).toBe('SIGKILL');
    const sut = await TypeormRegistry.open({ path: file });
    try {
      expect((await sut.listServices()).map((s) => s.name).sort()).toEqual(['durable-0', 'durable-1', 'durable-2']);
      expect((await sut.listEvents({ service: 'durable-0' })).map((e) => e.message)).toEqual(['commit 0', 'commit 0']);
    } finally {
      await sut.close();
    }
  });
});
