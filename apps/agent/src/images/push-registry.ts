import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { OCI_MANIFEST, type PushManifest } from './push-manifest';

/** What one blob of the push is, as far as podman's reads are concerned. */
interface BlobState {
  size: number;
  /** Where its bytes are: the cache file (complete) or the file being received. */
  file?: string;
  /** Bytes written to `file` so far. */
  written: number;
  /** Verified (sha256 matched): its last byte may be served. */
  committed: boolean;
  failed: boolean;
}

/** Read size for one response write: the push's own chunk size. */
const READ_BYTES = 1024 * 1024;

/**
 * A registry of one image for one push, on loopback, that podman pulls from while the blobs
 * are still arriving (SPEC §13): so the node's podman loads the image as the bytes come, not
 * after the last one (podman cannot load a stream: `podman load` copies its input to a temp
 * file first, and an OCI layout's blobs must be complete files).
 *
 * It serves the push's manifest and its blobs from the push's files — a blob being received
 * from the file it is being written to, following it as it grows, so the push never waits for
 * podman and podman never needs the bytes in memory. The last byte of a blob is served only
 * once the whole blob matched its sha256: podman never receives a complete wrong blob (and it
 * checks every digest itself). A blob the push neither has nor sends is answered 404 once the
 * push's stream ended. The name is random, there is no listing, and nothing is accepted: GET
 * and HEAD only.
 */
export class PushRegistry {
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly blobs = new Map<string, BlobState>();
  private readonly changed = new EventEmitter();
  private ended = false;
  private closed = false;
  /** `mcp-push-<random>/image`: the repository podman is told to pull. */
  readonly repository = `mcp-push-${randomBytes(8).toString('hex')}/image`;

  constructor(private readonly manifest: PushManifest) {
    this.changed.setMaxListeners(0);
    for (const blob of manifest.blobs) this.blobs.set(blob.digest, { size: blob.size, written: 0, committed: false, failed: false });
    this.server = http.createServer((request, response) => {
      this.serve(request, response).catch(() => response.destroy());
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    // Podman tries TLS first with --tls-verify=false: those bytes are not HTTP; drop the socket.
    this.server.on('clientError', (_error, socket) => socket.destroy());
  }

  /** Listens on 127.0.0.1 and resolves to the reference podman pulls (`127.0.0.1:<port>/mcp-push-…/image:latest`). */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}/${this.repository}:latest`;
  }

  /** A blob already complete and verified in the cache. */
  cached(digest: string, file: string): void {
    this.update(digest, (blob) => Object.assign(blob, { file, written: blob.size, committed: true }));
  }

  /** A blob starts arriving into `file`. */
  receiving(digest: string, file: string): void {
    this.update(digest, (blob) => Object.assign(blob, { file, written: 0, committed: false, failed: false }));
  }

  progress(digest: string, written: number): void {
    this.update(digest, (blob) => (blob.written = written));
  }

  /** Verified and moved to `file` (the open read of the temp name goes on reading the same inode). */
  committed(digest: string, file: string): void {
    this.update(digest, (blob) => Object.assign(blob, { file, committed: true }));
  }

  /** The blob was refused: a read of it breaks off. */
  failed(digest: string): void {
    this.update(digest, (blob) => (blob.failed = true));
  }

  /** The push's stream ended: what has not arrived will not. */
  end(): void {
    this.ended = true;
    this.changed.emit('change');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ended = true;
    this.changed.emit('change');
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private update(digest: string, change: (blob: BlobState) => unknown): void {
    const blob = this.blobs.get(digest);
    if (!blob) return;
    change(blob);
    this.changed.emit('change');
  }

  private nextChange(): Promise<void> {
    return new Promise((resolve) => this.changed.once('change', () => resolve()));
  }

  private async serve(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const head = request.method === 'HEAD';
    if (request.method !== 'GET' && !head) return this.answer(response, 405);
    const url = request.url ?? '';
    if (url === '/v2/' || url === '/v2') return this.answer(response, 200, '{}', 'application/json');
    const prefix = `/v2/${this.repository}/`;
    if (!url.startsWith(prefix)) return this.answer(response, 404);
    const rest = url.slice(prefix.length);
    if (rest === 'manifests/latest' || rest === `manifests/${this.manifest.digest}`) {
      response.writeHead(200, { 'Content-Type': OCI_MANIFEST, 'Content-Length': this.manifest.bytes.length, 'Docker-Content-Digest': this.manifest.digest });
      response.end(head ? undefined : this.manifest.bytes);
      return;
    }
    const digest = rest.startsWith('blobs/') ? rest.slice('blobs/'.length) : '';
    const blob = this.blobs.get(digest);
    if (!blob) return this.answer(response, 404);
    // Wait until the blob is here or on its way; a push that ended without it answers 404.
    while (!blob.file && !this.ended) await this.nextChange();
    if (!blob.file || blob.failed) return this.answer(response, 404);
    response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': blob.size, 'Docker-Content-Digest': digest });
    if (head) return void response.end();
    await this.stream(blob, response);
  }

  /** The blob's bytes as they are written, the last one only once it is verified. */
  private async stream(blob: BlobState, response: http.ServerResponse): Promise<void> {
    let file: fs.FileHandle | undefined;
    while (!file) {
      const name = blob.file!;
      try {
        file = await fs.open(name, 'r');
      } catch (error) {
        // Renamed into the cache between the look and the open: open it under its new name.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || blob.file === name) throw error;
      }
    }
    try {
      let at = 0;
      while (at < blob.size) {
        if (blob.failed || this.closed || response.destroyed) return void response.destroy();
        const servable = blob.committed ? blob.size : Math.min(blob.written, blob.size - 1);
        if (at >= servable) {
          if (this.ended && !blob.committed && blob.written < blob.size) return void response.destroy();
          await this.nextChange();
          continue;
        }
        const buffer = Buffer.allocUnsafe(Math.min(READ_BYTES, servable - at));
        const { bytesRead } = await file.read(buffer, 0, buffer.length, at);
        if (bytesRead === 0) return void response.destroy();
        at += bytesRead;
        // Podman's pace: wait for the socket to drain before reading more.
        if (!response.write(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead))) {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              response.off('drain', done);
              response.off('close', done);
              resolve();
            };
            response.on('drain', done);
            response.on('close', done);
          });
        }
      }
      response.end();
    } finally {
      await file.close();
    }
  }

  private answer(response: http.ServerResponse, status: number, body = '', type = 'application/json'): void {
    const text = body || (status === 404 ? '{"errors":[{"code":"BLOB_UNKNOWN","message":"not in this push"}]}' : '');
    response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) });
    response.end(text);
  }
}
