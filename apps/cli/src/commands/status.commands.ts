import { Command, CommandRunner, Help, Option } from 'nest-commander';
import { Clock } from '@mcp/common';
import { fromTimestamp } from '../client/timestamps';
import { Agents, failureLabel, fleetErrors, throwIfFleetFailed } from '../client/agents.service';
import { cordonedNodes, nodeCell, renderFleet } from '../output/fleet-renderer';
import { Cell, Output, stateStyle } from '../output/output';
import { AgentCallError, CommandFailedError } from '../errors';
import { DefinitionStore } from '../definitions/definition-store';
import { parseNonNegativeInt, parseTarget } from './command-helpers';
import { showPs } from './ps';
import { fromProtoComponent } from '../client/spec-proto';

/** A component whose running release's spec is not what the definition file says (SPEC §8). */
interface FileDifference {
  node: string;
  service: string;
  component: string;
  release: number;
  file: string;
  changes: string[];
}

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
    return `\nROUTES shows each route as <mc-proxy listener port>/<mode>→<allocated host port>.\nWith --json: {cordonedNodes: [node], services: [{node, nodeCordoned, service, active, component, image, desired, observed, version, routes: [{name, port, mode, hostname, hostPort}]}], errors: [{node, kind, error}]}`;
  }

  constructor(
    private readonly agents: Agents,
    private readonly output: Output,
  ) {
    super();
  }

  async run(_args: string[], options: JsonOption = {}): Promise<void> {
    const outcomes = await this.agents.fanOut((client) => client.call('listServices', {}));
    const cordoned = cordonedNodes(outcomes);
    renderFleet(this.output, outcomes, options.json, {
      rows: (value, node) =>
        value.services.flatMap((s) =>
          s.components.map((c) => ({
            node: node.name,
            nodeCordoned: value.cordoned,
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
      jsonExtra: { cordonedNodes: cordoned },
      footer: cordoned.length ? `cordoned: ${cordoned.join(', ')} (no new services; mcp node uncordon NAME)` : undefined,
      headers: ['SERVICE', 'COMPONENT', 'NODE', 'DESIRED', 'OBSERVED', 'VERSION', 'ROUTES'],
      cells: (r) => [r.service, r.component, nodeCell(r.node, r.nodeCordoned), r.desired, { text: r.observed, style: stateStyle(r.observed) }, r.version, r.routes.map((route) => `${route.port}/${route.mode}→${route.hostPort || '-'}`).join(',') || '-'],
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
    return `\nHEALTH is what the agent's last probe found (SPEC §8): healthy, unhealthy, starting (failing within its start_period), or - (not running, or not probed yet: the monitor probes at each tick).\nWith --json: {cordonedNodes: [node], containers: [{node, nodeCordoned, service, component, container, state, health, image, version, desired, startedAt, uptimeSeconds}], errors: [{node, kind, error}]}`;
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
    'desired vs observed state and health per component (drift marked with *, and each field a container differs in from its deployed spec), then recent events',
})
export class StatusCommand extends ListingCommand {
  @Help('after')
  jsonHelp(): string {
    return [
      '',
      'HEALTH is what the agent last found (SPEC §8): healthy, unhealthy, starting (failing within its start_period), or -',
      '(not running, or not probed yet: the monitor probes at each tick).',
      'RELEASE is the release the component runs (see mcp releases), or - (adopted, or never deployed; 0 in --json)',
      '',
      'A component drifts when its observed state differs from desired, or its container from the spec it was',
      'deployed from; the fields that differ are listed under DRIFT ("replaced by hand" for a container MCP did',
      'not make). mcp status SERVICE inspects that service\'s containers for every field (image, cmd, env, ports,',
      'volumes, network, user, restart, memory, cpus); mcp status alone shows what the listing tells (replaced',
      'by hand, image).',
      '',
      'With a SERVICE whose definition file exists, status also compares the running release of each',
      "component (the newest succeeded one, see mcp releases) with the file, and says when they differ",
      '(after mcp rollback without --write, or a file edited but not deployed), field by field.',
      '',
      'With --json: {components: [{node, service, component, desired, observed, health, version, release, drift, driftFields}], events: [{node, time, service, component, kind, message}], fileDiffers: [{node, service, component, release, file, changes}], errors: [{node, kind, error}]}',
    ].join('\n');
  }

  constructor(
    private readonly agents: Agents,
    private readonly output: Output,
    private readonly definitions: DefinitionStore,
  ) {
    super();
  }

  /** Per component of the named service: the running release's spec against the definition file. */
  private async fileDifferences(service: string, node: string | undefined): Promise<FileDifference[]> {
    if (!service || !node || !this.definitions.exists(service)) return [];
    let loaded;
    let releases;
    try {
      loaded = await this.definitions.load(service);
      releases = (await this.agents.withNode(node, (client) => client.call('listReleases', { service, component: '' }))).releases;
    } catch (err) {
      // An agent from before releases has nothing to compare; anything else is worth a word.
      if (!(err instanceof AgentCallError && err.code === 'UNIMPLEMENTED')) this.output.warn(`not compared with the definition file: ${(err as Error).message}`);
      return [];
    }
    const { file, spec } = loaded;
    const differences: FileDifference[] = [];
    for (const component of spec.components) {
      const running = releases.find((r) => r.component === component.name && r.outcome === 'succeeded');
      if (!running?.spec) continue;
      const changes = await this.definitions.componentChanges(await fromProtoComponent(running.spec), component);
      if (changes.length) differences.push({ node, service, component: component.name, release: running.number, file, changes });
    }
    return differences;
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
            health: c.health || '-',
            version: c.version,
            release: c.release ?? 0,
            drift: c.drift,
            driftFields: [...c.driftFields],
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
    const fileDiffers = await this.fileDifferences(service, answered.find((o) => o.ok && o.value.components.length > 0)?.node.name);
    if (options.json) {
      this.output.json({ components, events, ...(service ? { fileDiffers } : {}), errors: fleetErrors(answered) });
    } else {
      const table: Cell[][] = components.map((c) => [
        c.drift ? { text: `* ${c.service}`, style: 'red' } : `  ${c.service}`,
        c.component,
        c.node,
        c.desired,
        { text: c.observed, style: c.drift ? 'red' : stateStyle(c.observed) },
        { text: c.health, style: stateStyle(c.health) },
        c.version || '-',
        c.release ? String(c.release) : '-',
      ]);
      for (const o of answered) if (!o.ok) table.push([`  -`, '-', o.node.name, '-', { text: failureLabel(o.error), style: 'red' }, '-', '-', '-']);
      this.output.table(['  SERVICE', 'COMPONENT', 'NODE', 'DESIRED', 'OBSERVED', 'HEALTH', 'VERSION', 'RELEASE'], table);
      if (components.some((c) => c.drift)) this.output.info('* drift: observed state differs from desired, or the container from its deployed spec');
      for (const d of fileDiffers) {
        this.output.line(
          this.output.paint(`${d.service}/${d.component}: running release ${d.release} differs from file ${d.file}: ${d.changes.join('; ')}`, 'yellow'),
        );
      }
      if (fileDiffers.length) this.output.info(`  (mcp deploy ${service} applies the file; mcp rollback ${service} --write makes the file match a release)`);
      const detailed = components.filter((c) => c.driftFields.length > 0);
      if (detailed.length) {
        this.output.line();
        this.output.line(this.output.paint('DRIFT', 'bold'));
        for (const c of detailed) {
          const who = c.component !== c.service ? `${c.service}/${c.component}` : c.service;
          for (const field of c.driftFields) this.output.line(`${who}  ${c.node}  ${this.output.paint(field, 'red')}`);
        }
      }
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
