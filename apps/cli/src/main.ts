import 'reflect-metadata';
import tls from 'node:tls';

// Every TLS connection the CLI makes (agents, MCIAS) is TLS 1.3 at least.
(tls as { DEFAULT_MIN_VERSION: string }).DEFAULT_MIN_VERSION = 'TLSv1.3';

// `mcp ps | head` closes the pipe early: stop quietly, as other Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

async function main(argv: string[]): Promise<number> {
  // `--version` needs no command tree: answer before Nest and nest-commander are loaded.
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    const { cliVersion } = await import('./version');
    process.stdout.write(`${cliVersion()}\n`);
    return 0;
  }
  const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
  // `mcp ps` without Nest (quick.ts); everything else through the full command tree.
  const { runQuick } = await import('./quick');
  const quick = await runQuick({ argv, env: process.env, io });
  if (quick !== undefined) return quick;
  const { runCli } = await import('./cli');
  return runCli({ argv, env: process.env, io });
}

/** Resolves once everything written to the stream so far has been handed to the OS. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

// Exit as soon as the command is done: a peer that accepted the TCP connection and never
// answers keeps grpc-js's half-open socket alive after its channel is closed, and must not
// keep `mcp` waiting past the deadlines it already reported.
main(process.argv.slice(2))
  .catch((error: unknown) => {
    process.stderr.write(`mcp: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  })
  .then(async (code) => {
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    process.exit(code);
  });
