import { FailedPreconditionError, McpError } from '@mcp/common';

/** A route asked for a host port that another registered route already holds. */
export class HostPortInUseError extends FailedPreconditionError {
  constructor(
    readonly hostPort: number,
    readonly heldBy: { service: string; component: string } | null,
    options?: { cause?: unknown },
  ) {
    super(
      heldBy
        ? `host port ${hostPort} is already allocated to ${heldBy.service}/${heldBy.component}`
        : `host port ${hostPort} is allocated twice`,
      options,
    );
  }
}

/** A database file (the live registry or a snapshot) failed `PRAGMA integrity_check`. */
export class RegistryCorruptError extends McpError {
  readonly kind = 'internal' as const;
  constructor(
    readonly file: string,
    readonly problems: string[],
    options?: { cause?: unknown },
  ) {
    super(`database ${file} failed its integrity check: ${problems.slice(0, 5).join('; ')}`, options);
  }
}
