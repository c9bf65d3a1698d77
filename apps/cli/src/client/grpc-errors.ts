import type { NodeConfig } from '../config/cli-config';
import { AgentCallError, AgentUnreachableError, CliError, TokenRejectedError } from '../errors';

/** gRPC status codes (numbers from @grpc/grpc-js `status`, kept here so this stays import-free). */
const Status = {
  CANCELLED: 1,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

const NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
];

interface GrpcLikeError {
  code?: number;
  details?: string;
  message?: string;
}

/**
 * Maps a failed call to the CLI's typed errors. `connected` says whether the channel was
 * ever ready: UNAVAILABLE/DEADLINE_EXCEEDED before that means the agent is unreachable
 * (exit 3); after, it is the agent reporting a dependency down or a slow operation (exit 1).
 */
export function mapGrpcError(error: unknown, node: NodeConfig, connected: boolean): CliError {
  if (error instanceof CliError) return error;
  const grpc = (error ?? {}) as GrpcLikeError;
  const code = typeof grpc.code === 'number' ? grpc.code : -1;
  const details = grpc.details || grpc.message || 'unknown error';
  if (!connected && (code === Status.UNAVAILABLE || code === Status.DEADLINE_EXCEEDED || code === -1)) {
    return new AgentUnreachableError(node.name, node.address, details);
  }
  if (code === Status.UNAUTHENTICATED) return new TokenRejectedError(node.name);
  if (code === Status.PERMISSION_DENIED) {
    return new AgentCallError(node.name, 'PERMISSION_DENIED', `permission denied by ${node.name}: ${details}`);
  }
  if (code === Status.DEADLINE_EXCEEDED) {
    return new AgentCallError(node.name, 'DEADLINE_EXCEEDED', `agent ${node.name} did not answer in time: ${details}`);
  }
  if (code === Status.CANCELLED) return new AgentCallError(node.name, 'CANCELLED', 'cancelled');
  return new AgentCallError(node.name, NAMES[code] ?? 'UNKNOWN', `${node.name}: ${details}`);
}
