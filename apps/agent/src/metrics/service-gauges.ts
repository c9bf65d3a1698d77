import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { KeyedMutex, ServiceChanges } from '@mcp/deployer';
import { AgentMetrics } from '@mcp/metrics';
import { ServiceRegistry, type BackupRunRecord, type ServiceRecord } from '@mcp/registry';

/** Undeployed: every component's container removed by `mcp undeploy` (desired stopped, observed removed). */
export function isUndeployed(record: ServiceRecord): boolean {
  return record.components.every((c) => c.desiredState === 'stopped' && c.observedState === 'removed');
}

/**
 * The per-service gauges (last backup, each job's last success) follow the registry: a service
 * undeployed or purged loses them at once (ServiceChanges), one deployed again gets its last
 * backup back from the registry's runs, and at agent start only deployed services are seeded —
 * the runs of a purged service stay on record but are not a service this node has any more.
 */
@Injectable()
export class ServiceGauges implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ServiceGauges.name);
  /** Services whose gauges were dropped (or never seeded): a later deploy seeds them again. */
  private readonly hidden = new Set<string>();
  private readonly refreshes = new KeyedMutex();
  private ready: Promise<void> = Promise.resolve();
  private unsubscribe?: () => void;

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly changes: ServiceChanges,
    private readonly metrics: AgentMetrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.unsubscribe = this.changes.onChange((service) => void this.refresh(service));
    this.ready = this.seed();
    await this.ready;
  }

  onApplicationShutdown(): void {
    this.unsubscribe?.();
  }

  /** Re-reads the service: drops its gauges when it is gone or undeployed, seeds them when it came back. */
  refresh(service: string): Promise<void> {
    return this.refreshes
      .run(service, async () => {
        await this.ready;
        const record = await this.registry.getService(service);
        if (!record || isUndeployed(record)) {
          this.metrics.serviceGone(service);
          this.hidden.add(service);
        } else if (this.hidden.delete(service)) {
          const newest = (await this.registry.listBackupRuns({ service, limit: 50 })).find((run) => run.ok);
          if (newest) this.known(newest);
        }
      })
      .catch((error: Error) => this.logger.error(`metrics of "${service}": ${error.message}`));
  }

  /** The last-backup figures survive a restart: each deployed service's newest successful run on record. */
  private async seed(): Promise<void> {
    try {
      const deployed = new Set<string>();
      for (const record of await this.registry.listServices()) {
        if (isUndeployed(record)) this.hidden.add(record.name);
        else deployed.add(record.name);
      }
      const seen = new Set<string>();
      for (const run of await this.registry.listBackupRuns({})) {
        if (!run.ok || seen.has(run.service) || !deployed.has(run.service)) continue;
        seen.add(run.service);
        this.known(run);
      }
    } catch (error) {
      this.logger.error(`backup metrics could not be seeded: ${(error as Error).message}`);
    }
  }

  private known(run: BackupRunRecord): void {
    this.metrics.serviceBackupKnown({ service: run.service, at: run.finishedAt, seconds: run.durationMs / 1000, bytes: run.bytes, pausedSeconds: run.pausedMs / 1000 });
  }
}
