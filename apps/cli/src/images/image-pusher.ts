import { Injectable } from '@nestjs/common';
import type { AgentClient, PushImageBlob } from '../client/agent-client';
import { CommandFailedError } from '../errors';
import { Output } from '../output/output';
import { Progress } from '../output/progress';
import type { SavedImage } from './workstation-images';

/** 1 MiB messages: large enough that per-message cost vanishes, far below gRPC's 4 MiB limit. */
export const PUSH_CHUNK_BYTES = 1024 * 1024;

/** What one node got (the `--json` shape of `mcp image push`). */
export interface ImagePushResult {
  node: string;
  reference: string;
  imageId: string;
  /** Blobs (and their bytes) this push sent, and those the node already had. */
  blobsSent: number;
  bytesSent: number;
  blobsSkipped: number;
  bytesSkipped: number;
  /** The agent's own count of what arrived. */
  agentBytesReceived: number;
}

/** What a push would send to one node (`mcp deploy --push --dry-run`). */
export interface ImagePushPlan {
  missing: SavedImage['blobs'];
  present: boolean;
}

/**
 * Pushes a saved image to one node (SPEC §13): asks ImageBlobs which blobs the node has, then
 * streams only the others through PushImage. An interrupted push needs nothing special to
 * resume: the node keeps every blob it verified, so the next ImageBlobs lists them.
 */
@Injectable()
export class ImagePusher {
  constructor(private readonly output: Output) {}

  async plan(client: AgentClient, image: SavedImage): Promise<ImagePushPlan> {
    const answer = await client.call('imageBlobs', { digests: image.blobs.map((blob) => blob.digest), imageId: image.id });
    const present = new Set(answer.present);
    return { missing: answer.imagePresent ? [] : image.blobs.filter((blob) => !present.has(blob.digest)), present: answer.imagePresent };
  }

  async push(client: AgentClient, image: SavedImage, reference = image.reference): Promise<ImagePushResult> {
    const node = client.node.name;
    const { missing } = await this.plan(client, image);
    // The workstation's podman starts producing the missing layers while the header goes out.
    image.prepare?.(missing.map((blob) => blob.digest));
    const output = this.output;
    async function* blobs(): AsyncIterable<PushImageBlob> {
      for (const [index, blob] of missing.entries()) {
        const progress = new Progress(output, `${node}: ${blob.kind} ${blob.digest.slice(7, 19)} (${index + 1}/${missing.length})`, blob.size);
        async function* chunks(): AsyncIterable<Buffer> {
          let sent = 0;
          for await (const chunk of image.read(blob.digest, PUSH_CHUNK_BYTES)) {
            sent += chunk.length;
            progress.update(sent);
            yield chunk;
          }
        }
        yield { digest: blob.digest, size: blob.size, chunks: chunks() };
      }
    }
    let response;
    try {
      response = await client.pushImage({ header: { reference, imageId: image.id, manifest: image.manifest }, blobs: blobs() });
    } finally {
      this.output.clearProgress();
    }
    if (response.imageId !== image.id) {
      throw new CommandFailedError(`${node} answered image ${response.imageId || '(none)'} for ${reference}, not ${image.id}`);
    }
    const sum = (list: SavedImage['blobs']) => list.reduce((total, blob) => total + blob.size, 0);
    return {
      node,
      reference,
      imageId: image.id,
      blobsSent: missing.length,
      bytesSent: sum(missing),
      blobsSkipped: image.blobs.length - missing.length,
      bytesSkipped: sum(image.blobs) - sum(missing),
      agentBytesReceived: Number(response.bytesReceived),
    };
  }
}
