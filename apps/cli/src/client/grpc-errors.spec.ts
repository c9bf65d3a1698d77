import { AgentCallError, AgentUnreachableError, TokenRejectedError, exitCodeFor } from '../errors';
import { mapGrpcError } from './grpc-errors';

describe(mapGrpcError.name, () => {
  const node = { name: 'rift', address: '10.0.0.1:9444', timeoutMs: 10_000 };

  it.each([
    [{ code: 14, details: 'No connection established' }, false, AgentUnreachableError, 3, 'agent rift (10.0.0.1:9444) unreachable: no connection'],
    [
      { code: 14, details: 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:9444. Resolution note: ' },
      false,
      AgentUnreachableError,
      3,
      'agent rift (10.0.0.1:9444) unreachable: connection refused',
    ],
    [
      { code: 4, details: 'Deadline exceeded after 10.001s,name resolution: 0.003s,metadata filters: 0.001s,Waiting for LB pick' },
      false,
      AgentUnreachableError,
      3,
      'agent rift (10.0.0.1:9444) unreachable: no answer within 10s',
    ],
    [{ code: 14, details: 'Connection dropped' }, false, AgentUnreachableError, 3, 'agent rift (10.0.0.1:9444) unreachable: connection lost'],
    [{ code: 14, details: 'Connection dropped' }, true, AgentUnreachableError, 3, 'agent rift (10.0.0.1:9444) unreachable: connection lost'],
    [{ code: 4, details: 'no connection within 10s' }, false, AgentUnreachableError, 3, 'agent rift (10.0.0.1:9444) unreachable: no answer within 10s'],
    [{ code: 14, details: 'No connection established. Last error: Error: connect EHOSTUNREACH 10.0.0.1:9444' }, false, AgentUnreachableError, 3, 'agent rift (10.0.0.1:9444) unreachable: host unreachable'],
    [
      { code: 14, details: 'No connection established. Last error: Error: C0E7B1F3:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version' },
      false,
      AgentUnreachableError,
      3,
      'agent rift (10.0.0.1:9444) unreachable: TLS handshake failed: the agent does not offer TLS 1.3',
    ],
    [
      { code: 14, details: "No connection established. Last error: Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: rift. is not in the cert's altnames: DNS:localhost" },
      false,
      AgentUnreachableError,
      3,
      "agent rift (10.0.0.1:9444) unreachable: TLS certificate is not for rift (it names DNS:localhost): set the node's server_name to one of those",
    ],
    [
      { code: 14, details: 'No connection established. Last error: Error: self-signed certificate in certificate chain' },
      false,
      AgentUnreachableError,
      3,
      'agent rift (10.0.0.1:9444) unreachable: TLS certificate not trusted (self-signed certificate in certificate chain): check [tls] ca_cert',
    ],
    [{ code: 4, details: 'Deadline exceeded after 600.002s,LB pick: 0.001s' }, true, AgentCallError, 1, 'agent rift (10.0.0.1:9444): no answer within 600s'],
    [{ code: 16, details: 'token expired' }, true, TokenRejectedError, 4, 'token rejected by rift: run mcp login'],
    [{ code: 7, details: 'role guest is not allowed' }, true, AgentCallError, 1, 'permission denied by rift: role guest is not allowed'],
    [{ code: 14, details: 'podman is not answering' }, true, AgentCallError, 1, 'rift: podman is not answering'],
    [
      // The agent's podman service died under a deploy (issue #12): the agent's line, not "unreachable".
      { code: 14, details: 'deploy of web/web failed: container runtime unavailable: podman API socket /run/p.sock: connection refused (podman system service is not running) (release 3 recorded as failed); the agent restarts its podman service: deploy again in a moment' },
      true,
      AgentCallError,
      1,
      'rift: deploy of web/web failed: container runtime unavailable: podman API socket /run/p.sock: connection refused (podman system service is not running) (release 3 recorded as failed); the agent restarts its podman service: deploy again in a moment',
    ],
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
