import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'mcp.js');

/** The real built program (`npm run build` makes dist/mcp.js; test-all.sh builds first). */
describe('bin/mcp.js', () => {
  let home: string;

  beforeAll(() => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'mcp.js'))) {
      throw new Error('dist/mcp.js is missing: run npm run build before these tests');
    }
  });

  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-bin-test-'));
  });

  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  function mcp(...args: string[]) {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home };
    return spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 30_000 });
  }

  it('should print help and exit 0', () => {
    const run = mcp('--help');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Usage: mcp [options] [command]');
    expect(run.stdout).toMatch(/^\s+ps\b/m);
  });

  it('should print, without booting the CLI, exactly the help the bundle prints', () => {
    const fast = mcp('--help');
    const booted = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'mcp.js'), '--help'], {
      env: { PATH: process.env.PATH, HOME: home, NO_COLOR: '1' },
      encoding: 'utf8',
      timeout: 30_000,
    });

    expect(booted.status).toBe(0);
    expect(fast.stdout).toBe(booted.stdout);
  });

  it('should ignore a help snapshot older than the bundle', () => {
    // A copy of the program whose snapshot predates its bundle: the real help must win.
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-bin-copy-'));
    try {
      fs.mkdirSync(path.join(copy, 'bin'));
      fs.mkdirSync(path.join(copy, 'dist'));
      fs.copyFileSync(BIN, path.join(copy, 'bin', 'mcp.js'));
      fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(copy, 'package.json'));
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
      fs.writeFileSync(path.join(copy, 'dist', 'mcp-help.txt'), 'STALE HELP\n');
      fs.utimesSync(path.join(copy, 'dist', 'mcp-help.txt'), new Date(2000, 0, 1), new Date(2000, 0, 1));
      fs.copyFileSync(path.join(ROOT, 'dist', 'mcp.js'), path.join(copy, 'dist', 'mcp.js'));

      const run = spawnSync(process.execPath, [path.join(copy, 'bin', 'mcp.js'), '--help'], {
        env: { PATH: process.env.PATH, HOME: home },
        encoding: 'utf8',
        timeout: 30_000,
      });

      expect(run.status).toBe(0);
      expect(run.stdout).not.toContain('STALE HELP');
      expect(run.stdout).toContain('Usage: mcp [options] [command]');
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });

  it('should print the package version', () => {
    const run = mcp('--version');
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });

  it('should exit 2 on an unknown command', () => {
    const run = mcp('frobnicate');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("unknown command 'frobnicate'");
  });

  it('should explain in one line how to create a config when ps has none', () => {
    const run = mcp('ps');
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      `mcp: no config file: create ${path.join(home, '.config', 'mcp', 'mcp.toml')} with a [[nodes]] entry (name, address), or run mcp node add NAME HOST:PORT`,
    ]);
  });

  it('should exit 3 naming the node when its agent is not listening', () => {
    const config = path.join(home, 'mcp.toml');
    fs.writeFileSync(config, '[[nodes]]\nname = "gone"\naddress = "127.0.0.1:1"\ntimeout = "3s"\n');
    fs.writeFileSync(path.join(home, 'token'), 'tok\n', { mode: 0o600 });
    const run = spawnSync(process.execPath, [BIN, 'ps', '--config', config], {
      env: { PATH: process.env.PATH, HOME: home, MCP_AUTH_TOKEN_PATH: path.join(home, 'token') },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(3);
    expect(run.stdout).toMatch(/^-\s+-\s+-\s+gone\s+unreachable/m);
    expect(run.stderr).toMatch(/^mcp: agent gone \(127\.0\.0\.1:1\) unreachable: /m);
  });
});
