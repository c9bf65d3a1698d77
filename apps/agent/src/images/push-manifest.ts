import { createHash } from 'node:crypto';
import { FileTooLargeError, InvalidArgumentError } from '@mcp/common';

/** `sha256:` and 64 lowercase hex digits: the only digest form a push may name. */
export const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;
/** A manifest is a few KiB; anything this big is not one. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
/** More layers than podman's overlay driver stacks (128 lower dirs) make no image. */
const MAX_LAYERS = 128;

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
]);

/** One blob a manifest names. */
export interface ManifestBlob {
  digest: string;
  size: number;
}

/** A manifest that passed every check below; `blobs` is the config, then each distinct layer. */
export interface PushManifest {
  /** The manifest's own bytes and digest (it becomes a blob of the OCI layout). */
  bytes: Buffer;
  digest: string;
  config: ManifestBlob;
  layers: ManifestBlob[];
  blobs: ManifestBlob[];
  totalBytes: number;
}

export interface ManifestLimits {
  maxBlobBytes: number;
  maxPushBytes: number;
}

/**
 * Checks a pushed manifest before a byte of its blobs is accepted. The manifest comes from the
 * caller, so it is hostile until proven otherwise: every digest must be a sha256 digest (a
 * digest is also the blob's file name in the cache, so `sha256:../../x` would be a path), every
 * size a whole number within the node's limits, no layer may point elsewhere (`urls`), and the
 * config digest must be the image ID the caller expects, so the image podman loads is the one
 * it asked for. Each refusal is one line naming the field.
 */
export function parsePushManifest(input: { bytes: Buffer; imageId: string; limits: ManifestLimits }): PushManifest {
  const { bytes, imageId, limits } = input;
  if (!SHA256_DIGEST.test(imageId)) throw new InvalidArgumentError(`image ID ${quote(imageId)} is not sha256:<64 lowercase hex digits>`);
  if (bytes.length === 0) throw new InvalidArgumentError('the push header carries no manifest');
  if (bytes.length > MAX_MANIFEST_BYTES) throw new InvalidArgumentError(`manifest of ${bytes.length} bytes exceeds ${MAX_MANIFEST_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new InvalidArgumentError('manifest is not JSON');
  }
  if (!isObject(raw)) throw new InvalidArgumentError('manifest is not a JSON object');
  if (raw.schemaVersion !== 2) throw new InvalidArgumentError('manifest: schemaVersion must be 2');
  if (raw.mediaType !== undefined && raw.mediaType !== OCI_MANIFEST) {
    throw new InvalidArgumentError(`manifest: mediaType ${quote(raw.mediaType)} is not ${OCI_MANIFEST}`);
  }
  const config = descriptor(raw.config, 'config', limits);
  if (isObject(raw.config) && raw.config.mediaType !== OCI_CONFIG) {
    throw new InvalidArgumentError(`manifest: config.mediaType ${quote(raw.config.mediaType)} is not ${OCI_CONFIG}`);
  }
  if (!Array.isArray(raw.layers)) throw new InvalidArgumentError('manifest: layers must be an array');
  if (raw.layers.length > MAX_LAYERS) throw new InvalidArgumentError(`manifest: ${raw.layers.length} layers, more than ${MAX_LAYERS}`);
  const layers = raw.layers.map((layer: unknown, index: number) => {
    const field = `layers[${index}]`;
    const blob = descriptor(layer, field, limits);
    const entry = layer as Record<string, unknown>;
    if (typeof entry.mediaType !== 'string' || !LAYER_TYPES.has(entry.mediaType)) {
      throw new InvalidArgumentError(`manifest: ${field}.mediaType ${quote(entry.mediaType)} is not an OCI layer type`);
    }
    if (entry.urls !== undefined) throw new InvalidArgumentError(`manifest: ${field}.urls: layers fetched from elsewhere are refused`);
    return blob;
  });
  if (config.digest !== imageId) {
    throw new InvalidArgumentError(`image ID ${imageId} is not the manifest's config digest ${config.digest}`);
  }
  const blobs = [config, ...layers].filter((blob, index, all) => all.findIndex((other) => other.digest === blob.digest) === index);
  const totalBytes = blobs.reduce((sum, blob) => sum + blob.size, 0);
  if (totalBytes > limits.maxPushBytes) {
    throw new FileTooLargeError(`the image's blobs declare ${totalBytes} bytes, more than this node's limit of ${limits.maxPushBytes} ([images] max_push_size)`);
  }
  return { bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, config, layers, blobs, totalBytes };
}

function descriptor(value: unknown, field: string, limits: ManifestLimits): ManifestBlob {
  if (!isObject(value)) throw new InvalidArgumentError(`manifest: ${field} must be an object`);
  const { digest, size } = value;
  if (typeof digest !== 'string') throw new InvalidArgumentError(`manifest: ${field}.digest must be a string`);
  if (digest.includes('/') || digest.includes('..')) {
    throw new InvalidArgumentError(`manifest: ${field}.digest ${quote(digest)} is a path, not a digest`);
  }
  if (!SHA256_DIGEST.test(digest)) throw new InvalidArgumentError(`manifest: ${field}.digest ${quote(digest)} is not sha256:<64 lowercase hex digits>`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new InvalidArgumentError(`manifest: ${field}.size must be a whole number of bytes`);
  }
  if (size > limits.maxBlobBytes) {
    throw new FileTooLargeError(`manifest: ${field} declares ${size} bytes, more than this node's limit of ${limits.maxBlobBytes} ([images] max_blob_size)`);
  }
  return { digest, size };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Caller text in an error: quoted, bounded, one line. */
function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const clipped = text.length > 100 ? `${text.slice(0, 100)}…` : text;
  return JSON.stringify(clipped);
}
