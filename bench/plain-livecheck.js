#!/usr/bin/env node
'use strict';
// Baseline for P2: one TLS LiveCheck call with plain @grpc/grpc-js, the same call `mcp ps`
// makes, printing the container count. Usage:
//   node bench/plain-livecheck.js --address 127.0.0.1:PORT --ca CA.crt --token-file FILE
const { connect, readToken, parseArgs } = require('./grpc-client');

async function main() {
  const args = parseArgs(process.argv.slice(2), ['address', 'ca', 'token-file']);
  const agent = connect({ address: args.address, caCert: args.ca, token: readToken(args['token-file']) });
  try {
    const response = await agent.unary('liveCheck', {}, 10_000);
    process.stdout.write(`${response.containers.length} containers on ${response.node}\n`);
  } finally {
    agent.close();
  }
}

main().catch((error) => {
  process.stderr.write(`plain-livecheck: ${error.message}\n`);
  process.exit(1);
});
