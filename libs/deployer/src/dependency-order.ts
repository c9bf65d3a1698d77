import type { ComponentSpec } from '@mcp/common';

/**
 * Deploy order for `depends_on` (SPEC §9): layers of components, each layer's components
 * depending only on earlier layers, so one layer can deploy concurrently and the next starts
 * when it is up. Dependencies outside `components` (a single-component deploy) are taken as
 * already running. Validation has rejected cycles; should one arrive anyway, the remaining
 * components form one last layer rather than being dropped.
 */
export function dependencyLayers<T extends Pick<ComponentSpec, 'name' | 'depends_on'>>(components: T[]): T[][] {
  const names = new Set(components.map((component) => component.name));
  const placed = new Set<string>();
  const layers: T[][] = [];
  let remaining = [...components];
  while (remaining.length) {
    const ready = remaining.filter((component) =>
      (component.depends_on ?? []).every((dependency) => placed.has(dependency) || !names.has(dependency)),
    );
    const layer = ready.length ? ready : remaining;
    layers.push(layer);
    for (const component of layer) placed.add(component.name);
    remaining = remaining.filter((component) => !layer.includes(component));
  }
  return layers;
}
