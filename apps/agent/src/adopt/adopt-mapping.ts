import type { ComponentSpec } from '@mcp/common';
import type { ContainerDetails } from '@mcp/runtime';

/**
 * Variables podman or the image put into every container's environment. The runtime port
 * does not offer the image's own environment to compare with, so exactly these are dropped;
 * anything else the container carries is recorded.
 */
export const DEFAULT_CONTAINER_ENV: ReadonlySet<string> = new Set(['PATH', 'TERM', 'container', 'HOSTNAME', 'HOME']);

/**
 * The component spec that re-creates `container` (SPEC §2 Adopt): image, ports, volumes,
 * env, cmd, network, user and restart policy. Routes are not discoverable from a container.
 */
export function componentFromContainer(input: { name: string; container: ContainerDetails }): ComponentSpec {
  const { container } = input;
  return {
    name: input.name,
    image: container.image,
    network: container.network || undefined,
    user: container.user || undefined,
    restart: container.restart && container.restart !== 'no' ? container.restart : undefined,
    ports: [...container.portSpecs],
    volumes: [...container.volumes],
    cmd: [...container.cmd],
    env: container.env.filter((entry) => !DEFAULT_CONTAINER_ENV.has(entry.slice(0, entry.indexOf('=') < 0 ? entry.length : entry.indexOf('=')))),
    routes: [],
  };
}
