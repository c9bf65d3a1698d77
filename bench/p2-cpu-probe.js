#!/usr/bin/env node
'use strict';
// Bench P2 probe (issue #20 item 4): `mcp ps` vs bench/plain-livecheck.js against one agent,
// interleaved rounds, the CPU time (user+sys, /usr/bin/time) and wall of each process, and
// the per-round CPU ratio min / median / max. CPU time is what the client itself spends; on a
// loaded machine the wall time mostly measures the run queue and the agent's podman listing.
//   node bench/p2-cpu-probe.js "$PWD" [ROUNDS]      (PROF=DIR also writes one --cpu-prof of each)
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const ROOT = process.argv[2];
const N = Number(process.argv[3] ?? 10);
const h = require(path.join(ROOT, 'bench', 'harness.js'));
function timed(argv, env) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S', ...argv], { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stderr;
}
(async () => {
  const world = await h.createWorld();
  h.writeAgentConfig(world, {});
  const agent = await h.startAgent(world, {});
  try {
    await h.mcp(world, ['login', '--token-file', world.tokenFile]);
    const env = h.baseEnv({ MCP_CONFIG: world.cliConfig, NO_COLOR: '1' });
    const mcp = [process.execPath, path.join(ROOT, 'bin', 'mcp.js'), 'ps'];
    const plain = [process.execPath, path.join(ROOT, 'bench', 'plain-livecheck.js'), '--address', `localhost:${world.port}`, '--ca', world.caCert, '--token-file', world.tokenFile];
    if (process.env.PROF) {
      execFileSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', process.env.PROF, ...mcp.slice(1)], { env, stdio: 'ignore' });
      execFileSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', process.env.PROF + '-plain', ...plain.slice(1)], { env, stdio: 'ignore' });
    }
    timed(mcp, env); timed(plain, env);
    const rows = { mcp: [], plain: [] };
    for (let i = 0; i < N; i++) {
      const order = i % 2 ? ['plain', 'mcp'] : ['mcp', 'plain'];
      for (const which of order) {
        const [e, u, s] = timed(which === 'mcp' ? mcp : plain, env).trim().split('\n').pop().split(' ').map(Number);
        rows[which].push({ wall: e, cpu: u + s });
      }
    }
    const med = (xs) => { const a = [...xs].sort((x, y) => x - y); return a[Math.floor(a.length / 2)]; };
    for (const k of ['mcp', 'plain']) console.log(k, 'wall median', med(rows[k].map((r) => r.wall)), 'cpu median', med(rows[k].map((r) => r.cpu)));
    const cpuRatios = rows.mcp.map((r, i) => r.cpu / rows.plain[i].cpu);
    console.log('cpu ratio of medians', (med(rows.mcp.map((r) => r.cpu)) / med(rows.plain.map((r) => r.cpu))).toFixed(3), 'per round min/med/max', Math.min(...cpuRatios).toFixed(2), med(cpuRatios).toFixed(2), Math.max(...cpuRatios).toFixed(2));
  } finally {
    if (agent.stop) await agent.stop();
  }
})().catch((e) => { console.error(e); process.exit(1); });
