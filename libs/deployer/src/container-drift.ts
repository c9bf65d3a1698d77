import type { ComponentSpec } from '@mcp/common';
import { type ContainerDetails, type ContainerSummary, LABEL_MANAGED, LABEL_SPEC_HASH, memoryBytes, parsePortSpec } from '@mcp/runtime';
import { driftKeys, fieldDef, type DriftContext } from '@mcp/servicedef';

/** The first drift field of a container MCP did not make (SPEC §8 "a container replaced by hand is named as such"). */
export const REPLACED_BY_HAND = 'replaced by hand';

/** What the deployed spec says the container should be, as ContainerOps.runComponent runs it. */
export interface ExpectedContainer {
  /** The spec the running container was deployed from. */
  spec: ComponentSpec;
  /** The image it runs: `spec.image`, or `repo@digest` after a rollback to a moved tag. */
  image: string;
  /** `deployedSpecHash` of the registry: the label MCP put on the container it made. */
  specHash: string;
  /** Every port `-p` MCP passed: the spec's `ports` and `<bind>:<hostPort>:<hostPort>` per route. */
  ports: string[];
  /** Every variable MCP set: the spec's `env` and the route variables (`PORT`…). */
  env: string[];
  /** The volumes MCP passed (`./` sources resolved under the service's directory); default the spec's. */
  volumes?: string[];
  /**
   * MCP ran this component's container (a release succeeded); false for a component adopted
   * and never deployed since, whose container carries no MCP label by nature.
   */
  madeByMcp: boolean;
}

/**
 * What a listing shows without an inspect: a container MCP did not make (no `mcp.managed`
 * label: "replaced by hand"), one MCP made from another spec than the registry records as
 * deployed (`spec: …`), and the image. `mcp status` of every
 * service uses this, so it stays one listing however many services there are.
 */
export function summaryDrift(expected: Pick<ExpectedContainer, 'image' | 'specHash' | 'madeByMcp'> & { spec: Pick<ComponentSpec, 'image'> }, container: ContainerSummary): string[] {
  const fields: string[] = [];
  if (expected.madeByMcp && container.labels[LABEL_MANAGED] !== 'true') {
    fields.push(`${REPLACED_BY_HAND}: the container has no mcp.managed label (run by hand, not by MCP)`);
  } else if (expected.specHash && container.labels[LABEL_MANAGED] === 'true' && container.labels[LABEL_SPEC_HASH] !== expected.specHash) {
    // MCP made it, from another spec than the registry records as deployed (an interrupted deploy).
    fields.push('spec: the container was made from another spec than the one recorded as deployed');
  }
  if (!sameImage(expected, container.image)) fields.push(`image: ${expected.spec.image} → ${container.image}`);
  return fields;
}

/**
 * Every field in which the running container differs from the deployed spec (SPEC §8 drift
 * detail), from one inspect: `replaced by hand: …` first when MCP did not make it, then
 * `image`, then each field's `drift` in COMPONENT_FIELDS (@mcp/servicedef): `cmd`, `env`
 * (only the variables MCP set, by name: `~FOO` changed, `-BAR` missing; values are never
 * shown), `ports`, `volumes`, `network`, `user`, `restart`, `memory`, `cpus`, each
 * `deployed → running`. Fields the spec leaves to the image or podman (cmd, user) are
 * compared only when the spec sets them; the image's own variables are not MCP's to judge.
 */
export function containerDrift(expected: ExpectedContainer, container: ContainerDetails): string[] {
  const { spec } = expected;
  const fields = summaryDrift(expected, container);
  const context: DriftContext = { container, ports: expected.ports, env: expected.env, volumes: expected.volumes ?? spec.volumes, portKeys: normalPorts, memoryBytes: safeMemory };
  for (const key of driftKeys()) {
    const text = fieldDef(key).drift?.(spec[key], context);
    if (text) fields.push(`${key}: ${text}`);
  }
  return fields;
}

/** Same reference, allowing podman's long form (`docker.io/library/…`) and a digest run for its tag. */
function sameImage(expected: { image: string; spec: Pick<ComponentSpec, 'image'> }, running: string): boolean {
  const norm = (image: string): string => {
    const short = image.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
    // podman lists an untagged reference with its implicit `:latest`.
    const last = short.slice(short.lastIndexOf('/') + 1);
    return last.includes(':') || last.includes('@') ? short : `${short}:latest`;
  };
  const candidates = new Set([norm(expected.image), norm(expected.spec.image)]);
  return candidates.has(norm(running));
}

function normalPorts(spec: string): string[] {
  try {
    return parsePortSpec(spec).flatMap((mapping) =>
      Array.from({ length: Math.max(1, mapping.range ?? 1) }, (_, offset) => {
        const host = mapping.host_ip && mapping.host_ip !== '0.0.0.0' ? `${mapping.host_ip}:` : '';
        return `${host}${mapping.host_port ? mapping.host_port + offset : ''}:${mapping.container_port + offset}/${mapping.protocol ?? 'tcp'}`;
      }),
    );
  } catch {
    return [spec];
  }
}

function safeMemory(text: string): number | undefined {
  try {
    return memoryBytes(text);
  } catch {
    return undefined;
  }
}
