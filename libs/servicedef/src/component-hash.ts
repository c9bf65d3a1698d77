import { createHash } from 'node:crypto';
import { ComponentSpec } from '@mcp/common';

/**
 * JSON with object keys sorted at every level and undefined members left out, so two specs
 * that mean the same thing serialise the same whatever order their keys were built in.
 * Array order is kept: it is meaningful (cmd, env order, route order).
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * sha256 (hex) of the component's canonical JSON. Equal hashes mean "unchanged spec": the
 * deployer leaves the running container alone unless forced.
 */
export function componentSpecHash(component: ComponentSpec): string {
  return createHash('sha256').update(canonicalJson(component)).digest('hex');
}
