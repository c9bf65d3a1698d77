'use strict';
// A plain @grpc/grpc-js client of the agent, shared by the baseline scripts (plain-livecheck.js,
// plain-push.js) and the bench's own setup. Deliberately outside Nest and the CLI: it is what
// "doing the same call by hand" costs. Loads the .proto at run time with the project's loader
// options; TLS 1.3 against the agent's CA; static bearer token in `authorization`.
const fs = require('node:fs');
const path = require('node:path');
const tls = require('node:tls');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_ROOT = path.join(__dirname, '..', 'proto');

function loadService() {
  const definition = protoLoader.loadSync('mcp/v1/mcp.proto', {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    arrays: true,
    objects: false,
    oneofs: false,
    includeDirs: [PROTO_ROOT],
  });
  return grpc.loadPackageDefinition(definition).mcp.v1.McpAgentService;
}

/** Connects to `address` (host:port) trusting `caCert` (path); every call carries `token`. */
function connect({ address, caCert, token, serverName }) {
  const Service = loadService();
  const context = tls.createSecureContext({ ca: fs.readFileSync(caCert), minVersion: 'TLSv1.3' });
  const options = serverName ? { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName } : {};
  const client = new Service(address, grpc.credentials.createFromSecureContext(context), {
    ...options,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  const metadata = () => {
    const m = new grpc.Metadata();
    m.set('authorization', `Bearer ${token}`);
    return m;
  };
  const unary = (method, request, timeoutMs = 600_000) =>
    new Promise((resolve, reject) => {
      client[method](request, metadata(), { deadline: Date.now() + timeoutMs }, (error, response) =>
        error ? reject(new Error(`${method}: ${error.details || error.message}`)) : resolve(response),
      );
    });
  return { client, metadata, unary, close: () => client.close() };
}

/** Reads a token file (the token on its first line). */
function readToken(file) {
  return fs.readFileSync(file, 'utf8').split('\n')[0].trim();
}

/** Parses `--key value` pairs into an object (only the keys given in `keys`). */
function parseArgs(argv, keys) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!keys.includes(key) || argv[i + 1] === undefined) throw new Error(`usage: --${keys.join(' V --')} V (bad argument ${argv[i]})`);
    out[key] = argv[i + 1];
  }
  for (const key of keys) if (out[key] === undefined) throw new Error(`missing --${key}`);
  return out;
}

module.exports = { connect, readToken, parseArgs, loadService };
