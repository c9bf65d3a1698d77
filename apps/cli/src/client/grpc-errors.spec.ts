import { AgentCallError, AgentUnreachableError, TokenRejectedError, exitCodeFor } from '../errors';
import { mapGrpcError } from './grpc-errors';

describe(mapGrpcError.name, () => {
  const node = { name: 'rift', address: '10.0.0.1:9444', timeoutMs: 10_000 };

  it.each([
    [{ code: 14, details: 'No connection established' }, false, AgentUnreachableError, 3, 'agent rift (10.0.0.1:9444) unreachable: No connection established'],
    [{ code: 4, details: 'Deadline exceeded' }, false, AgentUnreachableError, 3, 'agent rift (10.0.0.1:9444) unreachable: Deadline exceeded'],
    [{ code: 16, details: 'token expired' }, true, TokenRejectedError, 4, 'token rejected by rift: run mcp login'],
    [{ code: 7, details: 'role guest is not allowed' }, true, AgentCallError, 1, 'permission denied by rift: role guest is not allowed'],
    [{ code: 14, details: 'podman is not answering' }, true, AgentCallError, 1, 'rift: podman is not answering'],
    [{ code: 5, details: 'service "x" not found' }, true, AgentCallError, 1, 'rift: service "x" not found'],
    [{ code: 13, details: 'internal error' }, true, AgentCallError, 1, 'rift: internal error'],
  ])('should map %j (connected %s)', (error, connected, type, exit, message) => {
    const sut = mapGrpcError(error, node, connected);
    expect(sut).toBeInstanceOf(type);
    expect(exitCodeFor(sut)).toBe(exit);
    expect(sut.message).toBe(message);
  });

  it('should keep the gRPC code name on agent errors', () => {
    const sut = mapGrpcError({ code: 5, details: 'nope' }, node, true) as AgentCallError;
    expect(sut.code).toBe('NOT_FOUND');
  });
});
