#!/usr/bin/env node
'use strict';
// Issue 23 figures (SPEC §14), in one process against one real agent (real podman, real restic)
// and the real `mcp`, with a service in pause mode whose /srv/<svc> holds 1 GiB in 10,000 files
// (random, so incompressible; 100 directories of 100 files):
//   B1  first backup of that data: `mcp backup <svc>` wall time ÷ a plain `restic backup` of the
//       same directory into a repository of its own (same restic, same --json output and
//       progress rate, same --host), in the same round                       goal ≤ 1.1
//   B2  the backup after changing 1 file: `mcp backup` wall time             goal ≤ 2 s
//       and ÷ the plain `restic backup` after the same change                goal ≤ 1.1
//   B3  the pause window of those backups (the agent's paused → unpaused, from `mcp backup
//       --json`'s pausedSeconds): reported, no goal.
// Each round writes new content into every file first (so each round's first backups store
// 1 GiB, nothing deduplicated from an earlier round), then runs A and B back to back,
// alternating which goes first. One unrecorded warm-up backup of a small file on each side first
// (the agent initialises its repository on first use; the plain one is initialised untimed).
// Usage: node bench/backup.js [--smoke] [--runs N] [--mib N] [--files N] [--out DIR] [--run-id ID]
// (podman names are mcpbench-<ID>-…, random by default).
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const h = require('./harness');
const { run, median, ratioSpread, formatSpread, round } = require('./lib');

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const value = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const smoke = flag('smoke');
const RUNS = Number(value('runs', smoke ? 1 : 3));
const DATA_MIB = Number(value('mib', smoke ? 16 : 1024));
const FILES = Number(value('files', smoke ? 200 : 10_000));
const OUT = value('out', path.join(__dirname, 'results'));
const log = (text) => process.stderr.write(`[backup ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

/** Writes FILES files of random bytes (DATA_MIB in all) under `dir`, 100 per directory. */
function writeData(dir) {
  const size = Math.floor((DATA_MIB * 1024 * 1024) / FILES);
  for (let i = 0; i < FILES; i++) {
    const sub = path.join(dir, `d${String(Math.floor(i / 100)).padStart(3, '0')}`);
    if (i % 100 === 0) fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `f${String(i).padStart(5, '0')}.bin`), crypto.randomBytes(size));
  }
}

async function main() {
  const prefix = `mcpbench-${value('run-id', crypto.randomBytes(3).toString('hex'))}-`;
  const service = `${prefix}data`;
  const world = await h.createWorld();
  h.writeAgentConfig(world);
  const srv = path.join(world.srvRoot, service);
  const plain = {
    repo: path.join(world.dir, 'plain-restic'),
    pass: path.join(world.dir, 'plain-restic.pass'),
    cache: path.join(world.dir, 'plain-restic-cache'),
  };
  const restic = (extra) => ['restic', '--repo', plain.repo, '--password-file', plain.pass, '--cache-dir', plain.cache, ...extra];
  const resticEnv = h.baseEnv({ RESTIC_PROGRESS_FPS: '2' });
  const plainBackup = () => run(restic(['backup', '--json', '--host', 'local', '--tag', 'bench', '--', srv]), { env: resticEnv });
  const mcpBackup = async () => {
    const result = await h.mcp(world, ['backup', service, '--json']);
    return { ms: result.ms, result: JSON.parse(result.stdout) };
  };
  let agent;
  try {
    agent = await h.startAgent(world);
    await h.mcp(world, ['login', '--token-file', world.tokenFile]);
    fs.writeFileSync(
      path.join(world.servicesDir, `${service}.toml`),
      [
        `name = "${service}"`, 'node = "local"', '',
        '[backup]', 'mode = "pause"', '',
        '[[components]]', 'name = "app"', `image = "${h.IMAGE}"`, `cmd = ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`, '',
      ].join('\n'),
    );
    await h.mcp(world, ['deploy', service]);
    fs.mkdirSync(srv, { recursive: true });
    fs.writeFileSync(path.join(srv, 'warm-up.txt'), 'warm-up\n');
    fs.writeFileSync(plain.pass, `${crypto.randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
    await run(restic(['init']), { env: resticEnv });
    log('warm-up backups (the agent initialises its repository)');
    await mcpBackup();
    await plainBackup();
    fs.rmSync(path.join(srv, 'warm-up.txt'));

    const rounds = [];
    for (let i = 0; i < RUNS; i++) {
      log(`round ${i + 1}/${RUNS}: writing ${DATA_MIB} MiB in ${FILES} files`);
      writeData(srv);
      // The 1 GiB just written is flushed before anything is timed: else its writeback would
      // land on whichever side goes first.
      await run(['sync']);
      const order = i % 2 === 0 ? ['mcp', 'plain'] : ['plain', 'mcp'];
      const row = { round: i + 1, order: order.join(',') };
      for (const side of order) {
        if (side === 'mcp') {
          const first = await mcpBackup();
          Object.assign(row, { mcpFirstMs: first.ms, mcpFirstAgentS: first.result.durationSeconds, mcpFirstPausedS: first.result.pausedSeconds, files: first.result.files, bytes: first.result.bytes });
        } else {
          row.plainFirstMs = (await plainBackup()).ms;
        }
        log(`  first backup, ${side}: ${Math.round(side === 'mcp' ? row.mcpFirstMs : row.plainFirstMs)} ms`);
      }
      await run(['sync']);
      // One file changed; both sides back up the same change from their own parent snapshot.
      fs.writeFileSync(path.join(srv, 'd000', 'f00000.bin'), crypto.randomBytes(Math.floor((DATA_MIB * 1024 * 1024) / FILES)));
      for (const side of order) {
        if (side === 'mcp') {
          const second = await mcpBackup();
          Object.assign(row, { mcpSecondMs: second.ms, mcpSecondAgentS: second.result.durationSeconds, mcpSecondPausedS: second.result.pausedSeconds });
        } else {
          row.plainSecondMs = (await plainBackup()).ms;
        }
        log(`  after 1 changed file, ${side}: ${Math.round(side === 'mcp' ? row.mcpSecondMs : row.plainSecondMs)} ms`);
      }
      rounds.push(row);
    }

    const pick = (key) => rounds.map((r) => r[key]);
    const b1 = ratioSpread(pick('mcpFirstMs'), pick('plainFirstMs'));
    const b2 = ratioSpread(pick('mcpSecondMs'), pick('plainSecondMs'));
    const result = {
      smoke,
      runs: RUNS,
      dataMiB: DATA_MIB,
      files: FILES,
      restic: (await run(['restic', 'version'])).stdout.trim(),
      B1: { mcpMs: round(median(pick('mcpFirstMs'))), plainMs: round(median(pick('plainFirstMs'))), ratio: round(median(pick('mcpFirstMs')) / median(pick('plainFirstMs')), 3), spread: b1, goal: 1.1 },
      B2: {
        mcpMs: round(median(pick('mcpSecondMs'))),
        plainMs: round(median(pick('plainSecondMs'))),
        ratio: round(median(pick('mcpSecondMs')) / median(pick('plainSecondMs')), 3),
        spread: b2,
        goalMs: 2000,
        goalRatio: 1.1,
      },
      // The agent's own time for the backup (lock to result): the rest of the wall time is the CLI's start, TLS and the RPC.
      agentS: { first: round(median(pick('mcpFirstAgentS')), 2), second: round(median(pick('mcpSecondAgentS')), 2) },
      B3: { firstPausedS: round(median(pick('mcpFirstPausedS')), 2), secondPausedS: round(median(pick('mcpSecondPausedS')), 2) },
      rounds,
    };
    const met = (ok) => (ok ? 'met' : 'NOT met');
    console.log(`B1 first backup of ${DATA_MIB} MiB in ${FILES} files: mcp backup ${result.B1.mcpMs} ms ÷ plain restic backup ${result.B1.plainMs} ms = ${result.B1.ratio} (rounds ${formatSpread(b1)}; goal ≤ 1.1, ${met(result.B1.ratio <= 1.1)})`);
    console.log(`B2 backup after 1 changed file: mcp backup ${result.B2.mcpMs} ms (goal ≤ 2000 ms, ${met(result.B2.mcpMs <= 2000)}) ÷ plain restic ${result.B2.plainMs} ms = ${result.B2.ratio} (rounds ${formatSpread(b2)}; goal ≤ 1.1, ${met(result.B2.ratio <= 1.1)})`);
    console.log(`   of which the agent's backup itself (its durationSeconds): first ${result.agentS.first} s, after 1 changed file ${result.agentS.second} s`);
    console.log(`B3 pause window (pause mode, paused → unpaused): first backup ${result.B3.firstPausedS} s, after 1 changed file ${result.B3.secondPausedS} s (median of ${RUNS})`);
    fs.mkdirSync(OUT, { recursive: true });
    fs.writeFileSync(path.join(OUT, `backup${smoke ? '-smoke' : ''}.json`), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await agent?.stop().catch(() => undefined);
    await h.removeBenchContainers(prefix).catch(() => undefined);
    fs.rmSync(world.dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
