import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createGunzip, gzipSync } from 'node:zlib';

/**
 * The agent bundle (SPEC §16): a gzipped POSIX ustar archive of the program — package.json,
 * bin/, dist/ (the two bundled programs, the help snapshot, the dashboard page) and the
 * .proto files — with every entry's owner 0, mtime 0 and entries sorted, so the same build
 * always makes the same bytes (and so the same SHA-256 and release name). Dependencies are
 * not in it: releases share `<install dir>/node_modules` (docs/self-management.md).
 *
 * Written here (the CLI builds one from its own install, `npm run bundle:agent` from dist/)
 * and read by the agent's UpgradeAgent, which checks every entry (agent upgrade/unpack.ts).
 */

const BLOCK = 512;

/** The files of a bundle, relative to the package root, sorted. Throws when the root is not built. */
export function bundleFiles(packageRoot: string): string[] {
  const required = ['package.json', 'bin/mcp-agent.js', 'bin/mcp.js', 'dist/mcp-agent.js', 'dist/mcp.js'];
  for (const file of required) {
    if (!fs.existsSync(path.join(packageRoot, file))) throw new Error(`${packageRoot} has no ${file}: not a built MCP (run npm run build)`);
  }
  const files = new Set(required);
  const walk = (relative: string, keep: (name: string) => boolean): void => {
    const dir = path.join(packageRoot, relative);
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const child = path.posix.join(relative, entry.name);
      if (entry.isDirectory()) walk(child, keep);
      else if (entry.isFile() && keep(entry.name)) files.add(child);
    }
  };
  if (fs.existsSync(path.join(packageRoot, 'dist', 'mcp-help.txt'))) files.add('dist/mcp-help.txt');
  walk('dist/ui', () => true);
  walk('proto/mcp', (name) => name.endsWith('.proto'));
  walk('proto/mc_proxy', (name) => name.endsWith('.proto'));
  return [...files].sort();
}

/** package.json of `packageRoot` with another version: a bundle of the same build, stamped. */
export function stampedPackageJson(packageRoot: string, version: string): Buffer {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
  return Buffer.from(`${JSON.stringify({ ...pkg, version }, null, 2)}\n`);
}

/** The version in a package root's package.json. */
export function packageVersion(packageRoot: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error(`${packageRoot}/package.json has no version`);
  return pkg.version;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** One ustar header block. Paths longer than 100 bytes are split into prefix and name. */
export function tarHeader(entry: { path: string; typeflag: string; mode: number; size: number; linkname?: string }): Buffer {
  const header = Buffer.alloc(BLOCK);
  let name = entry.path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`path too long for a ustar archive: ${entry.path}`);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  header.write(name, 0, 100);
  header.write(octal(entry.mode & 0o7777, 8), 100);
  header.write(octal(0, 8), 108);
  header.write(octal(0, 8), 116);
  header.write(octal(entry.size, 12), 124);
  header.write(octal(0, 12), 136);
  header.write('        ', 148);
  header.write(entry.typeflag, 156, 1);
  if (entry.linkname) header.write(entry.linkname, 157, 100);
  header.write('ustar\0', 257);
  header.write('00', 263);
  header.write(prefix, 345, 155);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(octal(sum, 7) + ' ', 148);
  return header;
}

/**
 * The gzipped tarball of `files` under `root` (regular files only, modes kept as 0644/0755).
 * `replace` gives some files other contents (a version stamp: `npm run bundle:agent -- --version`).
 */
export function makeBundle(root: string, files: readonly string[], replace: Readonly<Record<string, Buffer>> = {}): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    const data = replace[file] ?? fs.readFileSync(path.join(root, file));
    const mode = fs.statSync(path.join(root, file)).mode & 0o111 ? 0o755 : 0o644;
    parts.push(tarHeader({ path: file, typeflag: '0', mode, size: data.length }), data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return gzipSync(Buffer.concat(parts), { level: 9 });
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `<version>-<first 12 hex of the SHA-256>`: a release's directory name. */
export function releaseName(version: string, sha256: string): string {
  return `${version}-${sha256.slice(0, 12)}`;
}

export interface TarEntry {
  path: string;
  /** '0' file, '5' directory, '2' symlink, anything else as found. */
  typeflag: string;
  mode: number;
  size: number;
  linkname: string;
}

export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = TarFormatError.name;
  }
}

function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? length : end).toString('utf8');
}

function octalField(block: Buffer, start: number, length: number, what: string): number {
  if (block[start]! & 0x80) throw new TarFormatError(`${what} in base-256 form is not supported`);
  const text = field(block, start, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`bad ${what} field "${text}"`);
  return parseInt(text, 8);
}

function parseHeader(block: Buffer): TarEntry {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  if (octalField(block, 148, 8, 'checksum') !== sum) throw new TarFormatError('header checksum mismatch (not a tar archive, or a damaged one)');
  const name = field(block, 0, 100);
  const prefix = field(block, 257, 6) === 'ustar' ? field(block, 345, 155) : '';
  return {
    path: prefix ? `${prefix}/${name}` : name,
    typeflag: String.fromCharCode(block[156] || 48),
    mode: octalField(block, 100, 8, 'mode'),
    size: octalField(block, 124, 12, 'size'),
    linkname: field(block, 157, 100),
  };
}

/**
 * Reads a gzipped tarball from `source`, calling `onEntry` for each header and `onData` for
 * each piece of that entry's content (awaited: a slow disk paces the read). Ends at the
 * end-of-archive block; throws TarFormatError on anything malformed (a damaged gzip too).
 */
export async function readGzippedTar(
  source: NodeJS.ReadableStream,
  handler: { onEntry(entry: TarEntry): Promise<void>; onData(chunk: Buffer): Promise<void>; onEntryEnd(): Promise<void> },
): Promise<void> {
  const gunzip = createGunzip();
  source.pipe(gunzip);
  source.on('error', (error: Error) => gunzip.destroy(error));
  let pending: Buffer = Buffer.alloc(0);
  let remaining = 0;
  let padding = 0;
  let inEntry = false;
  let ended = false;
  try {
    for await (const piece of gunzip as AsyncIterable<Buffer>) {
      if (ended) continue;
      pending = pending.length ? Buffer.concat([pending, piece]) : piece;
      for (;;) {
        if (inEntry) {
          if (remaining > 0) {
            if (pending.length === 0) break;
            const take = Math.min(remaining, pending.length);
            await handler.onData(pending.subarray(0, take));
            pending = pending.subarray(take);
            remaining -= take;
            if (remaining > 0) break;
          }
          if (pending.length < padding) {
            padding -= pending.length;
            pending = Buffer.alloc(0);
            break;
          }
          pending = pending.subarray(padding);
          inEntry = false;
          await handler.onEntryEnd();
        }
        if (pending.length < BLOCK) break;
        const block = pending.subarray(0, BLOCK);
        pending = pending.subarray(BLOCK);
        if (block.every((byte) => byte === 0)) {
          ended = true;
          break;
        }
        const entry = parseHeader(block);
        await handler.onEntry(entry);
        remaining = entry.typeflag === '0' || entry.typeflag === '7' ? entry.size : 0;
        padding = (BLOCK - (remaining % BLOCK)) % BLOCK;
        inEntry = true;
      }
    }
  } catch (error) {
    if (error instanceof TarFormatError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw new TarFormatError(`not a gzip stream: ${(error as Error).message}`);
    throw error;
  }
  if (inEntry || !ended) throw new TarFormatError('the archive ends in the middle (truncated)');
}

/** The package.json inside a bundle file: name and version (for `mcp node upgrade --bundle`). */
export async function readBundleManifest(file: string): Promise<{ name: string; version: string }> {
  let current = '';
  let text = '';
  await readGzippedTar(fs.createReadStream(file), {
    onEntry: async (entry) => {
      current = entry.path.replace(/^\.\//, '');
      if (current === 'package.json' && entry.size > 64 * 1024) throw new TarFormatError('package.json in the bundle is larger than 64 KiB');
    },
    onData: async (chunk) => {
      if (current === 'package.json') text += chunk.toString('utf8');
    },
    onEntryEnd: async () => undefined,
  });
  if (!text) throw new TarFormatError(`${file} has no package.json: not an agent bundle`);
  const pkg = JSON.parse(text) as { name?: unknown; version?: unknown };
  if (pkg.name !== 'mcp' || typeof pkg.version !== 'string') throw new TarFormatError(`${file}: package.json is not MCP's (name "mcp" with a version)`);
  return { name: pkg.name, version: pkg.version };
}
