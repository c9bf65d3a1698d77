'use strict';
// Benchmark helpers: every comparison runs A and B alternately in one process, so machine
// noise hits both alike, and reports medians and the ratio A/B. Figures are printed and
// collected; nothing here asserts a speed.
const { spawn } = require('node:child_process');
const fs = require('node:fs');

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs argv (no shell), resolves with { ms, code, stdout, stderr }; rejects on non-zero exit unless allowFail. */
function run(argv, options = {}) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0 && !options.allowFail) {
        reject(new Error(`${argv.join(' ')} exited ${code}: ${stderr.trim().slice(-500)}`));
      } else {
        resolve({ ms, code, stdout, stderr });
      }
    });
  });
}

/**
 * The spread of the per-round ratio: round i's A sample over its B sample (the two ran back
 * to back), as { min, median, max } over the rounds. The ratio of medians hides how much the
 * rounds disagree; this shows it, so a figure that moves between runs can be told from one
 * that is merely noisy. `invert` takes B/A (a throughput ratio from times). Rounds where
 * either side is missing or the divisor is 0 are left out; undefined when none is left.
 */
function ratioSpread(samplesA, samplesB, { invert = false, digits = 3 } = {}) {
  const ratios = [];
  for (let i = 0; i < Math.min(samplesA.length, samplesB.length); i++) {
    const [top, bottom] = invert ? [samplesB[i], samplesA[i]] : [samplesA[i], samplesB[i]];
    if (Number.isFinite(top) && Number.isFinite(bottom) && bottom !== 0) ratios.push(top / bottom);
  }
  if (ratios.length === 0) return undefined;
  return { min: round(Math.min(...ratios), digits), median: round(median(ratios), digits), max: round(Math.max(...ratios), digits), rounds: ratios.length };
}

/** "0.98 / 1.03 / 1.12" (min / median / max), or — when there is no spread. */
function formatSpread(spread) {
  return spread ? `${spread.min} / ${spread.median} / ${spread.max}` : '—';
}

async function timeIt(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Alternates A and B `runs` times (after `warmup` unrecorded rounds) and returns medians.
 * `a.fn`/`b.fn` are async functions; `between` runs after each sample (cleanup).
 */
async function compare({ id, title, a, b, runs, warmup = 1, goal, unit = 'ms', before, between }) {
  const samplesA = [];
  const samplesB = [];
  for (let i = 0; i < warmup + runs; i++) {
    const order = i % 2 === 0 ? [a, b] : [b, a];
    for (const side of order) {
      if (before) await before(side);
      const ms = await timeIt(side.fn);
      if (between) await between(side, ms, i >= warmup);
      if (i >= warmup) (side === a ? samplesA : samplesB).push(ms);
    }
  }
  const medianA = median(samplesA);
  const medianB = median(samplesB);
  return {
    id,
    title,
    a: a.label,
    b: b.label,
    unit,
    runs,
    medianA: round(medianA),
    medianB: round(medianB),
    ratio: round(medianA / medianB, 3),
    // A/B of each round (A and B ran back to back in it): min, median, max.
    ratioSpread: ratioSpread(samplesA, samplesB),
    goal,
    met: goal ? goal.test(medianA / medianB) : undefined,
    samplesA: samplesA.map((v) => round(v)),
    samplesB: samplesB.map((v) => round(v)),
  };
}

function round(value, digits = 1) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Peak and current RSS of a process from /proc, in MiB. */
function procMemory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key) => Number((status.match(new RegExp(`^${key}:\\s+(\\d+)`, 'm')) || [])[1] || 0);
  return { rssMiB: round(kib('VmRSS') / 1024), hwmMiB: round(kib('VmHWM') / 1024) };
}

/**
 * CPU seconds of a process from /proc/<pid>/stat: `own` (utime + stime) and `children`
 * (cutime + cstime: its children that it has waited for, with theirs). `pid` may be 'self'.
 */
function procCpu(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command's closing parenthesis, from field 3 (state) on.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  const tick = 100; // USER_HZ on Linux
  return { own: (f[11] + f[12]) / tick, children: (f[13] + f[14]) / tick };
}

/** Resets a process's peak RSS counter (VmHWM), so the next peak is this phase's. */
function resetPeak(pid) {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

function markdownTable(results) {
  const lines = [
    '| id | A | B | runs | median A | median B | A/B | A/B per round (min / median / max) | goal | met | notes |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    if (r.error) {
      lines.push(`| ${r.id} | ${r.a ?? r.title ?? ''} | ${r.b ?? '—'} | — | — | — | — | — | ${r.goal ? r.goal.text : '—'} | error | ${cell(r.error)} |`);
      continue;
    }
    lines.push(
      `| ${r.id} | ${r.a} | ${r.b ?? '—'} | ${r.runs ?? '—'} | ${fmt(r.medianA, r.unit)} | ${r.medianB === undefined ? '—' : fmt(r.medianB, r.unit)} | ${r.ratio ?? '—'} | ${formatSpread(r.ratioSpread)} | ${r.goal ? r.goal.text : '—'} | ${r.met === undefined ? '—' : r.met ? 'yes' : 'no'} | ${cell(r.notes ?? '')} |`,
    );
  }
  return lines.join('\n') + '\n';
}

function cell(text) {
  return String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function fmt(value, unit) {
  return `${value} ${unit}`;
}

module.exports = { median, ratioSpread, formatSpread, run, timeIt, compare, procMemory, procCpu, resetPeak, markdownTable, round };
