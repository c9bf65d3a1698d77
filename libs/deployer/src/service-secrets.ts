import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { FailedPreconditionError, type ComponentSpec } from '@mcp/common';
import { ContainerRuntime, type SecretInfo } from '@mcp/runtime';

/** Podman secrets of MCP services are named `mcp.<service>.<name>` (service names have no dots). */
const PREFIX = 'mcp.';

export function podmanSecretName(service: string, name: string): string {
  return `${PREFIX}${service}.${name}`;
}

/** The service's own name for a podman secret, or undefined when it belongs to another service or to no one. */
export function serviceSecretName(service: string, podmanName: string): string | undefined {
  const prefix = `${PREFIX}${service}.`;
  return podmanName.startsWith(prefix) ? podmanName.slice(prefix.length) : undefined;
}

/** Every secret a component uses, by its service-level name. */
export function secretsUsedBy(spec: ComponentSpec): string[] {
  return [...new Set([...(spec.secrets ?? []), ...Object.values(spec.env_secrets ?? {})])];
}

/**
 * Secrets as the deployer needs them: which version of each a component would get. A secret's
 * podman id changes each time it is set, so folding the ids (never the values) into the spec
 * hash makes a changed secret recreate the components that use it on the next deploy.
 */
@Injectable()
export class ServiceSecrets {
  constructor(private readonly runtime: ContainerRuntime) {}

  /** One listing: name → its current version, for the service's secrets. */
  async versions(service: string): Promise<Map<string, SecretInfo>> {
    const versions = new Map<string, SecretInfo>();
    for (const secret of await this.runtime.listSecrets()) {
      const name = serviceSecretName(service, secret.name);
      if (name !== undefined) versions.set(name, secret);
    }
    return versions;
  }

  /**
   * The hash that decides "unchanged": the spec's own hash when it uses no secrets (so specs
   * from before secrets keep theirs), else that hash with the secrets' ids folded in. A secret
   * that is not set fails the component with what to do.
   */
  deployHash(input: { service: string; spec: ComponentSpec; specHash: string; versions: Map<string, SecretInfo> }): string {
    const used = secretsUsedBy(input.spec).sort();
    if (used.length === 0) return input.specHash;
    const missing = used.filter((name) => !input.versions.has(name));
    if (missing.length) {
      const first = missing[0];
      throw new FailedPreconditionError(
        `secret${missing.length > 1 ? 's' : ''} ${missing.map((name) => `"${name}"`).join(', ')} of service "${input.service}" not set: run mcp secret set ${input.service} ${first} < FILE`,
      );
    }
    const ids = used.map((name) => `${name}=${input.versions.get(name)?.id ?? ''}`).join('\n');
    return createHash('sha256').update(`${input.specHash}\n${ids}`).digest('hex');
  }
}
