import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { ServiceError } from '@grpc/grpc-js';
import { bundleFiles, makeBundle, releaseName, sha256Hex, stampedPackageJson } from '@mcp/common';
import { ReleaseLayout } from '../../apps/agent/src/upgrade/release-layout';
import { unpackBundle } from '../../apps/agent/src/upgrade/unpack';
import { agentClient, makeTestConfig, makeTlsFixture, protoService, removeContainers, TEST_ADMIN_TOKEN, writeAgentConfigFile, writeTestTokens, type AgentTestClient } from '../support';
import { TestSupervisor } from '../support/supervisor';
import { releaseEntries, tarball } from '../support/tarball';

/**
 * SPEC §16 end to end: the real launcher (deploy/mcp-agent-launch) in front of real agent
 * releases unpacked from bundles of this build, under a supervisor with systemd's
 * Restart=always semantics — a test one (test/support/supervisor.ts), because this machine's
 * PID 1 is not systemd — driven by the real `mcp` binary. The install dir is on its own small
 * tmpfs so that "disk too full" is a real full disk, not a stub.
 */
jest.setTimeout(180_000);

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const MCP = path.join(ROOT, 'bin', 'mcp.js');
const PREFIX = `i25${randomBytes(3).toString('hex')}`;
const SERVICE = `${PREFIX}-app`;
const NODE = 'i25-node';
const TMPFS_MIB = 160;
/** The supervisor's RestartSec (the unit's is 5 s; shorter here only to keep the suite fast). */
const RESTART_MS = 200;

/** A bundle of this build stamped with `version`; `agent` replaces dist/mcp-agent.js (a broken build). */
function buildBundle(dir: string, version: string, agent?: string): { file: string; release: string; sha256: string } {
  const replace: Record<string, Buffer> = { 'package.json': stampedPackageJson(ROOT, version) };
  if (agent !== undefined) replace['dist/mcp-agent.js'] = Buffer.from(agent);
  const data = makeBundle(ROOT, bundleFiles(ROOT), replace);
  const file = path.join(dir, `bundle-${version}.tar.gz`);
  fs.writeFileSync(file, data);
  const sha256 = sha256Hex(data);
  return { file, release: releaseName(version, sha256), sha256 };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(100);
  }
}

describe('mcp node upgrade (real launcher, real agent releases, Restart=always test supervisor)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'i25-upgrade-e2e-'));
  const install = path.join(dir, 'install');
  const home = path.join(dir, 'home');
  const config = makeTestConfig({ dir: path.join(dir, 'agent') });
  const layout = new ReleaseLayout(install);
  let caCertPath: string;
  let supervisor: TestSupervisor | undefined;
  let client: AgentTestClient;
  let mounted = false;
  let initial: { release: string };
  let v030: { file: string; release: string; sha256: string };
  let containerIds: string;

  function mcp(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [MCP, ...args], { env: { PATH: process.env.PATH, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  function startSupervisor(env: NodeJS.ProcessEnv = {}): void {
    supervisor = new TestSupervisor({
      command: process.execPath,
      args: [path.join(install, 'bin', 'mcp-agent-launch'), 'serve', '--config', config.file],
      env: { PATH: process.env.PATH, HOME: process.env.HOME, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? path.join(ROOT, 'test', 'podman', 'containers.conf'), ...env },
      restartMs: RESTART_MS,
    });
    supervisor.start();
  }

  /** NodeStatus once `release` serves and is marked good. */
  const serving = (release: string) =>
    until(`${release} serving and marked good`, async () => {
      const status = await client.call('nodeStatus', {});
      return status.release === release && status.releaseGood ? status : undefined;
    });

  const ids = async () => (await run('podman', ['ps', '-a', '--filter', `name=^${PREFIX}`, '--format', '{{.Names}} {{.ID}} {{.StartedAt}}'])).stdout.trim();
  const releasesOnDisk = () => fs.readdirSync(layout.releasesDir).sort();

  beforeAll(async () => {
    fs.mkdirSync(install);
    // The install dir on its own small filesystem: "disk too full" below fills it for real.
    await run('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_MIB}m,mode=0755`, `${PREFIX}-tmpfs`, install]);
    mounted = true;
    fs.mkdirSync(path.join(install, 'bin'));
    fs.copyFileSync(path.join(ROOT, 'deploy', 'mcp-agent-launch'), path.join(install, 'bin', 'mcp-agent-launch'));
    // Releases share the install's node_modules (docs/self-management.md).
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(install, 'node_modules'));
    // The first release, as deploy/install.sh makes it: this build's bundle, unpacked.
    const first = buildBundle(dir, '0.1.0');
    fs.mkdirSync(layout.releasesDir);
    await unpackBundle({ file: first.file, dir: layout.releaseDir(first.release) });
    await layout.point('current', first.release);
    initial = first;
    v030 = buildBundle(dir, '0.3.0');

    caCertPath = (await makeTlsFixture(path.join(path.dirname(config.file), 'tls'))).caCertPath;
    await writeTestTokens(config);
    writeAgentConfigFile(config);
    const configDir = path.join(home, '.config', 'mcp');
    fs.mkdirSync(configDir, { recursive: true });
    fs.writeFileSync(
      path.join(configDir, 'mcp.toml'),
      `[tls]\nca_cert = ${JSON.stringify(caCertPath)}\n\n[[nodes]]\nname = "${NODE}"\naddress = "${config.server.grpcAddr}"\nserver_name = "localhost"\n`,
    );
    fs.writeFileSync(path.join(configDir, 'token'), `${TEST_ADMIN_TOKEN}\n`, { mode: 0o600 });
    client = agentClient({ address: config.server.grpcAddr, caCertPath, token: TEST_ADMIN_TOKEN });

    startSupervisor();
    await serving(initial.release);
    const deployed = await client.call('deploy', { service: protoService({ name: SERVICE, components: [{ name: SERVICE, cmd: ['sleep', '3600'] }] }), component: '', force: false });
    expect(deployed.results.map((r) => [r.component, r.ok, r.error])).toEqual([[SERVICE, true, '']]);
    containerIds = await ids();
    expect(containerIds).toContain(SERVICE);
  });

  afterAll(async () => {
    client?.close();
    await supervisor?.stop();
    await removeContainers(PREFIX);
    // A release killed with SIGKILL leaves its podman service (the next start reuses it); end it.
    spawnSync('pkill', ['-f', '--', `system service --time=0 unix://${config.runtime.socket}$`], { stdio: 'ignore' });
    if (mounted) await run('umount', [install]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('should show the CLI and agent versions, the release and no skew warning', async () => {
    const version = await mcp(['version']);

    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(new RegExp(`^${NODE}\\s+0\\.1\\.0\\s+${initial.release}\\s+good$`, 'm'));
    expect(version.stderr).toBe('');
  });

  it('should upgrade to a good bundle: the new version answers, marked good, containers untouched', async () => {
    const upgrade = await mcp(['node', 'upgrade', NODE, '--bundle', v030.file]);

    expect(upgrade.stderr).toBe('');
    expect(upgrade.stdout).toContain(`${NODE}: upgraded ${initial.release} -> ${v030.release}`);
    expect(upgrade.code).toBe(0);
    const status = await serving(v030.release);
    expect(status.version).toBe('0.3.0');
    expect(await layout.linked('current')).toBe(v030.release);
    expect(await layout.linked('previous')).toBe(initial.release);
    expect(await ids()).toBe(containerIds);
    // Audited like every RPC, with the caller.
    expect(supervisor!.logs()).toMatch(/"msg":"rpc".*"method":"[^"]*UpgradeAgent".*"code":"OK"/);
    // The registry came along: the service is still the agent's.
    expect((await client.call('listServices', {})).services.map((s) => s.name)).toEqual([SERVICE]);
  });

  it('should warn about a node more than one minor version from the CLI', async () => {
    const version = await mcp(['version']);

    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(new RegExp(`^${NODE}\\s+0\\.3\\.0\\s+${v030.release}\\s+good$`, 'm'));
    expect(version.stderr).toContain(`warning: ${NODE} runs agent 0.3.0, this CLI is 0.1.0: more than one minor version apart`);
  });

  it('should go back one release with --rollback, and refuse the CLI\'s own build while it runs', async () => {
    const back = await mcp(['node', 'upgrade', NODE, '--rollback']);

    expect(back.stdout).toContain(`${NODE}: back on ${initial.release} (was ${v030.release})`);
    expect(back.code).toBe(0);
    await serving(initial.release);
    // The default bundle is this CLI's own build: the very release that runs now.
    const same = await mcp(['node', 'upgrade', NODE]);
    expect(same.code).toBe(1);
    expect(same.stderr).toContain(`release ${initial.release} is already the one running`);
    expect(await ids()).toBe(containerIds);
  });

  it('should roll back a bundle that crashes at start after two starts; the old version answers and the CLI reports it', async () => {
    const broken = buildBundle(dir, '0.4.0', "console.error('i25 broken build: cannot start'); process.exit(1);\n");
    const startsBefore = supervisor!.starts;

    const upgrade = await mcp(['node', 'upgrade', NODE, '--bundle', broken.file]);

    expect(upgrade.code).toBe(1);
    expect(upgrade.stderr).toContain(`${NODE}: rolled back: ${broken.release} never became good in 2 starts; the launcher went back to ${initial.release}`);
    expect(upgrade.stderr).toContain('i25 broken build: cannot start');
    const status = await serving(initial.release);
    expect(status.lastRollback).toMatchObject({ failedRelease: broken.release, restoredRelease: initial.release });
    // Two starts of the broken release, one of the restored one.
    expect(supervisor!.starts - startsBefore).toBe(3);
    expect(await layout.linked('current')).toBe(initial.release);
    expect(await ids()).toBe(containerIds);
  });

  const refusesLeavingNothing = async (refusal: () => Promise<void>) => {
    const before = { current: await layout.linked('current'), releases: releasesOnDisk(), starts: supervisor!.starts };
    await refusal();
    expect({ current: await layout.linked('current'), releases: releasesOnDisk(), starts: supervisor!.starts }).toEqual(before);
    expect((await client.call('nodeStatus', {})).release).toBe(before.current);
  };

  it('should refuse a bundle whose SHA-256 does not match, switching nothing', async () => {
    const v060 = buildBundle(dir, '0.6.0');
    await refusesLeavingNothing(async () => {
      const data = fs.readFileSync(v060.file);
      const error = await new Promise<ServiceError | undefined>((resolve) => {
        const stream = client.raw.upgradeAgent(client.metadata(), (err) => resolve(err ?? undefined));
        stream.write({ header: { version: '0.6.0', size: data.length, sha256: sha256Hex(Buffer.from('something else')) } });
        for (let at = 0; at < data.length; at += 64 * 1024) stream.write({ chunk: data.subarray(at, at + 64 * 1024) });
        stream.end();
      });
      expect(error?.details).toMatch(/SHA-256 of the received bundle \([0-9a-f]{64}\) does not match the header's .*nothing was switched/);
    });
  });

  it('should refuse a tarball with a path escape, writing nothing outside and switching nothing', async () => {
    const escape = path.join(dir, 'bundle-escape.tar.gz');
    fs.writeFileSync(escape, tarball([...releaseEntries('0.5.0'), { path: '../../../escaped-by-i25', data: 'x' }]));

    await refusesLeavingNothing(async () => {
      const upgrade = await mcp(['node', 'upgrade', NODE, '--bundle', escape]);
      expect(upgrade.code).toBe(1);
      expect(upgrade.stderr).toContain('climbs out with ".."');
    });
    expect(fs.existsSync(path.join(install, 'escaped-by-i25'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'escaped-by-i25'))).toBe(false);
  });

  it('should refuse when the disk is too full, switching nothing', async () => {
    const { bavail, bsize } = fs.statfsSync(install);
    const filler = path.join(install, 'filler');
    // Leave 16 MiB: more than the bundle, less than the upgrade needs.
    await run('fallocate', ['-l', String(bavail * bsize - 16 * 1024 * 1024), filler]);
    try {
      await refusesLeavingNothing(async () => {
        const upgrade = await mcp(['node', 'upgrade', NODE, '--bundle', v030.file]);
        expect(upgrade.code).toBe(1);
        expect(upgrade.stderr).toMatch(/not enough free space under .*releases: \d+ bytes free, the upgrade needs \d+; nothing was switched/);
      });
    } finally {
      fs.rmSync(filler, { force: true });
    }
  });

  it('should keep the old release current when the agent is killed (SIGKILL) between unpack and switch', async () => {
    await supervisor!.stop();
    startSupervisor({ MCP_AGENT_FAILPOINTS: 'upgrade.before-switch=kill' });
    await serving(initial.release);
    const v050 = buildBundle(dir, '0.5.0');

    const upgrade = await mcp(['node', 'upgrade', NODE, '--bundle', v050.file]);

    expect(upgrade.code).not.toBe(0);
    expect(upgrade.stdout).not.toContain('upgraded');
    await serving(initial.release);
    expect(await layout.linked('current')).toBe(initial.release);
    expect(supervisor!.exits.some((e) => e.code === 137)).toBe(true);
    // The unpacked release may stay beside the others; nothing half-made does.
    expect(releasesOnDisk().filter((e) => e.startsWith('.'))).toEqual([]);
    expect(await ids()).toBe(containerIds);
  });
});
