import type { ComponentSpec, ServiceSpec } from '@mcp/common';
import { mcpv1 } from '@mcp/proto';
import { fromProtoBackup, toProtoBackup } from './backup-fields';
import { fieldDef, fieldKeys } from './component-fields';
import { fromProtoJob, toProtoJob } from './job-fields';

/** Proto3 strings have no presence: absent optionals travel as ''. The proto has no `node`. */
export function toProtoServiceSpec(spec: ServiceSpec): mcpv1.ServiceSpec {
  const message: mcpv1.ServiceSpec = { name: spec.name, active: spec.active, components: spec.components.map(toProtoComponent) };
  if (spec.backup) message.backup = toProtoBackup(spec.backup);
  if (spec.jobs?.length) message.jobs = { jobs: spec.jobs.map(toProtoJob) };
  return message;
}

/** Each field's `proto.to` in COMPONENT_FIELDS; the proto3 zero values stand for absent ones without presence. */
export function toProtoComponent(component: ComponentSpec): mcpv1.ComponentSpec {
  const message: Partial<mcpv1.ComponentSpec> = {};
  for (const key of fieldKeys()) Object.assign(message, fieldDef(key).proto.to(component[key]));
  return message as mcpv1.ComponentSpec;
}

/**
 * The inverse of toProtoServiceSpec, with `node` supplied by the receiver. It converts only:
 * pass the result to validateServiceSpec before trusting it (an unknown `mode` is kept as
 * sent so that validation can name it).
 */
export function fromProtoServiceSpec(msg: mcpv1.ServiceSpec, node: string): ServiceSpec {
  const spec: ServiceSpec = { name: msg.name, node, active: msg.active, components: (msg.components ?? []).map(fromProtoComponent) };
  if (msg.backup) spec.backup = fromProtoBackup(msg.backup);
  if (msg.jobs?.jobs?.length) spec.jobs = msg.jobs.jobs.map(fromProtoJob);
  return spec;
}

/** Each field's `proto.from` in COMPONENT_FIELDS; absent stays absent (no `network: undefined` members), so specs compare equal either way. */
export function fromProtoComponent(message: mcpv1.ComponentSpec): ComponentSpec {
  const component = {} as Record<keyof ComponentSpec, unknown>;
  for (const key of fieldKeys()) {
    const value = fieldDef(key).proto.from(message);
    if (value !== undefined) component[key] = value;
  }
  return component as ComponentSpec;
}
