import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { mcpv1 } from '@mcp/proto';
import { applyServiceTree, listServiceTree, type TreeEntry } from '../../apps/agent/src/transfer/service-tree';
import type { AgentClient, PushFileInput } from '../../apps/cli/src/client/agent-client';
import { AgentCallError } from '../../apps/cli/src/errors';
import { copyServicePass, LinkOutsideServiceError } from '../../apps/cli/src/move/service-copy';

/**
 * The copy protocol of `mcp move` (SPEC §15) between two "agents" that are each a directory,
 * served by the agent's own tree functions (listServiceTree, applyServiceTree) and a pull/push
 * of whole files with the SHA-256 checks the Transfer RPCs make.
 */
class DirAgent {
  readonly pushes: string[] = [];
  /** Every file a listing hashed, in order. */
  readonly hashed: string[] = [];
  /** Every push fails with this (the node gone). */
  pushFails?: Error;
  /** Called before a pull's data is read (a file changing under the live pass). */
  beforePull?: (file: string) => void;

  constructor(
    readonly name: string,
    readonly srvRoot: string,
  ) {}

  client(): AgentClient {
    const dir = (service: string) => path.join(this.srvRoot, service);
    const toProto = (entry: TreeEntry): mcpv1.ServiceFileEntry => ({ ...entry });
    const pushes = this.pushes;
    const hashed = this.hashed;
    const name = this.name;
    const pushFails = this.pushFails;
    const srvRoot = this.srvRoot;
    const beforePull = (file: string): void => this.beforePull?.(file);
    return {
      node: { name: this.name, address: '', timeoutMs: 1000 },
      async call(rpc: string, request: Record<string, unknown>) {
        const service = request.service as string;
        if (rpc === 'listServiceFiles') {
          const listed = await listServiceTree({ dir: dir(service), checksums: request.checksums as boolean, checksumPaths: new Set(request.checksumPaths as string[]) });
          hashed.push(...listed.entries.filter((e) => e.sha256).map((e) => e.path));
          return { exists: listed.exists, entries: listed.entries.map(toProto), srvRoot, startedAtMs: listed.startedAtMs };
        }
        if (rpc === 'applyServiceTree') return applyServiceTree({ dir: dir(service), entries: request.entries as TreeEntry[], finish: request.finish as boolean, chown: false });
        throw new Error(`unexpected ${rpc}`);
      },
      async *stream(rpc: string, request: { service: string; path: string }) {
        if (rpc !== 'pullFile') throw new Error(`unexpected ${rpc}`);
        const file = path.join(dir(request.service), request.path);
        const before = fs.readFileSync(file);
        beforePull(request.path);
        const data = fs.readFileSync(file);
        yield { info: { size: before.length, mode: fs.statSync(file).mode & 0o7777, sha256: createHash('sha256').update(before).digest('hex') } };
        for (let at = 0; at < data.length; at += 1000) yield { chunk: data.subarray(at, at + 1000) };
      },
      async pushFile(input: PushFileInput) {
        const parts: Buffer[] = [];
        for await (const chunk of input.chunks) parts.push(chunk);
        const data = Buffer.concat(parts);
        const digest = createHash('sha256').update(data).digest('hex');
        if (data.length !== input.header.size || digest !== input.header.sha256) throw new AgentCallError(name, 'INVALID_ARGUMENT', `checksum mismatch for ${input.header.path}`);
        if (pushFails) throw pushFails;
        const file = path.join(dir(input.header.service), input.header.path);
        fs.writeFileSync(file, data, { mode: input.header.mode || 0o644 });
        if (input.header.mtimeMs) fs.utimesSync(file, (input.header.mtimeMs + 0.5) / 1000, (input.header.mtimeMs + 0.5) / 1000);
        pushes.push(input.header.path);
        return { path: input.header.path, size: data.length, sha256: digest };
      },
    } as unknown as AgentClient;
  }
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string, prefix: string): void => {
    for (const name of fs.readdirSync(at).sort()) {
      const abs = path.join(at, name);
      const rel = prefix ? `${prefix}/${name}` : name;
      const stat = fs.lstatSync(abs);
      if (stat.isSymbolicLink()) out[rel] = `-> ${fs.readlinkSync(abs)}`;
      else if (stat.isDirectory()) {
        out[rel] = `dir ${(stat.mode & 0o7777).toString(8)} ${Math.floor(stat.mtimeMs)}`;
        walk(abs, rel);
      } else out[rel] = `${(stat.mode & 0o7777).toString(8)} ${Math.floor(stat.mtimeMs)} ${fs.readFileSync(abs, 'hex')}`;
    }
  };
  walk(dir, '');
  return out;
}

describe('mcp move copy protocol', () => {
  let root: string;
  let source: DirAgent;
  let target: DirAgent;
  const service = 'shop';

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-move-copy-'));
    source = new DirAgent('a', path.join(root, 'a'));
    target = new DirAgent('b', path.join(root, 'b'));
    const dir = path.join(source.srvRoot, service);
    fs.mkdirSync(path.join(dir, 'db', 'deep'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'db', 'data.bin'), Buffer.alloc(5000, 7));
    fs.writeFileSync(path.join(dir, 'db', 'deep', 'key'), 'secret-ish', { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'empty'), '');
    fs.chmodSync(path.join(dir, 'db', 'deep'), 0o700);
    fs.symlinkSync('db/data.bin', path.join(dir, 'current'));
    fs.utimesSync(path.join(dir, 'db', 'data.bin'), new Date(1_600_000_000_000), new Date(1_600_000_000_000));
  });

  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('should make the target equal to the source: content, modes, mtimes, symlinks', async () => {
    const result = await copyServicePass({ from: source.client(), to: target.client(), service, final: true });

    expect(snapshot(path.join(target.srvRoot, service))).toEqual(snapshot(path.join(source.srvRoot, service)));
    expect(result.files).toBe(3);
    expect(result.bytes).toBe(5010);
  });

  it('should send only what changed in the final pass, and remove what the source no longer has', async () => {
    await copyServicePass({ from: source.client(), to: target.client(), service, final: false });
    target.pushes.length = 0;
    const dir = path.join(source.srvRoot, service);
    fs.writeFileSync(path.join(dir, 'db', 'deep', 'key'), 'rotated', { mode: 0o600 });
    fs.rmSync(path.join(dir, 'empty'));
    fs.rmSync(path.join(dir, 'current'));
    fs.symlinkSync('db', path.join(dir, 'current'));
    fs.mkdirSync(path.join(target.srvRoot, service, 'stray'));

    const final = await copyServicePass({ from: source.client(), to: target.client(), service, final: true });

    expect(target.pushes).toEqual(['db/deep/key']);
    expect(final.bytes).toBe(7);
    expect(snapshot(path.join(target.srvRoot, service))).toEqual(snapshot(dir));
  });

  describe('the final pass compares size and mtime first (rsync quick check)', () => {
    const dir = () => path.join(source.srvRoot, service);
    const mtime = (file: string) => Math.floor(fs.statSync(file).mtimeMs);
    const setMtime = (file: string, ms: number) => fs.utimesSync(file, (ms + 0.5) / 1000, (ms + 0.5) / 1000);
    const old = Date.now() - 3_600_000;

    beforeEach(() => {
      // Every file written an hour ago: settled.
      for (const file of ['db/data.bin', 'db/deep/key', 'empty']) setMtime(path.join(dir(), file), old);
    });

    it("should push live copies with the source's mtime, so a final pass with nothing changed hashes and sends nothing", async () => {
      await copyServicePass({ from: source.client(), to: target.client(), service, final: false });
      expect(mtime(path.join(target.srvRoot, service, 'db', 'deep', 'key'))).toBe(old);
      source.hashed.length = 0;
      target.hashed.length = 0;
      target.pushes.length = 0;

      const final = await copyServicePass({ from: source.client(), to: target.client(), service, final: true });

      expect([source.hashed, target.hashed, target.pushes]).toEqual([[], [], []]);
      expect(final).toMatchObject({ files: 0, bytes: 0, hashed: 0 });
      expect(snapshot(path.join(target.srvRoot, service))).toEqual(snapshot(dir()));
    });

    it('should hash on both nodes only the files of equal size with another mtime, and send those whose content differs', async () => {
      await copyServicePass({ from: source.client(), to: target.client(), service, final: false });
      source.hashed.length = 0;
      target.hashed.length = 0;
      target.pushes.length = 0;
      // Same size, other content, later mtime: compared by SHA-256 and sent.
      fs.writeFileSync(path.join(dir(), 'db', 'deep', 'key'), 'secret-isH');
      setMtime(path.join(dir(), 'db', 'deep', 'key'), old + 1000);
      // Touched only: compared by SHA-256, equal, not sent (its mtime is set by the finish).
      setMtime(path.join(dir(), 'db', 'data.bin'), old + 2000);
      // Grown: sent without hashing first.
      fs.writeFileSync(path.join(dir(), 'empty'), 'now 14 bytes\n\n');
      setMtime(path.join(dir(), 'empty'), old);

      const final = await copyServicePass({ from: source.client(), to: target.client(), service, final: true });

      expect(source.hashed).toEqual(['db/data.bin', 'db/deep/key']);
      expect(target.hashed).toEqual(['db/data.bin', 'db/deep/key']);
      expect(target.pushes).toEqual(['db/deep/key', 'empty']);
      expect(final).toMatchObject({ files: 2, bytes: 24, hashed: 2 });
      expect(snapshot(path.join(target.srvRoot, service))).toEqual(snapshot(dir()));
    });

    it('should take a settled file of the same size and mtime as unchanged without reading it (the rule: content changed behind a reset mtime is not seen)', async () => {
      await copyServicePass({ from: source.client(), to: target.client(), service, final: false });
      target.pushes.length = 0;
      fs.writeFileSync(path.join(dir(), 'db', 'deep', 'key'), 'secret-isH');
      setMtime(path.join(dir(), 'db', 'deep', 'key'), old);

      await copyServicePass({ from: source.client(), to: target.client(), service, final: true });

      expect(target.pushes).toEqual([]);
      expect(fs.readFileSync(path.join(target.srvRoot, service, 'db', 'deep', 'key'), 'utf8')).toBe('secret-ish');
    });

    it('should not trust the mtime of a file written less than 2 s before the live listing: rewritten after its copy within the same clock tick, it is still sent', async () => {
      const key = path.join(dir(), 'db', 'deep', 'key');
      const recent = Date.now() - 100;
      setMtime(key, recent);
      await copyServicePass({ from: source.client(), to: target.client(), service, final: false });
      expect(mtime(path.join(target.srvRoot, service, 'db', 'deep', 'key'))).toBe(1);
      target.pushes.length = 0;
      // A write after the copy that kept the mtime (same tick of the file clock).
      fs.writeFileSync(key, 'secret-isH');
      setMtime(key, recent);

      await copyServicePass({ from: source.client(), to: target.client(), service, final: true });

      expect(target.pushes).toEqual(['db/deep/key']);
      expect(snapshot(path.join(target.srvRoot, service))).toEqual(snapshot(dir()));
    });
  });

  it('should leave a file that changes while the live pass reads it to the final pass', async () => {
    source.beforePull = (file) => {
      if (file === 'db/data.bin') fs.appendFileSync(path.join(source.srvRoot, service, file), 'more');
    };
    const live = await copyServicePass({ from: source.client(), to: target.client(), service, final: false });
    expect(live.changed).toEqual(['db/data.bin']);

    source.beforePull = undefined;
    await copyServicePass({ from: source.client(), to: target.client(), service, final: true });
    expect(snapshot(path.join(target.srvRoot, service))).toEqual(snapshot(path.join(source.srvRoot, service)));
  });

  it('should end the live pass at the first push that fails for another reason than a changed file (the target gone)', async () => {
    target.pushFails = new AgentCallError('b', 'UNAVAILABLE', 'b is unreachable');

    await expect(copyServicePass({ from: source.client(), to: target.client(), service, final: false })).rejects.toThrow('b is unreachable');
  });

  it('should fail the final pass when a file changes while it is read', async () => {
    source.beforePull = (file) => fs.appendFileSync(path.join(source.srvRoot, service, file), 'x');

    await expect(copyServicePass({ from: source.client(), to: target.client(), service, final: true })).rejects.toThrow('checksum mismatch');
  });

  it('should refuse a symlink leading out of the service directory before anything is sent', async () => {
    fs.symlinkSync('../../outside', path.join(source.srvRoot, service, 'db', 'escape'));

    await expect(copyServicePass({ from: source.client(), to: target.client(), service, final: false })).rejects.toThrow(LinkOutsideServiceError);
    expect(fs.existsSync(path.join(target.srvRoot, service))).toBe(false);
  });
});
