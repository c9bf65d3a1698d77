import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChecksumMismatchError, DiskFullError, FailedPreconditionError, Failpoints, InvalidArgumentError, sha256Hex } from '@mcp/common';
import { releaseEntries, tarball, type RawEntry } from '../../../../test/support/tarball';
import { makeTestConfig } from '../../../../test/support/test-config';
import { INSTALL_DIR_ENV, RELEASE_ENV, ReleaseLayout } from './release-layout';
import { AgentExit, DiskSpace, UpgradeService, type UpgradeInput, type UpgradePart } from './upgrade.service';

const RUNNING = '1.0.0-aaaaaaaaaaaa';

class FixedDisk extends DiskSpace {
  constructor(public bytes = 100 * 1024 ** 3) {
    super();
  }
  async free(): Promise<number> {
    return this.bytes;
  }
}

class RecordedExit extends AgentExit {
  reasons: string[] = [];
  exitSoon(reason: string): void {
    this.reasons.push(reason);
  }
}

/** An upgrade's input as UpgradeController hands it over: the messages and a signal that never aborts. */
function fakeCall(messages: UpgradePart[]): UpgradeInput {
  async function* parts(): AsyncGenerator<UpgradePart> {
    for (const message of messages) yield message;
  }
  return { messages: parts(), signal: new AbortController().signal };
}

/** The stream of one upload: header, then the bundle in 64 KiB chunks. */
function upload(bundle: Buffer, header: Partial<NonNullable<UpgradePart['header']>> = {}): UpgradePart[] {
  const chunks: UpgradePart[] = [];
  for (let at = 0; at < bundle.length; at += 64 * 1024) chunks.push({ chunk: bundle.subarray(at, at + 64 * 1024) });
  return [{ header: { version: '1.1.0', size: bundle.length, sha256: sha256Hex(bundle), ...header } }, ...chunks];
}

describe(UpgradeService.name, () => {
  let install: string;
  let layout: ReleaseLayout;
  let disk: FixedDisk;
  let exit: RecordedExit;
  let sut: UpgradeService;
  const saved = { [INSTALL_DIR_ENV]: process.env[INSTALL_DIR_ENV], [RELEASE_ENV]: process.env[RELEASE_ENV] };

  beforeEach(async () => {
    install = fs.mkdtempSync(path.join(os.tmpdir(), 'i25-upgrade-'));
    layout = new ReleaseLayout(install);
    fs.mkdirSync(path.join(layout.releaseDir(RUNNING), 'bin'), { recursive: true });
    fs.writeFileSync(path.join(layout.releaseDir(RUNNING), 'bin', 'mcp-agent.js'), '');
    await layout.point('current', RUNNING);
    process.env[INSTALL_DIR_ENV] = install;
    process.env[RELEASE_ENV] = RUNNING;
    disk = new FixedDisk();
    exit = new RecordedExit();
    // The config's env is process.env itself (makeTestConfig), so the release variables set above reach it.
    sut = new UpgradeService(new Failpoints(), disk, exit, makeTestConfig());
  });
  afterEach(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    fs.rmSync(install, { recursive: true, force: true });
  });

  /** What `releases/` holds and where the links point: nothing may change on a refusal. */
  const state = async () => ({ releases: fs.readdirSync(layout.releasesDir).sort(), current: await layout.linked('current'), previous: await layout.linked('previous') });
  const untouched = { releases: [RUNNING], current: RUNNING, previous: undefined };

  it('should unpack the bundle beside the running release and switch current to it', async () => {
    const bundle = tarball(releaseEntries('1.1.0', 'console.log("new agent");\n'));
    const name = `1.1.0-${sha256Hex(bundle).slice(0, 12)}`;

    const response = await sut.upgrade(fakeCall(upload(bundle)));

    expect(response).toEqual({ release: name, previousRelease: RUNNING, version: '1.1.0' });
    expect(await state()).toEqual({ releases: [RUNNING, name].sort(), current: name, previous: RUNNING });
    expect(fs.readFileSync(path.join(install, 'current', 'dist', 'mcp-agent.js'), 'utf8')).toBe('console.log("new agent");\n');
    sut.exitAfterSwitch(response.release);
    expect(exit.reasons).toEqual([`current is now ${name}`]);
  });

  it.each<[string, () => UpgradePart[], unknown, RegExp]>([
    ['a wrong SHA-256', () => upload(tarball(releaseEntries('1.1.0')), { sha256: 'ab'.repeat(32) }), ChecksumMismatchError, /does not match the header's .*nothing was switched/],
    ['a path escape in the tarball', () => upload(tarball([...releaseEntries('1.1.0'), { path: '../../outside', data: 'x' }])), InvalidArgumentError, /climbs out with "\.\."/],
    ['a symlink out of the release', () => upload(tarball([{ path: 'etc', type: '2', linkname: '../../..' }, ...releaseEntries('1.1.0')])), InvalidArgumentError, /points out of the release/],
    ['a bundle of another version', () => upload(tarball(releaseEntries('1.2.0'))), InvalidArgumentError, /says version 1\.2\.0, the upgrade announced 1\.1\.0/],
    ['a tarball that is not an agent', () => upload(tarball([{ path: 'package.json', data: '{"name":"mcp","version":"1.1.0"}' }])), InvalidArgumentError, /has no bin\/mcp-agent\.js/],
    ['fewer bytes than declared', () => upload(tarball(releaseEntries('1.1.0')), { size: 999_999 }), InvalidArgumentError, /received \d+ bytes, the header declared 999999/],
    ['no header first', () => [{ chunk: Buffer.from('x') }], InvalidArgumentError, /first message of an upgrade must be its header/],
    ['a version with a slash', () => upload(tarball(releaseEntries('1.1.0')), { version: '1.1.0/../../x' }), InvalidArgumentError, /is not a release version/],
    ['a malformed sha256', () => upload(tarball(releaseEntries('1.1.0')), { sha256: 'xyz' }), InvalidArgumentError, /64 hex digits/],
    ['an oversized bundle', () => upload(tarball(releaseEntries('1.1.0')), { size: 1024 ** 3 }), InvalidArgumentError, /exceeds the limit/],
  ])('should refuse %s, switching nothing and leaving nothing behind', async (_name, messages, type, message) => {
    const outside = path.join(path.dirname(install), 'outside');

    const failure = sut.upgrade(fakeCall(messages()));

    await expect(failure).rejects.toThrow(message);
    await expect(failure).rejects.toBeInstanceOf(type);
    expect(await state()).toEqual(untouched);
    expect(fs.existsSync(outside)).toBe(false);
    expect(exit.reasons).toEqual([]);
  });

  it('should refuse a bundle whose dependencies differ from the running release\'s (shared node_modules)', async () => {
    fs.writeFileSync(path.join(layout.releaseDir(RUNNING), 'package.json'), JSON.stringify({ name: 'mcp', version: '1.0.0', dependencies: { rxjs: '7.8.2' } }));
    const same = [{ path: 'package.json', data: JSON.stringify({ name: 'mcp', version: '1.1.0', dependencies: { rxjs: '7.8.2' } }) }, ...releaseEntries('1.1.0').slice(1)];
    const other = [{ path: 'package.json', data: JSON.stringify({ name: 'mcp', version: '1.2.0', dependencies: { rxjs: '8.0.0' } }) }, ...releaseEntries('1.2.0').slice(1)];

    await expect(sut.upgrade(fakeCall(upload(tarball(other), { version: '1.2.0' })))).rejects.toThrow(/dependencies differ .*install this build with deploy\/install\.sh/);
    expect(await state()).toEqual(untouched);
    await expect(sut.upgrade(fakeCall(upload(tarball(same))))).resolves.toMatchObject({ version: '1.1.0' });
  });

  it('should refuse an upgrade when the disk is too full, before receiving anything', async () => {
    disk.bytes = 10 * 1024 * 1024;

    await expect(sut.upgrade(fakeCall(upload(tarball(releaseEntries('1.1.0')))))).rejects.toThrow(DiskFullError);
    await expect(sut.upgrade(fakeCall(upload(tarball(releaseEntries('1.1.0')))))).rejects.toThrow(/not enough free space under .*nothing was switched/);
    expect(await state()).toEqual(untouched);
  });

  it('should turn a disk that fills up during the unpack into a clear refusal, leaving nothing (real tmpfs)', async () => {
    if (process.getuid?.() !== 0) throw new Error('this test mounts a small tmpfs: run it as root (CI does)');
    // The pre-check passes (FixedDisk says 100 GiB) but the filesystem holds 1 MiB: ENOSPC mid-unpack.
    const small = path.join(install, 'small');
    fs.mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'i25-enospc', small]);
    try {
      const tight = new ReleaseLayout(small);
      fs.mkdirSync(path.join(tight.releaseDir(RUNNING), 'bin'), { recursive: true });
      await tight.point('current', RUNNING);
      process.env[INSTALL_DIR_ENV] = small;
      const bundle = tarball([...releaseEntries('1.1.0'), { path: 'dist/big.bin', data: Buffer.alloc(4 * 1024 * 1024) }]);

      await expect(sut.upgrade(fakeCall(upload(bundle)))).rejects.toThrow(/no space left unpacking the bundle under .*releases: nothing was switched/);
      expect(fs.readdirSync(tight.releasesDir)).toEqual([RUNNING]);
      expect(await tight.linked('current')).toBe(RUNNING);
    } finally {
      execFileSync('umount', [small]);
    }
  });

  it('should remove what an upgrade killed halfway left in releases/, and go on', async () => {
    fs.writeFileSync(path.join(layout.releasesDir, '.incoming-0123456789ab.tar.gz'), 'half');
    fs.mkdirSync(path.join(layout.releasesDir, '.partial-0123456789ab', 'dist'), { recursive: true });
    const bundle = tarball(releaseEntries('1.1.0'));

    const response = await sut.upgrade(fakeCall(upload(bundle)));

    expect(fs.readdirSync(layout.releasesDir).sort()).toEqual([RUNNING, response.release].sort());
  });

  it('should refuse to upgrade to the release that is running', async () => {
    const bundle = tarball(releaseEntries('1.0.0'));
    process.env[RELEASE_ENV] = `1.0.0-${sha256Hex(bundle).slice(0, 12)}`;

    await expect(sut.upgrade(fakeCall(upload(bundle, { version: '1.0.0' })))).rejects.toThrow(/is already the one running/);
  });

  it('should refuse when the agent was not started by the launcher', async () => {
    delete process.env[INSTALL_DIR_ENV];

    await expect(sut.upgrade(fakeCall(upload(tarball(releaseEntries('1.1.0')))))).rejects.toThrow(FailedPreconditionError);
    await expect(sut.rollback()).rejects.toThrow(/not started by mcp-agent-launch/);
  });

  it('should keep current, previous and three more releases, removing older ones', async () => {
    for (const [i, name] of ['0.1.0-000000000001', '0.2.0-000000000002', '0.3.0-000000000003', '0.4.0-000000000004'].entries()) {
      fs.mkdirSync(layout.releaseDir(name));
      const t = new Date(Date.now() - (10 - i) * 60_000);
      fs.utimesSync(layout.releaseDir(name), t, t);
    }

    const response = await sut.upgrade(fakeCall(upload(tarball(releaseEntries('1.1.0')))));

    expect(fs.readdirSync(layout.releasesDir).sort()).toEqual(['0.2.0-000000000002', '0.3.0-000000000003', '0.4.0-000000000004', RUNNING, response.release].sort());
  });

  it('should forget an old rollback of the release it installs again', async () => {
    const bundle = tarball(releaseEntries('1.1.0'));
    const name = `1.1.0-${sha256Hex(bundle).slice(0, 12)}`;
    fs.writeFileSync(path.join(install, 'rollback.json'), JSON.stringify({ failedRelease: name, restoredRelease: RUNNING, at: new Date().toISOString(), starts: 2, logTail: '' }));

    await sut.upgrade(fakeCall(upload(bundle)));

    expect(await layout.lastRollback()).toBeUndefined();
  });

  it('should refuse a second upgrade while one has switched and the agent is about to exit', async () => {
    await sut.upgrade(fakeCall(upload(tarball(releaseEntries('1.1.0')))));

    await expect(sut.upgrade(fakeCall(upload(tarball(releaseEntries('1.2.0')), { version: '1.2.0' })))).rejects.toThrow(/already in progress/);
  });

  describe('rollback', () => {
    it('should switch current to previous and previous to the release it leaves', async () => {
      fs.mkdirSync(path.join(layout.releaseDir('0.9.0-999999999999'), 'bin'), { recursive: true });
      fs.writeFileSync(path.join(layout.releaseDir('0.9.0-999999999999'), 'bin', 'mcp-agent.js'), '');
      await layout.point('previous', '0.9.0-999999999999');

      const response = await sut.rollback();

      expect(response).toEqual({ release: '0.9.0-999999999999', previousRelease: RUNNING });
      expect(await state()).toEqual({ releases: ['0.9.0-999999999999', RUNNING].sort(), current: '0.9.0-999999999999', previous: RUNNING });
    });

    it('should refuse without a previous release, or when it is gone', async () => {
      await expect(sut.rollback()).rejects.toThrow('there is no previous release to go back to');
      await layout.point('previous', '0.9.0-999999999999');
      await expect(sut.rollback()).rejects.toThrow('the previous release 0.9.0-999999999999 is no longer installed');
      expect(await layout.linked('current')).toBe(RUNNING);
    });
  });

  it.each<[string, RawEntry[]]>([['no entries at all', []]])('should refuse a bundle with %s', async (_name, entries) => {
    await expect(sut.upgrade(fakeCall(upload(tarball(entries))))).rejects.toThrow(/no readable package\.json/);
    expect(await state()).toEqual(untouched);
  });
});

describe(ReleaseLayout.name, () => {
  let install: string;
  let layout: ReleaseLayout;

  beforeEach(() => {
    install = fs.mkdtempSync(path.join(os.tmpdir(), 'i25-layout-'));
    layout = new ReleaseLayout(install);
  });
  afterEach(() => fs.rmSync(install, { recursive: true, force: true }));

  it('should point a link by renaming a new symlink over it (relative, no temp left)', async () => {
    await layout.point('current', 'a');
    await layout.point('current', 'b');

    expect(fs.readlinkSync(path.join(install, 'current'))).toBe('releases/b');
    expect(fs.readdirSync(install)).toEqual(['current']);
  });

  it('should mark good only the release boot.json names', async () => {
    fs.writeFileSync(path.join(install, 'boot.json'), JSON.stringify({ release: 'a', starts: 1, good: false }));

    expect(await layout.markGood('b')).toBe(false);
    expect(await layout.bootState()).toEqual({ release: 'a', starts: 1, good: false });
    expect(await layout.markGood('a')).toBe(true);
    expect(await layout.bootState()).toEqual({ release: 'a', starts: 1, good: true });
  });

  it('should read nothing from a missing or damaged file', async () => {
    expect(await layout.bootState()).toBeUndefined();
    fs.writeFileSync(path.join(install, 'rollback.json'), '{not json');
    expect(await layout.lastRollback()).toBeUndefined();
    expect(await layout.linked('previous')).toBeUndefined();
  });
});
