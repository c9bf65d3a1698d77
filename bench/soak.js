#!/usr/bin/env node
'use strict';
// Soak (issue #12): N deploy → restart → undeploy cycles of a two-component routed service
// against one real agent (real podman, SQLite, a loopback mc-proxy test server), then counts
// what was left behind: containers, registry host ports, host ports still bound, mc-proxy
// routes, the agent's open file descriptors, files in the agent's directories, processes
// under the agent — and reports the agent's RSS growth (goal ≤ 10 MiB).
//
//   node bench/soak.js                 200 cycles, writes bench/results/soak.{json,md}
//   node bench/soak.js --cycles 10 --out DIR
//
// Needs `npm run build` and the local test image. Everything in podman is `mcpbench-<id>-…`
// and is removed at the end, also after a failure.
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const crypto = require('node:crypto');
const { execFile } = require('node:child_process');
const { setTimeout } = require('node:timers/promises');
const { procMemory } = require('./lib');
const { ROOT, IMAGE, createWorld, writeAgentConfig, startAgent, removeBenchContainers, podman, childProcesses } = require('./harness');

// The mc-proxy test server is TypeScript (test/servers); load it the way the tests do.
require(path.join(ROOT, 'test', 'support', 'ts-register.js'));
const { startFakeMcproxy } = require(path.join(ROOT, 'test', 'servers', 'fake-mcproxy.ts'));

function parse(argv) {
  const options = { cycles: 200, out: path.join(ROOT, 'bench', 'results'), warmup: 5 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--cycles') options.cycles = Number(argv[++i]);
    else if (argv[i] === '--out') options.out = path.resolve(argv[++i]);
    else if (argv[i] === '--warmup') options.warmup = Number(argv[++i]);
    else throw new Error(`unknown option ${argv[i]} (use --cycles N, --warmup N, --out DIR)`);
  }
  if (!Number.isInteger(options.cycles) || options.cycles < 1) throw new Error('--cycles must be a whole number of at least 1');
  return options;
}

const httpd = ['/bin/sh', '-c', "trap 'exit 0' TERM; httpd -f -p $PORT -h /www & wait"];

function serviceSpec(name) {
  const component = (component) => ({
    name: component,
    image: IMAGE,
    network: '',
    user: '',
    restart: '',
    ports: [],
    volumes: [],
    cmd: httpd,
    env: [],
    routes: [{ name: '', port: 443, mode: 'l4', hostname: `${component}.${name}.bench.internal` }],
  });
  return { name, active: true, components: [component('web'), component('api')] };
}

function fdCount(pid) {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** Every process below `pid`, recursively. */
function processTree(pid) {
  const out = [];
  for (const child of childProcesses(pid)) out.push(child, ...processTree(child.pid));
  return out;
}

function filesUnder(dir) {
  let count = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) count += filesUnder(path.join(dir, entry.name));
    else count++;
  }
  return count;
}

/** `ss`'s users field for the listener on 127.0.0.1:port (e.g. `(("conmon",pid=1,fd=5))`), or ''. */
function listenerOf(port) {
  return new Promise((resolve) => {
    execFile('ss', ['-H', '-ltnp', `sport = :${port}`], (error, stdout) => resolve(error ? '' : (/users:(\(\(.*\)\))/.exec(stdout) ?? [])[1] ?? ''));
  });
}

function portFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

async function main() {
  const options = parse(process.argv.slice(2));
  const id = crypto.randomBytes(3).toString('hex');
  const prefix = `mcpbench-${id}-`;
  const service = `${prefix}soak`;
  const world = await createWorld();
  const mcproxySocket = path.join(world.dir, 'mc-proxy.sock');
  const mcproxy = await startFakeMcproxy({ socketPath: mcproxySocket });
  writeAgentConfig(world, { mcproxySocket });
  let agent;
  try {
    const memoryFile = path.join(world.dir, 'agent-memory.json');
    agent = await startAgent(world, { nodeArgs: ['--expose-gc', '-r', path.join(__dirname, 'agent-memory-probe.js')], env: { MCP_BENCH_MEMORY_FILE: memoryFile } });
    let probes = 0;
    /** The agent's memory right after a full GC (see agent-memory-probe.js), in MiB. */
    const afterGc = async () => {
      probes += 1;
      process.kill(agent.pid, 'SIGUSR2');
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          const m = JSON.parse(fs.readFileSync(memoryFile, 'utf8'));
          if (m.seq === probes) {
            const mib = (bytes) => Math.round((bytes / 1048576) * 10) / 10;
            return { rssMiB: mib(m.rss), heapUsedMiB: mib(m.heapUsed), heapTotalMiB: mib(m.heapTotal), externalMiB: mib(m.external), outsideHeapMiB: mib(m.rss - m.heapTotal - m.external) };
          }
        } catch {
          /* not written yet */
        }
        if (Date.now() > deadline) throw new Error('the agent did not answer the memory probe (SIGUSR2) within 30 s');
        await setTimeout(50);
      }
    };
    const spec = serviceSpec(service);
    const seenPorts = new Set();
    const cycle = async () => {
      const deployed = await agent.client.unary('deploy', { service: spec, component: '', force: false });
      const failed = deployed.results.filter((r) => !r.ok);
      if (failed.length) throw new Error(`deploy failed: ${JSON.stringify(failed)}`);
      const listed = await agent.client.unary('listServices', {});
      for (const c of listed.services.find((s) => s.name === service).components) for (const r of c.routes) seenPorts.add(r.hostPort);
      if (mcproxy.routes().length !== 2) throw new Error(`expected 2 routes after deploy, mc-proxy has ${mcproxy.routes().length}`);
      await agent.client.unary('restartService', { service });
      await agent.client.unary('undeployService', { service });
    };
    // RSS as it is (rssMiB), then the same after a forced full GC (gc.*): the growth of gc.heapUsedMiB
    // is what a JavaScript leak would show; gc.outsideHeapMiB is code, SQLite and the allocator.
    // The memory file is the agent's own (one file, rewritten), so `files` leaves it out.
    const sample = async (label, cycle) => {
      const rssMiB = procMemory(agent.pid).rssMiB;
      return { label, cycle, rssMiB, gc: await afterGc(), fds: fdCount(agent.pid), processes: processTree(agent.pid).length, files: filesUnder(world.dir) - (fs.existsSync(memoryFile) ? 1 : 0) };
    };
    const steadyFrom = options.cycles >= 40 ? 20 : 0;
    const sampled = (i) => i === 10 || i === steadyFrom || i % Math.max(1, Math.floor(options.cycles / 4)) === 0 || i === options.cycles;

    for (let i = 0; i < options.warmup; i++) await cycle();
    const baseline = await sample('after warm-up', 0);
    const samples = [baseline];
    const started = Date.now();
    for (let i = 1; i <= options.cycles; i++) {
      await cycle();
      if (sampled(i)) {
        samples.push(await sample(`after cycle ${i}`, i));
        const last = samples.at(-1);
        process.stderr.write(`soak: ${i}/${options.cycles} cycles, agent RSS ${last.rssMiB} MiB (${last.gc.rssMiB} MiB after GC, heap ${last.gc.heapUsedMiB} MiB)\n`);
      }
    }
    const seconds = (Date.now() - started) / 1000;
    const end = samples.at(-1);
    const steady = samples.find((s) => s.cycle === steadyFrom) ?? baseline;
    const round = (n) => Math.round(n * 10) / 10;

    const containers = (await podman(['ps', '--all', '--format', '{{.Names}}'])).stdout.split('\n').filter((n) => n.startsWith(prefix));
    const listed = await agent.client.unary('listServices', {});
    const registryPorts = listed.services.flatMap((s) => s.components.flatMap((c) => c.routes.map((r) => r.hostPort))).filter((p) => p);
    // A port still bound counts as leaked when the agent, podman or conmon holds it; on a
    // shared machine another program may have picked the same free port since (listed apart).
    const boundPorts = [];
    const boundByOthers = [];
    for (const port of seenPorts) {
      if (await portFree(port)) continue;
      const owner = await listenerOf(port);
      if (/"(conmon|podman|rootlessport|slirp4netns|node)"/.test(owner) && (!/"node"/.test(owner) || owner.includes(`pid=${agent.pid},`))) boundPorts.push(port);
      else boundByOthers.push(`${port} ${owner}`);
    }
    const report = {
      cycles: options.cycles,
      warmupCycles: options.warmup,
      seconds: Math.round(seconds),
      cyclesPerMinute: Math.round((options.cycles / seconds) * 60 * 10) / 10,
      distinctHostPortsUsed: seenPorts.size,
      portsBoundByOtherPrograms: boundByOthers,
      leaks: {
        containers,
        registryHostPorts: registryPorts,
        boundHostPorts: boundPorts,
        mcproxyRoutes: mcproxy.routes().map((r) => `${r.listener} ${r.hostname} → ${r.backend}`),
        fdGrowth: end.fds - baseline.fds,
        processGrowth: end.processes - baseline.processes,
        fileGrowth: end.files - baseline.files,
      },
      rssGrowthMiB: round(end.rssMiB - baseline.rssMiB),
      // The heap often shrinks after the warm-up (a GC): growth from the lowest sample shows a trend that hides.
      rssGrowthFromLowestMiB: round(end.rssMiB - Math.min(...samples.map((s) => s.rssMiB))),
      // Steady state: from cycle `steadyFrom` (warm-up over: caches, JIT, SQLite pages, allocator
      // arenas filled) to the end, each after a forced full GC. The goal applies to this figure.
      steadyFromCycle: steadyFrom,
      steadyRssGrowthAfterGcMiB: round(end.gc.rssMiB - steady.gc.rssMiB),
      steadyHeapGrowthAfterGcMiB: round(end.gc.heapUsedMiB - steady.gc.heapUsedMiB),
      steadyOutsideHeapGrowthAfterGcMiB: round(end.gc.outsideHeapMiB - steady.gc.outsideHeapMiB),
      rssGoalMiB: 10,
      samples,
    };
    fs.mkdirSync(options.out, { recursive: true });
    fs.writeFileSync(path.join(options.out, 'soak.json'), `${JSON.stringify(report, null, 2)}\n`);
    fs.writeFileSync(path.join(options.out, 'soak.md'), markdown(report));
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await agent?.stop();
    await mcproxy.close();
    await removeBenchContainers(prefix);
    fs.rmSync(world.dir, { recursive: true, force: true });
  }
}

function markdown(r) {
  const leak = (value) => (Array.isArray(value) ? (value.length ? value.join(', ') : 'none') : String(value));
  return [
    `# Soak: ${r.cycles} deploy → restart → undeploy cycles`,
    '',
    `Measured with \`node bench/soak.js --cycles ${r.cycles}\` (after ${r.warmupCycles} warm-up cycles): a two-component routed`,
    'service against one agent (real podman, SQLite, the loopback mc-proxy test server).',
    `${r.seconds} s in all, ${r.cyclesPerMinute} cycles/min, ${r.distinctHostPortsUsed} distinct host ports handed out.`,
    '',
    '| left behind at the end | |',
    '| --- | --- |',
    `| containers | ${leak(r.leaks.containers)} |`,
    `| registry host ports | ${leak(r.leaks.registryHostPorts)} |`,
    `| host ports still bound | ${leak(r.leaks.boundHostPorts)} |`,
    `| mc-proxy routes | ${leak(r.leaks.mcproxyRoutes)} |`,
    `| agent file descriptors (end − baseline) | ${r.leaks.fdGrowth} |`,
    `| processes under the agent (end − baseline) | ${r.leaks.processGrowth} |`,
    `| files in the agent's directories (end − baseline) | ${r.leaks.fileGrowth} |`,
    '',
    `Agent memory, steady state (cycle ${r.steadyFromCycle} → ${r.cycles}, each after a forced full GC): RSS **${r.steadyRssGrowthAfterGcMiB} MiB**,`,
    `JavaScript heap in use **${r.steadyHeapGrowthAfterGcMiB} MiB**, outside V8's heap **${r.steadyOutsideHeapGrowthAfterGcMiB} MiB** (goal ≤ ${r.rssGoalMiB} MiB).`,
    `Raw RSS (no forced GC): ${r.rssGrowthMiB} MiB from the end of the warm-up, ${r.rssGrowthFromLowestMiB} MiB from the lowest sample.`,
    '',
    '| sample | RSS MiB | RSS after GC | heap used after GC | outside heap after GC | fds | processes | files |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.samples.map((s) => `| ${s.label} | ${s.rssMiB} | ${s.gc.rssMiB} | ${s.gc.heapUsedMiB} | ${s.gc.outsideHeapMiB} | ${s.fds} | ${s.processes} | ${s.files} |`),
    '',
  ].join('\n');
}

main().catch((error) => {
  process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
