import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError, makeBundle, readBundleManifest, releaseName, sha256Hex } from '@mcp/common';
import { releaseEntries, tarball, type RawEntry } from '../../../../test/support/tarball';
import { checkedEntryPath, unpackBundle, UNPACK_LIMITS, type UnpackLimits } from './unpack';

describe(unpackBundle.name, () => {
  let dir: string;
  let outside: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'i25-unpack-'));
    outside = path.join(dir, 'outside');
    fs.mkdirSync(outside);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const unpack = async (entries: readonly RawEntry[] | Buffer, limits?: UnpackLimits) => {
    const file = path.join(dir, 'bundle.tar.gz');
    fs.writeFileSync(file, Buffer.isBuffer(entries) ? entries : tarball(entries));
    return unpackBundle({ file, dir: path.join(dir, 'release'), limits });
  };
  const refused = async (entries: readonly RawEntry[] | Buffer, message: RegExp, limits?: UnpackLimits) => {
    await expect(unpack(entries, limits)).rejects.toThrow(message);
    // Nothing half-made is left, and nothing was written outside.
    expect(fs.existsSync(path.join(dir, 'release'))).toBe(false);
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(fs.readdirSync(dir).sort()).toEqual(['bundle.tar.gz', 'outside']);
  };

  it('should unpack files, directories and inner symlinks with their modes', async () => {
    const result = await unpack([...releaseEntries('1.2.3', 'console.log("hi");\n'), { path: 'dist/ui/', type: '5' }, { path: 'dist/link.js', type: '2', linkname: 'mcp-agent.js' }]);

    const release = path.join(dir, 'release');
    expect(result).toEqual({ files: 3, bytes: expect.any(Number) });
    expect(fs.readFileSync(path.join(release, 'dist/mcp-agent.js'), 'utf8')).toBe('console.log("hi");\n');
    expect(fs.statSync(path.join(release, 'bin/mcp-agent.js')).mode & 0o777).toBe(0o755);
    expect(fs.statSync(path.join(release, 'package.json')).mode & 0o777).toBe(0o644);
    expect(fs.statSync(path.join(release, 'dist/ui')).isDirectory()).toBe(true);
    expect(fs.readlinkSync(path.join(release, 'dist/link.js'))).toBe('mcp-agent.js');
  });

  it('should unpack what makeBundle makes, byte for byte, and make the same bytes twice', async () => {
    const root = path.join(dir, 'src');
    fs.mkdirSync(path.join(root, 'dist'), { recursive: true });
    fs.writeFileSync(path.join(root, 'package.json'), '{"name":"mcp","version":"0.1.0"}');
    const big = Buffer.alloc(700_000, 7); // more than one gunzip piece, and not block-aligned
    fs.writeFileSync(path.join(root, 'dist', 'big.bin'), big);
    const bundle = makeBundle(root, ['dist/big.bin', 'package.json']);
    expect(sha256Hex(makeBundle(root, ['dist/big.bin', 'package.json']))).toBe(sha256Hex(bundle));

    await unpack(bundle);

    expect(fs.readFileSync(path.join(dir, 'release', 'dist', 'big.bin')).equals(big)).toBe(true);
    fs.writeFileSync(path.join(dir, 'b.tar.gz'), bundle);
    expect(await readBundleManifest(path.join(dir, 'b.tar.gz'))).toEqual({ name: 'mcp', version: '0.1.0' });
    expect(releaseName('0.1.0', sha256Hex(bundle))).toBe(`0.1.0-${sha256Hex(bundle).slice(0, 12)}`);
  });

  it.each([
    ['an absolute path', [{ path: '/tmp/i25-evil', data: 'x' }], /absolute path/],
    ['a ".." that climbs out', [{ path: '../outside/evil', data: 'x' }], /climbs out with "\.\."/],
    ['a ".." in the middle', [{ path: 'dist/../../outside/evil', data: 'x' }], /climbs out/],
    ['a symlink out of the release', [{ path: 'dist/escape', type: '2', linkname: '../../outside' }], /points out of the release/],
    ['an absolute symlink', [{ path: 'escape', type: '2', linkname: '/etc' }], /absolute path/],
    ['an entry written through its own symlink', [{ path: 'dist', type: '2', linkname: '.' }, { path: 'dist/x', data: 'x' }], /below a symlink/],
    ['a hard link', [{ path: 'hard', type: '1', linkname: 'package.json' }], /type "1": only files, directories and symlinks/],
    ['a device', [{ path: 'dev', type: '3' }], /type "3"/],
    ['an entry twice', [{ path: 'a', data: 'x' }, { path: 'a', data: 'y' }], /holds an entry twice/],
  ])('should refuse %s, leaving nothing', async (_name, entries, message) => {
    await refused(entries as RawEntry[], message);
  });

  it('should refuse a truncated tarball and one that is not gzip', async () => {
    await refused(tarball(releaseEntries('1.0.0'), { truncate: 700 }), /not a valid gzipped tarball: .*truncated/);
    await refused(Buffer.from('just some text, not gzip'), /not a valid gzipped tarball/);
  });

  it('should refuse a bundle that unpacks to more than the size limit', async () => {
    await refused([{ path: 'a', data: Buffer.alloc(600) }, { path: 'b', data: Buffer.alloc(600) }], /unpacks to more than 1000 bytes/, { ...UNPACK_LIMITS, totalBytes: 1000 });
  });

  it('should refuse more entries than the limit', async () => {
    await refused(['a', 'b', 'c', 'd'].map((p) => ({ path: p, data: p })), /more than 3 entries/, { ...UNPACK_LIMITS, entries: 3 });
  });
});

describe(checkedEntryPath.name, () => {
  it('should keep ordinary paths and drop "./" and trailing slashes', () => {
    expect(checkedEntryPath('./dist/mcp.js')).toBe('dist/mcp.js');
    expect(checkedEntryPath('dist/ui/')).toBe('dist/ui');
    expect(checkedEntryPath('./')).toBe('');
  });

  it.each(['/etc/passwd', '../x', 'a/../../x', 'a\\..\\x', 'a\0b'])('should refuse %j', (name) => {
    expect(() => checkedEntryPath(name)).toThrow(InvalidArgumentError);
  });
});
