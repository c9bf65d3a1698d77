import { Injectable } from '@nestjs/common';
import { FailedPreconditionError, InvalidArgumentError, NAME_PATTERN, NotFoundError } from '@mcp/common';
import { podmanSecretName, secretsUsedBy, ServiceSecrets } from '@mcp/deployer';
import { ServiceRegistry } from '@mcp/registry';
import { ContainerRuntime } from '@mcp/runtime';
import { SECRET_NAME } from '@mcp/servicedef';

export interface SecretView {
  name: string;
  setAt: Date;
  usedBy: string[];
}

/** podman's own limit on a secret's size. */
const MAX_SECRET_BYTES = 512_000 - 1;

/**
 * `mcp secret set|list|rm` (SPEC §9). Values go from the request straight to podman and are
 * never logged, stored in the registry or returned; errors name the secret, never its value.
 */
@Injectable()
export class SecretsService {
  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly registry: ServiceRegistry,
    private readonly secrets: ServiceSecrets,
  ) {}

  async set(input: { service: string; name: string; value: Buffer }): Promise<{ secret: SecretView; recreateOnDeploy: string[] }> {
    this.checkNames(input);
    if (input.value.length === 0) throw new InvalidArgumentError('value: must not be empty (pipe it on standard input)');
    if (input.value.length > MAX_SECRET_BYTES) throw new InvalidArgumentError(`value: must be smaller than 512000 bytes (podman's limit)`);
    const created = await this.runtime.createSecret({ name: podmanSecretName(input.service, input.name), value: input.value });
    const usedBy = await this.usedBy(input.service, input.name, () => true);
    return { secret: { name: input.name, setAt: created.createdAt, usedBy }, recreateOnDeploy: usedBy };
  }

  async list(input: { service: string }): Promise<SecretView[]> {
    this.checkNames({ service: input.service });
    const versions = await this.secrets.versions(input.service);
    const record = await this.registry.getService(input.service);
    return [...versions.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, info]) => ({
        name,
        setAt: info.createdAt,
        usedBy: (record?.components ?? []).filter((component) => secretsUsedBy(component.spec).includes(name)).map((component) => component.name),
      }));
  }

  async remove(input: { service: string; name: string }): Promise<void> {
    this.checkNames(input);
    const versions = await this.secrets.versions(input.service);
    if (!versions.has(input.name)) throw new NotFoundError(`secret "${input.name}" of service "${input.service}" is not set`);
    // Deployed = a container was created from the spec and has not been removed since.
    const users = await this.usedBy(input.service, input.name, (component) => component.deployedSpecHash !== '' && component.observedState !== 'removed');
    if (users.length) {
      throw new FailedPreconditionError(
        `secret "${input.name}" is used by deployed component${users.length > 1 ? 's' : ''} ${users.join(', ')} of ${input.service}: remove it from their definitions and deploy (or undeploy the service) first`,
      );
    }
    await this.runtime.removeSecret({ name: podmanSecretName(input.service, input.name) });
  }

  private async usedBy(
    service: string,
    name: string,
    filter: (component: { deployedSpecHash: string; observedState: string }) => boolean,
  ): Promise<string[]> {
    const record = await this.registry.getService(service);
    return (record?.components ?? [])
      .filter((component) => secretsUsedBy(component.spec).includes(name) && filter(component))
      .map((component) => component.name);
  }

  private checkNames(input: { service: string; name?: string }): void {
    const problems: string[] = [];
    if (!NAME_PATTERN.test(input.service)) problems.push(`service: "${input.service}" is not a service name`);
    if (input.name !== undefined && !SECRET_NAME.test(input.name)) {
      problems.push(`name: "${input.name}" must be 1-63 characters of letters, digits, "_" and "-", starting with a letter`);
    }
    if (problems.length) throw new InvalidArgumentError(problems.join('; '));
  }
}
