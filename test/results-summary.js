#!/usr/bin/env node
// The closing lines of ./scripts/test-all.sh (issue #20, item 5): reads the `--json` result
// files of the run's Jest processes and prints the totals, each group's wall time, and the
// slowest suites, so that a suite that grows shows up in every run's log.
//
//   node test/results-summary.js [--top N] LABEL=FILE...
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** Seconds with one decimal. */
const seconds = (ms) => (ms / 1000).toFixed(1);

/**
 * `runs`: [{ label, results }] where `results` is Jest's --json output, or null when that
 * process wrote none (it crashed). Returns the lines to print.
 */
function summarize(runs, options = {}) {
  const top = options.top ?? 10;
  const root = options.root ?? process.cwd();
  const lines = [];
  let passed = 0;
  let failed = 0;
  let suitesPassed = 0;
  let suitesFailed = 0;
  const suites = [];
  const groups = [];
  for (const { label, results } of runs) {
    if (!results) {
      groups.push(`${label}: no results (the Jest run did not finish)`);
      continue;
    }
    passed += results.numPassedTests ?? 0;
    failed += results.numFailedTests ?? 0;
    const files = results.testResults ?? [];
    // A suite that failed to load has no failed test, only a failed status.
    suitesFailed += files.filter((file) => file.status === 'failed').length;
    suitesPassed += files.filter((file) => file.status === 'passed').length;
    let end = results.startTime;
    for (const file of files) {
      const ms = Math.max(0, (file.endTime ?? 0) - (file.startTime ?? 0));
      if (file.endTime) end = Math.max(end, file.endTime);
      suites.push({ label, name: path.relative(root, file.name), ms, status: file.status });
    }
    groups.push(`${label}: ${files.length} suites in ${seconds(end - results.startTime)} s`);
  }
  lines.push(`tests: ${passed} passed, ${failed} failed`);
  lines.push(`suites: ${suitesPassed} passed, ${suitesFailed} failed`);
  lines.push(`groups: ${groups.join('; ')}`);
  const slowest = suites.sort((a, b) => b.ms - a.ms || a.name.localeCompare(b.name)).slice(0, top);
  if (slowest.length > 0) {
    lines.push(`slowest ${slowest.length} suites (wall time, concurrent suites share the machine):`);
    const width = Math.max(...slowest.map((s) => seconds(s.ms).length));
    for (const s of slowest) {
      lines.push(`  ${seconds(s.ms).padStart(width)} s  ${s.name}  [${s.label}${s.status === 'passed' ? '' : `, ${s.status}`}]`);
    }
  }
  return lines;
}

/** Jest's --json file, or null when it is missing, empty or not JSON. */
function readResults(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  let top = 10;
  const runs = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--top') top = Number(args[++i]);
    else {
      const at = args[i].indexOf('=');
      if (at < 1) {
        console.error(`results-summary: expected LABEL=FILE, got ${JSON.stringify(args[i])}`);
        process.exit(2);
      }
      runs.push({ label: args[i].slice(0, at), results: readResults(args[i].slice(at + 1)) });
    }
  }
  for (const line of summarize(runs, { top })) console.log(line);
}

module.exports = { summarize, readResults };
