#!/usr/bin/env node
'use strict';
// Issue 24 figures (SPEC §15), in one process against two real agents on loopback, each with a
// podman store of its own (CONTAINERS_STORAGE_CONF), its own srv_root, and the real `mcp move`:
//   M1  unavailability window of a move of a service with 100 MiB in /srv, from a load loop
//       (an HTTP GET every 10 ms on the service's published port, which the target takes over):
//       the first failed GET after the last answer from the source → the first answer from the
//       target. Reported beside the CLI's own window and its bound
//       final-copy time + health-check time + 1 s                          goal: window ≤ bound
//   M2  the move's live-copy throughput (bytes ÷ time of the pass: listing and hashing on both
//       nodes, then PullFile → mcp → PushFile per file) ÷ a plain grpc-js PullFile → PushFile of
//       the same files between the same agents in this process (no listing, no tree)  goal ≥ 0.9
// Moves alternate a → b → a …; before each, the previous source's copy is removed so every live
// pass sends all 100 MiB. Usage: node bench/move.js [--smoke] [--runs N] [--mib N] [--out DIR]
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const crypto = require('node:crypto');
const h = require('./harness');
const { run, median, round } = require('./lib');
const { setTimeout } = require('node:timers');

const MiB = 1024 * 1024;
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const value = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const smoke = flag('smoke');
const RUNS = Number(value('runs', smoke ? 2 : 3));
const DATA_MIB = Number(value('mib', smoke ? 16 : 100));
const OUT = value('out', path.join(__dirname, 'results'));
const log = (text) => process.stderr.write(`[move] ${text}\n`);

function get(port) {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/index.html', timeout: 500 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

/** GETs every 10 ms (one at a time); records each outcome's time and success. */
function loadLoop(port) {
  const samples = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const started = Date.now();
      const ok = await get(port);
      samples.push({ at: Date.now(), ok });
      const wait = 10 - (Date.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      // The gap: from the first failure after a success to the next success.
      let last = 0;
      let firstFail;
      let window = 0;
      for (const s of samples) {
        if (s.ok) {
          if (firstFail !== undefined) window = Math.max(window, s.at - (last || firstFail));
          last = s.at;
          firstFail = undefined;
        } else if (firstFail === undefined) firstFail = s.at;
      }
      return { samples: samples.length, failed: samples.filter((s) => !s.ok).length, windowMs: window, endedOk: samples.length > 0 && samples[samples.length - 1].ok };
    },
  };
}

/** The baseline: each file pulled from one agent and pushed to the other by raw grpc-js streams. */
async function plainCopy({ from, to, service, toService, files }) {
  const started = process.hrtime.bigint();
  let bytes = 0;
  for (const file of files) {
    const call = from.client.pullFile({ service, path: file }, from.metadata(), { deadline: Date.now() + 600_000 });
    const messages = call[Symbol.asyncIterator]();
    const first = await messages.next();
    const info = first.value.info;
    await new Promise((resolve, reject) => {
      const push = to.client.pushFile(to.metadata(), { deadline: Date.now() + 600_000 }, (error, result) => (error ? reject(error) : resolve(result)));
      push.write({ header: { service: toService, path: file, mode: info.mode, size: info.size, sha256: info.sha256 } });
      (async () => {
        for (;;) {
          const next = await messages.next();
          if (next.done) break;
          if (next.value.chunk && next.value.chunk.length) {
            bytes += next.value.chunk.length;
            if (!push.write({ chunk: next.value.chunk })) await new Promise((r) => push.once('drain', r));
          }
        }
        push.end();
      })().catch(reject);
    });
  }
  return { bytes, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

async function main() {
  const a = await h.createWorld();
  const b = await h.createWorld();
  const prefix = `${h.PREFIX}${crypto.randomBytes(2).toString('hex')}`;
  const service = `${prefix}-mv`;
  const httpPort = await h.freePort();
  const agents = {};
  const stores = {};
  try {
    for (const [name, world] of [['a', a], ['b', b]]) {
      const storageConf = path.join(world.dir, 'storage.conf');
      fs.writeFileSync(storageConf, `[storage]\ndriver = "overlay"\ngraphroot = "${world.dir}/store/graph"\nrunroot = "${world.dir}/store/run"\n`);
      stores[name] = { CONTAINERS_STORAGE_CONF: storageConf };
      h.writeAgentConfig(world);
      const text = fs.readFileSync(world.agentConfig, 'utf8').replace('node_name = "local"', `node_name = "${name}"`).replace('port_range_start = 30000\nport_range_end = 32000', name === 'a' ? 'port_range_start = 34000\nport_range_end = 34999' : 'port_range_start = 35000\nport_range_end = 35999');
      fs.writeFileSync(world.agentConfig, text, { mode: 0o600 });
      if (name === 'b') {
        // One CA and one token for both, as one operator's fleet has.
        fs.cpSync(path.join(a.dataDir, 'dev-tls'), path.join(b.dataDir, 'dev-tls'), { recursive: true });
        fs.copyFileSync(a.tokensFile, b.tokensFile);
        fs.copyFileSync(a.tokenFile, b.tokenFile);
      }
      agents[name] = await h.startAgent(world, { env: stores[name] });
    }
    const cliConfig = path.join(a.dir, 'fleet.toml');
    fs.writeFileSync(
      cliConfig,
      [
        '[services]',
        `dir = ${JSON.stringify(a.servicesDir)}`,
        '[auth]',
        `token_path = ${JSON.stringify(path.join(a.dir, 'cli-token'))}`,
        '[tls]',
        `ca_cert = ${JSON.stringify(a.caCert)}`,
        '[[nodes]]\nname = "a"',
        `address = "localhost:${a.port}"`,
        '[[nodes]]\nname = "b"',
        `address = "localhost:${b.port}"`,
        '',
      ].join('\n'),
    );
    const mcp = (argv) => run([process.execPath, path.join(h.ROOT, 'bin', 'mcp.js'), ...argv], { env: h.baseEnv({ MCP_CONFIG: cliConfig, NO_COLOR: '1' }) });
    await mcp(['login', '--token-file', a.tokenFile]);
    const file = path.join(a.servicesDir, `${service}.toml`);
    fs.writeFileSync(
      file,
      [
        `# bench service of bench/move.js`,
        `name = "${service}"`,
        'node = "a"',
        'active = true',
        '[[components]]',
        'name = "web"',
        `image = "${h.IMAGE}"`,
        'volumes = ["./:/data"]',
        `ports = ["127.0.0.1:${httpPort}:8080"]`,
        'cmd = ["/bin/sh", "-c", "exec httpd -f -p 8080 -h /data/www"]',
        '[components.health]',
        'cmd = ["/bin/sh", "-c", "wget -q -O /dev/null http://127.0.0.1:8080/index.html"]',
        'interval = "100ms"',
        'start_period = "10s"',
        '',
      ].join('\n'),
    );
    const dataDir = (world) => path.join(world.srvRoot, service);
    fs.mkdirSync(path.join(dataDir(a), 'www'), { recursive: true });
    fs.mkdirSync(path.join(dataDir(a), 'db'), { recursive: true });
    fs.writeFileSync(path.join(dataDir(a), 'www', 'index.html'), 'bench\n');
    // 100 MiB: 4 files of 25 MiB, random (nothing compresses).
    const files = ['www/index.html'];
    for (let i = 0; i < 4; i++) {
      const name = `db/part-${i}.bin`;
      const fd = fs.openSync(path.join(dataDir(a), name), 'w');
      for (let done = 0; done < (DATA_MIB * MiB) / 4; done += MiB) fs.writeSync(fd, crypto.randomBytes(MiB));
      fs.closeSync(fd);
      files.push(name);
    }
    log(`deploying ${service} on a (pushing ${h.IMAGE})`);
    await mcp(['deploy', service, '--push']);

    const rows = [];
    let from = 'a';
    for (let i = 0; i < RUNS + 1; i++) {
      const to = from === 'a' ? 'b' : 'a';
      const worlds = { a, b };
      // Every live pass sends all the data: the target holds no copy from an earlier move.
      fs.rmSync(dataDir(worlds[to]), { recursive: true, force: true });
      const plainTarget = `${service}-plain`;
      fs.rmSync(path.join(worlds[to].srvRoot, plainTarget), { recursive: true, force: true });
      const plain = await plainCopy({ from: agents[from].client, to: agents[to].client, service, toService: plainTarget, files });
      fs.rmSync(path.join(worlds[to].srvRoot, plainTarget), { recursive: true, force: true });
      const load = loadLoop(httpPort);
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      const moved = await mcp(['move', service, '--to', to, '--json']);
      const wall = Date.now() - started;
      await new Promise((r) => setTimeout(r, 300));
      const seen = await load.stop();
      const report = JSON.parse(moved.stdout);
      const health = report.windowMs - report.final.ms;
      const row = {
        run: i,
        from,
        to,
        wallMs: wall,
        loadWindowMs: seen.windowMs,
        cliWindowMs: report.windowMs,
        finalCopyMs: report.final.ms,
        stopDeployHealthMs: health,
        boundMs: report.windowMs + 1000,
        liveBytes: report.live.bytes,
        liveMs: report.live.ms,
        plainBytes: plain.bytes,
        plainMs: round(plain.ms, 1),
        throughputRatio: round(report.live.bytes / report.live.ms / (plain.bytes / plain.ms), 3),
        loadSamples: seen.samples,
        loadFailed: seen.failed,
        endedOk: seen.endedOk,
      };
      log(JSON.stringify(row));
      if (i > 0 || smoke) rows.push(row); // run 0 is the warm-up (first push of the image to b)
      from = to;
    }
    const result = {
      date: new Date().toISOString(),
      dataMiB: DATA_MIB,
      runs: rows,
      median: {
        loadWindowMs: median(rows.map((r) => r.loadWindowMs)),
        cliWindowMs: median(rows.map((r) => r.cliWindowMs)),
        finalCopyMs: median(rows.map((r) => r.finalCopyMs)),
        throughputRatio: median(rows.map((r) => r.throughputRatio)),
        windowWithinBound: rows.every((r) => r.loadWindowMs <= r.finalCopyMs + r.stopDeployHealthMs + 1000),
      },
    };
    fs.mkdirSync(OUT, { recursive: true });
    fs.writeFileSync(path.join(OUT, `move${smoke ? '-smoke' : ''}.json`), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result.median, null, 2)}\n`);
  } finally {
    for (const [name, agent] of Object.entries(agents)) {
      await agent.stop().catch(() => undefined);
      await h.podman(['rm', '-a', '-f', '-t', '0'], { env: h.baseEnv(stores[name]) }).catch(() => undefined);
      await h.podman(['rmi', '-a', '-f'], { env: h.baseEnv(stores[name]) }).catch(() => undefined);
    }
    fs.rmSync(a.dir, { recursive: true, force: true });
    fs.rmSync(b.dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
