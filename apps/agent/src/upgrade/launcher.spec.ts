import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ReleaseLayout } from './release-layout';

/**
 * The real deploy/mcp-agent-launch, run as the supervisor would run it (once per start), in
 * front of fake releases: small node programs that mark themselves good (as the agent's
 * ReleaseMarker does, through ReleaseLayout) or crash at start.
 */
const LAUNCHER = path.resolve(__dirname, '../../../../deploy/mcp-agent-launch');
const LAYOUT = path.resolve(__dirname, 'release-layout.ts');

describe('mcp-agent-launch', () => {
  let install: string;
  let layout: ReleaseLayout;

  beforeEach(() => {
    install = fs.mkdtempSync(path.join(os.tmpdir(), 'i25-launch-'));
    layout = new ReleaseLayout(install);
    fs.mkdirSync(path.join(install, 'bin'));
    fs.copyFileSync(LAUNCHER, path.join(install, 'bin', 'mcp-agent-launch'));
  });
  afterEach(() => fs.rmSync(install, { recursive: true, force: true }));

  /** A release whose agent marks itself good (boot.json, as markGood does) and exits 0. */
  const goodRelease = (name: string) =>
    release(
      name,
      `const fs = require('node:fs'), path = require('node:path');
const boot = path.join(process.env.MCP_AGENT_INSTALL_DIR, 'boot.json');
const state = JSON.parse(fs.readFileSync(boot, 'utf8'));
if (state.release === process.env.MCP_AGENT_RELEASE) fs.writeFileSync(boot, JSON.stringify({ ...state, good: true }));
console.log('serving ' + process.env.MCP_AGENT_RELEASE + ' with ' + process.argv.slice(2).join(' '));`,
    );
  /** A release that dies at start, as a broken build would. */
  const crashingRelease = (name: string) => release(name, `console.error('${name}: TypeError: cannot read the config at start-up'); process.exit(1);`);
  /** A release that starts and runs, but never marks itself good (its self-check never passes). */
  const neverGoodRelease = (name: string) => release(name, `console.log('${name} running, self-check failing'); process.exit(0);`);

  function release(name: string, agent: string): string {
    const dir = path.join(install, 'releases', name, 'bin');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'mcp-agent.js'), `#!/usr/bin/env node\n${agent}\n`, { mode: 0o755 });
    return name;
  }

  /** One start by the supervisor. */
  const start = () => {
    const run = spawnSync(process.execPath, [path.join(install, 'bin', 'mcp-agent-launch'), 'serve', '--config', '/srv/mcp/mcp-agent.toml'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
      timeout: 20_000,
    });
    return { code: run.status, stdout: run.stdout, stderr: run.stderr };
  };

  it('should start current with the arguments and the release environment, and count the start', async () => {
    goodRelease('1.0.0-aaaaaaaaaaaa');
    await layout.point('current', '1.0.0-aaaaaaaaaaaa');

    const run = start();

    expect(run).toMatchObject({ code: 0, stdout: 'serving 1.0.0-aaaaaaaaaaaa with serve --config /srv/mcp/mcp-agent.toml\n' });
    expect(await layout.bootState()).toEqual({ release: '1.0.0-aaaaaaaaaaaa', starts: 1, good: true });
    expect(fs.readFileSync(path.join(install, 'output', '1.0.0-aaaaaaaaaaaa.log'), 'utf8')).toContain('serving');
  });

  it('should keep starting a good release however often it restarts', async () => {
    goodRelease('1.0.0-aaaaaaaaaaaa');
    goodRelease('1.1.0-bbbbbbbbbbbb');
    await layout.point('previous', '1.0.0-aaaaaaaaaaaa');
    await layout.point('current', '1.1.0-bbbbbbbbbbbb');

    for (let i = 0; i < 4; i++) expect(start().stdout).toContain('serving 1.1.0-bbbbbbbbbbbb');

    expect(await layout.linked('current')).toBe('1.1.0-bbbbbbbbbbbb');
    expect(await layout.lastRollback()).toBeUndefined();
  });

  it('should switch current back to previous after two starts of a release that crashes', async () => {
    goodRelease('1.0.0-aaaaaaaaaaaa');
    crashingRelease('1.1.0-bbbbbbbbbbbb');
    await layout.point('previous', '1.0.0-aaaaaaaaaaaa');
    await layout.point('current', '1.1.0-bbbbbbbbbbbb');

    const first = start();
    const second = start();
    expect([first.code, second.code]).toEqual([1, 1]);
    expect(second.stderr).toContain('TypeError: cannot read the config');
    expect(await layout.linked('current')).toBe('1.1.0-bbbbbbbbbbbb');

    const third = start();

    expect(third.code).toBe(0);
    expect(third.stdout).toContain('serving 1.0.0-aaaaaaaaaaaa');
    expect(third.stderr).toContain('never marked itself good in 2 starts: rolled back to 1.0.0-aaaaaaaaaaaa');
    expect(await layout.linked('current')).toBe('1.0.0-aaaaaaaaaaaa');
    expect(await layout.linked('previous')).toBeUndefined();
    expect(await layout.bootState()).toEqual({ release: '1.0.0-aaaaaaaaaaaa', starts: 1, good: true });
    expect(await layout.lastRollback()).toEqual({
      failedRelease: '1.1.0-bbbbbbbbbbbb',
      restoredRelease: '1.0.0-aaaaaaaaaaaa',
      at: expect.any(String),
      starts: 2,
      logTail: expect.stringContaining('1.1.0-bbbbbbbbbbbb: TypeError: cannot read the config'),
    });
    // The restored release stays: further starts do not flip back.
    expect(start().stdout).toContain('serving 1.0.0-aaaaaaaaaaaa');
  });

  it('should roll back a release that runs but never marks itself good', async () => {
    goodRelease('1.0.0-aaaaaaaaaaaa');
    neverGoodRelease('1.1.0-bbbbbbbbbbbb');
    await layout.point('previous', '1.0.0-aaaaaaaaaaaa');
    await layout.point('current', '1.1.0-bbbbbbbbbbbb');

    start();
    start();
    expect(start().stdout).toContain('serving 1.0.0-aaaaaaaaaaaa');
    expect(await layout.linked('current')).toBe('1.0.0-aaaaaaaaaaaa');
  });

  it('should give a release that was good once a fresh count after each upgrade', async () => {
    goodRelease('1.0.0-aaaaaaaaaaaa');
    crashingRelease('1.1.0-bbbbbbbbbbbb');
    await layout.point('current', '1.0.0-aaaaaaaaaaaa');
    start();
    // An upgrade: previous is the running release, current the new one (UpgradeService's order).
    await layout.point('previous', '1.0.0-aaaaaaaaaaaa');
    await layout.point('current', '1.1.0-bbbbbbbbbbbb');

    expect(start().code).toBe(1);
    expect(await layout.bootState()).toEqual({ release: '1.1.0-bbbbbbbbbbbb', starts: 1, good: false });
  });

  it('should keep starting a failing release when there is no previous one, saying so', async () => {
    crashingRelease('1.0.0-aaaaaaaaaaaa');
    await layout.point('current', '1.0.0-aaaaaaaaaaaa');

    start();
    start();
    const third = start();

    expect(third.code).toBe(1);
    expect(third.stderr).toContain('there is no previous release to go back to; starting it again');
    expect(await layout.bootState()).toEqual({ release: '1.0.0-aaaaaaaaaaaa', starts: 3, good: false });
  });

  it('should run other commands (version, snapshot) with current without counting them as starts', async () => {
    release('1.0.0-aaaaaaaaaaaa', "console.log('ran ' + process.argv.slice(2).join(' '));");
    await layout.point('current', '1.0.0-aaaaaaaaaaaa');

    for (let i = 0; i < 3; i++) {
      const run = spawnSync(process.execPath, [path.join(install, 'bin', 'mcp-agent-launch'), 'version'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
      expect(run.stdout).toBe('ran version\n');
    }

    expect(await layout.bootState()).toBeUndefined();
    expect(fs.existsSync(path.join(install, 'output'))).toBe(false);
  });

  it('should refuse to start with a clear line when current points at nothing installed', async () => {
    fs.symlinkSync('releases/9.9.9-missing', path.join(install, 'current'));

    const run = start();

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('does not point at an installed release');
  });

  it('should pass SIGTERM on to the agent and exit as it exits', async () => {
    release('1.0.0-aaaaaaaaaaaa', "process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0); }); console.log('up'); setInterval(() => undefined, 1000);");
    await layout.point('current', '1.0.0-aaaaaaaaaaaa');
    const child = spawn(process.execPath, [path.join(install, 'bin', 'mcp-agent-launch'), 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('up')) resolve();
      }),
    );

    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));

    expect(code).toBe(0);
    expect(out).toContain('got SIGTERM');
  });

  it('should agree with ReleaseLayout on the names it uses', () => {
    // The launcher's header is the reference for the layout; release-layout.ts must follow it.
    const launcher = fs.readFileSync(LAUNCHER, 'utf8');
    const source = fs.readFileSync(LAYOUT, 'utf8');
    for (const name of ['boot.json', 'rollback.json', 'MCP_AGENT_INSTALL_DIR', 'MCP_AGENT_RELEASE', "'releases'"]) {
      expect(launcher).toContain(name);
      expect(source).toContain(name);
    }
  });
});
