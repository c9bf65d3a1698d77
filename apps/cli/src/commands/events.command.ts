import { Command, CommandRunner, Help, Option } from 'nest-commander';
import { Clock, parseDuration } from '@mcp/common';
import type { AgentAnswer, AgentRequest } from '../client/agent-client';
import { Agents, fleetErrors, throwIfFleetFailed } from '../client/agents.service';
import { fromTimestamp } from '../client/timestamps';
import { CliConfigService } from '../config/cli-config.service';
import { UsageError } from '../errors';
import { Output } from '../output/output';
import { parseNonNegativeInt, parseTarget } from './command-helpers';

interface EventsOptions {
  follow?: boolean;
  since?: string;
  limit?: number;
  json?: boolean;
  node?: string;
}

interface EventRow {
  node: string;
  id: number;
  time: string;
  service: string;
  component: string;
  kind: string;
  message: string;
  fromState: string;
  toState: string;
}

@Command({
  name: 'events',
  arguments: '[service]',
  description: "the registry's events (deploys, state changes, drift, alerts) from every node; -f follows them live",
})
export class EventsCommand extends CommandRunner {
  @Help('after')
  help(): string {
    return (
      '\nWithout --since, the most recent events of each node (50, or -n N), oldest first; with --since, every\n' +
      'event since then. -f keeps the streams open and prints each new event as its node records it, until\n' +
      'Ctrl-C. Lines read: TIME NODE SERVICE[/COMPONENT] KIND: MESSAGE.\n' +
      '\nWith --json: {events: [{node, id, time, service, component, kind, message, fromState, toState}],\n' +
      'errors: [{node, kind, error}]}; with -f --json, one such event object per line as it arrives.'
    );
  }

  constructor(
    private readonly agents: Agents,
    private readonly config: CliConfigService,
    private readonly output: Output,
    private readonly clock: Clock,
  ) {
    super();
  }

  async run([serviceText]: string[], options: EventsOptions = {}): Promise<void> {
    const service = serviceText ? parseTarget(serviceText, { allowComponent: false }).service : '';
    const since = options.since === undefined ? undefined : parseSince(options.since, this.clock.now());
    const request: AgentRequest<'events'> = {
      service,
      since: since && { seconds: Math.floor(since.getTime() / 1000), nanos: (since.getTime() % 1000) * 1_000_000 },
      follow: options.follow === true,
      limit: options.limit ?? 0,
    };
    const nodes = options.node ? [this.config.node(options.node)] : undefined;
    if (!request.follow) {
      const outcomes = await this.agents.fanOut(async (client) => {
        const rows: EventRow[] = [];
        for await (const message of client.stream('events', request)) rows.push(toRow(client.node.name, message));
        return rows;
      }, nodes);
      const rows = outcomes.flatMap((o) => (o.ok ? o.value : [])).sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
      if (options.json) this.output.json({ events: rows, errors: fleetErrors(outcomes) });
      else for (const row of rows) this.output.line(this.format(row));
      throwIfFleetFailed(outcomes);
      return;
    }
    const abort = new AbortController();
    const onInterrupt = () => abort.abort();
    process.once('SIGINT', onInterrupt);
    try {
      const outcomes = await this.agents.fanOut(async (client) => {
        for await (const message of client.stream('events', request, { signal: abort.signal })) {
          const row = toRow(client.node.name, message);
          this.output.line(options.json ? JSON.stringify(row) : this.format(row));
        }
        if (!abort.signal.aborted) this.output.warn(`${client.node.name}: the agent closed the event stream`);
      }, nodes);
      throwIfFleetFailed(outcomes);
    } finally {
      process.removeListener('SIGINT', onInterrupt);
    }
  }

  private format(row: EventRow): string {
    const who = row.component && row.component !== row.service ? `${row.service}/${row.component}` : row.service;
    return `${row.time}  ${row.node}  ${who}  ${this.output.paint(`${row.kind}:`, kindStyle(row.kind))} ${row.message}`;
  }

  @Option({ flags: '-f, --follow', description: 'keep printing new events as they are recorded' })
  parseFollow(): boolean {
    return true;
  }

  @Option({ flags: '--since <time>', description: 'events since a duration ago (10m, 2h, 7d) or an RFC 3339 time' })
  parseSinceOption(value: string): string {
    return value;
  }

  @Option({ flags: '-n, --limit <n>', description: 'how many recent events per node (default 50)' })
  parseLimit(value: string): number {
    return parseNonNegativeInt(value, '--limit');
  }

  @Option({ flags: '--node <name>', description: 'only this node' })
  parseNode(value: string): string {
    return value;
  }

  @Option({ flags: '--json', description: 'machine-readable output (shape below)' })
  parseJson(): boolean {
    return true;
  }
}

/** `10m` ago, or an RFC 3339 time (a date alone is midnight UTC). */
export function parseSince(text: string, now: Date): Date {
  const ago = parseDuration(text);
  if (ago !== undefined) return new Date(now.getTime() - ago);
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) {
    const date = new Date(text.trim());
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new UsageError(`--since must be a duration like 10m or 2h, or an RFC 3339 time like 2026-11-30T08:00:00Z, got "${text}"`);
}

function toRow(node: string, message: AgentAnswer<'events'>): EventRow {
  const e = message.event;
  return {
    node,
    id: Number(message.id),
    time: fromTimestamp(e?.time)?.toISOString() ?? '',
    service: e?.service ?? '',
    component: e?.component ?? '',
    kind: e?.kind ?? '',
    message: e?.message ?? '',
    fromState: e?.fromState ?? '',
    toState: e?.toState ?? '',
  };
}

function kindStyle(kind: string): 'red' | 'yellow' | 'green' | 'bold' {
  if (kind === 'drift' || kind === 'flapping' || kind === 'error' || kind === 'unhealthy' || kind === 'deploy_failed') return 'red';
  if (kind === 'recovered' || kind === 'deployed') return 'green';
  if (kind === 'state_changed') return 'yellow';
  return 'bold';
}
