import type { ComponentSpec } from '@mcp/common';
import { type ContainerDetails, type ContainerSummary, LABEL_MANAGED, LABEL_SPEC_HASH, memoryBytes, parsePortSpec } from '@mcp/runtime';
import { envChange } from '@mcp/servicedef';

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

/** Networks podman picks when the spec names none (rootful bridge, rootless slirp4netns/pasta). */
const DEFAULT_NETWORKS: ReadonlySet<string> = new Set(['', 'bridge', 'default', 'podman', 'slirp4netns', 'pasta', 'private']);

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
 * `image`, `cmd`, `env` (only the variables MCP set, by name: `~FOO` changed, `-BAR` missing;
 * values are never shown), `ports`, `volumes`, `network`, `user`, `restart`, `memory`, `cpus`,
 * each `deployed → running`. Fields the spec leaves to the image or podman (cmd, user) are
 * compared only when the spec sets them; the image's own variables are not MCP's to judge.
 */
export function containerDrift(expected: ExpectedContainer, container: ContainerDetails): string[] {
  const { spec } = expected;
  const fields = summaryDrift(expected, container);
  if (spec.cmd.length > 0 && !sameList(spec.cmd, container.cmd)) fields.push(`cmd: ${listText(spec.cmd)} → ${listText(container.cmd)}`);

  const running = new Map(container.env.map((entry) => [entry.slice(0, indexOrEnd(entry, '=')), entry]));
  const env = envChange(expected.env, expected.env.flatMap((entry) => running.get(entry.slice(0, indexOrEnd(entry, '='))) ?? []));
  if (env) fields.push(`env: ${env}`);

  const wantPorts = expected.ports.flatMap(normalPorts);
  const havePorts = container.portSpecs.flatMap(normalPorts);
  const ports = setChange(wantPorts, havePorts);
  if (ports) fields.push(`ports: ${ports}`);

  const volumes = setChange((expected.volumes ?? spec.volumes).map(volumeKey), container.volumes.map(volumeKey));
  if (volumes) fields.push(`volumes: ${volumes}`);

  const network = container.network ?? '';
  if (spec.network ? spec.network !== network : !DEFAULT_NETWORKS.has(network)) fields.push(`network: ${spec.network ?? '(default)'} → ${network || '(default)'}`);
  if (spec.user && spec.user !== (container.user ?? '')) fields.push(`user: ${spec.user} → ${container.user ?? '(image default)'}`);
  const restart = (text: string | undefined): string => (!text || text === 'no' ? 'no' : text);
  if (restart(spec.restart) !== restart(container.restart)) fields.push(`restart: ${restart(spec.restart)} → ${restart(container.restart)}`);

  const wantMemory = spec.memory ? safeMemory(spec.memory) : undefined;
  if ((wantMemory ?? 0) !== (container.memoryBytes ?? 0)) fields.push(`memory: ${spec.memory ?? '(none)'} → ${container.memoryBytes ? `${container.memoryBytes} bytes` : '(none)'}`);
  if (Math.abs((spec.cpus ?? 0) - (container.cpus ?? 0)) > 0.001) fields.push(`cpus: ${spec.cpus ?? '(none)'} → ${container.cpus ?? '(none)'}`);
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

/** `source:destination` (options differ in how podman reports them). */
function volumeKey(volume: string): string {
  return volume.split(':').slice(0, 2).join(':');
}

function safeMemory(text: string): number | undefined {
  try {
    return memoryBytes(text);
  } catch {
    return undefined;
  }
}

function setChange(want: string[], have: string[]): string {
  const missing = want.filter((item) => !have.includes(item)).map((item) => `-${item}`);
  const extra = have.filter((item) => !want.includes(item)).map((item) => `+${item}`);
  return [...missing, ...extra].join(' ');
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

function listText(list: string[]): string {
  return list.length ? `[${list.join(' ')}]` : '(image default)';
}

function indexOrEnd(text: string, char: string): number {
  const at = text.indexOf(char);
  return at < 0 ? text.length : at;
}
