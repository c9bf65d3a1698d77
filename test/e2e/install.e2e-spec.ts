import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..', '..');
const script = path.join(root, 'deploy', 'install.sh');

// One install copies ~190 MB twice and packs the agent bundle: ~6 s on an idle machine, more
// than 60 s on a loaded CI one, where 120 s for two installs was not enough (the timed-out
// install then ran on under the next test's uninstall).
jest.setTimeout(480_000);

/**
 * deploy/install.sh for real (as root), into temporary prefix/srv/unit folders so the host's
 * /usr/local, /srv and /etc/systemd are not touched. Needs `npm run build`.
 */
describe('deploy/install.sh', () => {
  const user = `mcpinst${process.pid % 10000}`;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error('install.sh e2e needs root (it creates a user)');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-install-'));
    env = {
      ...process.env,
      MCP_PREFIX: path.join(dir, 'prefix'),
      MCP_SRV: path.join(dir, 'srv', 'mcp'),
      MCP_UNIT_DIR: path.join(dir, 'units'),
      MCP_USER: user,
    };
  });

  afterAll(async () => {
    await run('userdel', [user]).catch(() => undefined);
    for (const f of ['/etc/subuid', '/etc/subgid']) {
      const text = fs.readFileSync(f, 'utf8');
      fs.writeFileSync(f, text.split('\n').filter((line) => !line.startsWith(`${user}:`)).join('\n'));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('should install the user, data dir, program, units and example config, idempotently', async () => {
    await run('bash', [script], { env });
    const srv = env.MCP_SRV!;
    const uid = Number((await run('id', ['-u', user])).stdout.trim());

    expect(fs.statSync(srv).uid).toBe(uid);
    expect(fs.statSync(srv).mode & 0o777).toBe(0o750);
    expect(fs.readFileSync('/etc/subuid', 'utf8')).toMatch(new RegExp(`^${user}:\\d+:65536$`, 'm'));
    expect(fs.readFileSync('/etc/subgid', 'utf8')).toMatch(new RegExp(`^${user}:\\d+:65536$`, 'm'));
    const unit = fs.readFileSync(path.join(env.MCP_UNIT_DIR!, 'mcp-agent.service'), 'utf8');
    expect(unit).toContain(`Environment=XDG_RUNTIME_DIR=/run/user/${uid}`);
    expect(fs.existsSync(path.join(env.MCP_UNIT_DIR!, 'mcp-agent-backup.timer'))).toBe(true);
    const version = await run(path.join(env.MCP_PREFIX!, 'bin', 'mcp-agent'), ['--version']);
    expect(version.stdout).toMatch(/^mcp-agent \d+\.\d+\.\d+/);
    // The agent's release layout (SPEC §16): the unit starts the launcher, which starts `current`.
    const agent = path.join(env.MCP_PREFIX!, 'lib', 'mcp-agent');
    const current = fs.readlinkSync(path.join(agent, 'current'));
    expect(current).toMatch(/^releases\/\d+\.\d+\.\d+-[0-9a-f]{12}$/);
    expect(fs.existsSync(path.join(agent, current, 'dist', 'mcp-agent.js'))).toBe(true);
    expect(fs.statSync(path.join(agent, 'releases')).uid).toBe(uid);
    expect(fs.statSync(path.join(agent, current, 'dist', 'mcp-agent.js')).uid).toBe(uid);
    expect(fs.statSync(path.join(agent, 'bin', 'mcp-agent-launch')).mode & 0o777).toBe(0o755);
    expect(unit).toContain(`ExecStart=${agent}/bin/mcp-agent-launch serve --config /srv/mcp/mcp-agent.toml`);
    expect(unit).toContain('Restart=always');
    expect(unit).toContain(`ReadWritePaths=${agent}`);
    const launched = await run(process.execPath, [path.join(agent, 'bin', 'mcp-agent-launch'), '--version']);
    expect(launched.stdout).toBe(version.stdout);
    expect(fs.existsSync(path.join(agent, 'previous'))).toBe(false);
    const help = await run(path.join(env.MCP_PREFIX!, 'bin', 'mcp'), ['--help']);
    expect(help.stdout).toContain('deploy');
    // Production dependencies only, in both copies: each of package.json's resolves, the dev
    // tools are not there (typescript is: cosmiconfig, under nest-commander, has it as a peer).
    const { dependencies } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const modules of [path.join(env.MCP_PREFIX!, 'lib', 'mcp', 'node_modules'), path.join(agent, 'node_modules')]) {
      const unresolved = Object.keys(dependencies).filter((name) => {
        try {
          return !require.resolve(name, { paths: [modules] }).startsWith(`${modules}/`);
        } catch {
          return true;
        }
      });
      expect(unresolved).toEqual([]);
      expect(['jest', 'eslint', 'esbuild', '@bufbuild/buf', 'playwright-core'].filter((tool) => fs.existsSync(path.join(modules, tool)))).toEqual([]);
    }

    // The operator edits the config; a second run changes nothing and keeps the edit.
    fs.appendFileSync(path.join(srv, 'mcp-agent.toml'), '\n# edited by the operator\n');
    const again = await run('bash', [script], { env });
    expect(again.stdout).toContain('kept existing');
    expect(again.stdout).toContain('is already current');
    expect(fs.readlinkSync(path.join(env.MCP_PREFIX!, 'lib', 'mcp-agent', 'current'))).toBe(current);
    expect(fs.readFileSync(path.join(srv, 'mcp-agent.toml'), 'utf8')).toContain('# edited by the operator');
    expect(fs.readFileSync('/etc/subuid', 'utf8').split('\n').filter((l) => l.startsWith(`${user}:`))).toHaveLength(1);
  });

  it('should uninstall the program and units but keep the data unless told to purge it', async () => {
    fs.writeFileSync(path.join(env.MCP_SRV!, 'mcp.db'), 'registry');

    await run('bash', [script, '--uninstall'], { env });

    expect(fs.existsSync(path.join(env.MCP_PREFIX!, 'bin', 'mcp-agent'))).toBe(false);
    expect(fs.existsSync(path.join(env.MCP_UNIT_DIR!, 'mcp-agent.service'))).toBe(false);
    expect(fs.readFileSync(path.join(env.MCP_SRV!, 'mcp.db'), 'utf8')).toBe('registry');

    await run('bash', [script, '--uninstall', '--purge-data'], { env });
    expect(fs.existsSync(env.MCP_SRV!)).toBe(false);
  });

  it('should refuse an unknown option with exit 2', async () => {
    await expect(run('bash', [script, '--bogus'], { env })).rejects.toMatchObject({ code: 2 });
  });
});
