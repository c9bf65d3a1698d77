#!/usr/bin/env node
'use strict';
// `npm run bench`: MCP measured side by side with raw podman, podman-compose and a plain
// gRPC client (issue 7). Each comparison runs A and B alternately in one run and reports
// medians and A/B. See bench/README.md for the figures and flags.
//
//   node bench/run.js [--smoke] [--runs N] [--only P1,P3] [--out DIR] [--run-id ID]
//   (podman names: mcpbench-<ID>-…, ID random unless given; all removed at the end)
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { compare, formatSpread, median, procMemory, ratioSpread, resetPeak, markdownTable, round, run, timeIt } = require('./lib');
const h = require('./harness');

const ALL = ['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7', 'P8', 'P11', 'P12'];
const MiB = 1024 * 1024;

function parseOptions(argv) {
  const options = { smoke: false, runs: undefined, only: ALL, out: path.join(__dirname, 'results'), runId: crypto.randomBytes(3).toString('hex') };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--smoke') options.smoke = true;
    else if (arg === '--runs') options.runs = positiveInt(argv[++i], '--runs');
    else if (arg === '--only') {
      options.only = String(argv[++i] ?? '').split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
      const unknown = options.only.filter((id) => !ALL.includes(id));
      if (unknown.length || options.only.length === 0) throw new Error(`--only takes ids from ${ALL.join(',')}; got ${argv[i]}`);
    } else if (arg === '--out') options.out = path.resolve(argv[++i] ?? '');
    else if (arg === '--run-id') {
      options.runId = String(argv[++i] ?? '');
      if (!/^[a-z0-9]{1,12}$/.test(options.runId)) throw new Error('--run-id takes 1-12 lowercase letters or digits');
    } else if (arg === '-h' || arg === '--help') {
      process.stdout.write(fs.readFileSync(path.join(__dirname, 'run.js'), 'utf8').split('\n').slice(2, 8).join('\n').replace(/^\/\/ ?/gm, '') + '\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (see --help)`);
  }
  return options;
}

function positiveInt(text, flag) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer`);
  return n;
}

/** Sizes and run counts: the sizes, or tiny ones for --smoke. */
function plan(options) {
  const smoke = options.smoke;
  const runs = (full) => options.runs ?? (smoke ? 2 : full);
  return {
    // One unrecorded warm-up round per comparison (code caches, page cache); none when smoking.
    warmup: smoke ? 0 : 1,
    runs: { P1: runs(20), P2: runs(10), P3: runs(5), P4: runs(5), P6: runs(3), P8: runs(10), P11: runs(5), P12: runs(20) },
    // The fleet: services of 2 tiny containers each. P2 uses the first p2Services of them.
    fleetServices: smoke ? 5 : 100,
    p2Services: smoke ? 2 : 10,
    pushBytes: smoke ? 16 * MiB : 1024 * MiB,
    pushGrowthGoalMiB: smoke ? 16 : 64,
    idleSampleMs: smoke ? 1000 : 5000,
    monitorInterval: smoke ? 1000 : 2000,
    monitorTicks: smoke ? 2 : 4,
  };
}

const log = (message) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

// Components keep a shell as PID 1 that exits on SIGTERM, so stopping one is quick for MCP,
// the raw script and podman-compose alike (a bare httpd/sleep as PID 1 ignores SIGTERM).
const HTTPD = ["trap 'exit 0' TERM; httpd -f -p $PORT -h /www & wait"];
const SLEEP = ["trap 'exit 0' TERM; sleep 1000000 & wait"];

function fleetServiceName(prefix, i) {
  return `${prefix}fleet-${String(i).padStart(3, '0')}`;
}

function fleetSpec(prefix, i) {
  const component = (name) => ({ name, image: h.IMAGE, network: 'none', cmd: ['/bin/sh', '-c', ...SLEEP] });
  return { name: fleetServiceName(prefix, i), active: true, components: [component('a'), component('b')] };
}

class Bench {
  constructor(options) {
    this.options = options;
    this.prefix = `${h.PREFIX}${options.runId}-`;
    this.plan = plan(options);
    this.results = [];
    this.world = undefined;
    this.agent = undefined;
    this.agentMode = undefined;
    this.fleetDeployed = 0;
    this.loggedIn = false;
    this.cleanups = [];
  }

  want(id) {
    return this.options.only.includes(id);
  }

  async figure(id, meta, fn) {
    if (!this.want(id)) return;
    log(`${id}: ${meta.title}`);
    const started = Date.now();
    try {
      const result = await fn();
      this.results.push({ id, title: meta.title, ...result });
      const figures = result.ratio === undefined ? '' : `: A/B ${result.ratio} (per round min / median / max ${formatSpread(result.ratioSpread)})`;
      log(`${id}: done in ${Math.round((Date.now() - started) / 1000)} s${figures}`);
    } catch (error) {
      log(`${id}: FAILED: ${error.message}`);
      this.results.push({ id, title: meta.title, a: meta.a, b: meta.b, goal: meta.goal, error: error.message.split('\n')[0].slice(0, 300) });
    }
  }

  /** (Re)starts the agent in the wanted mode; the registry (SQLite) persists across restarts. */
  async agentIn(mode) {
    if (this.agent && this.agentMode === mode) return this.agent;
    if (this.agent) await this.stopAgent();
    // plain: monitor off. idle: monitor on, 60 s. counting: podman wrapper + API counter, monitor
    // every few seconds. wrapped: the same counters, monitor off (to list a deploy's calls).
    const counted = mode === 'counting' || mode === 'wrapped';
    if (counted) {
      h.writePodmanWrapper(this.world);
      this.apiCounter = await h.startApiCounter(this.world);
    }
    // alerting: monitor on at its default 60 s, an alert command that stamps a file, metrics on.
    const monitor =
      mode === 'counting'
        ? { monitorEnabled: true, monitorInterval: `${this.plan.monitorInterval}ms` }
        : mode === 'idle'
          ? { monitorEnabled: true, monitorInterval: '60s' }
          : mode === 'alerting'
            ? { monitorEnabled: true, monitorInterval: '60s', alertCommand: [this.alertScript()], metricsListen: `127.0.0.1:${await freeHostPort()}` }
            : {};
    this.metricsListen = monitor.metricsListen;
    h.writeAgentConfig(this.world, { ...monitor, runtimeSocket: this.apiCounter?.socketPath });
    this.agent = await h.startAgent(this.world, { wrapPodman: counted });
    this.agentMode = mode;
    if (!this.loggedIn) {
      await h.mcp(this.world, ['login', '--token-file', this.world.tokenFile]);
      this.loggedIn = true;
    }
    return this.agent;
  }

  async stopAgent() {
    const agent = this.agent;
    this.agent = undefined;
    this.agentMode = undefined;
    try {
      if (agent) await agent.stop();
    } finally {
      const counter = this.apiCounter;
      this.apiCounter = undefined;
      if (counter) await counter.stop();
    }
  }

  /** Deploys fleet services (2 tiny containers each, no network) up to `count`, 3 at a time. */
  async ensureFleet(count) {
    const agent = this.agent;
    let next = this.fleetDeployed;
    if (next >= count) return;
    log(`deploying fleet services ${next}..${count - 1} (${2 * (count - next)} containers)`);
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const response = await agent.client.unary('deploy', { service: fleetSpec(this.prefix, i), component: '', force: false });
        const failed = response.results.filter((r) => !r.ok);
        if (failed.length) throw new Error(`deploy ${fleetServiceName(this.prefix, i)}: ${failed.map((r) => r.error).join('; ')}`);
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    this.fleetDeployed = count;
  }

  async p1() {
    const bin = path.join(h.ROOT, 'bin', 'mcp.js');
    return compare({
      id: 'P1',
      a: { label: '`mcp --help`', fn: () => run([process.execPath, bin, '--help'], { env: h.baseEnv({ MCP_CONFIG: this.world.cliConfig }) }) },
      b: { label: '`node -e 0`', fn: () => run([process.execPath, '-e', '0']) },
      runs: this.plan.runs.P1,
      warmup: this.plan.warmup,
      goal: { text: '≤ 3×', test: (r) => r <= 3 },
    });
  }

  async p2() {
    await this.agentIn('plain');
    await this.ensureFleet(this.plan.p2Services);
    const count = (await this.agent.client.unary('liveCheck', {})).containers.length;
    const plain = [process.execPath, path.join(__dirname, 'plain-livecheck.js'), '--address', `localhost:${this.world.port}`, '--ca', this.world.caCert, '--token-file', this.world.tokenFile];
    const result = await compare({
      id: 'P2',
      a: { label: '`mcp ps`', fn: () => h.mcp(this.world, ['ps']) },
      b: { label: 'plain grpc-js LiveCheck (plain-livecheck.js)', fn: () => run(plain) },
      runs: this.plan.runs.P2,
      warmup: this.plan.warmup,
      goal: { text: '≤ 1.05×', test: (r) => r <= 1.05 },
    });
    return { ...result, notes: `${count} containers listed (${2 * this.plan.p2Services} of them the bench's; podman lists every container on the host)` };
  }

  /** The 3-component service MCP deploys in P3/P4, and the same containers for podman and compose. */
  async deploySetup() {
    if (this.deployFixture) return this.deployFixture;
    await this.agentIn('plain');
    const service = `${this.prefix}p3`;
    const components = [
      { name: 'web', cmd: HTTPD, route: 443 },
      { name: 'api', cmd: HTTPD, route: 8443 },
      { name: 'worker', cmd: SLEEP },
    ];
    const toml = [`name = "${service}"`, 'node = "local"', 'active = true', ''];
    for (const c of components) {
      toml.push('[[components]]', `name = "${c.name}"`, `image = "${h.IMAGE}"`, `cmd = ${JSON.stringify(['/bin/sh', '-c', ...c.cmd])}`, 'restart = "on-failure"');
      if (c.route) toml.push('[[components.routes]]', `port = ${c.route}`, 'mode = "l4"');
      toml.push('');
    }
    fs.writeFileSync(path.join(this.world.servicesDir, `${service}.toml`), toml.join('\n'));
    await h.mcp(this.world, ['deploy', service]);

    // The raw script: the agent's own `rm -f -t <stop_timeout>` + `run` per component, in order.
    const rawPlan = [];
    const composeServices = [];
    for (const c of components) {
      const name = `${this.prefix}raw-${c.name}`;
      const port = c.route ? await freeHostPort() : undefined;
      rawPlan.push(['rm', '-f', '-t', '1', '--', name]);
      const run = ['run', '-d', '--pull=never', '--name', name, '--restart', 'on-failure'];
      if (port) run.push('-p', `127.0.0.1:${port}:${port}`, '-e', `PORT=${port}`);
      run.push('--label', 'mcpbench=raw', '--', h.IMAGE, '/bin/sh', '-c', ...c.cmd);
      rawPlan.push(run);
      const composePort = c.route ? await freeHostPort() : undefined;
      composeServices.push(
        [
          `  ${c.name}:`,
          `    image: ${h.IMAGE}`,
          `    command: ${JSON.stringify(['/bin/sh', '-c', ...c.cmd])}`,
          '    restart: on-failure',
          ...(composePort ? ['    ports:', `      - "127.0.0.1:${composePort}:${composePort}"`, '    environment:', `      PORT: "${composePort}"`] : []),
        ].join('\n'),
      );
    }
    const rawPlanFile = path.join(this.world.dir, 'raw-plan.json');
    fs.writeFileSync(rawPlanFile, JSON.stringify(rawPlan, null, 2));
    const composeFile = path.join(this.world.dir, 'compose.yaml');
    fs.writeFileSync(composeFile, `version: "3"\nservices:\n${composeServices.join('\n')}\n`);
    this.deployFixture = { service, rawPlanFile, composeFile, composeProject: `${this.prefix}compose` };
    this.cleanups.push(async () => {
      if (this.agent) await this.agent.client.unary('undeployService', { service }).catch(() => undefined);
    });
    return this.deployFixture;
  }

  mcpDeploySide(fixture) {
    return { label: '`mcp deploy --force` (3 components)', fn: () => h.mcp(this.world, ['deploy', fixture.service, '--force']) };
  }

  /** The podman calls the agent makes while `fn` runs (agent restarted with the wrapper), as "verb ×n". */
  async agentCallsDuring(fn) {
    await this.agentIn('wrapped');
    fs.writeFileSync(this.world.podmanLog, '');
    await fn();
    const counts = new Map();
    for (const call of readCalls(this.world.podmanLog)) {
      const verb = callVerb(call.args);
      counts.set(verb, (counts.get(verb) ?? 0) + 1);
    }
    return [...counts].map(([verb, n]) => `${verb} ×${n}`).join(', ');
  }

  async p3() {
    const fixture = await this.deploySetup();
    await this.agentIn('plain');
    const raw = [process.execPath, path.join(__dirname, 'plain-deploy.js'), fixture.rawPlanFile];
    await run(raw, { env: h.baseEnv() }); // creates the raw containers, so every timed run replaces them
    const result = await compare({
      id: 'P3',
      a: this.mcpDeploySide(fixture),
      b: { label: 'node script: the same `podman rm -f` + `podman run`s (plain-deploy.js)', fn: () => run(raw, { env: h.baseEnv() }) },
      runs: this.plan.runs.P3,
      warmup: this.plan.warmup,
      goal: { text: '≤ 1.2×', test: (r) => r <= 1.2 },
    });
    const calls = await this.agentCallsDuring(() => h.mcp(this.world, ['deploy', fixture.service, '--force']));
    return { ...result, agentPodmanCalls: calls, notes: `the agent's podman calls for one such deploy: ${calls} (the script: rm ×3, run ×3)` };
  }

  async p4() {
    const compose = await h.ensurePodmanCompose(log);
    if (!compose) throw new Error('podman-compose is not installed and could not be installed (needs root and apt-get): apt-get install podman-compose');
    const fixture = await this.deploySetup();
    await this.agentIn('plain');
    const composeArgs = [compose, '-p', fixture.composeProject, '-f', fixture.composeFile];
    this.cleanups.push(() => run([...composeArgs, 'down'], { env: h.baseEnv(), allowFail: true }));
    await run([...composeArgs, 'up', '-d'], { env: h.baseEnv() });
    const version = (await run([compose, 'version'], { env: h.baseEnv(), allowFail: true })).stdout.match(/podman-composer? version\s+(\S+)/)?.[1];
    const result = await compare({
      id: 'P4',
      a: this.mcpDeploySide(fixture),
      b: { label: '`podman-compose up -d --force-recreate`', fn: () => run([...composeArgs, 'up', '-d', '--force-recreate'], { env: h.baseEnv() }) },
      runs: this.plan.runs.P4,
      warmup: this.plan.warmup,
      goal: { text: '≤ 0.8×', test: (r) => r <= 0.8 },
    });
    return { ...result, notes: `podman-compose ${version ?? '(version unknown)'}` };
  }

  async p6() {
    const agent = await this.agentIn('plain');
    await this.ensureFleet(1);
    const service = fleetServiceName(this.prefix, 0);
    const size = this.plan.pushBytes;
    const file = path.join(this.world.dir, 'push.bin');
    writeRandomFile(file, size);
    const plain = [
      process.execPath,
      path.join(__dirname, 'plain-push.js'),
      '--address',
      `localhost:${this.world.port}`,
      '--ca',
      this.world.caCert,
      '--token-file',
      this.world.tokenFile,
      '--service',
      service,
      '--file',
      file,
      '--dest',
      'bench-plain.bin',
    ];
    const growth = { A: [], B: [] };
    let baseline = 0;
    let a;
    const result = await compare({
      id: 'P6',
      a: (a = { label: '`mcp push` (1 file)', fn: () => h.mcp(this.world, ['push', file, service, 'bench-mcp.bin', '--node', 'local']) }),
      b: { label: 'plain grpc-js PushFile stream (plain-push.js)', fn: () => run(plain) },
      runs: this.plan.runs.P6,
      warmup: this.plan.warmup,
      unit: 'ms',
      before: () => {
        if (!resetPeak(agent.pid)) throw new Error(`cannot reset the agent's peak RSS (/proc/${agent.pid}/clear_refs)`);
        baseline = procMemory(agent.pid).rssMiB;
      },
      between: (side, _ms, counted) => {
        if (counted) growth[side === a ? 'A' : 'B'].push(procMemory(agent.pid).hwmMiB - baseline);
      },
    });
    fs.rmSync(file, { force: true });
    const mbps = (ms) => round(size / 1e6 / (ms / 1000));
    const throughputA = mbps(result.medianA);
    const throughputB = mbps(result.medianB);
    const ratio = round(throughputA / throughputB, 3);
    const growthA = round(median(growth.A));
    const growthB = round(median(growth.B));
    const goalMiB = this.plan.pushGrowthGoalMiB;
    return {
      ...result,
      unit: 'MB/s',
      medianA: throughputA,
      medianB: throughputB,
      ratio,
      // Throughput A/B of each round is time B / time A.
      ratioSpread: ratioSpread(result.samplesA, result.samplesB, { invert: true }),
      msA: result.medianA,
      msB: result.medianB,
      bytes: size,
      peakGrowthMiB: growthA,
      peakGrowthMiBPlain: growthB,
      goal: { text: `≥ 0.85× throughput; ≤ ${goalMiB} MiB growth` },
      met: ratio >= 0.85 && growthA <= goalMiB,
      notes: `${round(size / MiB, 0)} MiB file; agent peak RSS growth (VmHWM after reset − RSS before): mcp push ${growthA} MiB, plain ${growthB} MiB (medians)`,
    };
  }

  async p8() {
    const agent = await this.agentIn('plain');
    await this.ensureFleet(this.plan.fleetServices);
    const count = (await agent.client.unary('liveCheck', {})).containers.length;
    const result = await compare({
      id: 'P8',
      a: { label: '`LiveCheck` (plain client, in-process timing)', fn: () => agent.client.unary('liveCheck', {}) },
      b: { label: '`podman ps --all --format json`', fn: () => h.execFileText('podman', ['ps', '--all', '--format', 'json'], { env: h.baseEnv() }) },
      runs: this.plan.runs.P8,
      warmup: this.plan.warmup,
      goal: { text: '≤ 0.1×', test: (r) => r <= 0.1 },
    });
    // Where the time goes: the same listing straight from the agent's podman REST socket, if it has one.
    const socket = path.join(this.world.dataDir, 'podman.sock');
    let direct = '';
    if (fs.existsSync(socket)) {
      const samples = [];
      for (let i = 0; i < 5; i++) samples.push(await timeIt(() => h.httpGetSocket(socket, '/v4.0.0/libpod/containers/json?all=true')));
      result.restListMs = round(median(samples));
      direct = `; GET libpod/containers/json on the agent's podman socket alone: ${result.restListMs} ms (median of 5)`;
    }
    return { ...result, notes: `${count} containers listed (${2 * this.plan.fleetServices} of them the bench's)${direct}` };
  }

  async p7() {
    await this.agentIn('plain');
    await this.ensureFleet(this.plan.fleetServices);
    // A fresh agent process over the registry holding the fleet, monitor on its default-like interval.
    const agent = await this.agentIn('idle');
    const listed = await agent.client.unary('listServices', {});
    const services = listed.services.length;
    if (services < this.plan.fleetServices) throw new Error(`registry holds ${services} services, expected ≥ ${this.plan.fleetServices}`);
    const samples = [];
    const end = Date.now() + this.plan.idleSampleMs;
    while (Date.now() < end) {
      samples.push(procMemory(agent.pid).rssMiB);
      await sleep(250);
    }
    const rss = round(median(samples));
    const service = h.childProcesses(agent.pid).find((c) => /podman .*system service/.test(c.command));
    const serviceNote = service ? `; its supervised \`podman system service\` adds ${service.rssMiB} MiB (pid ${service.pid})` : '; no supervised podman service';
    return {
      a: 'agent idle RSS',
      unit: 'MiB',
      runs: samples.length,
      medianA: rss,
      maxA: Math.max(...samples),
      services,
      goal: { text: '≤ 80 MiB' },
      met: rss <= 80,
      notes: `${services} services in the registry; RSS sampled every 250 ms for ${this.plan.idleSampleMs / 1000} s after a restart and one ListServices (max ${Math.max(...samples)} MiB)${serviceNote}`,
      podmanServiceRssMiB: service?.rssMiB,
    };
  }

  /** An alert command writing `<kind> <component> <epoch ms>` lines to world.dir/alerts.log. */
  alertScript() {
    const script = path.join(this.world.dir, 'alert.sh');
    const logFile = path.join(this.world.dir, 'alerts.log');
    fs.writeFileSync(script, `#!/bin/sh\nprintf '%s %s %s\\n' "$MCP_ALERT_KIND" "$MCP_ALERT_SERVICE/$MCP_ALERT_COMPONENT" "$(date +%s%3N)" >> '${logFile}'\n`, { mode: 0o755 });
    this.alertLog = logFile;
    return script;
  }

  async p11() {
    await this.agentIn('plain');
    await this.ensureFleet(this.plan.fleetServices);
    await this.agentIn('alerting');
    await sleep(2000); // the event stream is open and the first reconciliation done
    const latencies = [];
    const runs = this.plan.runs.P11;
    for (let i = 0; i < runs; i++) {
      const service = fleetServiceName(this.prefix, i);
      const container = `${service}-a`;
      const started = Date.now();
      await h.execFileText('podman', ['kill', container], { env: h.baseEnv() });
      const deadline = started + 90_000;
      let line;
      while (Date.now() < deadline) {
        const text = fs.existsSync(this.alertLog) ? fs.readFileSync(this.alertLog, 'utf8') : '';
        line = text.split('\n').find((l) => l.startsWith(`drift ${service}/a `));
        if (line) break;
        await sleep(20);
      }
      if (!line) throw new Error(`no drift alert for ${container} within 90 s`);
      latencies.push(Number(line.split(' ')[2]) - started);
      await h.execFileText('podman', ['start', container], { env: h.baseEnv() });
    }
    const ms = round(median(latencies));
    return {
      a: '`podman kill` → alert command ran',
      unit: 'ms',
      runs: latencies.length,
      medianA: ms,
      maxA: Math.max(...latencies),
      goal: { text: '≤ 2000 ms' },
      met: Math.max(...latencies) <= 2000,
      notes: `monitor interval 60 s (so no tick helped); ${2 * this.plan.fleetServices} fleet containers; latencies ${latencies.join(', ')} ms (the alert command stamps its own start time)`,
    };
  }

  async p12() {
    await this.agentIn('plain');
    await this.ensureFleet(this.plan.fleetServices);
    await this.agentIn('alerting');
    const url = `http://${this.metricsListen}/metrics`;
    const scrape = () =>
      new Promise((resolve, reject) => {
        require('node:http')
          .get(url, (res) => {
            let size = 0;
            res.on('data', (chunk) => (size += chunk.length));
            res.on('end', () => (res.statusCode === 200 ? resolve(size) : reject(new Error(`GET ${url}: ${res.statusCode}`))));
          })
          .on('error', reject);
      });
    let bytes = 0;
    const firstMs = round(await timeIt(async () => (bytes = await scrape())));
    const samples = [];
    for (let i = 0; i < this.plan.runs.P12; i++) samples.push(await timeIt(scrape));
    const ms = round(median(samples));
    return {
      a: '`GET /metrics` (one scrape)',
      unit: 'ms',
      runs: samples.length,
      medianA: ms,
      maxA: round(Math.max(...samples)),
      goal: { text: '≤ 20 ms' },
      met: ms <= 20,
      notes: `${2 * this.plan.fleetServices} components in the registry; ${round(bytes / 1024)} KiB of exposition; sequential scrapes, wall time in the bench process; the first scrape (which renders the state series) took ${firstMs} ms`,
    };
  }

  async p5() {
    await this.agentIn('plain');
    await this.ensureFleet(this.plan.fleetServices);
    await this.agentIn('counting');
    const components = 2 * this.plan.fleetServices;
    fs.writeFileSync(this.world.podmanLog, ''); // forget start-up calls: only ticks from here on
    const interval = this.plan.monitorInterval;
    const want = this.plan.monitorTicks;
    const deadline = Date.now() + interval * (want + 2) + 60_000;
    let ticks = [];
    // Calls of one tick are close together; ticks are `interval` apart. A tick is complete
    // once the next one has begun.
    while (Date.now() < deadline) {
      ticks = clusterCalls(readCalls(this.world.podmanLog), interval / 2);
      if (ticks.length > want) break;
      await sleep(200);
    }
    if (ticks.length <= want) throw new Error(`saw ${ticks.length} monitor ticks within the deadline, wanted ${want + 1}`);
    const complete = ticks.slice(0, want);
    const perTick = complete.map((t) => t.length);
    const verbs = [...new Set(complete.flat().map((c) => callVerb(c.args)))];
    return {
      a: 'podman invocations + REST API calls per monitor tick',
      unit: 'calls',
      runs: complete.length,
      medianA: median(perTick),
      perTick,
      components,
      goal: { text: '1' },
      met: median(perTick) === 1,
      notes: `${components} components; ${complete.length} ticks at ${interval} ms counted by a podman wrapper on the agent's PATH and a proxy on its [runtime] socket; calls: ${verbs.join(', ')}`,
    };
  }

  async runAll() {
    log(`${this.options.smoke ? 'smoke run' : 'full run'} ${this.prefix}*: ${this.options.only.join(',')}; ${os.cpus().length} CPUs, node ${process.version}`);
    this.world = await h.createWorld();
    try {
      await this.figure('P1', { title: 'CLI start-up', a: '`mcp --help`', b: '`node -e 0`', goal: { text: '≤ 3×' } }, () => this.p1());
      await this.figure('P2', { title: '`mcp ps` vs plain TLS LiveCheck', a: '`mcp ps`', b: 'plain-livecheck.js', goal: { text: '≤ 1.05×' } }, () => this.p2());
      await this.figure('P3', { title: 'deploy vs raw podman', a: '`mcp deploy --force`', b: 'plain-deploy.js', goal: { text: '≤ 1.2×' } }, () => this.p3());
      await this.figure('P4', { title: 'deploy vs podman-compose', a: '`mcp deploy --force`', b: 'podman-compose up -d --force-recreate', goal: { text: '≤ 0.8×' } }, () => this.p4());
      await this.runCleanups();
      await this.figure('P6', { title: 'push throughput and agent memory', a: '`mcp push`', b: 'plain-push.js', goal: { text: '≥ 0.85×; ≤ 64 MiB' } }, () => this.p6());
      await this.figure('P8', { title: 'LiveCheck latency', a: 'LiveCheck', b: 'podman ps --all --format json', goal: { text: '≤ 0.1×' } }, () => this.p8());
      await this.figure('P7', { title: 'agent idle memory', a: 'agent idle RSS', goal: { text: '≤ 80 MiB' } }, () => this.p7());
      await this.figure('P11', { title: 'drift latency', a: 'podman kill → alert command', goal: { text: '≤ 2000 ms' } }, () => this.p11());
      await this.figure('P12', { title: 'metrics scrape', a: 'GET /metrics', goal: { text: '≤ 20 ms' } }, () => this.p12());
      await this.figure('P5', { title: 'podman calls per monitor tick', a: 'podman invocations per monitor tick', goal: { text: '1' } }, () => this.p5());
    } finally {
      await this.cleanup();
    }
    const order = (r) => ALL.indexOf(r.id);
    this.results.sort((x, y) => order(x) - order(y));
    return this.results;
  }

  async runCleanups() {
    const cleanups = this.cleanups.splice(0);
    for (const fn of cleanups.reverse()) await fn().catch((error) => log(`cleanup: ${error.message}`));
  }

  async cleanup() {
    await this.runCleanups();
    await this.stopAgent().catch((error) => log(`stopping the agent: ${error.message}`));
    const removed = await h.removeBenchContainers(this.prefix).catch(() => 0);
    if (removed) log(`removed ${removed} ${this.prefix}* containers`);
    if (this.world) fs.rmSync(this.world.dir, { recursive: true, force: true });
  }
}

/** A host port outside the agent's allocation range (30000–32000) and free now. */
async function freeHostPort() {
  for (;;) {
    const port = await h.freePort();
    if (port < 30000 || port > 32000) return port;
  }
}

function writeRandomFile(file, size) {
  const block = crypto.randomBytes(MiB);
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    for (let written = 0; written < size; written += MiB) fs.writeSync(fd, block, 0, Math.min(MiB, size - written));
  } finally {
    fs.closeSync(fd);
  }
}

function readCalls(file) {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const space = line.indexOf(' ');
      return { at: Number(line.slice(0, space)), args: line.slice(space + 1) };
    })
    .filter((c) => Number.isFinite(c.at));
}

/** "ps", "image exists", or for API calls "api GET containers/json" (names and versions elided). */
function callVerb(args) {
  const words = args.split(' ');
  if (words[0] === 'api') {
    const segments = words[2].split('/').filter(Boolean).filter((seg) => !/^v\d+(\.\d+)*$/.test(seg) && seg !== 'libpod');
    const generic = segments.map((seg) => (seg.includes('%') || seg.includes('mcpbench-') || /^[0-9a-f]{12,}$/.test(seg) ? '{name}' : seg));
    return `api ${words[1]} ${generic.join('/')}`;
  }
  return ['image', 'container', 'system', 'network', 'pod'].includes(words[0]) ? words.slice(0, 2).join(' ') : words[0];
}

function clusterCalls(calls, gapMs) {
  const clusters = [];
  for (const call of calls) {
    const last = clusters[clusters.length - 1];
    if (last && call.at - last[last.length - 1].at < gapMs) last.push(call);
    else clusters.push([call]);
  }
  return clusters;
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const bench = new Bench(options);
  let stopping = false;
  const onSignal = (signal) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: cleaning up`);
    bench.cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = Date.now();
  const results = await bench.runAll();
  const report = {
    generatedAt: new Date().toISOString(),
    smoke: options.smoke,
    durationSeconds: Math.round((Date.now() - started) / 1000),
    host: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryMiB: Math.round(os.totalmem() / MiB), node: process.version, platform: `${os.type()} ${os.release()}` },
    podman: (await h.podman(['version', '--format', '{{.Client.Version}}'], { allowFail: true })).stdout.trim(),
    results,
  };
  const table = markdownTable(results);
  const md = [
    `# MCP bench — ${report.generatedAt}${options.smoke ? ' (smoke: tiny sizes, 2 runs)' : ''}`,
    '',
    `${report.host.cpus} CPUs (${report.host.cpuModel}), ${report.host.memoryMiB} MiB, Node ${report.host.node}, podman ${report.podman}; took ${report.durationSeconds} s.`,
    'A and B alternate within each run; medians of the runs shown; A/B is the ratio of medians (P6: of throughputs); A/B per round is the ratio within each round (A and B back to back), min / median / max over the rounds.',
    '',
    table,
  ].join('\n');
  fs.mkdirSync(options.out, { recursive: true });
  fs.writeFileSync(path.join(options.out, 'latest.json'), JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(path.join(options.out, 'latest.md'), md);
  process.stdout.write(`\n${table}\nwritten: ${path.join(options.out, 'latest.json')}, latest.md\n`);
  const failed = results.filter((r) => r.error);
  if (failed.length) {
    log(`${failed.length} figure(s) failed: ${failed.map((r) => r.id).join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  log(`failed: ${error.stack || error.message}`);
  process.exit(1);
});
