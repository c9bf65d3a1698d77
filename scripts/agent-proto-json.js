'use strict';
// The agent API (proto/mcp/v1/mcp.proto and its imports) as a protobufjs JSON descriptor,
// parsed once at build time. The bundled CLI gets it inlined (scripts/bundle-cli.js) and
// hands it to @grpc/proto-loader's fromJSON, so `mcp ps` does not tokenize and parse the
// .proto files on every run (bench P2, issue #20 item 4). Field names are camelCased at parse
// time here exactly as loadSync does with the loader's `keepCase: false`.
const path = require('node:path');
// The protobufjs that @grpc/proto-loader itself uses, so the JSON is in the format its fromJSON reads.
const protobuf = require(require.resolve('protobufjs', { paths: [path.dirname(require.resolve('@grpc/proto-loader'))] }));

function agentProtoJson(protoRoot = path.join(__dirname, '..', 'proto')) {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(protoRoot, target));
  root.loadSync('mcp/v1/mcp.proto', { keepCase: false });
  return root.toJSON();
}

module.exports = { agentProtoJson };
