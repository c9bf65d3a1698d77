import { Injectable, Logger } from '@nestjs/common';
import { ServiceRegistry, type ReleaseRecord } from '@mcp/registry';
import { ContainerRuntime } from '@mcp/runtime';
import { DeployerOptions } from './deployer-options';

/** `[agent] keep_releases` when the config does not say (SPEC §8). */
export const DEFAULT_KEEP_RELEASES = 5;

/** One image the pruner removed, or tried to. */
export interface PrunedImage {
  image: string;
  digest: string;
  removed: boolean;
  /** Why it stayed, when it did. */
  reason?: string;
}

/**
 * Removes images MCP pulled for a service that no kept release uses (SPEC §8 keep_releases).
 *
 * The rule, run after each deploy or rollback that succeeded for the service:
 * - kept: the digest of each component's last `keep_releases` succeeded releases, of every
 *   service on the node (an image shared by two services stays while either keeps it), and any
 *   release still in progress;
 * - candidates: images of this service's releases whose deploy pulled them (`pulled`), so an
 *   image the operator or another tool put on the node is never touched;
 * - removal is podman's `rmi` without force: an image a container still uses is refused and
 *   stays. Removal is by tag only, while the tag still names that image (see `remove`).
 */
@Injectable()
export class ImagePruner {
  private readonly logger = new Logger(ImagePruner.name);

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly runtime: ContainerRuntime,
    private readonly options: DeployerOptions,
  ) {}

  get keep(): number {
    return this.options.keepReleases ?? DEFAULT_KEEP_RELEASES;
  }

  async prune(service: string): Promise<PrunedImage[]> {
    const own = await this.registry.listReleases({ service });
    const candidates = new Map<string, ReleaseRecord>();
    for (const release of own) if (release.pulled && release.digest && !candidates.has(release.digest)) candidates.set(release.digest, release);
    if (candidates.size === 0) return [];
    const kept = new Set<string>();
    const services = new Set([service, ...(await this.registry.listServices()).map((s) => s.name)]);
    for (const name of services) {
      const releases = name === service ? own : await this.registry.listReleases({ service: name });
      for (const digest of keptDigests(releases, this.keep)) kept.add(digest);
    }
    const pruned: PrunedImage[] = [];
    for (const [digest, release] of candidates) {
      if (kept.has(digest)) continue;
      pruned.push(await this.remove(release));
    }
    for (const p of pruned.filter((p) => p.removed)) {
      await this.registry
        .addEvent({ service, component: '', kind: 'image_removed', message: `removed ${p.image} (${p.digest}): older than the last ${this.keep} succeeded releases ([agent] keep_releases)` })
        .catch((err) => this.logger.warn(`recording image removal: ${(err as Error).message}`));
    }
    return pruned;
  }

  private async remove(release: ReleaseRecord): Promise<PrunedImage> {
    const { image, digest } = release;
    try {
      // Only by the tag, and only while it still names this image: `rmi` of a name drops that
      // name (the image goes when it was its last), whereas `rmi repo@digest` would drop every
      // name the image has, ones the operator gave it too. A tag that moved on is left alone.
      const now = await this.runtime.imageDigest({ image }).catch(() => '');
      if (now !== digest) return { image, digest, removed: false, reason: now ? 'the tag names another image now' : 'no longer on the node' };
      await this.runtime.removeImage({ image });
      this.logger.log(`removed image ${image} (${release.service}: older than the last ${this.keep} succeeded releases)`);
      return { image, digest, removed: true };
    } catch (err) {
      this.logger.warn(`keeping image ${image} (${digest}): ${(err as Error).message}`);
      return { image, digest, removed: false, reason: (err as Error).message };
    }
  }
}

/** Per component: the digests of its last `keep` succeeded releases, and of releases in progress. */
export function keptDigests(releases: ReleaseRecord[], keep: number): Set<string> {
  const kept = new Set<string>();
  const counts = new Map<string, number>();
  // Newest first, as the registry lists them.
  for (const release of [...releases].sort((a, b) => b.number - a.number)) {
    if (release.outcome === 'in_progress') {
      kept.add(release.digest);
      continue;
    }
    if (release.outcome !== 'succeeded') continue;
    const seen = counts.get(release.component) ?? 0;
    if (seen >= keep) continue;
    counts.set(release.component, seen + 1);
    kept.add(release.digest);
  }
  return kept;
}
