import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { mcpv1 } from '@mcp/proto';
import { SSH_CONNECT_TIMEOUT_S } from '@mcp/restic';
import { toProtoServiceSpec } from '@mcp/servicedef';
import { freePortSync, makeTestConfig, TestAgent } from '../support';

jest.setTimeout(240_000);

const run = promisify(execFile);
const PREFIX = `i23f-${randomBytes(3).toString('hex')}`;
const IMAGE = 'localhost/mcp-test/busybox:1.0';

/** path -> sha256 and mode of every file under `root`. */
function manifest(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else out[path.relative(root, full)] = `${createHash('sha256').update(fs.readFileSync(full)).digest('hex')} ${(fs.statSync(full).mode & 0o7777).toString(8)}`;
    }
  };
  walk(root);
  return out;
}

async function state(name: string): Promise<string> {
  const { stdout } = await run('podman', ['container', 'inspect', '--format', '{{.State.Status}}', name]);
  return stdout.trim();
}

/** BackupService to its end: the result or the error, the phases, and how long it took. */
function backup(agent: TestAgent, service: string): Promise<{ result?: mcpv1.BackupResult; error?: Error; phases: string[]; seconds: number }> {
  const from = Date.now();
  return new Promise((resolve) => {
    const phases: string[] = [];
    let result: mcpv1.BackupResult | undefined;
    const stream = agent.rpc.raw.backupService({ service }, agent.rpc.metadata());
    stream.on('data', (message: mcpv1.BackupServiceResponse) => {
      if (message.progress && phases.at(-1) !== message.progress.phase) phases.push(message.progress.phase);
      if (message.result) result = message.result;
    });
    stream.on('error', (error: Error) => resolve({ error, phases, seconds: (Date.now() - from) / 1000 }));
    stream.on('end', () => resolve({ result, phases, seconds: (Date.now() - from) / 1000 }));
  });
}

/** `work`, or a failure naming `what` after `ms` (so a hang fails the test instead of stalling it). */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms / 1000} s`)), ms)));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

function deploySpec(service: string, mode: 'pause' | 'stop'): mcpv1.ServiceSpec {
  return toProtoServiceSpec({
    name: service,
    node: 'test',
    active: true,
    backup: { mode },
    components: [{ name: 'app', image: IMAGE, cmd: ['sleep', '3600'], ports: [], volumes: [], env: [], routes: [] }],
  });
}

/** The gRPC error's own text, without grpc-js's "<code> <NAME>: " prefix. */
const said = (error: Error | undefined) => (error?.message ?? '').replace(/^\d+ [A-Z_]+: /, '');

describe('backup faults: a full disk and an unreachable sftp repository (real restic, podman, agent, sshd)', () => {
  describe('the local repository on a filesystem that fills up (a 8 MiB tmpfs)', () => {
    const SERVICE = `${PREFIX}-disk`;
    const mount = fs.mkdtempSync(path.join(os.tmpdir(), 'i23f-tmpfs-'));
    let agent: TestAgent;
    let srv: string;

    beforeAll(async () => {
      await run('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', mount]);
      agent = await TestAgent.create({ config: makeTestConfig({ backup: { repository: path.join(mount, 'restic') } }) });
      await agent.start();
      await agent.rpc.call('deploy', { service: deploySpec(SERVICE, 'stop'), component: '', force: false });
      srv = path.join(agent.config.agent.srvRoot, SERVICE);
      fs.mkdirSync(srv, { recursive: true });
      fs.writeFileSync(path.join(srv, 'small.txt'), 'the data that fits\n');
    });

    afterAll(async () => {
      await agent?.dispose({ containerPrefix: PREFIX });
      await run('umount', [mount]).catch(() => undefined);
      fs.rmSync(mount, { recursive: true, force: true });
    });

    it('fails in one line naming the full disk, starts the stopped service again, changes no data and keeps the earlier snapshot', async () => {
      const first = await backup(agent, SERVICE);
      expect(first.error).toBeUndefined();
      // Incompressible and three times the filesystem: restic cannot store it.
      fs.writeFileSync(path.join(srv, 'big.bin'), randomBytes(24 * 1024 * 1024));
      const before = manifest(srv);

      const full = await within(60_000, 'the backup onto a full disk', backup(agent, SERVICE));

      expect(said(full.error)).toBe(`backup repository ${path.join(mount, 'restic')}: no space left on device (restic backup); the snapshots already there are kept`);
      expect(full.phases).toEqual(expect.arrayContaining(['stopping', 'snapshot', 'resuming']));
      expect(await state(`${SERVICE}-app`)).toBe('running');
      expect(manifest(srv)).toEqual(before);
      expect((await agent.rpc.call('listBackups', { service: SERVICE, runsOnly: false })).snapshots.map((s) => s.shortId)).toEqual([first.result!.snapshotId]);
      expect(await agent.rpc.call('checkBackups', { service: SERVICE })).toMatchObject({ snapshots: 1 });
      const runs = (await agent.rpc.call('listBackups', { service: SERVICE, runsOnly: true })).runs;
      expect(runs[0]).toMatchObject({ ok: false, message: said(full.error) });
    });

    it('backs up again once there is room, and restores that snapshot', async () => {
      fs.rmSync(path.join(srv, 'big.bin'));
      const again = await backup(agent, SERVICE);
      expect(again.error).toBeUndefined();
      expect((await agent.rpc.call('listBackups', { service: SERVICE, runsOnly: false })).snapshots).toHaveLength(2);
      fs.writeFileSync(path.join(srv, 'small.txt'), 'changed after the backup\n');

      const restored = await agent.rpc.call('restoreService', { service: SERVICE, snapshot: again.result!.snapshotId });

      expect(restored.results).toEqual([expect.objectContaining({ ok: true })]);
      expect(fs.readFileSync(path.join(srv, 'small.txt'), 'utf8')).toBe('the data that fits\n');
      expect(await state(`${SERVICE}-app`)).toBe('running');
    });
  });

  describe('an sftp repository (sshd on a loopback port of the test) that goes away', () => {
    const SERVICE = `${PREFIX}-sftp`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'i23f-sshd-'));
    const port = freePortSync();
    const repository = `sftp://root@127.0.0.1:${port}/${path.join(dir, 'repo')}`;
    let sshd: ChildProcess | undefined;
    let agent: TestAgent;

    async function listening(): Promise<boolean> {
      return new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
    }

    async function startSshd(): Promise<void> {
      sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
      const deadline = Date.now() + 15_000;
      while (!(await listening())) {
        if (Date.now() > deadline || sshd.exitCode !== null) throw new Error('sshd did not listen within 15 s');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }

    async function stopSshd(): Promise<void> {
      const child = sshd;
      sshd = undefined;
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }

    beforeAll(async () => {
      for (const name of ['host_key', 'client_key']) await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, name)]);
      fs.copyFileSync(path.join(dir, 'client_key.pub'), path.join(dir, 'authorized_keys'));
      fs.mkdirSync(path.join(dir, 'repo'), { mode: 0o700 });
      fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege-separation directory
      fs.writeFileSync(
        path.join(dir, 'sshd_config'),
        [
          'ListenAddress 127.0.0.1',
          `Port ${port}`,
          `HostKey ${path.join(dir, 'host_key')}`,
          `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
          `PidFile ${path.join(dir, 'sshd.pid')}`,
          'PermitRootLogin prohibit-password',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          'StrictModes no',
          'Subsystem sftp internal-sftp',
          '',
        ].join('\n'),
      );
      await startSshd();
      const sshOptions = ['-F', '/dev/null', '-i', path.join(dir, 'client_key'), '-o', `UserKnownHostsFile=${path.join(dir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=accept-new'];
      agent = await TestAgent.create({ config: makeTestConfig({ backup: { repository, sshOptions } }) });
      await agent.start();
      await agent.rpc.call('deploy', { service: deploySpec(SERVICE, 'pause'), component: '', force: false });
      const srv = path.join(agent.config.agent.srvRoot, SERVICE);
      fs.mkdirSync(srv, { recursive: true });
      fs.writeFileSync(path.join(srv, 'notes.txt'), 'kept remotely\n');
    });

    afterAll(async () => {
      await agent?.dispose({ containerPrefix: PREFIX });
      await stopSshd();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('backs up over sftp while the server is there (the repository initialised through it)', async () => {
      const first = await within(60_000, 'the first sftp backup', backup(agent, SERVICE));
      expect(first.error).toBeUndefined();
      expect(fs.existsSync(path.join(dir, 'repo', 'config'))).toBe(true);
    });

    it('fails at once in one line when the server is stopped, and unpauses the service', async () => {
      await stopSshd();

      const gone = await within(30_000, 'the backup to a stopped sftp server', backup(agent, SERVICE));

      expect(said(gone.error)).toBe(`backup repository ${repository}: unreachable: ssh: connect to host 127.0.0.1 port ${port}: Connection refused`);
      expect(gone.phases).toEqual(expect.arrayContaining(['pausing', 'resuming']));
      expect(await state(`${SERVICE}-app`)).toBe('running');
    });

    it('gives up on a server that accepts and never speaks after the ssh connect timeout, and unpauses the service', async () => {
      const silent = net.createServer(() => undefined);
      const held: net.Socket[] = [];
      silent.on('connection', (socket) => held.push(socket));
      await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
      try {
        const hung = await within((SSH_CONNECT_TIMEOUT_S + 30) * 1000, 'the backup to a silent sftp server', backup(agent, SERVICE));

        expect(said(hung.error)).toMatch(new RegExp(`^backup repository ${repository.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: unreachable: ssh: .*timed out`));
        expect(said(hung.error).split('\n')).toHaveLength(1);
        expect(hung.seconds).toBeGreaterThanOrEqual(SSH_CONNECT_TIMEOUT_S - 1);
        expect(hung.phases).toEqual(expect.arrayContaining(['pausing', 'resuming']));
        expect(await state(`${SERVICE}-app`)).toBe('running');
      } finally {
        for (const socket of held) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    });

    it('loses nothing: with the server back, the first snapshot is there and the next backup succeeds', async () => {
      await startSshd();
      expect((await agent.rpc.call('listBackups', { service: SERVICE, runsOnly: false })).snapshots).toHaveLength(1);
      const back = await within(60_000, 'the backup with the server back', backup(agent, SERVICE));
      expect(back.error).toBeUndefined();
      expect((await agent.rpc.call('listBackups', { service: SERVICE, runsOnly: false })).snapshots).toHaveLength(2);
    });
  });
});
