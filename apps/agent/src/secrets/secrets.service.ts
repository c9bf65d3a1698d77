import { Injectable, Logger } from '@nestjs/common';
import type { Caller } from '@mcp/auth';
import { FailedPreconditionError, InvalidArgumentError, NAME_PATTERN, NotFoundError, PermissionDeniedError } from '@mcp/common';
import { podmanSecretName, secretsUsedBy, ServiceSecrets } from '@mcp/deployer';
import { ServiceRegistry } from '@mcp/registry';
import { ContainerRuntime } from '@mcp/runtime';
import { SECRET_NAME } from '@mcp/servicedef';
import { AgentConfig } from '../config/agent-config';

/** The one role that may read a secret's value back (ReadSecretForMove), whatever `allowed_roles` lets in. */
export const SECRET_READER_ROLE = 'admin';

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
  private readonly logger = new Logger(SecretsService.name);

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly registry: ServiceRegistry,
    private readonly secrets: ServiceSecrets,
    private readonly config: AgentConfig,
  ) {}

  /**
   * ReadSecretForMove (SPEC §15 `mcp move --copy-secrets`): the value of one secret of a
   * service this node has, to an admin caller that names the node the service moves to.
   * Refused to anyone else; the audit line names the secret and the target, never the value.
   */
  async readForMove(input: { service: string; name: string; toNode: string; caller: Caller | undefined }): Promise<Buffer> {
    if (!input.caller?.roles.includes(SECRET_READER_ROLE)) {
      throw new PermissionDeniedError(`reading a secret's value back is for the ${SECRET_READER_ROLE} role only (mcp move --copy-secrets)`);
    }
    this.checkNames(input);
    if (!NAME_PATTERN.test(input.toNode) || input.toNode === this.config.agent.nodeName) {
      throw new InvalidArgumentError(`to_node: must name the node ${input.service} moves to (not this node, ${this.config.agent.nodeName})`);
    }
    const record = await this.registry.getService(input.service);
    if (!record) throw new FailedPreconditionError(`node ${this.config.agent.nodeName} has no service ${input.service}: a secret is read back only to move a service off this node`);
    const value = await this.runtime.readSecret({ name: podmanSecretName(input.service, input.name) });
    if (!value) throw new NotFoundError(`secret "${input.name}" of service "${input.service}" is not set`);
    this.logger.log(`secret ${input.name} of ${input.service} read by ${input.caller.username || input.caller.subject} to move it to ${input.toNode}`);
    return value;
  }

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
