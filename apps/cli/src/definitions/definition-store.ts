import type { ComponentSpec, ServiceSpec } from '@mcp/common';

export interface LoadedDefinition {
  file: string;
  spec: ServiceSpec;
}

/**
 * The operator's service definition files (the source of truth). The adapter delegates to
 * @mcp/servicedef, loaded lazily so the validator stays out of `--help`. Invalid files
 * throw InvalidServiceDefinitionError with every issue (file, field, reason).
 */
export abstract class DefinitionStore {
  /** Where `<service>.toml` lives in the services folder. */
  abstract fileFor(service: string): string;
  abstract exists(service: string): boolean;
  /** Throws CommandFailedError when there is no file, InvalidServiceDefinitionError when invalid. */
  abstract load(service: string): Promise<LoadedDefinition>;
  /** Any file, e.g. one just edited. */
  abstract loadFile(file: string): Promise<LoadedDefinition>;
  /** Every definition in the services folder; all issues of all files at once. */
  abstract loadAll(): Promise<LoadedDefinition[]>;
  /** Rewrites `node` in place (mcp move), keeping comments and everything else. */
  abstract setNode(file: string, node: string): Promise<void>;
  /** Rewrites `active` in place, keeping comments and everything else. */
  abstract setActive(file: string, active: boolean): Promise<void>;
  /**
   * Rewrites one component's fields (matched by name) from `component`, keeping comments,
   * the other components and the service-level keys byte-for-byte (rollback --write).
   */
  abstract setComponent(file: string, component: ComponentSpec): Promise<void>;
  /** Every field in which `to` differs from `from`, as a deploy plan shows them; empty when equal. */
  abstract componentChanges(from: ComponentSpec, to: ComponentSpec): Promise<string[]>;
  /** Writes a complete definition file (export, adopt). */
  abstract write(file: string, spec: ServiceSpec): Promise<void>;
  /** The definition as TOML text. */
  abstract serialize(spec: ServiceSpec): Promise<string>;
}
