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
    return new AgentUnreachableError(node.name, node.address, connectionProblem(details));
  }
  // The connection died under an open call (link down, agent killed): grpc-js's own words,
  // never an agent's message (the agent's UNAVAILABLE details name the dependency).
  if (code === Status.UNAVAILABLE && CONNECTION_LOST.test(details)) {
    return new AgentUnreachableError(node.name, node.address, 'connection lost');
  }
  if (code === Status.UNAUTHENTICATED) return new TokenRejectedError(node.name);
  if (code === Status.PERMISSION_DENIED) {
    return new AgentCallError(node.name, 'PERMISSION_DENIED', `permission denied by ${node.name}: ${details}`);
  }
  if (code === Status.DEADLINE_EXCEEDED) {
    return new AgentCallError(node.name, 'DEADLINE_EXCEEDED', `agent ${node.name} (${node.address}): ${connectionProblem(details)}`);
  }
  if (code === Status.CANCELLED) return new AgentCallError(node.name, 'CANCELLED', 'cancelled');
  return new AgentCallError(node.name, NAMES[code] ?? 'UNKNOWN', `${node.name}: ${details}`);
}

/** grpc-js's details when the transport under an open call went away. */
const CONNECTION_LOST = /^(Connection dropped|Received RST_STREAM with code 2 triggered by internal client error|Call ended without gRPC status)|Ping timeout|keepalive/i;

/** Socket and TLS errors as an operator reads them, most specific first. */
const CONNECTION_PROBLEMS: Array<[RegExp, (match: RegExpMatchArray) => string]> = [
  [/Deadline exceeded after (\d+(?:\.\d+)?)s/i, (m) => `no answer within ${Math.round(Number(m[1]))}s`],
  [/no connection within (\d+(?:\.\d+)?)s/i, (m) => `no answer within ${Math.round(Number(m[1]))}s`],
  [CONNECTION_LOST, () => 'connection lost'],
  [/ECONNREFUSED/, () => 'connection refused'],
  [/ECONNRESET|socket hang up/i, () => 'connection reset'],
  [/EHOSTUNREACH/, () => 'host unreachable'],
  [/ENETUNREACH/, () => 'network unreachable'],
  [/ETIMEDOUT/, () => 'connection timed out'],
  [/ENOTFOUND|EAI_AGAIN|Name resolution failed|DNS resolution failed|Failed to parse DNS address/i, () => 'cannot resolve its address'],
  [/protocol version|unsupported protocol|wrong version number/i, () => 'TLS handshake failed: the agent does not offer TLS 1.3'],
  [/(?:Host|IP): (\S+?)\.? is not in the cert's (?:altnames|list): (.+?)(?:\.?\s*Resolution note:.*)?$/s, (m) => `TLS certificate is not for ${m[1]} (it names ${m[2].trim()}): set the node's server_name to one of those`],
  [/self[- ]signed certificate|unable to (get|verify)|certificate has expired|CERT_/i, (m) => `TLS certificate not trusted (${certificateReason(m.input ?? '')}): check [tls] ca_cert`],
];

function certificateReason(details: string): string {
  const known = /(self[- ]signed certificate in certificate chain|self[- ]signed certificate|unable to get local issuer certificate|unable to verify the first certificate|certificate has expired)/i.exec(details);
  return known ? known[1] : 'verification failed';
}

/**
 * One short reason for a failed connection or call, instead of grpc-js's internals
 * ("No connection established. Last error: Error: connect ECONNREFUSED …. Resolution note: ",
 * "Deadline exceeded after 10.001s,name resolution: 0.003s,…").
 */
export function connectionProblem(details: string): string {
  for (const [pattern, describe] of CONNECTION_PROBLEMS) {
    const match = pattern.exec(details);
    if (match) return describe(match);
  }
  const stripped = details
    .replace(/^No connection established\.?\s*/i, '')
    .replace(/^Last error:\s*/i, '')
    .replace(/^Error:\s*/, '')
    .replace(/\.?\s*Resolution note:.*$/is, '')
    .trim();
  return stripped || 'no connection';
}
