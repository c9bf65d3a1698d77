import type { Clock } from '@mcp/common';
import { formatUptime } from '@mcp/common';
import type { Agents } from '../client/agents.service';
import { fromTimestamp } from '../client/timestamps';
import { cordonedNodes, nodeCell, renderFleet } from '../output/fleet-renderer';
import { type Output, stateStyle } from '../output/output';

/**
 * `mcp ps`: containers running now, live from every node (one LiveCheck each), with their
 * KIND (SPEC §12): `service` for a component's container, `run`, `job` or `hook` for a one-off. Shared by the
 * nest-commander command and the CLI's quick path (quick.ts), which runs it without Nest.
 */
export async function showPs(deps: { agents: Agents; output: Output; clock: Clock }, json?: boolean): Promise<void> {
  const outcomes = await deps.agents.fanOut((client) => client.call('liveCheck', {}));
  const now = deps.clock.now().getTime();
  const cordoned = cordonedNodes(outcomes);
  renderFleet(deps.output, outcomes, json, {
    rows: (value, node) =>
      [...value.containers, ...(value.oneOffs ?? [])].map((c) => {
        const started = fromTimestamp(c.startedAt);
        const running = c.state === 'running' && started !== undefined;
        return {
          node: node.name,
          nodeCordoned: value.cordoned,
          service: c.service,
          component: c.component,
          kind: c.kind || 'service',
          container: c.container,
          state: c.state,
          health: c.health || '-',
          image: c.image,
          version: c.version,
          desired: c.desiredState,
          startedAt: started?.toISOString() ?? null,
          uptimeSeconds: running ? Math.max(0, Math.floor((now - started.getTime()) / 1000)) : null,
        };
      }),
    jsonKey: 'containers',
    jsonExtra: { cordonedNodes: cordoned },
    footer: cordoned.length ? `cordoned: ${cordoned.join(', ')} (no new services; mcp node uncordon NAME)` : undefined,
    headers: ['SERVICE', 'COMPONENT', 'KIND', 'NODE', 'STATE', 'HEALTH', 'VERSION', 'UPTIME'],
    cells: (r) => [
      r.service || r.container,
      r.component || '-',
      r.kind,
      nodeCell(r.node, r.nodeCordoned),
      { text: r.state, style: stateStyle(r.state) },
      { text: r.health, style: stateStyle(r.health) },
      r.version || '-',
      r.uptimeSeconds === null ? '-' : formatUptime(r.uptimeSeconds * 1000),
    ],
    failedRow: (node, label) => ['-', '-', '-', node, label, '-', '-', '-'],
  });
}
