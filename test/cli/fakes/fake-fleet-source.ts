import type { FleetSource, FleetUpdate, LogLine, LogsInput, ServiceDetail } from '../../../apps/cli/src/ui/fleet-watcher';
import type { EventView, FleetView } from '../../../apps/cli/src/ui/view-types';

/**
 * A scripted fleet for the dashboard server's tests: a fixed view and events, log lines per
 * service, and a record of what was asked. Anything not scripted throws.
 */
export class FakeFleetSource implements FleetSource {
  readonly logRequests: LogsInput[] = [];
  readonly listeners = new Set<(update: FleetUpdate) => void>();

  constructor(
    private readonly script: {
      fleet: FleetView;
      events?: EventView[];
      details?: Record<string, ServiceDetail | Error>;
      logs?: Record<string, LogLine[]>;
    },
  ) {}

  current(): FleetView {
    return this.script.fleet;
  }

  recentEvents(): EventView[] {
    return this.script.events ?? [];
  }

  subscribe(listener: (update: FleetUpdate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  push(update: FleetUpdate): void {
    for (const listener of this.listeners) listener(update);
  }

  refresh(): Promise<FleetView> {
    return Promise.resolve(this.script.fleet);
  }

  async serviceDetail(node: string, service: string): Promise<ServiceDetail> {
    const detail = this.script.details?.[`${node}/${service}`];
    if (!detail) throw new Error(`FakeFleetSource: no detail scripted for ${node}/${service}`);
    if (detail instanceof Error) throw detail;
    return detail;
  }

  async *logs(input: LogsInput): AsyncIterable<LogLine> {
    this.logRequests.push(input);
    const lines = this.script.logs?.[`${input.node}/${input.service}`];
    if (!lines) throw new Error(`FakeFleetSource: no logs scripted for ${input.node}/${input.service}`);
    yield* lines;
  }
}
