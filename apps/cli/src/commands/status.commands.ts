import { Command, CommandRunner, Help, Option } from 'nest-commander';
import { Clock } from '@mcp/common';
import { fromTimestamp } from '../client/timestamps';
import { Agents, failureLabel, fleetErrors, throwIfFleetFailed } from '../client/agents.service';
import { renderFleet } from '../output/fleet-renderer';
import { Cell, Output, stateStyle } from '../output/output';
import { AgentCallError, CommandFailedError } from '../errors';
import { parseNonNegativeInt, parseTarget } from './command-helpers';
import { showPs } from './ps';

interface JsonOption {
  json?: boolean;
}

abstract class ListingCommand extends CommandRunner {
  @Option({ flags: '--json', description: 'machine-readable output (shape below)' })
  parseJson(): boolean {
    return true;
  }
}

@Command({
  name: 'list',
  description: "services and components each node's registry knows (no podman call)",
})
export class ListCommand extends ListingCommand {
  @Help('after')
  jsonHelp(): string {
    return `\nROUTES shows each route as <mc-proxy listener port>/<mode>→<allocated host port>.\nWith --json: {services: [{node, service, active, component, image, desired, observed, version, routes: [{name, port, mode, hostname, hostPort}]}], errors: [{node, kind, error}]}`;
  }

  constructor(
    private readonly agents: Agents,
    private readonly output: Output,
  ) {
    super();
  }

  async run(_args: string[], options: JsonOption = {}): Promise<void> {
    const outcomes = await this.agents.fanOut((client) => client.call('listServices', {}));
    renderFleet(this.output, outcomes, options.json, {
      rows: (value, node) =>
        value.services.flatMap((s) =>
          s.components.map((c) => ({
            node: node.name,
            service: s.name,
            active: s.active,
            component: c.name,
            image: c.image,
            desired: c.desiredState,
            observed: c.observedState,
            version: c.version,
            routes: c.routes.map((r) => ({ name: r.name, port: r.port, mode: r.mode, hostname: r.hostname, hostPort: r.hostPort })),
          })),
        ),
      jsonKey: 'services',
      headers: ['SERVICE', 'COMPONENT', 'NODE', 'DESIRED', 'OBSERVED', 'VERSION', 'ROUTES'],
      cells: (r) => [r.service, r.component, r.node, r.desired, { text: r.observed, style: stateStyle(r.observed) }, r.version, r.routes.map((route) => `${route.port}/${route.mode}→${route.hostPort || '-'}`).join(',') || '-'],
      failedRow: (node, label) => ['-', '-', node, '-', label, '-', '-'],
    });
  }
}

@Command({
  name: 'ps',
  description:
    'containers running now, live from podman on every node',
})
export class PsCommand extends ListingCommand {
  @Help('after')
  jsonHelp(): string {
    return `\nWith --json: {containers: [{node, service, component, container, state, image, version, desired, startedAt, uptimeSeconds}], errors: [{node, kind, error}]}`;
  }

  constructor(
    private readonly agents: Agents,
    private readonly output: Output,
    private readonly clock: Clock,
  ) {
    super();
  }

  run(_args: string[], options: JsonOption = {}): Promise<void> {
    return showPs({ agents: this.agents, output: this.output, clock: this.clock }, options.json);
  }
}

@Command({
  name: 'status',
  arguments: '[service]',
  description:
    'desired vs observed state per component (drift marked with *), then recent events',
})
export class StatusCommand extends ListingCommand {
  @Help('after')
  jsonHelp(): string {
    return `\nWith --json: {components: [{node, service, component, desired, observed, version, drift}], events: [{node, time, service, component, kind, message}], errors: [{node, kind, error}]}`;
  }

  constructor(
    private readonly agents: Agents,
    private readonly output: Output,
  ) {
    super();
  }

  async run([serviceText]: string[], options: JsonOption & { events?: number } = {}): Promise<void> {
    const service = serviceText ? parseTarget(serviceText, { allowComponent: false }).service : '';
    const eventLimit = options.events ?? 10;
    const outcomes = await this.agents.fanOut((client) => client.call('getServiceStatus', { service, eventLimit }));
    // A named service lives on one node; the others answer NOT_FOUND, which is not a failure.
    const answered = service
      ? outcomes.filter((o) => o.ok || !(o.error instanceof AgentCallError && o.error.code === 'NOT_FOUND'))
      : outcomes;
    const components = answered.flatMap((o) =>
      o.ok
        ? o.value.components.map((c) => ({
            node: o.node.name,
            service: c.service,
            component: c.component,
            desired: c.desiredState,
            observed: c.observedState,
            version: c.version,
            drift: c.drift,
          }))
        : [],
    );
    const events = answered
      .flatMap((o) =>
        o.ok
          ? o.value.events.map((e) => ({
              node: o.node.name,
              time: fromTimestamp(e.time)?.toISOString() ?? '',
              service: e.service,
              component: e.component,
              kind: e.kind,
              message: e.message,
            }))
          : [],
      )
      .sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0))
      .slice(0, eventLimit);
    if (options.json) {
      this.output.json({ components, events, errors: fleetErrors(answered) });
    } else {
      const table: Cell[][] = components.map((c) => [
        c.drift ? { text: `* ${c.service}`, style: 'red' } : `  ${c.service}`,
        c.component,
        c.node,
        c.desired,
        { text: c.observed, style: c.drift ? 'red' : stateStyle(c.observed) },
        c.version || '-',
      ]);
      for (const o of answered) if (!o.ok) table.push([`  -`, '-', o.node.name, '-', { text: failureLabel(o.error), style: 'red' }, '-']);
      this.output.table(['  SERVICE', 'COMPONENT', 'NODE', 'DESIRED', 'OBSERVED', 'VERSION'], table);
      if (components.some((c) => c.drift)) this.output.info('* drift: observed state differs from desired');
      if (events.length) {
        this.output.line();
        this.output.line(this.output.paint('RECENT EVENTS', 'bold'));
        for (const e of events) {
          const who = e.component && e.component !== e.service ? `${e.service}/${e.component}` : e.service;
          this.output.line(`${e.time}  ${e.node}  ${who}  ${e.kind}: ${e.message}`);
        }
      }
    }
    throwIfFleetFailed(answered);
    if (service && components.length === 0) throw new CommandFailedError(`service "${service}" is not known to any node`);
  }

  @Option({ flags: '--events <n>', description: 'how many recent events to show (default 10)' })
  parseEvents(value: string): number {
    return parseNonNegativeInt(value, '--events');
  }
}
