'use strict';
// Safe-deploy figures of issue #11 (SPEC §8), against one real agent (real podman, SQLite)
// whose mc-proxy is the forwarding stand-in from test/servers/ (real TCP to the backends):
//   P9   failed requests while a client GETs through the proxy back to back during 20
//        start-first `mcp deploy`s alternating two image versions (goal 0)
//   P10  `mcp deploy --force` start-first (drain 0, http health) ÷ the same component
//        stop-first, alternating A and B in one run (goal ≤ 1.3×); and the agent's time from
//        health OK to routes switched, from its "routes switched … ms after health OK" log
//        lines (goal ≤ 50 ms)
// Usage: node bench/safe-deploys.js [--runs N] [--deploys N] [--out DIR]
// Writes DIR/safe-deploys.json and prints the markdown rows (default DIR: bench/results).
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const crypto = require('node:crypto');
const { compare, markdownTable, median, round } = require('./lib');
const { ROOT, IMAGE, createWorld, writeAgentConfig, startAgent, removeBenchContainers, mcp } = require('./harness');

require(path.join(ROOT, 'test', 'support', 'ts-register.js'));
const { startFakeMcproxy } = require(path.join(ROOT, 'test', 'servers', 'fake-mcproxy.ts'));

const V2 = IMAGE.replace(/:1\.0$/, ':2.0');
const HTTPD = "trap 'exit 0' TERM; httpd -f -p $PORT -h /www & wait";
const log = (message) => process.stderr.write(`[safe-deploys ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

function parse(argv) {
  const options = { runs: 7, deploys: 20, out: path.join(__dirname, 'results') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') options.runs = Number(argv[++i]);
    else if (argv[i] === '--deploys') options.deploys = Number(argv[++i]);
    else if (argv[i] === '--out') options.out = path.resolve(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]} (see the header of bench/safe-deploys.js)`);
  }
  if (!(options.runs >= 1) || !(options.deploys >= 1)) throw new Error('--runs and --deploys take positive integers');
  return options;
}

function definition({ name, image, strategy, drain, port }) {
  return [
    `name = "${name}"`,
    'node = "local"',
    '',
    '[[components]]',
    `name = "${name}"`,
    `image = "${image}"`,
    `cmd = ["/bin/sh", "-c", ${JSON.stringify(HTTPD)}]`,
    `strategy = "${strategy}"`,
    `drain = "${drain}"`,
    '',
    '[components.health]',
    'http = "/"',
    'interval = "100ms"',
    '',
    '[[components.routes]]',
    `port = ${port}`,
    '',
  ].join('\n');
}

/** GETs through the proxy back to back, one new connection each, until stopped. */
function traffic(port) {
  let running = true;
  const result = { ok: 0, failed: 0, errors: [], bodies: new Set() };
  const once = () =>
    new Promise((resolve) => {
      const request = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 10_000 }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => {
          if (res.statusCode === 200) {
            result.ok++;
            result.bodies.add(body.trim());
          } else {
            result.failed++;
            result.errors.push(`HTTP ${res.statusCode}`);
          }
          resolve();
        });
        res.on('error', (err) => {
          result.failed++;
          result.errors.push(err.message);
          resolve();
        });
      });
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', (err) => {
        result.failed++;
        result.errors.push(err.message);
        resolve();
      });
    });
  const loop = (async () => {
    while (running) await once();
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return result;
    },
  };
}

async function main() {
  const options = parse(process.argv.slice(2));
  const prefix = `mcpbench-${crypto.randomBytes(3).toString('hex')}-`;
  const world = await createWorld();
  const mcproxySocket = path.join(world.dir, 'mc-proxy.sock');
  const mcproxy = await startFakeMcproxy({ socketPath: mcproxySocket });
  writeAgentConfig(world, { mcproxySocket });
  let agent;
  const results = [];
  try {
    agent = await startAgent(world);
    await mcp(world, ['login', '--token-file', world.tokenFile]);
    const deploy = async (name, text, args = []) => {
      fs.writeFileSync(path.join(world.servicesDir, `${name}.toml`), text);
      const out = await mcp(world, ['deploy', name, ...args], { allowFail: true });
      if (out.code !== 0) throw new Error(`mcp deploy ${name} exited ${out.code}: ${out.stdout.trim()} ${out.stderr.trim()}`);
      return out;
    };

    // P9: 20 start-first deploys alternating two versions, a client through the proxy throughout.
    const web = `${prefix}web`;
    await deploy(web, definition({ name: web, image: IMAGE, strategy: 'start-first', drain: '1s', port: 443 }));
    log(`P9: ${options.deploys} start-first deploys through the proxy`);
    const load = traffic(mcproxy.listenerPort(':443'));
    const started = Date.now();
    for (let i = 0; i < options.deploys; i++) {
      await deploy(web, definition({ name: web, image: i % 2 === 0 ? V2 : IMAGE, strategy: 'start-first', drain: '1s', port: 443 }));
    }
    const seen = await load.stop();
    results.push({
      id: 'P9',
      title: 'failed requests during start-first deploys',
      a: `failed requests through the proxy during ${options.deploys} start-first \`mcp deploy\`s (drain 1s, http health)`,
      runs: options.deploys,
      medianA: seen.failed,
      unit: 'failed',
      goal: { text: '0' },
      met: seen.failed === 0,
      notes: `${seen.ok} requests answered 200 in ${round((Date.now() - started) / 1000)} s; versions served: ${[...seen.bodies].sort().join(' / ')}${seen.errors.length ? `; errors: ${[...new Set(seen.errors)].slice(0, 5).join(', ')}` : ''}`,
    });
    log(`P9: ${seen.failed} failed of ${seen.ok + seen.failed}`);

    // P10: start-first vs stop-first of the same component, alternating, each a forced redeploy.
    const sf = `${prefix}sf`;
    const xf = `${prefix}xf`;
    const sfText = definition({ name: sf, image: IMAGE, strategy: 'start-first', drain: '0s', port: 8443 });
    const xfText = definition({ name: xf, image: IMAGE, strategy: 'stop-first', drain: '0s', port: 9443 });
    await deploy(sf, sfText);
    await deploy(xf, xfText);
    const switchedBefore = switchTimes(agent.logs(), sf).length;
    log(`P10: ${options.runs} runs each, alternating`);
    const ratio = await compare({
      id: 'P10',
      title: 'start-first vs stop-first deploy',
      a: { label: '`mcp deploy --force` start-first (drain 0, http health)', fn: () => deploy(sf, sfText, ['--force']) },
      b: { label: 'the same component stop-first', fn: () => deploy(xf, xfText, ['--force']) },
      runs: options.runs,
      warmup: 1,
      goal: { text: '≤ 1.3×', test: (r) => r <= 1.3 },
    });
    const switches = switchTimes(agent.logs(), sf).slice(switchedBefore);
    ratio.notes = `health OK → routes switched (agent log, ${switches.length} start-first deploys): median ${median(switches)} ms, max ${Math.max(...switches)} ms (goal ≤ 50 ms)`;
    results.push(ratio);
    results.push({
      id: 'P10b',
      title: 'health OK to route switched',
      a: "agent's time from health OK to routes switched (its log line), start-first deploys of P10",
      runs: switches.length,
      medianA: median(switches),
      unit: 'ms',
      goal: { text: '≤ 50 ms' },
      met: median(switches) <= 50,
      notes: `median of ${switches.length}; max ${Math.max(...switches)} ms; all: ${switches.join(', ')} ms`,
    });
  } finally {
    await agent?.stop().catch(() => undefined);
    await mcproxy.close().catch(() => undefined);
    await removeBenchContainers(prefix).catch(() => undefined);
    fs.rmSync(world.dir, { recursive: true, force: true });
  }
  fs.mkdirSync(options.out, { recursive: true });
  fs.writeFileSync(path.join(options.out, 'safe-deploys.json'), `${JSON.stringify({ when: new Date().toISOString(), results }, null, 2)}\n`);
  process.stdout.write(markdownTable(results));
}

/** The "routes switched to <svc>…_next N ms after health OK" figures of one service, in order. */
function switchTimes(logs, service) {
  const times = [];
  const pattern = new RegExp(`${service}/[^:]+: routes switched to \\S+ (\\d+) ms after health OK`, 'g');
  for (const match of logs.matchAll(pattern)) times.push(Number(match[1]));
  return times;
}

main().catch((error) => {
  process.stderr.write(`safe-deploys: ${error.stack ?? error}\n`);
  process.exit(1);
});
