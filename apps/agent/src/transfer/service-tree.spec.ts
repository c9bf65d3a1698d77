import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError, InvalidPathError, PathOutsideServiceError } from '@mcp/common';
import { applyServiceTree, checkTreeEntries, listServiceTree, type TreeEntry } from './service-tree';

function entry(p: string, over: Partial<TreeEntry> = {}): TreeEntry {
  return { path: p, type: 'dir', mode: 0o755, size: 0, sha256: '', linkTarget: '', leavesServiceDir: false, uid: 0, gid: 0, mtimeMs: 0, ...over };
}

describe('service tree (SPEC §15 move)', () => {
  let root: string;
  let dir: string;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-tree-'));
    dir = path.join(root, 'srv', 'shop');
    fs.mkdirSync(dir, { recursive: true });
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('should list parents first with modes and checksums, never following links, marking the ones that lead out', async () => {
    fs.mkdirSync(path.join(dir, 'a'));
    fs.writeFileSync(path.join(dir, 'a', 'f'), 'hello');
    fs.symlinkSync('../a/f', path.join(dir, 'a', 'inside'));
    fs.symlinkSync('/etc', path.join(dir, 'abs'));
    fs.symlinkSync('../../outside', path.join(dir, 'rel'));
    fs.symlinkSync('.', path.join(dir, 's'));
    fs.symlinkSync('s/../x', path.join(dir, 'chain'));
    fs.symlinkSync('a/missing', path.join(dir, 'dangling'));

    const listed = await listServiceTree({ dir, checksums: true });

    expect(listed.entries.map((e) => [e.path, e.type, e.leavesServiceDir])).toEqual([
      ['a', 'dir', false],
      ['a/f', 'file', false],
      ['a/inside', 'symlink', false],
      ['abs', 'symlink', true],
      ['chain', 'symlink', true],
      ['dangling', 'symlink', false],
      ['rel', 'symlink', true],
      ['s', 'symlink', false],
    ]);
    expect(listed.entries[1].sha256).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    expect(await listServiceTree({ dir: path.join(root, 'none'), checksums: false })).toMatchObject({ exists: false, entries: [] });
  });

  it('should hash only the files named in checksumPaths without checksums, and say when the listing began', async () => {
    fs.mkdirSync(path.join(dir, 'a'));
    fs.writeFileSync(path.join(dir, 'a', 'f'), 'hello');
    fs.writeFileSync(path.join(dir, 'g'), 'other');
    const before = Date.now();

    const listed = await listServiceTree({ dir, checksums: false, checksumPaths: new Set(['a/f']) });

    expect(listed.entries.filter((e) => e.type === 'file').map((e) => [e.path, e.sha256])).toEqual([
      ['a/f', '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'],
      ['g', ''],
    ]);
    expect(listed.startedAtMs).toBeGreaterThanOrEqual(before);
    expect(listed.startedAtMs).toBeLessThanOrEqual(Date.now());
  });

  it('should refuse to make a symlink that leads out, also by a chain of links that are each inside', async () => {
    await expect(applyServiceTree({ dir, entries: [entry('x', { type: 'symlink', linkTarget: '../../etc' })], finish: false, chown: false })).rejects.toBeInstanceOf(PathOutsideServiceError);
    const chain = [entry('s', { type: 'symlink', linkTarget: '.' }), entry('x', { type: 'symlink', linkTarget: 's/../..' })];
    await expect(applyServiceTree({ dir, entries: chain, finish: false, chown: false })).rejects.toBeInstanceOf(PathOutsideServiceError);
    expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
  });

  it('should remove what the listing lacks or has as another type, without following a link', async () => {
    const outside = path.join(root, 'keep');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'precious'), 'x');
    fs.symlinkSync(outside, path.join(dir, 'd'));
    fs.writeFileSync(path.join(dir, 'stray'), 'x');

    const result = await applyServiceTree({ dir, entries: [entry('d'), entry('d/sub')], finish: false, chown: false });

    expect(result).toEqual({ removed: 2, created: 2 });
    expect(fs.lstatSync(path.join(dir, 'd')).isDirectory()).toBe(true);
    expect(fs.existsSync(path.join(dir, 'stray'))).toBe(false);
    expect(fs.readFileSync(path.join(outside, 'precious'), 'utf8')).toBe('x');
  });

  it('should set modes and mtimes on finish, and say when a listed file did not arrive', async () => {
    await applyServiceTree({ dir, entries: [entry('ro', { mode: 0o555 })], finish: false, chown: false });
    fs.writeFileSync(path.join(dir, 'ro', 'f'), 'abc');
    const entries = [entry('ro', { mode: 0o555, mtimeMs: 1_500_000_000_123 }), entry('ro/f', { type: 'file', mode: 0o600, size: 3, mtimeMs: 1_500_000_000_456 })];

    await applyServiceTree({ dir, entries, finish: true, chown: false });

    expect(fs.statSync(path.join(dir, 'ro')).mode & 0o7777).toBe(0o555);
    expect(fs.statSync(path.join(dir, 'ro', 'f')).mode & 0o7777).toBe(0o600);
    expect(Math.floor(fs.statSync(path.join(dir, 'ro', 'f')).mtimeMs)).toBe(1_500_000_000_456);
    expect(Math.floor(fs.statSync(path.join(dir, 'ro')).mtimeMs)).toBe(1_500_000_000_123);
    await expect(applyServiceTree({ dir, entries: [...entries, entry('ro/g', { type: 'file', size: 1 })], finish: true, chown: false })).rejects.toThrow('"ro/g" should be a file but is missing');
  });

  it('should refuse listings with .. or absolute paths, children before parents, or unknown types', () => {
    expect(() => checkTreeEntries([entry('../x')])).toThrow(InvalidPathError);
    expect(() => checkTreeEntries([entry('/etc')])).toThrow(InvalidPathError);
    expect(() => checkTreeEntries([entry('a/b')])).toThrow(InvalidArgumentError);
    expect(() => checkTreeEntries([entry('a', { type: 'fifo' as never })])).toThrow(InvalidArgumentError);
    expect(() => checkTreeEntries([entry('a'), entry('a')])).toThrow(InvalidArgumentError);
  });
});
