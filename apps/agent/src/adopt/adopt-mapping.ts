import { STOP_SIGNALS, type ComponentSpec } from '@mcp/common';
import type { ContainerDetails } from '@mcp/runtime';

/**
 * Variables podman or the image put into every container's environment. The runtime port
 * does not offer the image's own environment to compare with, so exactly these are dropped;
 * anything else the container carries is recorded.
 */
export const DEFAULT_CONTAINER_ENV: ReadonlySet<string> = new Set(['PATH', 'TERM', 'container', 'HOSTNAME', 'HOME']);

/**
 * The component spec that re-creates `container` (SPEC §2 Adopt): image, ports, volumes,
 * env, cmd, network, user, restart policy, the memory and CPU limits and the stop signal
 * and timeout. Routes are not
 * discoverable from a container.
 */
export function componentFromContainer(input: { name: string; container: ContainerDetails; serviceDir?: string }): ComponentSpec {
  const { container } = input;
  return {
    name: input.name,
    image: container.image,
    network: container.network || undefined,
    user: container.user || undefined,
    restart: container.restart && container.restart !== 'no' ? container.restart : undefined,
    ports: [...container.portSpecs],
    volumes: container.volumes.map((volume) => (input.serviceDir ? serviceRelative(volume, input.serviceDir) : volume)),
    cmd: [...container.cmd],
    env: container.env.filter((entry) => !DEFAULT_CONTAINER_ENV.has(entry.slice(0, entry.indexOf('=') < 0 ? entry.length : entry.indexOf('=')))),
    routes: [],
    memory: container.memoryBytes ? memoryText(container.memoryBytes) : undefined,
    cpus: container.cpus || undefined,
    ...stopFields(container),
  };
}

/**
 * A bind mount from inside the service's directory written as `./…` (SPEC §15), so the
 * adopted definition moves between nodes unchanged; anything else as podman reports it.
 */
export function serviceRelative(volume: string, serviceDir: string): string {
  const [host, ...rest] = volume.split(':');
  const dir = serviceDir.replace(/\/+$/, '');
  if (host === dir) return ['./', ...rest].join(':');
  if (!host.startsWith(`${dir}/`)) return volume;
  return [`./${host.slice(dir.length + 1)}`, ...rest].join(':');
}

/** podman's defaults: a container with them records no stop_signal/stop_timeout. */
const PODMAN_STOP_SIGNAL = 'SIGTERM';
const PODMAN_STOP_TIMEOUT_SECONDS = 10;

/** stop_signal and stop_timeout when the container's differ from podman's defaults (and stop_signal is one MCP accepts). */
function stopFields(container: ContainerDetails): Pick<ComponentSpec, 'stop_signal' | 'stop_timeout'> {
  const fields: Pick<ComponentSpec, 'stop_signal' | 'stop_timeout'> = {};
  const signal = STOP_SIGNALS.find((known) => known === container.stopSignal);
  if (signal && signal !== PODMAN_STOP_SIGNAL) fields.stop_signal = signal;
  const seconds = container.stopTimeoutSeconds;
  if (seconds !== undefined && seconds !== PODMAN_STOP_TIMEOUT_SECONDS) fields.stop_timeout = `${seconds}s`;
  return fields;
}

/** podman's `--memory` for a byte count, in the largest unit that divides it (`256m`, `2g`). */
export function memoryText(bytes: number): string {
  for (const [unit, size] of [['g', 1024 ** 3], ['m', 1024 ** 2], ['k', 1024]] as const) {
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}b`;
}
