import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { DiskFullError, InvalidArgumentError, readGzippedTar, TarFormatError, type TarEntry } from '@mcp/common';

/** Limits on what one bundle may unpack to. */
export interface UnpackLimits {
  /** Bytes of all files together. */
  totalBytes: number;
  entries: number;
}
export const UNPACK_LIMITS: Readonly<UnpackLimits> = { totalBytes: 1024 * 1024 * 1024, entries: 20_000 };

/**
 * The checked path of an archive entry relative to the release directory: no absolute
 * paths, no `..`, no NUL or backslash, nothing empty. Throws InvalidArgumentError otherwise.
 */
export function checkedEntryPath(name: string): string {
  const trimmed = name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (trimmed === '' || trimmed === '.') return '';
  if (name.startsWith('/')) throw new InvalidArgumentError(`bundle entry "${name}" is an absolute path`);
  if (/[\0\\]/.test(name)) throw new InvalidArgumentError(`bundle entry "${name}" has a NUL or backslash in its name`);
  const parts = trimmed.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new InvalidArgumentError(`bundle entry "${name}" climbs out with ".."`);
  return parts.join('/');
}

/**
 * Unpacks a (verified) bundle tarball into `dir`, which must not exist yet. Only regular
 * files, directories and symlinks that stay inside the release are accepted; nothing is ever
 * written through a symlink (entries below one are refused, files are created with O_EXCL).
 * On any refusal the half-made directory is removed and the error says which entry.
 */
export async function unpackBundle(input: { file: string; dir: string; limits?: Readonly<UnpackLimits> }): Promise<{ files: number; bytes: number }> {
  const { dir } = input;
  const limits = input.limits ?? UNPACK_LIMITS;
  await fs.mkdir(dir, { recursive: false, mode: 0o755 });
  const links = new Set<string>();
  let entries = 0;
  let bytes = 0;
  let files = 0;
  let open: fs.FileHandle | undefined;
  try {
    await readGzippedTar(fsSync.createReadStream(input.file), {
      onEntry: async (entry: TarEntry) => {
        entries += 1;
        if (entries > limits.entries) throw new InvalidArgumentError(`bundle has more than ${limits.entries} entries`);
        const relative = checkedEntryPath(entry.path);
        if (relative === '') return;
        const parts = relative.split('/');
        for (let i = 1; i < parts.length; i++) {
          if (links.has(parts.slice(0, i).join('/'))) throw new InvalidArgumentError(`bundle entry "${entry.path}" lies below a symlink of the bundle`);
        }
        const target = path.join(dir, relative);
        switch (entry.typeflag) {
          case '5':
            await fs.mkdir(target, { recursive: true, mode: 0o755 });
            return;
          case '0':
          case '7': {
            bytes += entry.size;
            if (bytes > limits.totalBytes) throw new InvalidArgumentError(`bundle unpacks to more than ${limits.totalBytes} bytes`);
            await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
            open = await fs.open(target, 'wx', entry.mode & 0o111 ? 0o755 : 0o644);
            files += 1;
            return;
          }
          case '2': {
            const link = entry.linkname;
            if (link === '' || path.isAbsolute(link)) throw new InvalidArgumentError(`bundle symlink "${entry.path}" points at an absolute path "${link}"`);
            const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(relative), link));
            if (resolved === '..' || resolved.startsWith('../')) throw new InvalidArgumentError(`bundle symlink "${entry.path}" points out of the release ("${link}")`);
            await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
            await fs.symlink(link, target);
            links.add(relative);
            return;
          }
          default:
            throw new InvalidArgumentError(`bundle entry "${entry.path}" has type "${entry.typeflag}": only files, directories and symlinks are allowed`);
        }
      },
      onData: async (chunk) => {
        if (open) await open.write(chunk);
      },
      onEntryEnd: async () => {
        if (open) {
          await open.sync();
          await open.close();
          open = undefined;
        }
      },
    });
  } catch (error) {
    await open?.close().catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
    if (error instanceof TarFormatError) throw new InvalidArgumentError(`the bundle is not a valid gzipped tarball: ${error.message}`);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new DiskFullError(`no space left unpacking the bundle under ${path.dirname(dir)}: nothing was switched`, { cause: error });
    if (code === 'EEXIST') throw new InvalidArgumentError(`the bundle holds an entry twice (${(error as Error).message})`);
    throw error;
  }
  return { files, bytes };
}
