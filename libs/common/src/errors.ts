/**
 * Typed domain errors. Libraries and services throw these; exactly one place (the agent's
 * gRPC exception filter, the CLI's error handler) maps them to transport codes or exit codes.
 * `kind` is the only thing those mappers look at; messages are never parsed.
 */
export type ErrorKind =
  | 'invalid_argument'
  | 'not_found'
  | 'already_exists'
  | 'failed_precondition'
  | 'permission_denied'
  | 'unauthenticated'
  | 'unavailable'
  | 'resource_exhausted'
  | 'internal';

export abstract class McpError extends Error {
  abstract readonly kind: ErrorKind;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One problem found while validating input: where, and why. */
export interface ValidationIssue {
  /** The file the problem is in, when there is one. */
  file?: string;
  /** Field path like `components[1].routes[0].port`; empty for the whole document. */
  path: string;
  reason: string;
}

export function formatIssue(issue: ValidationIssue): string {
  const where = [issue.file, issue.path].filter((part) => part).join(': ');
  return where ? `${where}: ${issue.reason}` : issue.reason;
}

/** A request or document failed validation; carries every problem, not just the first. */
export class ValidationError extends McpError {
  readonly kind = 'invalid_argument' as const;
  constructor(
    readonly issues: ValidationIssue[],
    summary?: string,
  ) {
    super(summary ?? issues.map(formatIssue).join('\n'));
  }
}

export class InvalidServiceDefinitionError extends ValidationError {}

/** A configuration file (agent or CLI) is invalid. */
export class ConfigError extends ValidationError {}

export class InvalidArgumentError extends McpError {
  readonly kind = 'invalid_argument' as const;
}

export class ServiceNotFoundError extends McpError {
  readonly kind = 'not_found' as const;
  constructor(readonly service: string) {
    super(`service "${service}" not found`);
  }
}

export class ComponentNotFoundError extends McpError {
  readonly kind = 'not_found' as const;
  constructor(
    readonly service: string,
    readonly component: string,
  ) {
    super(`component "${service}/${component}" not found`);
  }
}

export class NotFoundError extends McpError {
  readonly kind = 'not_found' as const;
}

export class FailedPreconditionError extends McpError {
  readonly kind = 'failed_precondition' as const;
}

/** A container runtime command failed; carries podman's own words. */
export class RuntimeCommandError extends McpError {
  readonly kind: ErrorKind = 'internal';
  constructor(
    message: string,
    readonly details: { args: readonly string[]; exitCode: number | null; stderr: string },
  ) {
    super(message);
  }
}

export class ImageNotFoundError extends RuntimeCommandError {
  override readonly kind = 'failed_precondition' as const;
}

export class RegistryAuthError extends RuntimeCommandError {
  override readonly kind = 'failed_precondition' as const;
}

export class PortConflictError extends RuntimeCommandError {
  override readonly kind = 'failed_precondition' as const;
}

/** The image registry cannot be reached or spoken to (network, TLS); retrying may help. */
export class RegistryUnreachableError extends RuntimeCommandError {
  override readonly kind = 'unavailable' as const;
}

export class ContainerNotFoundError extends McpError {
  readonly kind = 'not_found' as const;
  constructor(readonly container: string) {
    super(`container "${container}" not found`);
  }
}

/** The container runtime (or another local dependency) cannot be reached at all. */
export class UnavailableError extends McpError {
  readonly kind = 'unavailable' as const;
}

export class RuntimeUnavailableError extends UnavailableError {}

/** Identity service (MCIAS) unreachable or answering nonsense: callers fail closed. */
export class IdentityUnavailableError extends UnavailableError {}

/** No token, malformed header, unknown, invalid or expired token. */
export class UnauthenticatedError extends McpError {
  readonly kind = 'unauthenticated' as const;
}

/** A valid caller lacking an allowed role, or a path outside the service directory. */
export class PermissionDeniedError extends McpError {
  readonly kind = 'permission_denied' as const;
}

export class PathOutsideServiceError extends PermissionDeniedError {}

export class InvalidPathError extends InvalidArgumentError {}

export class FileTooLargeError extends InvalidArgumentError {}

/** The node's disk (or the filesystem under srv_root) is full: nothing was written. */
export class DiskFullError extends McpError {
  readonly kind = 'resource_exhausted' as const;
}

export class ChecksumMismatchError extends InvalidArgumentError {}

export class RouteRegistrationError extends UnavailableError {}

export class CertificateError extends McpError {
  readonly kind = 'failed_precondition' as const;
}

/** A command was asked to run in a container that exists but is not running (SPEC §12 exec). */
export class ContainerNotRunningError extends FailedPreconditionError {}
