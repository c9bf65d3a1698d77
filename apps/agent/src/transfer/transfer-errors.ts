import { McpError } from '@mcp/common';

/** A broken invariant inside the agent (the client sees a generic INTERNAL). */
export class InternalError extends McpError {
  readonly kind = 'internal' as const;
}
