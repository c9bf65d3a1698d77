import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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
 * An image as the workstation's podman saved it, in OCI layout in a temp directory that
 * `dispose()` removes (callers do so in `finally`).
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
 * The workstation's podman: `podman image save --format oci-dir --uncompressed` into a fresh
 * temp directory. Uncompressed, a layer's digest is its diff ID — the digest under which the
 * node's podman stores that layer — so the node can say which layers it has without any
 * registry-style compressed-digest bookkeeping, and nothing is spent on gzip on either side.
 */
@Injectable()
export class PodmanWorkstationImages extends WorkstationImages {
  constructor(private readonly context: CliContext) {
    super();
  }

  async save(reference: string): Promise<SavedImage> {
    const id = (await this.podman(['image', 'inspect', '--format', '{{.Id}}', '--', reference], reference)).trim();
    const imageId = id.startsWith('sha256:') ? id : `sha256:${id}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-image-'));
    // A Ctrl-C ends the process without unwinding: remove the copy then too.
    const removeOnExit = (): void => fs.rmSync(dir, { recursive: true, force: true });
    process.once('exit', removeOnExit);
    const dispose = async (): Promise<void> => {
      process.removeListener('exit', removeOnExit);
      await fs.promises.rm(dir, { recursive: true, force: true });
    };
    try {
      const layout = path.join(dir, 'oci');
      await this.podman(['image', 'save', '--quiet', '--format', 'oci-dir', '--uncompressed', '-o', layout, '--', reference], reference);
      const blobPath = (digest: string): string => {
        if (!SHA256.test(digest)) throw new CommandFailedError(`podman saved ${reference} with a blob digest "${digest}" that is not sha256`);
        return path.join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
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
      return {
        reference,
        id: imageId,
        manifest,
        blobs,
        read: (digest, chunkBytes) => fs.createReadStream(blobPath(digest), { highWaterMark: chunkBytes }),
        dispose,
      };
    } catch (error) {
      await dispose();
      throw error;
    }
  }

  /** argv only, never a shell; podman's own config (CONTAINERS_CONF, XDG_RUNTIME_DIR) from the CLI's environment. */
  private podman(args: string[], reference: string): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile('podman', args, { env: this.context.env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return reject(new CommandFailedError('podman is not installed on this workstation (mcp image push reads images from it)'));
        const reason = String(stderr).trim().split('\n').pop() ?? error.message;
        if (/image not known|no such image|unable to find/i.test(reason)) return reject(new ImageNotLocalError(`no image ${reference} in this workstation's podman (podman images lists them)`));
        reject(new CommandFailedError(`podman ${args[0]} ${args[1]} ${reference}: ${reason.replace(/^Error: /, '')}`));
      });
    });
  }
}
