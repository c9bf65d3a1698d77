import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { BackupFailedError, BackupRepositoryUnavailableError, serviceTag } from './backup-repository';
import { ResticConfig } from './restic-config';
import { ResticRepository, SSH_CONNECT_TIMEOUT_S, sftpCommand } from './restic-repository';

/** Against the real restic binary (Debian's package), in a temp dir: no podman, no agent. */
describe('ResticRepository (real restic)', () => {
  let dir: string;
  const repoFor = (overrides: Partial<ResticConfig> = {}) =>
    new ResticRepository(
      new ResticConfig({
        repository: path.join(dir, 'repo'),
        passwordFile: path.join(dir, 'keys', 'restic.pass'),
        cacheDir: path.join(dir, 'cache'),
        host: 'node-a',
        env: { PATH: process.env.PATH, RESTIC_PASSWORD: 'from-the-environment' },
        resticPath: 'restic',
        sshOptions: [],
        ...overrides,
      }),
    );

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'i23-restic-'));
    fs.mkdirSync(path.join(dir, 'data', 'sub'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'data', 'a.txt'), 'alpha');
    fs.writeFileSync(path.join(dir, 'data', 'sub', 'b.txt'), 'beta');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('generates a 0600 password file, initialises the repository on first use, and backs up, lists, restores, forgets', async () => {
    const repo = repoFor();
    const data = path.join(dir, 'data');
    const first = await repo.backup({ paths: [data], tags: [serviceTag('shop')] });
    expect(first.snapshotId).toMatch(/^[0-9a-f]{8}$/);
    expect(first.totalFiles).toBe(2);
    expect(fs.statSync(path.join(dir, 'keys', 'restic.pass')).mode & 0o777).toBe(0o600);
    await repo.backup({ paths: [data], tags: [serviceTag('other')] });
    fs.writeFileSync(path.join(data, 'a.txt'), 'changed');
    await repo.backup({ paths: [data], tags: [serviceTag('shop')] });

    const shop = await repo.snapshots({ tags: [serviceTag('shop')] });
    expect(shop).toHaveLength(2);
    expect(shop[0].hostname).toBe('node-a');
    expect(shop.every((s) => s.tags.includes('mcp-service=shop'))).toBe(true);

    const target = path.join(dir, 'staging');
    await repo.restore({ snapshotId: shop[0].shortId, include: data, target });
    expect(fs.readFileSync(path.join(target, data, 'a.txt'), 'utf8')).toBe('alpha');
    expect((await repo.list({ snapshotId: shop[0].shortId })).filter((p) => p.startsWith(data))).toEqual(
      expect.arrayContaining([path.join(data, 'a.txt'), path.join(data, 'sub', 'b.txt')]),
    );

    const removed = await repo.forget({ tags: [serviceTag('shop')], policy: { keepLast: 1 } });
    expect(removed).toEqual([shop[0].id]);
    expect(await repo.snapshots({ tags: [serviceTag('shop')] })).toHaveLength(1);
    expect(await repo.snapshots({ tags: [serviceTag('other')] })).toHaveLength(1);
    await repo.check();
  });

  it('names a wrong password in one line and changes nothing', async () => {
    await repoFor().backup({ paths: [path.join(dir, 'data')], tags: [serviceTag('shop')] });
    fs.writeFileSync(path.join(dir, 'wrong.pass'), 'not-it\n', { mode: 0o600 });
    const wrong = repoFor({ passwordFile: path.join(dir, 'wrong.pass') });
    await expect(wrong.snapshots({ tags: [] })).rejects.toThrow(new BackupFailedError(`backup repository ${path.join(dir, 'repo')}: wrong password (password_file ${path.join(dir, 'wrong.pass')})`));
    expect(await repoFor().snapshots({ tags: [] })).toHaveLength(1);
  });

  it('refuses a password file others can read', async () => {
    fs.writeFileSync(path.join(dir, 'open.pass'), 'secret\n', { mode: 0o644 });
    fs.chmodSync(path.join(dir, 'open.pass'), 0o644);
    await expect(repoFor({ passwordFile: path.join(dir, 'open.pass') }).ensureReady()).rejects.toThrow(/mode 644 lets others read it; chmod 600 it/);
    expect(fs.existsSync(path.join(dir, 'repo'))).toBe(false);
  });

  it('does not create a repository whose directory is missing (an unmounted disk)', async () => {
    const repo = repoFor({ repository: path.join(dir, 'not-mounted', 'restic') });
    await expect(repo.ensureReady()).rejects.toThrow(BackupRepositoryUnavailableError);
    await expect(repo.ensureReady()).rejects.toThrow(/does not exist \(not mounted\?\)$/);
    expect(fs.existsSync(path.join(dir, 'not-mounted'))).toBe(false);
  });

  it('takes only hex snapshot ids', async () => {
    await expect(repoFor().restore({ snapshotId: '--target=/', include: '/x', target: dir })).rejects.toThrow(/is not a snapshot id/);
  });

  it('should fail an sftp repository whose server refuses at once, with ssh\'s reason in one line', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const sut = repoFor({ repository: `sftp://nobody@127.0.0.1:${port}//srv/restic`, sshOptions: ['-F', '/dev/null'] });

    const error = await sut.ensureReady().catch((e: unknown) => e as Error);

    expect(error).toBeInstanceOf(BackupRepositoryUnavailableError);
    expect((error as Error).message).toBe(`backup repository sftp://nobody@127.0.0.1:${port}//srv/restic: unreachable: ssh: connect to host 127.0.0.1 port ${port}: Connection refused`);
  });
});

describe(sftpCommand.name, () => {
  const bounds = `-o BatchMode=yes -o ConnectTimeout=${SSH_CONNECT_TIMEOUT_S} -o ServerAliveInterval=10 -o ServerAliveCountMax=3`;

  it("should bound ssh, then add the operator's options, the port and [user@]host of either form", () => {
    expect(sftpCommand('sftp:backup@vault:/srv/restic', ['-i', '/etc/mcp/key'])).toBe(`ssh ${bounds} -i /etc/mcp/key backup@vault -s sftp`);
    expect(sftpCommand('sftp:vault:restic', [])).toBe(`ssh ${bounds} vault -s sftp`);
    expect(sftpCommand('sftp:[::1]:/srv/restic', [])).toBe(`ssh ${bounds} ::1 -s sftp`);
    expect(sftpCommand('sftp://backup@10.0.0.5:2222//srv/restic', [])).toBe(`ssh ${bounds} -p 2222 backup@10.0.0.5 -s sftp`);
    expect(sftpCommand('sftp://vault/restic', [])).toBe(`ssh ${bounds} vault -s sftp`);
  });

  it('should leave other backends alone and refuse an sftp repository it cannot read', () => {
    expect(sftpCommand('/srv/mcp/restic', ['-i', 'k'])).toBeUndefined();
    expect(sftpCommand('rest:https://backup.example/', [])).toBeUndefined();
    expect(() => sftpCommand('sftp:nohostpath', [])).toThrow('not sftp:[user@]host:/path');
  });
});
