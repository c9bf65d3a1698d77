import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { ServiceRegistry } from '@mcp/registry';
import { ContainerRuntime } from '@mcp/runtime';
import { ReleaseLayout, releaseEnvironment } from './release-layout';
import { AgentConfig } from '../config/agent-config';

/** How often a failing self-check is tried again (podman may come up after the agent). */
export const SELF_CHECK_RETRY_MS = 2_000;
const TIMER = 'upgrade.self-check';

/**
 * Marks the running release good in boot.json once the agent serves RPCs (the server calls
 * `start()` after it listens) and its self-check passes: the registry answers (the database
 * opened and migrated at start-up) and podman answers. Until then the launcher counts this
 * start as one that never became good (deploy/mcp-agent-launch); a release that crashes or
 * never passes is rolled back on its third start.
 */
@Injectable()
export class ReleaseMarker implements OnApplicationShutdown {
  private readonly logger = new Logger(ReleaseMarker.name);
  private stopped = false;

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly runtime: ContainerRuntime,
    private readonly scheduler: SchedulerRegistry,
    private readonly config: AgentConfig,
  ) {}

  start(): void {
    const env = releaseEnvironment(this.config.env);
    if (!env) return;
    void this.attempt(new ReleaseLayout(env.installDir), env.release);
  }

  /** One self-check; true when the release is (now) marked good. */
  async attempt(layout: ReleaseLayout, release: string): Promise<boolean> {
    if (this.stopped) return false;
    try {
      await this.registry.listServices();
      await this.runtime.version();
      const marked = await layout.markGood(release);
      if (marked) this.logger.log(`release ${release} passed its self-check: marked good`);
      else this.logger.warn(`release ${release} passed its self-check but boot.json names another release; not marked`);
      return marked;
    } catch (error) {
      this.logger.warn(`self-check of release ${release} failed (${(error as Error).message}); trying again in ${SELF_CHECK_RETRY_MS / 1000}s`);
      if (this.scheduler.doesExist('timeout', TIMER)) this.scheduler.deleteTimeout(TIMER);
      const timer = setTimeout(() => {
        this.scheduler.deleteTimeout(TIMER);
        void this.attempt(layout, release);
      }, SELF_CHECK_RETRY_MS);
      timer.unref();
      this.scheduler.addTimeout(TIMER, timer);
      return false;
    }
  }

  onApplicationShutdown(): void {
    this.stopped = true;
  }
}
