#!/usr/bin/env node
'use strict';
// Baseline for P3: what an operator's script does for a deploy — the same `podman rm -f` and
// `podman run` invocations the agent makes, one after the other, without a shell. Usage:
//   node bench/plain-deploy.js PLAN.json      (PLAN: an array of podman argument arrays)
const { execFile } = require('node:child_process');
const fs = require('node:fs');

function podman(args) {
  return new Promise((resolve, reject) =>
    execFile('podman', args, (error, stdout, stderr) =>
      error ? reject(new Error(`podman ${args[0]} failed: ${String(stderr).trim().slice(-400)}`)) : resolve(stdout),
    ),
  );
}

async function main() {
  const file = process.argv[2];
  if (!file) throw new Error('usage: node bench/plain-deploy.js PLAN.json');
  const plan = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const args of plan) await podman(args);
}

main().catch((error) => {
  process.stderr.write(`plain-deploy: ${error.message}\n`);
  process.exit(1);
});
