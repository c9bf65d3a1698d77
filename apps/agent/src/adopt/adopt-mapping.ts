import type { ComponentSpec } from '@mcp/common';
import type { ContainerDetails } from '@mcp/runtime';
import { fieldDef, fieldKeys } from '@mcp/servicedef';

export { memoryText } from '@mcp/servicedef';

/**
 * The component spec that re-creates `container` (SPEC §2 Adopt): each field's `adopt` in
 * COMPONENT_FIELDS (@mcp/servicedef) — image, ports, volumes, env (without what podman and
 * the image add), cmd, network, user, restart policy, the memory and CPU limits and the stop
 * signal and timeout when they differ from podman's defaults. Routes are not discoverable
 * from a container.
 */
export function componentFromContainer(input: { name: string; container: ContainerDetails; serviceDir?: string }): ComponentSpec {
  const component: Partial<Record<keyof ComponentSpec, unknown>> = { routes: [] };
  for (const key of fieldKeys()) {
    const value = fieldDef(key).adopt?.(input.container, { name: input.name, serviceDir: input.serviceDir });
    if (value !== undefined) component[key] = value;
  }
  return component as ComponentSpec;
}
