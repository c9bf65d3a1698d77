#!/usr/bin/env node
'use strict';
// Issue 22 figures (SPEC §13), in one process against one real agent whose podman has a store
// of its own (CONTAINERS_STORAGE_CONF), so every push is really loaded into a second store:
//   I1  bytes on the wire (counted by a TCP relay between `mcp` and the agent) for an image whose
//       base the node has ÷ the size of the blobs it lacks                        goal ≤ 1.05 (+ 64 KiB)
//   I2  `mcp image push` throughput to a cold node ÷ a plain grpc-js PushFile stream of the same
//       bytes (plain-push.js)                                                    goal ≥ 0.9
//   I3  `mcp image push` wall ÷ `podman save | podman load` through a pipe into the same cold store
//                                                                                goal ≤ 1.2
//       Each side's CPU seconds are reported beside its wall time: Δ of the agent's own and
//       waited-for children's (podman) utime + stime, plus Δ of this process's waited-for children
//       (mcp and its podman save, plain-push.js, the pipe's two podmans) — not this process's own.
//   I4  agent peak RSS growth (clear_refs reset, VmHWM − RSS before) during a 1 GiB push
//                                                                                goal ≤ 64 MiB
// I2 and I3 alternate their three sides (push, plain stream, pipe) in one loop after a warm-up.
// Usage: node bench/image-push.js [--smoke] [--runs N] [--mib N] [--big-mib N] [--out DIR]
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawn } = require('node:child_process');
const h = require('./harness');
const { run, timeIt, median, round, procMemory, procCpu, resetPeak } = require('./lib');

const MiB = 1024 * 1024;
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const value = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const smoke = flag('smoke');
const RUNS = Number(value('runs', smoke ? 2 : 3));
const COLD_MIB = Number(value('mib', smoke ? 16 : 256));
const BIG_MIB = Number(value('big-mib', smoke ? 64 : 1024));
const OUT = value('out', path.join(__dirname, 'results'));
const log = (text) => process.stderr.write(`[image-push] ${text}\n`);

/** A relay 127.0.0.1:port → the agent that counts the bytes the client sends. */
function countingRelay(target) {
  let sent = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    client.on('data', (chunk) => (sent += chunk.length));
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ port: server.address().port, reset: () => (sent = 0), sent: () => sent, close: () => new Promise((r) => server.close(r)) }),
    ),
  );
}

function writeRandomFile(file, size) {
  const fd = fs.openSync(file, 'w');
  try {
    for (let done = 0; done < size; done += MiB) fs.writeSync(fd, crypto.randomBytes(Math.min(MiB, size - done)));
  } finally {
    fs.closeSync(fd);
  }
}

async function main() {
  const world = await h.createWorld();
  const runId = crypto.randomBytes(3).toString('hex');
  const repo = `localhost/${h.PREFIX}${runId}/img`;
  const storageConf = path.join(world.dir, 'node-storage.conf');
  fs.writeFileSync(storageConf, `[storage]\ndriver = "overlay"\ngraphroot = "${world.dir}/node-store/graph"\nrunroot = "${world.dir}/node-store/run"\n`);
  const nodeEnv = h.baseEnv({ CONTAINERS_STORAGE_CONF: storageConf });
  const node = (argv, options = {}) => run(['podman', ...argv], { env: nodeEnv, ...options });
  const built = [];
  let agent;
  let relay;
  const results = [];
  try {
    h.writeAgentConfig(world);
    // The agent's podman calls are logged with their start times (harness wrapper): the stream
    // phase of a push is from its last `podman images` (the free-space and have-list check
    // after the header) to its `podman pull oci:` (the load, once every blob arrived).
    h.writePodmanWrapper(world);
    agent = await h.startAgent(world, { wrapPodman: true, env: { CONTAINERS_STORAGE_CONF: storageConf } });
    const podmanCalls = () =>
      fs.existsSync(world.podmanLog)
        ? fs.readFileSync(world.podmanLog, 'utf8').split('\n').filter(Boolean).map((line) => ({ at: Number(line.slice(0, line.indexOf(' '))), args: line.slice(line.indexOf(' ') + 1) }))
        : [];
    /**
     * The node side of the one push made since `since`, from the agent's podman calls: from its
     * last `podman images` before the blobs (the have-list after the header) to its `podman tag`
     * (receive, verify, load). Before #22's overlap that was the stream phase, then `podman pull
     * oci:` (streamMs, loadMs); since, podman pulls from the agent's push registry from the header
     * on, so the pull starts with the stream and `nodeMs` is the one overlapped figure.
     */
    const phases = (since) => {
      const calls = podmanCalls().filter((c) => c.at >= since);
      const pull = calls.find((c) => c.args.startsWith('pull '));
      const lastImages = calls.filter((c) => c.args.startsWith('images ') && (!pull || c.at <= pull.at)).pop();
      const tag = calls.find((c) => c.args.startsWith('tag '));
      if (!pull || !lastImages || !tag) return undefined;
      return { nodeMs: tag.at - lastImages.at, streamMs: pull.at - lastImages.at, loadMs: tag.at - pull.at };
    };
    await h.mcp(world, ['login', '--token-file', world.tokenFile]);
    const mcp = (argv, config = world.cliConfig) => run([process.execPath, path.join(h.ROOT, 'bin', 'mcp.js'), ...argv], { env: h.baseEnv({ MCP_CONFIG: config, NO_COLOR: '1' }) });
    const pushJson = async (ref, config) => JSON.parse((await mcp(['image', 'push', ref, '--json'], config)).stdout).pushes[0];

    /** Builds `repo:tag` FROM `from` with one layer of `mib` MiB of random bytes. */
    async function build(tag, from, mib) {
      const context = path.join(world.dir, `ctx-${tag}`);
      fs.mkdirSync(context, { recursive: true });
      writeRandomFile(path.join(context, `pad-${tag}.bin`), mib * MiB);
      fs.writeFileSync(path.join(context, 'Containerfile'), `FROM ${from}\nCOPY pad-${tag}.bin /\n`);
      await h.podman(['build', '--quiet', '-t', `${repo}:${tag}`, context]);
      fs.rmSync(context, { recursive: true, force: true });
      built.push(`${repo}:${tag}`);
      return `${repo}:${tag}`;
    }
    async function blobSizes(ref) {
      const dir = path.join(world.dir, 'saved');
      fs.rmSync(dir, { recursive: true, force: true });
      await h.podman(['image', 'save', '--quiet', '--format', 'oci-dir', '--uncompressed', '-o', dir, ref]);
      const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'blobs', 'sha256', index.manifests[0].digest.slice(7)), 'utf8'));
      fs.rmSync(dir, { recursive: true, force: true });
      return { config: manifest.config.size, layers: manifest.layers.map((l) => l.size) };
    }
    const forget = async (ref) => {
      await node(['rmi', '-f', ref], { allowFail: true });
      await node(['image', 'prune', '-f'], { allowFail: true });
    };

    // I1: the node has the base; only the top layer (and the config) are missing.
    {
      const base = await build('base', 'scratch', smoke ? 8 : 64);
      const top = await build('top', base, smoke ? 2 : 8);
      await pushJson(base);
      relay = await countingRelay({ host: '127.0.0.1', port: world.port });
      const relayed = path.join(world.dir, 'mcp-relayed.toml');
      fs.writeFileSync(relayed, fs.readFileSync(world.cliConfig, 'utf8').replace(`localhost:${world.port}`, `localhost:${relay.port}`));
      const sizes = await blobSizes(top);
      const missing = sizes.config + sizes.layers[sizes.layers.length - 1];
      relay.reset();
      const push = await pushJson(top, relayed);
      const wire = relay.sent();
      const ratio = round(wire / missing, 4);
      const goal = 1.05 * missing + 64 * 1024;
      results.push({
        id: 'I1',
        title: 'bytes sent for an image whose base the node has ÷ missing blobs',
        wireBytes: wire,
        missingBytes: missing,
        agentBytesReceived: push.agentBytesReceived,
        blobsSent: push.blobsSent,
        blobsSkipped: push.blobsSkipped,
        ratio,
        goal: '≤ 1.05 × missing + 64 KiB',
        met: wire <= goal,
        notes: `wire = every byte mcp wrote to the agent's TCP socket (TLS, HTTP/2, LiveCheck-free: ImageBlobs + PushImage), missing = config ${sizes.config} + top layer ${sizes.layers[sizes.layers.length - 1]} bytes; base layer ${sizes.layers[0]} bytes skipped`,
      });
      log(`I1 wire ${wire} B / missing ${missing} B = ${ratio}`);
    }

    // I2 + I3: a cold node (image removed from its store between runs), three sides alternating.
    {
      // plain-push.js needs a service on the node to push into: the test image, pushed by mcp itself.
      await pushJson(h.IMAGE);
      const service = `${h.PREFIX}${runId}-sink`;
      const deployed = await agent.client.unary('deploy', {
        service: { name: service, active: true, components: [{ name: 'a', image: h.IMAGE, network: 'none', cmd: ['/bin/sh', '-c', 'sleep 3600'] }] },
        component: '',
        force: false,
      });
      if (deployed.results.some((r) => !r.ok)) throw new Error(`deploy ${service}: ${deployed.results.map((r) => r.error).join('; ')}`);
      const cold = await build('cold', 'scratch', COLD_MIB);
      const sizes = await blobSizes(cold);
      const bytes = sizes.config + sizes.layers.reduce((a, b) => a + b, 0);
      const file = path.join(world.dir, 'same-bytes.bin');
      writeRandomFile(file, bytes);
      const plain = [process.execPath, path.join(__dirname, 'plain-push.js'), '--address', `localhost:${world.port}`, '--ca', world.caCert, '--token-file', world.tokenFile, '--service', service, '--file', file, '--dest', 'plain.bin'];
      const pipe = () =>
        new Promise((resolve, reject) => {
          const save = spawn('podman', ['save', cold], { env: h.baseEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
          const load = spawn('podman', ['load', '--quiet'], { env: nodeEnv, stdio: ['pipe', 'ignore', 'pipe'] });
          save.stdout.pipe(load.stdin);
          let codes = 0;
          let failed = '';
          const done = (name) => (code) => {
            if (code !== 0) failed += `${name} exited ${code}; `;
            if (++codes < 2) return;
            if (failed) reject(new Error(failed));
            else resolve();
          };
          save.on('close', done('podman save'));
          load.on('close', done('podman load'));
        });
      const saveOnly = async () => {
        const dir = path.join(world.dir, 'save-only');
        const ms = await timeIt(() => h.podman(['image', 'save', '--quiet', '--format', 'oci-dir', '--uncompressed', '-o', dir, cold]));
        fs.rmSync(dir, { recursive: true, force: true });
        return ms;
      };
      const sides = {
        push: {
          label: '`mcp image push` (cold node)',
          fn: async () => {
            const since = Date.now();
            await mcp(['image', 'push', cold]);
            lastPhases = phases(since);
          },
        },
        plain: { label: 'plain grpc-js PushFile stream of the same bytes (plain-push.js)', fn: () => run(plain) },
        pipe: { label: '`podman save | podman load` (pipe, same cold store)', fn: pipe },
        save: { label: '`podman image save --format oci-dir --uncompressed` alone (the push\'s first step)', ms: saveOnly },
      };
      const samples = { push: [], plain: [], pipe: [], save: [], node: [], stream: [], load: [] };
      const cpu = { push: [], plain: [], pipe: [], save: [] };
      const cpuNow = () => {
        const a = procCpu(agent.pid);
        return a.own + a.children + procCpu('self').children;
      };
      let lastPhases;
      for (let i = 0; i < RUNS + 1; i++) {
        const order = i % 2 === 0 ? ['push', 'plain', 'pipe', 'save'] : ['save', 'pipe', 'plain', 'push'];
        for (const name of order) {
          await forget(cold);
          const side = sides[name];
          const cpuBefore = cpuNow();
          const ms = side.ms ? await side.ms() : await timeIt(side.fn);
          const cpuSeconds = cpuNow() - cpuBefore;
          if (i > 0) samples[name].push(ms);
          if (i > 0) cpu[name].push(cpuSeconds);
          if (i > 0 && name === 'push' && lastPhases) {
            samples.node.push(lastPhases.nodeMs);
            samples.stream.push(lastPhases.streamMs);
            samples.load.push(lastPhases.loadMs);
          }
        }
        log(`I2/I3 round ${i}${i === 0 ? ' (warm-up)' : ''}: ${Object.entries(samples).map(([k, v]) => `${k} ${round(v[v.length - 1] ?? 0)} ms`).join(', ')}`);
      }
      fs.rmSync(file, { force: true });
      const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
      const c = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round(median(v), 2)]));
      log(`CPU seconds (median): push ${c.push}, plain ${c.plain}, pipe ${c.pipe}, save ${c.save}`);
      const mbps = (ms) => round(bytes / 1e6 / (ms / 1000));
      results.push({
        id: 'I2',
        title: 'push throughput ÷ plain grpc-js stream of the same bytes (cold node)',
        runs: RUNS,
        bytes,
        pushMBps: mbps(m.push),
        plainMBps: mbps(m.plain),
        ratio: round(m.plain / m.push, 3),
        goal: '≥ 0.9',
        met: m.plain / m.push >= 0.9,
        samplesMs: samples,
        cpuSeconds: c,
        cpuSamples: cpu,
        notes: `${round(bytes / MiB, 1)} MiB image; CPU s (median, agent + its podman + the side's own processes): push ${c.push}, plain ${c.plain}, pipe ${c.pipe}, save alone ${c.save}; medians: push ${round(m.push)} ms (podman image save --format oci-dir alone: ${round(m.save)} ms); node side ${round(m.node)} ms = before the pull ${round(m.stream)} ms + pull to tag ${round(m.load)} ms; plain stream ${round(m.plain)} ms`,
      });
      results.push({
        id: 'I2s',
        title: 'the push\'s node side alone ÷ plain grpc-js stream of the same bytes (throughput ratio)',
        runs: RUNS,
        nodeMBps: mbps(m.node),
        plainMBps: mbps(m.plain),
        ratio: round(m.plain / m.node, 3),
        goal: '≥ 0.9 (the node side alone)',
        met: m.plain / m.node >= 0.9,
        notes: 'node side: the agent\'s last `podman images` before the blobs to its `podman tag` (receive, sha256, write, load into podman: one after the other before the overlap, together after)',
      });
      results.push({
        id: 'I3',
        title: 'push wall ÷ podman save | podman load through a pipe (cold node)',
        runs: RUNS,
        pushMs: round(m.push),
        pipeMs: round(m.pipe),
        ratio: round(m.push / m.pipe, 3),
        cpuRatio: c.pipe > 0 ? round(c.push / c.pipe, 3) : null,
        goal: '≤ 1.2',
        met: m.push / m.pipe <= 1.2,
        notes: `${round(bytes / MiB, 1)} MiB image; CPU seconds push ${c.push} ÷ pipe ${c.pipe}`,
      });
      log(`I2 ${round(m.plain / m.push, 3)}  I3 ${round(m.push / m.pipe, 3)}`);
      await forget(cold);
    }

    // I4: agent RSS growth during one big push (cold).
    {
      const big = await build('big', 'scratch', BIG_MIB);
      if (!resetPeak(agent.pid)) throw new Error(`cannot reset the agent's peak RSS (/proc/${agent.pid}/clear_refs)`);
      const before = procMemory(agent.pid).rssMiB;
      const ms = await timeIt(() => mcp(['image', 'push', big]));
      const after = procMemory(agent.pid);
      const growth = round(after.hwmMiB - before);
      results.push({
        id: 'I4',
        title: `agent peak RSS growth during a ${BIG_MIB} MiB push`,
        rssBeforeMiB: before,
        peakMiB: after.hwmMiB,
        growthMiB: growth,
        pushMs: round(ms),
        goal: '≤ 64 MiB',
        met: growth <= 64,
        notes: `VmHWM after clear_refs reset − VmRSS before; push took ${round(ms / 1000, 1)} s`,
      });
      log(`I4 growth ${growth} MiB (${before} → peak ${after.hwmMiB})`);
      await forget(big);
    }
  } finally {
    await relay?.close();
    if (agent) {
      await h.removeBenchContainers(`${h.PREFIX}${runId}`).catch(() => undefined);
      await agent.stop().catch(() => undefined);
    }
    await node(['rm', '-a', '-f', '-t', '0'], { allowFail: true }).catch(() => undefined);
    await node(['rmi', '-a', '-f'], { allowFail: true }).catch(() => undefined);
    if (built.length) await h.podman(['rmi', '-f', ...built], { allowFail: true }).catch(() => undefined);
    // The node store's overlay directory stays mounted after its last image is gone.
    await run(['umount', path.join(world.dir, 'node-store', 'graph', 'overlay')], { allowFail: true }).catch(() => undefined);
    fs.rmSync(world.dir, { recursive: true, force: true });
  }
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'image-push.json'), `${JSON.stringify(results, null, 2)}\n`);
  for (const r of results) process.stdout.write(`${r.id} ${r.title}: ratio ${r.ratio ?? '—'}${r.growthMiB !== undefined ? ` growth ${r.growthMiB} MiB` : ''} (goal ${r.goal}: ${r.met ? 'met' : 'MISSED'}) — ${r.notes}\n`);
}

main().catch((error) => {
  process.stderr.write(`image-push bench: ${error.stack || error.message}\n`);
  process.exit(1);
});
