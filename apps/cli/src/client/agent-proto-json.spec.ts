import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { agentServiceDefinition } from '@mcp/proto';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { agentProtoJson } = require('../../../../scripts/agent-proto-json') as { agentProtoJson: () => object };

/**
 * The bundled CLI builds its client from the agent API parsed at build time (JSON through the
 * loader's fromJSON) instead of parsing the .proto on every run (issue #20 item 4, bench P2).
 * It must be the very definition the agent serves from the .proto: same methods, same paths,
 * same bytes on the wire.
 */
describe('the agent API from the build-time JSON descriptor', () => {
  const parsed = agentServiceDefinition(protoLoader);
  const fromJson = agentServiceDefinition(protoLoader, JSON.parse(JSON.stringify(agentProtoJson())) as object);

  it('should have every method of the .proto, with the same path and streaming shape', () => {
    expect(Object.keys(fromJson).sort()).toEqual(Object.keys(parsed).sort());
    for (const [name, method] of Object.entries(parsed)) {
      const other = fromJson[name];
      expect({ name, path: other.path, requestStream: other.requestStream, responseStream: other.responseStream }).toEqual({
        name,
        path: method.path,
        requestStream: method.requestStream,
        responseStream: method.responseStream,
      });
    }
  });

  it('should encode and decode messages exactly as the parsed .proto does (optional fields, repeated and nested messages)', () => {
    const liveCheck = { node: 'n1', containers: [{ name: 'svc-web', service: 'svc', component: 'web', state: 'running', image: 'localhost/x:1' }] };
    const deploy = {
      service: {
        name: 'svc',
        node: 'n1',
        active: true,
        components: [{ name: 'web', image: 'localhost/x:1', ports: ['8080:80'], stopSignal: 'SIGINT', stopTimeout: '3s', routes: [{ port: 80, mode: 'l7' }] }],
      },
      force: true,
    };
    const cases: Array<[string, 'response' | 'request', object]> = [
      ['LiveCheck', 'response', liveCheck],
      ['Deploy', 'request', deploy],
    ];
    for (const [name, side, message] of cases) {
      const a = parsed[name];
      const b = fromJson[name];
      const encode = side === 'request' ? [a.requestSerialize, b.requestSerialize] : [a.responseSerialize, b.responseSerialize];
      const decode = side === 'request' ? [a.requestDeserialize, b.requestDeserialize] : [a.responseDeserialize, b.responseDeserialize];
      const bytesA = encode[0](message);
      expect(Buffer.compare(bytesA, encode[1](message))).toBe(0);
      expect(decode[1](bytesA)).toEqual(decode[0](bytesA));
    }
  });

  it('should make a working client constructor', () => {
    const Client = grpc.makeGenericClientConstructor(fromJson, 'McpAgentService');
    expect(typeof Client.prototype.liveCheck).toBe('function');
  });
});
