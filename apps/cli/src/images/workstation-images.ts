import { execFile, spawn, type ChildProcessByStdio } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { CliContext } from '../cli-context';
import { CommandFailedError } from '../errors';

/** One blob of a saved image, in the order a push sends them: the config, then the layers. */
export interface SavedBlob {
  digest: string;
  size: number;
  kind: 'config' | 'layer';
}

/**
 * An image of the workstation's podman, ready to push: its manifest and config in a temp
 * directory, its layers read from podman when they are sent; `dispose()` removes the
 * directory and stops podman (callers do so in `finally`).
 */
export interface SavedImage {
  reference: string;
  /** `sha256:…`: podman's image ID, which is the config's digest. */
  id: string;
  /** The OCI manifest's bytes, sent as they are (the agent checks its digests and sizes). */
  manifest: Buffer;
  blobs: SavedBlob[];
  /** The blob's bytes, in chunks of `chunkBytes`. */
  read(digest: string, chunkBytes: number): AsyncIterable<Buffer>;
  /**
   * Told which blobs a node lacks before they are read, so that podman starts producing them
   * while the push's header goes out (optional: a copy already on disk needs no warning).
   */
  prepare?(missing: readonly string[]): void;
  dispose(): Promise<void>;
}

/** The workstation's podman has no image of that name (`deploy --push` then leaves it to the node's pull). */
export class ImageNotLocalError extends CommandFailedError {}

/** Port: the workstation's local images (tests may bind another). */
export abstract class WorkstationImages {
  abstract save(reference: string): Promise<SavedImage>;
}

const SHA256 = /^sha256:[0-9a-f]{64}$/;


/**
 * The workstation's podman, read without a copy of the image on disk (SPEC §13):
 *
 * 1. `podman image inspect` gives the image ID (its config's digest) and the layers' diff IDs,
 *    `podman history` each layer's size. Uncompressed, a layer's digest is its diff ID — the
 *    digest under which the node's podman stores it — so the node can say which layers it has
 *    without registry-style compressed-digest bookkeeping, and no gzip is spent on either side.
 * 2. The manifest and config: `podman image save --format oci-dir --uncompressed` into a temp
 *    directory where every layer is already present as a sparse placeholder of its size. Podman
 *    reuses a blob it finds in the layout by digest and size, so it writes only the config,
 *    the manifest and index.json: a few KiB, in a fraction of a second.
 * 3. The layers a node lacks: `podman save` (docker-archive) to a pipe, read as podman writes
 *    it. That archive holds each layer as `<diff ID hex>.tar`, uncompressed, in manifest order,
 *    before its config and manifest; the entries are cut out of the tar stream on the fly and
 *    sent on, so the push streams while podman produces the image and the pipe paces podman.
 *
 * Images whose history does not give one size per layer take the old way: the whole image
 * saved as an OCI layout in the temp directory first.
 */
@Injectable()
export class PodmanWorkstationImages extends WorkstationImages {
  constructor(private readonly context: CliContext) {
    super();
  }

  async save(reference: string): Promise<SavedImage> {
    const [inspected, history] = await Promise.all([
      this.podman(['image', 'inspect', '--format', '{{.Id}}{{range .RootFS.Layers}} {{.}}{{end}}', '--', reference], reference),
      this.podman(['history', '--format', 'json', '--', reference], reference),
    ]);
    const [id, ...diffIds] = inspected.trim().split(/\s+/);
    const imageId = id.startsWith('sha256:') ? id : `sha256:${id}`;
    const sizes = layerSizes(history, diffIds);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-image-'));
    let archive: ArchiveReader | undefined;
    // A Ctrl-C ends the process without unwinding: remove the directory (and stop podman) then too.
    const removeOnExit = (): void => {
      archive?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    };
    process.once('exit', removeOnExit);
    const dispose = async (): Promise<void> => {
      process.removeListener('exit', removeOnExit);
      archive?.close();
      await fs.promises.rm(dir, { recursive: true, force: true });
    };
    try {
      const layout = path.join(dir, 'oci');
      const blobDir = path.join(layout, 'blobs', 'sha256');
      if (sizes) {
        fs.mkdirSync(blobDir, { recursive: true });
        for (const [digest, size] of sizes) {
          if (!SHA256.test(digest)) throw new CommandFailedError(`podman lists a layer of ${reference} as "${digest}", not a sha256 digest`);
          const placeholder = fs.openSync(path.join(blobDir, digest.slice('sha256:'.length)), 'w', 0o600);
          try {
            fs.ftruncateSync(placeholder, size);
          } finally {
            fs.closeSync(placeholder);
          }
        }
      }
      await this.podman(['image', 'save', '--quiet', '--format', 'oci-dir', '--uncompressed', '-o', layout, '--', reference], reference);
      const blobPath = (digest: string): string => {
        if (!SHA256.test(digest)) throw new CommandFailedError(`podman saved ${reference} with a blob digest "${digest}" that is not sha256`);
        return path.join(blobDir, digest.slice('sha256:'.length));
      };
      const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests?: Array<{ digest: string }> };
      const manifestDigest = index.manifests?.[0]?.digest;
      if (!manifestDigest || index.manifests?.length !== 1) throw new CommandFailedError(`podman saved ${reference} without exactly one manifest`);
      const manifest = fs.readFileSync(blobPath(manifestDigest));
      const parsed = JSON.parse(manifest.toString('utf8')) as { config: { digest: string; size: number }; layers: Array<{ digest: string; size: number }> };
      if (parsed.config.digest !== imageId) {
        throw new CommandFailedError(`podman saved ${reference} with config ${parsed.config.digest}, not its image ID ${imageId}`);
      }
      const blobs: SavedBlob[] = [{ digest: parsed.config.digest, size: parsed.config.size, kind: 'config' }];
      for (const layer of parsed.layers) {
        if (!blobs.some((blob) => blob.digest === layer.digest)) blobs.push({ digest: layer.digest, size: layer.size, kind: 'layer' });
      }
      if (!sizes) {
        return { reference, id: imageId, manifest, blobs, read: (digest, chunkBytes) => fs.createReadStream(blobPath(digest), { highWaterMark: chunkBytes }), dispose };
      }
      for (const layer of blobs.slice(1)) {
        if (sizes.get(layer.digest) !== layer.size) {
          throw new CommandFailedError(`podman saved ${reference} with layer ${layer.digest} of ${layer.size} bytes, its history says ${sizes.get(layer.digest) ?? 'nothing'}`);
        }
        // The placeholders served their purpose; the layer's bytes come from the archive.
        fs.rmSync(blobPath(layer.digest), { force: true });
      }
      const config = fs.readFileSync(blobPath(parsed.config.digest));
      const sizeOf = new Map(blobs.map((blob) => [blob.digest, blob.size]));
      /** The open archive if it has not gone past any of `digests`, else a new one. */
      const archiveFor = (digests: readonly string[]): ArchiveReader => {
        if (!archive || digests.some((digest) => archive!.passed(digest))) {
          archive?.close();
          archive = new ArchiveReader(this.spawnSave(reference, dir), reference);
        }
        return archive;
      };
      return {
        reference,
        id: imageId,
        manifest,
        blobs,
        prepare: (missing) => {
          const layers = missing.filter((digest) => digest !== imageId);
          if (layers.length) archiveFor(layers);
        },
        read: (digest, chunkBytes) => {
          if (digest === imageId) return chunksOf(config, chunkBytes);
          const size = sizeOf.get(digest);
          if (size === undefined) throw new CommandFailedError(`${digest} is not a blob of ${reference}`);
          return archiveFor([digest]).layer(digest, size, chunkBytes);
        },
        dispose,
      };
    } catch (error) {
      await dispose();
      throw error;
    }
  }

  /**
   * `podman save` (docker-archive) to a pipe; argv only, the CLI's environment. Podman makes a
   * FIFO under TMPDIR to write stdout through and leaves it when stopped early (a push that needs
   * no more layers stops it): its TMPDIR is the push's own temp directory, removed by dispose.
   */
  private spawnSave(reference: string, tmpDir: string): ChildProcessByStdio<null, Readable, Readable> {
    return spawn('podman', ['save', '--quiet', '--format', 'docker-archive', '--', reference], { env: { ...this.context.env, TMPDIR: tmpDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** argv only, never a shell; podman's own config (CONTAINERS_CONF, XDG_RUNTIME_DIR) from the CLI's environment. */
  private podman(args: string[], reference: string): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile('podman', args, { env: this.context.env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return reject(new CommandFailedError('podman is not installed on this workstation (mcp image push reads images from it)'));
        reject(podmanError(args, reference, String(stderr)) ?? error);
      });
    });
  }
}

function podmanError(args: readonly string[], reference: string, stderr: string): CommandFailedError {
  const reason = stderr.trim().split('\n').pop() || `podman ${args[0]} failed`;
  if (/image not known|no such image|unable to find/i.test(reason)) return new ImageNotLocalError(`no image ${reference} in this workstation's podman (podman images lists them)`);
  return new CommandFailedError(`podman ${args[0]} ${args[1]} ${reference}: ${reason.replace(/^Error: /, '')}`);
}

/**
 * Each distinct layer's size from `podman history --format json` (newest first; entries of
 * size 0 made no layer), or undefined when that does not give exactly one size per layer.
 */
function layerSizes(historyJson: string, diffIds: readonly string[]): Map<string, number> | undefined {
  let entries: unknown;
  try {
    entries = JSON.parse(historyJson);
  } catch {
    return undefined;
  }
  if (!Array.isArray(entries)) return undefined;
  const sizes = entries.map((entry) => (entry as { size?: unknown }).size);
  if (!sizes.every((size): size is number => typeof size === 'number' && Number.isSafeInteger(size))) return undefined;
  const layers = sizes.filter((size) => size > 0).reverse();
  if (layers.length !== diffIds.length) return undefined;
  const bySize = new Map<string, number>();
  for (const [index, digest] of diffIds.entries()) {
    if (bySize.has(digest) && bySize.get(digest) !== layers[index]) return undefined;
    bySize.set(digest, layers[index]);
  }
  return bySize;
}

async function* chunksOf(data: Buffer, chunkBytes: number): AsyncIterable<Buffer> {
  for (let at = 0; at < data.length; at += chunkBytes) yield data.subarray(at, at + chunkBytes);
}

const TAR_BLOCK = 512;

/**
 * Reads `podman save`'s docker-archive as it arrives and cuts layers out of it: a tar stream
 * (512-byte headers, data padded to 512), read only as fast as the push sends, so podman is
 * paced by the pipe. Entries other than `<hex>.tar` files are skipped.
 */
class ArchiveReader {
  private readonly input: AsyncIterator<Buffer>;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private ended = false;
  private stderr = '';
  private readonly exited: Promise<number | null>;
  /** Layers (`sha256:…`) the reader has gone past or is reading. */
  private readonly seen = new Set<string>();
  private busy = false;

  constructor(
    private readonly child: ChildProcessByStdio<null, Readable, Readable>,
    private readonly reference: string,
  ) {
    this.input = child.stdout[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    child.stderr.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4096)));
    this.exited = new Promise((resolve) => {
      child.on('error', () => resolve(-1));
      child.on('close', (code) => resolve(code));
    });
    this.exited.catch(() => undefined);
  }

  passed(digest: string): boolean {
    return this.seen.has(digest);
  }

  close(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
  }

  /** The layer's `size` bytes, in chunks of at most `chunkBytes`, from the next entry named after it. */
  async *layer(digest: string, size: number, chunkBytes: number): AsyncIterable<Buffer> {
    if (this.busy) throw new CommandFailedError(`podman save of ${this.reference}: one layer at a time`);
    this.busy = true;
    try {
      const name = `${digest.slice('sha256:'.length)}.tar`;
      for (;;) {
        const entry = await this.nextEntry();
        if (!entry) throw await this.failure(`its archive ended without layer ${digest}`);
        const padded = Math.ceil(entry.size / TAR_BLOCK) * TAR_BLOCK;
        const match = /^([0-9a-f]{64})\.tar$/.exec(entry.name);
        if (match && entry.type === 'file') this.seen.add(`sha256:${match[1]}`);
        if (entry.name !== name || entry.type !== 'file') {
          await this.skip(padded);
          continue;
        }
        if (entry.size !== size) throw new CommandFailedError(`podman save of ${this.reference} wrote layer ${digest} with ${entry.size} bytes, its manifest says ${size}`);
        let left = size;
        while (left > 0) {
          // Whole chunks: the pipe delivers 64 KiB at a time, a push message carries `chunkBytes`.
          const want = Math.min(left, chunkBytes);
          await this.fill(want);
          if (this.bufferedBytes === 0) throw await this.failure(`its archive ended inside layer ${digest}`);
          const chunk = this.take(Math.min(want, this.bufferedBytes));
          left -= chunk.length;
          yield chunk;
        }
        await this.skip(padded - size);
        return;
      }
    } finally {
      this.busy = false;
    }
  }

  private async failure(what: string): Promise<CommandFailedError> {
    const code = await Promise.race([this.exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 1000).unref())]);
    if (code !== 0 && code !== 'running' && this.stderr.trim()) return podmanError(['save', '--format'], this.reference, this.stderr);
    return new CommandFailedError(`podman save of ${this.reference}: ${what}`);
  }

  private async nextEntry(): Promise<{ name: string; size: number; type: 'file' | 'other' } | undefined> {
    let longName: string | undefined;
    let paxName: string | undefined;
    let paxSize: number | undefined;
    for (;;) {
      if (!(await this.fill(TAR_BLOCK))) return undefined;
      const header = this.take(TAR_BLOCK);
      if (header.every((byte) => byte === 0)) return undefined;
      const typeflag = String.fromCharCode(header[156] || 0x30);
      let size = tarNumber(header.subarray(124, 136));
      if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L') {
        const padded = Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
        if (!(await this.fill(padded))) return undefined;
        const data = this.take(padded).subarray(0, size);
        if (typeflag === 'L') longName = data.toString('utf8').replace(/\0.*$/s, '');
        if (typeflag === 'x') {
          const pax = parsePax(data);
          paxName = pax.get('path');
          if (pax.has('size')) paxSize = Number(pax.get('size'));
        }
        continue;
      }
      const magic = header.subarray(257, 262).toString('latin1');
      const prefix = magic === 'ustar' ? cString(header.subarray(345, 500)) : '';
      const name = paxName ?? longName ?? (prefix ? `${prefix}/${cString(header.subarray(0, 100))}` : cString(header.subarray(0, 100)));
      if (paxSize !== undefined) size = paxSize;
      return { name, size, type: typeflag === '0' || typeflag === '7' ? 'file' : 'other' };
    }
  }

  private async skip(bytes: number): Promise<void> {
    let left = bytes;
    while (left > 0) {
      if (!(await this.fill(1))) throw await this.failure('its archive ended early');
      left -= this.take(Math.min(left, this.bufferedBytes)).length;
    }
  }

  /** Reads from the pipe until `bytes` are buffered; false when it ended first. */
  private async fill(bytes: number): Promise<boolean> {
    while (this.bufferedBytes < bytes && !this.ended) {
      const next = await this.input.next();
      if (next.done) {
        this.ended = true;
        break;
      }
      this.buffered.push(next.value);
      this.bufferedBytes += next.value.length;
    }
    return this.bufferedBytes >= bytes;
  }

  /** Up to `bytes` buffered bytes, copied only when they span two reads. */
  private take(bytes: number): Buffer {
    const first = this.buffered[0];
    if (first.length >= bytes) {
      const out = first.subarray(0, bytes);
      if (first.length === bytes) this.buffered.shift();
      else this.buffered[0] = first.subarray(bytes);
      this.bufferedBytes -= bytes;
      return out;
    }
    const out = Buffer.allocUnsafe(Math.min(bytes, this.bufferedBytes));
    let at = 0;
    while (at < out.length) {
      const head = this.buffered[0];
      const n = Math.min(head.length, out.length - at);
      head.copy(out, at, 0, n);
      at += n;
      if (n === head.length) this.buffered.shift();
      else this.buffered[0] = head.subarray(n);
    }
    this.bufferedBytes -= out.length;
    return out;
  }
}

function cString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString('utf8');
}

/** A tar number field: octal text, or base-256 when the first byte has its high bit set. */
function tarNumber(field: Buffer): number {
  if (field[0] & 0x80) {
    let value = field[0] & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    return value;
  }
  const text = cString(field).trim();
  return text ? parseInt(text, 8) : 0;
}

/** PAX extended header records: `<length> <key>=<value>\n`. */
function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = parseInt(data.subarray(at, space).toString('latin1'), 10);
    if (!(length > 0)) break;
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}
