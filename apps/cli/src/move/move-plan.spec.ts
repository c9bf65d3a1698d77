import type { mcpv1 } from '@mcp/proto';
import { filesToHash, formatWindow, memoryBytes, MTIME_SETTLED_MS, mtimeForCopy, outsideLinksProblem, placeService, planCopy, secretsUsed, serviceMemoryBytes, UNSETTLED_MTIME_MS } from './move-plan';

function entry(path: string, over: Partial<mcpv1.ServiceFileEntry> = {}): mcpv1.ServiceFileEntry {
  return { path, type: 'file', mode: 0o644, size: 1, sha256: 'a'.repeat(64), linkTarget: '', leavesServiceDir: false, uid: 0, gid: 0, mtimeMs: 0, ...over };
}

describe(planCopy.name, () => {
  it('should send the files the target lacks or holds with other content, and nothing else', () => {
    const source = [entry('d', { type: 'dir' }), entry('d/same'), entry('d/changed', { sha256: 'b'.repeat(64) }), entry('d/new', { size: 10 }), entry('d/grown', { size: 2 }), entry('link', { type: 'symlink', linkTarget: 'd' })];
    const target = [entry('d', { type: 'dir' }), entry('d/same'), entry('d/changed'), entry('d/grown'), entry('gone')];

    const plan = planCopy(source, target);

    expect(plan.files.map((f) => f.path)).toEqual(['d/changed', 'd/new', 'd/grown']);
    expect(plan.bytes).toBe(13);
    expect(plan.totalFiles).toBe(4);
    expect(plan.totalBytes).toBe(14);
    expect(plan.outside).toEqual([]);
  });

  it('should send a file whose path is a directory or link on the target, or that has no checksum', () => {
    const plan = planCopy([entry('x'), entry('y', { sha256: '' })], [entry('x', { type: 'dir' }), entry('y', { sha256: '' })]);

    expect(plan.files.map((f) => f.path)).toEqual(['x', 'y']);
  });

  it('should list the links leading out and the entries it never copies', () => {
    const plan = planCopy([entry('out', { type: 'symlink', linkTarget: '/etc', leavesServiceDir: true }), entry('sock', { type: 'other' })], []);

    expect(plan.outside.map((f) => f.path)).toEqual(['out']);
    expect(plan.skipped).toEqual(['sock']);
    expect(outsideLinksProblem('shop', '/srv', plan.outside)).toContain('/srv/shop has symlink(s) leading out of it: out -> /etc;');
    expect(outsideLinksProblem('shop', '/srv', [])).toBeUndefined();
  });
});

describe('the final pass quick check (size and mtime, then SHA-256)', () => {
  const listedAt = 1_700_000_000_000;
  const old = listedAt - 60_000;
  const unhashed = (path: string, over: Partial<mcpv1.ServiceFileEntry> = {}) => entry(path, { sha256: '', mtimeMs: old, ...over });

  it('should hash only the files of equal size whose mtimes differ, or whose mtime is too recent to tell', () => {
    const source = [
      unhashed('same'),
      unhashed('touched', { mtimeMs: old + 5 }),
      unhashed('grown', { size: 2 }),
      unhashed('new'),
      unhashed('recent', { mtimeMs: listedAt - MTIME_SETTLED_MS + 1 }),
      unhashed('settled', { mtimeMs: listedAt - MTIME_SETTLED_MS }),
      unhashed('was-dir'),
      unhashed('d', { type: 'dir', mtimeMs: 5 }),
    ];
    const target = [unhashed('same'), unhashed('touched'), unhashed('grown'), unhashed('recent', { mtimeMs: listedAt - MTIME_SETTLED_MS + 1 }), unhashed('settled', { mtimeMs: listedAt - MTIME_SETTLED_MS }), unhashed('was-dir', { type: 'dir' }), unhashed('d', { type: 'dir' })];

    expect(filesToHash(source, target, listedAt)).toEqual(['touched', 'recent']);
  });

  it('should send what differs in size, is new, or hashes differently; a settled file of the same size and mtime is taken as equal', () => {
    const source = [unhashed('same'), unhashed('touched', { mtimeMs: old + 5, sha256: 'a'.repeat(64) }), unhashed('edited', { mtimeMs: old + 5, sha256: 'b'.repeat(64) }), unhashed('grown', { size: 2 }), unhashed('new')];
    const target = [unhashed('same', { sha256: 'c'.repeat(64) }), unhashed('touched', { sha256: 'a'.repeat(64) }), unhashed('edited', { sha256: 'a'.repeat(64) }), unhashed('grown')];

    expect(planCopy(source, target, { sourceListedAtMs: listedAt }).files.map((f) => f.path)).toEqual(['edited', 'grown', 'new']);
    // Without the quick check (the live pass), unhashed files of the same size are sent.
    expect(planCopy(source, target).files.map((f) => f.path)).toEqual(['same', 'edited', 'grown', 'new']);
  });

  it("should give a copy the source's mtime when settled, else one no later write can give the source's file", () => {
    expect(mtimeForCopy({ mtimeMs: old }, listedAt)).toBe(old);
    expect(mtimeForCopy({ mtimeMs: listedAt - 10 }, listedAt)).toBe(UNSETTLED_MTIME_MS);
    expect(mtimeForCopy({ mtimeMs: listedAt + 3_600_000 }, listedAt)).toBe(UNSETTLED_MTIME_MS);
  });
});

describe(placeService.name, () => {
  const candidates = [
    { node: 'a', up: true, cordoned: false, freeBytes: 4 * 1024 ** 3 },
    { node: 'b', up: true, cordoned: false, freeBytes: 8 * 1024 ** 3 },
    { node: 'c', up: true, cordoned: true, freeBytes: 64 * 1024 ** 3 },
    { node: 'd', up: false, cordoned: false, freeBytes: 0 },
  ];

  it('should pick the up, uncordoned node with the most free memory', () => {
    expect(placeService({ needBytes: 1024 ** 3, candidates })).toEqual({ node: 'b' });
  });

  it('should never pick the excluded (drained) node', () => {
    expect(placeService({ needBytes: 0, candidates, exclude: 'b' })).toEqual({ node: 'a' });
  });

  it('should keep the first listed on a tie', () => {
    expect(placeService({ needBytes: 0, candidates: [{ ...candidates[0], freeBytes: 5 }, { ...candidates[1], freeBytes: 5 }] })).toEqual({ node: 'a' });
  });

  it('should say why when nothing fits', () => {
    expect(placeService({ needBytes: 16 * 1024 ** 3, candidates }).reason).toBe('no node has 16384 MiB free for its memory limits (a: 4096 MiB, b: 8192 MiB)');
    expect(placeService({ needBytes: 0, candidates: candidates.slice(2) }).reason).toBe('no node is up and uncordoned (c: cordoned, d: down)');
    expect(placeService({ needBytes: 0, candidates: [], exclude: 'a' }).reason).toBe('no other node to move to');
  });
});

describe('memory and secrets of a spec', () => {
  it('should read podman memory texts and add up the limits', () => {
    expect(memoryBytes('512m')).toBe(512 * 1024 ** 2);
    expect(memoryBytes('2g')).toBe(2 * 1024 ** 3);
    expect(memoryBytes('1.5k')).toBe(1536);
    expect(memoryBytes('lots')).toBeUndefined();
    expect(memoryBytes(undefined)).toBeUndefined();
    const components = [{ memory: '1g' }, { memory: '512m' }, {}] as never;
    expect(serviceMemoryBytes({ components })).toBe(1.5 * 1024 ** 3);
  });

  it('should list the secrets used as files and as variables, once each', () => {
    const components = [{ secrets: ['tls', 'db'] }, { env_secrets: { DB: 'db', API: 'api' } }] as never;
    expect(secretsUsed({ components })).toEqual(['api', 'db', 'tls']);
  });

  it('should format a window in seconds, or minutes above one', () => {
    expect(formatWindow(1234)).toBe('1.234 s');
    expect(formatWindow(123_400)).toBe('2m03s');
  });
});
