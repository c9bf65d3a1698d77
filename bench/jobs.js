'use strict';
// Figure of issue #21 (SPEC §12 jobs), against one real agent (real podman):
//   J1  a job scheduled `* * * * *` starts within 1 s of the minute: the delay from the minute
//       boundary to podman's `start` event of the job's one-off container, median of N minutes
//       (default 5, so the run takes about N+1 minutes). The baseline is the wall clock's
//       minute itself: there is no by-hand equivalent to divide by.
// Usage: node bench/jobs.js [--runs N]
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawn } = require('node:child_process');
const { IMAGE, createWorld, writeAgentConfig, startAgent, removeBenchContainers, mcp, baseEnv } = require('./harness');

const log = (message) => process.stderr.write(`[jobs ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

function parse(argv) {
  const options = { runs: 5 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') options.runs = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]} (see the header of bench/jobs.js)`);
  }
  return options;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Resolves with the nanosecond times of the first `count` `start` events of containers labelled `label`. */
function startEvents(label, namePrefix, count, env) {
  const child = spawn('podman', ['events', '--filter', 'event=start', '--filter', `label=${label}`, '--format', 'json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const times = [];
  let buffered = '';
  const done = new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (!line) continue;
        const event = JSON.parse(line);
        if (!String(event.Name ?? '').startsWith(namePrefix)) continue;
        const at = Date.parse(event.Time ?? event.time);
        if (!Number.isFinite(at)) continue;
        times.push(at);
        log(`start ${times.length}/${count}: ${new Date(times[times.length - 1]).toISOString()}`);
        if (times.length >= count) {
          child.kill();
          resolve(times);
        }
      }
    });
    child.on('error', reject);
  });
  return { done, stop: () => child.kill() };
}

async function main() {
  const options = parse(process.argv.slice(2));
  const prefix = `mcpbench-${crypto.randomBytes(3).toString('hex')}-`;
  const world = await createWorld();
  writeAgentConfig(world);
  let agent;
  let events;
  try {
    agent = await startAgent(world);
    await mcp(world, ['login', '--token-file', world.tokenFile]);
    const name = `${prefix}jobs`;
    fs.writeFileSync(
      path.join(world.servicesDir, `${name}.toml`),
      [
        `name = "${name}"`, 'node = "local"', '',
        '[[components]]', 'name = "web"', `image = "${IMAGE}"`, `cmd = ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`, '',
        '[[jobs]]', 'name = "tick"', 'component = "web"', 'cmd = ["true"]', 'schedule = "* * * * *"', '',
      ].join('\n'),
    );
    events = startEvents('mcp.run=job:tick', `${name}-web-run-`, options.runs, baseEnv({}));
    const deployed = await mcp(world, ['deploy', name], { allowFail: true });
    if (deployed.code !== 0) throw new Error(`deploy failed: ${deployed.stdout} ${deployed.stderr}`);
    log(`J1: waiting for ${options.runs} minute boundaries`);
    const times = await events.done;
    const delays = times.map((ms) => ms - Math.floor(ms / 60_000) * 60_000);
    const med = Math.round(median(delays));
    console.log(`J1 job \`* * * * *\` start after the minute (container start event): median ${med} ms, each ${delays.map((d) => Math.round(d)).join(', ')} ms (goal ≤ 1000 ms, ${med <= 1000 ? 'met' : 'NOT met'}; ${delays.length} minutes)`);
  } finally {
    events?.stop();
    await agent?.stop().catch(() => undefined);
    await removeBenchContainers(prefix).catch(() => undefined);
    fs.rmSync(world.dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
