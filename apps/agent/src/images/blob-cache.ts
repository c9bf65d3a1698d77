import { createHash, randomBytes, type Hash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { ChecksumMismatchError, InvalidArgumentError } from '@mcp/common';
import { SHA256_DIGEST } from './push-manifest';

/**
 * The content-addressed store of blobs a push delivered (SPEC §13), under `[images] cache_dir`:
 *   blobs/sha256/<hex>   verified blobs: a file appears here only after its bytes hashed to
 *                        its name (written to tmp/, renamed; not fsynced: see commit());
 *   tmp/                 blobs being received; what a killed agent left here is removed at start;
 *   layouts/             left by agents before the push registry (an OCI layout per load): removed at start.
 * A push that breaks off keeps its finished blobs, so the next one sends only the rest; the
 * blobs of an image are dropped once podman has loaded it (podman's store then has its layers).
 */
export class BlobCache {
  constructor(readonly root: string) {}

  private get blobDir(): string {
    return path.join(this.root, 'blobs', 'sha256');
  }

  private get tmpDir(): string {
    return path.join(this.root, 'tmp');
  }

  /** Creates the directories (0700) and clears what an interrupted run left in tmp/ and layouts/. */
  async open(): Promise<void> {
    await fs.rm(this.tmpDir, { recursive: true, force: true });
    await fs.rm(path.join(this.root, 'layouts'), { recursive: true, force: true });
    for (const dir of [this.blobDir, this.tmpDir, path.join(this.root, 'layouts')]) await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  }

  pathOf(digest: string): string {
    // Digests were checked by parsePushManifest; checked again because this makes a path.
    if (!SHA256_DIGEST.test(digest)) throw new InvalidArgumentError(`"${digest.slice(0, 100)}" is not a sha256 digest`);
    return path.join(this.blobDir, digest.slice('sha256:'.length));
  }

  async has(digest: string): Promise<boolean> {
    if (!SHA256_DIGEST.test(digest)) return false;
    return fs.stat(this.pathOf(digest)).then((stat) => stat.isFile(), () => false);
  }

  /** Bytes free to an unprivileged writer on the cache's file system. */
  async freeBytes(): Promise<number> {
    const stat = await fs.statfs(this.root);
    return stat.bavail * stat.bsize;
  }

  /** Starts receiving one blob into tmp/; `commit()` verifies and renames it into blobs/. */
  async receive(blob: { digest: string; size: number }): Promise<BlobWriter> {
    const target = this.pathOf(blob.digest);
    const temp = path.join(this.tmpDir, `${blob.digest.slice('sha256:'.length)}.${randomBytes(6).toString('hex')}`);
    const file = await fs.open(temp, 'wx', 0o600);
    return new BlobWriter(blob, file, temp, target);
  }

  async remove(digests: readonly string[]): Promise<void> {
    for (const digest of digests) await fs.rm(this.pathOf(digest), { force: true });
  }
}

/** One blob on its way in: every chunk hashed and written; only a verified blob is renamed into place. */
export class BlobWriter {
  private readonly hash: Hash = createHash('sha256');
  received = 0;
  private closed = false;

  constructor(
    readonly blob: { digest: string; size: number },
    private readonly file: fs.FileHandle,
    /** Where the blob is being written (tmp/), then where it is once verified (blobs/). */
    readonly temp: string,
    readonly target: string,
  ) {}

  get complete(): boolean {
    return this.received === this.blob.size;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.received + chunk.length > this.blob.size) {
      throw new InvalidArgumentError(`blob ${this.blob.digest}: more bytes arrived than its declared ${this.blob.size}`);
    }
    this.received += chunk.length;
    this.hash.update(chunk);
    // Awaiting the write before reading the next message lets the disk pace the sender.
    await this.file.write(chunk);
  }

  /**
   * Checks size and sha256, renames into the cache. A mismatch removes the temp file.
   *
   * No fsync: the cache is a resume aid, not the image's home. A blob lives here for the seconds
   * between its arrival and podman's load, after which it is removed — usually before the
   * kernel writes it back at all (dirty pages expire after 30 s), so the push writes the
   * image to disk once, in podman's store. The price: after a power cut, a blob renamed here
   * may hold less than it was checked to hold. Podman checks every blob's digest as it loads
   * the layout, and a load that fails drops the image's blobs from the cache (ImagesService),
   * so such a blob costs one failed push and a resend, never a wrong image. (An fsync per blob
   * made the stream phase of a 256 MiB push 10–15 s against a plain stream's 5 s on this
   * machine's shared disk: docs/notes/issue-22.md.)
   */
  async commit(): Promise<void> {
    if (!this.complete) throw new InvalidArgumentError(`blob ${this.blob.digest}: ${this.received} of its ${this.blob.size} bytes arrived`);
    const actual = `sha256:${this.hash.digest('hex')}`;
    if (actual !== this.blob.digest) {
      throw new ChecksumMismatchError(`blob ${this.blob.digest} arrived with sha256 ${actual}: refused, nothing of it was kept; push again`);
    }
    await this.file.close();
    this.closed = true;
    await fs.rename(this.temp, this.target);
  }

  /** Drops the temp file (the push failed or was cancelled). */
  async abort(): Promise<void> {
    if (!this.closed) await this.file.close().catch(() => undefined);
    this.closed = true;
    await fs.rm(this.temp, { force: true });
  }
}
