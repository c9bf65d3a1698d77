import type { ComponentSpec, ServiceSpec } from '@mcp/common';
import type { mcpv1 } from '@mcp/proto';

/**
 * The CLI's side of the spec ↔ proto mapping (@mcp/servicedef's, loaded on use like the rest
 * of servicedef, so it stays out of `--help`): commands turn what the agent sends into
 * domain specs here, and the definition store sees domain specs only.
 */
function servicedef() {
  return import('@mcp/servicedef');
}

export async function toProtoSpec(spec: ServiceSpec): Promise<mcpv1.ServiceSpec> {
  return (await servicedef()).toProtoServiceSpec(spec);
}

export async function fromProtoSpec(spec: mcpv1.ServiceSpec, node: string): Promise<ServiceSpec> {
  return (await servicedef()).fromProtoServiceSpec(spec, node);
}

export async function fromProtoComponent(component: mcpv1.ComponentSpec): Promise<ComponentSpec> {
  return (await servicedef()).fromProtoComponent(component);
}
