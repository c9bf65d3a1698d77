'use strict';
// Figures of issue #21 (SPEC §12 exec), against one real agent (real podman, REST adapter):
//   E1  `mcp exec svc/c -- true` ÷ `podman exec c true` on the node, alternating A and B in
//       one run (goal ≤ 1.5×)
//   E2  throughput of `mcp exec svc/c -- head -c SIZE /dev/zero` into a pipe ÷ P6's baseline,
//       the plain grpc-js PushFile stream of SIZE bytes to the same agent (bench/plain-push.js)
//       (MB/s ratio, the goal ≥ 0.8×), A and B alternating in one run
//   E2' the same mcp exec ÷ `podman exec c head -c SIZE /dev/zero` into a pipe (what an operator
//       on the node would use; printed, no goal)
// Usage: node bench/exec.js [--runs N] [--mib N]
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawn } = require('node:child_process');
const { compare, formatSpread, ratioSpread, round } = require('./lib');
const { ROOT, IMAGE, createWorld, writeAgentConfig, startAgent, removeBenchContainers, mcp, baseEnv } = require('./harness');

const log = (message) => process.stderr.write(`[exec ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

function parse(argv) {
  const options = { runs: 15, mib: 256 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') options.runs = Number(argv[++i]);
    else if (argv[i] === '--mib') options.mib = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]} (see the header of bench/exec.js)`);
  }
  return options;
}

/** Runs argv, counting stdout bytes (not keeping them); rejects on a non-zero exit. */
function drain(argv, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (chunk) => (bytes += chunk.length));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(bytes) : reject(new Error(`${argv.join(' ')} exited ${code}: ${stderr.slice(-300)}`))));
  });
}

async function main() {
  const options = parse(process.argv.slice(2));
  const prefix = `mcpbench-${crypto.randomBytes(3).toString('hex')}-`;
  const world = await createWorld();
  writeAgentConfig(world);
  let agent;
  try {
    agent = await startAgent(world);
    await mcp(world, ['login', '--token-file', world.tokenFile]);
    const name = `${prefix}exec`;
    fs.writeFileSync(
      path.join(world.servicesDir, `${name}.toml`),
      [`name = "${name}"`, 'node = "local"', '', '[[components]]', `name = "${name}"`, `image = "${IMAGE}"`, `cmd = ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`, ''].join('\n'),
    );
    const deployed = await mcp(world, ['deploy', name], { allowFail: true });
    if (deployed.code !== 0) throw new Error(`deploy failed: ${deployed.stdout} ${deployed.stderr}`);
    const mcpArgv = (cmd) => [process.execPath, path.join(ROOT, 'bin', 'mcp.js'), 'exec', `${name}/${name}`, '--', ...cmd];
    const env = baseEnv({ MCP_CONFIG: world.cliConfig, NO_COLOR: '1' });
    log(`E1: ${options.runs} runs of each`);
    const e1 = await compare({
      id: 'E1',
      title: 'exec of true',
      a: { label: 'mcp exec -- true', fn: () => drain(mcpArgv(['true']), env) },
      b: { label: 'podman exec true', fn: () => drain(['podman', 'exec', name, 'true'], env) },
      runs: options.runs,
      goal: { text: '≤ 1.5×', test: (ratio) => ratio <= 1.5 },
    });
    const size = options.mib * 1024 * 1024;
    const cmd = ['head', '-c', String(size), '/dev/zero'];
    log(`E2: ${options.mib} MiB, 3 runs of each`);
    const e2 = await compare({
      id: "E2'",
      title: `exec stdout throughput (${options.mib} MiB)`,
      a: { label: 'mcp exec', fn: () => drain(mcpArgv(cmd), env) },
      b: { label: 'podman exec', fn: () => drain(['podman', 'exec', name, ...cmd], env) },
      runs: 3,
      goal: { text: '≥ 0.8× (throughput)', test: (ratio) => 1 / ratio >= 0.8 },
    });
    // P6's baseline: the plain gRPC stream, a file of the same size pushed with plain-push.js.
    const file = path.join(world.dir, 'plain.bin');
    const block = Buffer.alloc(1024 * 1024);
    const fd = fs.openSync(file, 'w');
    for (let i = 0; i < options.mib; i++) fs.writeSync(fd, crypto.randomFillSync(block));
    fs.closeSync(fd);
    const plain = [process.execPath, path.join(__dirname, 'plain-push.js'), '--address', `localhost:${world.port}`, '--ca', world.caCert, '--token-file', world.tokenFile, '--service', name, '--file', file, '--dest', 'bench-plain.bin'];
    log(`E2 vs P6's plain gRPC stream: ${options.mib} MiB, 3 runs of each`);
    const e2p6 = await compare({
      id: 'E2',
      title: `exec stdout throughput vs plain gRPC stream (${options.mib} MiB)`,
      a: { label: 'mcp exec', fn: () => drain(mcpArgv(cmd), env) },
      b: { label: 'plain-push.js', fn: () => drain(plain, env) },
      runs: 3,
      goal: { text: '≥ 0.8× (throughput)', test: (ratio) => 1 / ratio >= 0.8 },
    });
    const mbps = (ms) => round(size / 1e6 / (ms / 1000));
    console.log(`E1 exec of true: mcp ${e1.medianA} ms, podman ${e1.medianB} ms, ratio ${e1.ratio}× (per round min / median / max ${formatSpread(e1.ratioSpread)}; goal ≤ 1.5×, ${e1.met ? 'met' : 'NOT met'}; ${e1.runs} runs each)`);
    console.log(`E2 exec of ${options.mib} MiB of stdout: mcp ${mbps(e2p6.medianA)} MB/s, plain gRPC stream (P6 baseline, plain-push.js) ${mbps(e2p6.medianB)} MB/s, throughput ratio ${round(e2p6.medianB / e2p6.medianA, 3)}× (per round ${formatSpread(ratioSpread(e2p6.samplesA, e2p6.samplesB, { invert: true }))}; goal ≥ 0.8×, ${e2p6.met ? 'met' : 'NOT met'}; 3 runs each)`);
    console.log(`E2' exec of ${options.mib} MiB of stdout: mcp ${mbps(e2.medianA)} MB/s, podman exec ${mbps(e2.medianB)} MB/s, throughput ratio ${round(e2.medianB / e2.medianA, 3)}× (per round ${formatSpread(ratioSpread(e2.samplesA, e2.samplesB, { invert: true }))}; no goal; 3 runs each)`);
  } finally {
    await agent?.stop().catch(() => undefined);
    await removeBenchContainers(prefix).catch(() => undefined);
    fs.rmSync(world.dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
