#!/usr/bin/env node
'use strict';
// P2 in CPU time: `mcp ps` against a plain grpc-js LiveCheck (plain-livecheck.js), each its own
// process, alternating A,B / B,A after one warm-up round, comparing user + sys CPU of each
// process instead of wall time. On a shared, loaded machine wall time mostly measures the other
// processes (bench P2's per-round ratio then spreads from 0.5 to 2); CPU time barely moves with
// load. Usage: node bench/cpu-ab.js [--runs N]   (default 10; starts and removes its own agent)
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');
const { formatSpread, median, ratioSpread, round, run } = require('./lib');

async function main() {
  const at = process.argv.indexOf('--runs');
  const runs = at > 0 ? Number(process.argv[at + 1]) : 10;
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs needs a positive integer');
  const world = await h.createWorld();
  h.writeAgentConfig(world, {});
  const agent = await h.startAgent(world);
  try {
    await h.mcp(world, ['login', '--token-file', world.tokenFile]);
    const report = path.join(world.dir, 'cpu.jsonl');
    const env = h.baseEnv({ MCP_CONFIG: world.cliConfig, NO_COLOR: '1', MCP_BENCH_CPU_REPORT: report });
    const preload = ['-r', path.join(__dirname, 'cpu-report.js')];
    const a = [process.execPath, ...preload, path.join(h.ROOT, 'bin', 'mcp.js'), 'ps'];
    const b = [process.execPath, ...preload, path.join(__dirname, 'plain-livecheck.js'), '--address', `localhost:${world.port}`, '--ca', world.caCert, '--token-file', world.tokenFile];
    for (let i = 0; i < runs + 1; i++) for (const side of i % 2 === 0 ? [a, b] : [b, a]) await run(side, { env });
    const lines = fs.readFileSync(report, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    const isMcp = (line) => line.script.endsWith(path.join('bin', 'mcp.js'));
    const cpuA = lines.filter(isMcp).slice(1).map((line) => line.cpuMs);
    const cpuB = lines.filter((line) => !isMcp(line)).slice(1).map((line) => line.cpuMs);
    const spread = ratioSpread(cpuA, cpuB);
    console.log(
      `P2 in CPU time (user+sys), ${runs} rounds: mcp ps ${round(median(cpuA))} ms, plain ${round(median(cpuB))} ms; ` +
        `A/B ${round(median(cpuA) / median(cpuB), 3)} (per round min / median / max ${formatSpread(spread)})`,
    );
  } finally {
    await agent.stop();
    fs.rmSync(world.dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`cpu-ab: ${error.message}`);
  process.exit(1);
});
