import 'reflect-metadata';
import tls from 'node:tls';
import { runCli } from './cli';

// Every TLS connection the CLI makes (agents, MCIAS) is TLS 1.3 at least.
(tls as { DEFAULT_MIN_VERSION: string }).DEFAULT_MIN_VERSION = 'TLSv1.3';

runCli({
  argv: process.argv.slice(2),
  env: process.env,
  io: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
})
  .then((code) => {
    process.exitCode = code;
  })
  .catch((error: unknown) => {
    process.stderr.write(`mcp: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
