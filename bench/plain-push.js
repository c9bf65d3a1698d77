#!/usr/bin/env node
'use strict';
// Baseline for P6: a plain @grpc/grpc-js client-streaming PushFile upload (header, then
// chunks, honouring backpressure), the same stream `mcp push` sends. Usage:
//   node bench/plain-push.js --address H:P --ca CA.crt --token-file F --service S --file LOCAL --dest PATH
const crypto = require('node:crypto');
const fs = require('node:fs');
const { connect, readToken, parseArgs } = require('./grpc-client');

// The same chunk size `mcp push` sends (apps/cli transfer.commands.ts), so the two streams are alike.
const CHUNK_BYTES = 64 * 1024;

async function sha256File(file) {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: CHUNK_BYTES })) hash.update(chunk);
  return hash.digest('hex');
}

async function main() {
  const args = parseArgs(process.argv.slice(2), ['address', 'ca', 'token-file', 'service', 'file', 'dest']);
  const stat = fs.statSync(args.file);
  const sha256 = await sha256File(args.file);
  const agent = connect({ address: args.address, caCert: args.ca, token: readToken(args['token-file']) });
  try {
    const response = await new Promise((resolve, reject) => {
      const call = agent.client.pushFile(agent.metadata(), { deadline: Date.now() + 3_600_000 }, (error, result) =>
        error ? reject(new Error(`PushFile: ${error.details || error.message}`)) : resolve(result),
      );
      const send = async () => {
        call.write({ header: { service: args.service, path: args.dest, mode: 0o644, size: stat.size, sha256 } });
        for await (const chunk of fs.createReadStream(args.file, { highWaterMark: CHUNK_BYTES })) {
          if (!call.write({ chunk })) await new Promise((r) => call.once('drain', r));
        }
        call.end();
      };
      send().catch((error) => {
        call.cancel();
        reject(error);
      });
    });
    if (response.sha256 && response.sha256 !== sha256) throw new Error(`agent stored SHA-256 ${response.sha256}, expected ${sha256}`);
    process.stdout.write(`pushed ${response.size} bytes to ${response.path}\n`);
  } finally {
    agent.close();
  }
}

main().catch((error) => {
  process.stderr.write(`plain-push: ${error.message}\n`);
  process.exit(1);
});
