import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { McpError, type ErrorKind } from '@mcp/common';

/** What grpc-js needs to send a status to the client (a ServiceError shape). */
export interface GrpcErrorPayload {
  code: GrpcStatus;
  details: string;
  message: string;
  metadata: Metadata;
}

/** The one mapping from domain error kinds to gRPC codes (SPEC §3). */
export const KIND_TO_STATUS: Record<ErrorKind, GrpcStatus> = {
  invalid_argument: GrpcStatus.INVALID_ARGUMENT,
  not_found: GrpcStatus.NOT_FOUND,
  already_exists: GrpcStatus.ALREADY_EXISTS,
  failed_precondition: GrpcStatus.FAILED_PRECONDITION,
  permission_denied: GrpcStatus.PERMISSION_DENIED,
  unauthenticated: GrpcStatus.UNAUTHENTICATED,
  unavailable: GrpcStatus.UNAVAILABLE,
  resource_exhausted: GrpcStatus.RESOURCE_EXHAUSTED,
  internal: GrpcStatus.INTERNAL,
};

/** The message unknown failures carry to the client; the detail stays in the agent log. */
export const INTERNAL_MESSAGE = 'internal error (see the agent log)';

/**
 * Maps any thrown value to a gRPC status payload. McpErrors keep their message (they are
 * written for the operator); `internal` ones and everything unknown get a generic message.
 */
export function toGrpcError(err: unknown): GrpcErrorPayload {
  let code: GrpcStatus = GrpcStatus.INTERNAL;
  let details = INTERNAL_MESSAGE;
  if (err instanceof McpError) {
    code = KIND_TO_STATUS[err.kind] ?? GrpcStatus.INTERNAL;
    if (code !== GrpcStatus.INTERNAL) details = err.message;
  }
  details = bounded(details);
  return { code, details, message: details, metadata: new Metadata() };
}

/**
 * Longest status message sent. Messages quote the caller's input (a service name, a path), and
 * grpc-js sends the message as an HTTP/2 trailer: a megabyte of it breaks the stream, and
 * with it the client's connection, instead of reaching the client.
 */
export const MAX_DETAILS_CHARS = 1024;

function bounded(details: string): string {
  return details.length <= MAX_DETAILS_CHARS ? details : `${details.slice(0, MAX_DETAILS_CHARS - 1)}…`;
}

/** Name of a gRPC status code, for the audit log (`OK`, `NOT_FOUND`, ...). */
export function statusName(code: GrpcStatus): string {
  return GrpcStatus[code] ?? String(code);
}
