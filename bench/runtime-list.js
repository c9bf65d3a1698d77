#!/usr/bin/env node
'use strict';
// Container listing through the podman CLI (PodmanRuntime: `podman ps --all --format json`)
// against the libpod REST API (LibpodRestRuntime on a private `podman system service`), with
// N containers present. A and B alternate in one process (bench/lib.js `compare`); medians
// and the ratio CLI/REST are printed and written to bench/results/runtime-list.{json,md}.
// Also one create+start+remove round per adapter per sample, for the write path.
//
//   node bench/runtime-list.js [--counts 5,50] [--runs 15]
//
// Needs podman and the test image (scripts/build-test-image.sh). Containers are named
// mcpbench-list-<random>-<i> and removed at the end, whatever happened.
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const { compare, markdownTable, run } = require('./lib');

const root = path.resolve(__dirname, '..');
process.env.CONTAINERS_CONF ??= path.join(root, 'test', 'podman', 'containers.conf');

// Load the TypeScript sources directly: swc transpiles (as in jest), @mcp/* resolves to libs/*/src.
const swc = require('@swc/core');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const alias = /^@mcp\/([a-z]+)$/.exec(request);
  if (alias && alias[1] !== 'proto') request = path.join(root, 'libs', alias[1], 'src', 'index.ts');
  return resolveFilename.call(this, request, ...rest);
};
require.extensions['.ts'] = (module, filename) => {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      keepClassNames: true,
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
require('reflect-metadata');
const { LibpodRestRuntime, PodmanRuntime, PodmanService } = require('../libs/runtime/src/testing/index.ts');

const IMAGE = 'localhost/mcp-test/busybox:1.0';

function argValue(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

async function main() {
  const counts = argValue('--counts', '5,50').split(',').map(Number);
  const runs = Number(argValue('--runs', '15'));
  const prefix = `mcpbench-list-${randomBytes(3).toString('hex')}`;
  const work = fs.mkdtempSync(path.join(require('node:os').tmpdir(), `${prefix}-`));
  const service = new PodmanService({ socketPath: path.join(work, 'podman.sock') });
  const cli = new PodmanRuntime({ defaultStopTimeoutSeconds: 0 });
  let rest;
  const results = [];
  let present = 0;
  const spec = (name) => ({ name, image: IMAGE, ports: [], volumes: [], env: [], cmd: ['sleep', '600'], labels: {} });
  try {
    await run(['podman', 'image', 'exists', IMAGE]);
    const socketPath = await service.start();
    rest = new LibpodRestRuntime({ socketPath, defaultStopTimeoutSeconds: 0 });
    const already = (await rest.list()).length;
    for (const count of counts) {
      while (present < count) await rest.run(spec(`${prefix}-${present++}`));
      const listed = (await rest.list()).length;
      console.error(`runtime-list: ${listed} containers present (${count} of this bench, ${already} others)`);
      results.push(
        await compare({
          id: `runtime-list-${count}`,
          title: `list ${listed} containers: podman CLI vs libpod REST`,
          a: { label: 'CLI `podman ps --all --format json`', fn: () => cli.list() },
          b: { label: 'REST GET /libpod/containers/json', fn: () => rest.list() },
          runs,
          warmup: 2,
        }),
      );
    }
    let serial = 0;
    results.push(
      await compare({
        id: 'runtime-run-remove',
        title: 'run (create+start) then remove one container: podman CLI vs libpod REST',
        a: {
          label: 'CLI run + rm',
          fn: async () => {
            const name = `${prefix}-rw-${serial++}`;
            await cli.run(spec(name));
            await cli.remove({ name, timeoutSeconds: 0 });
          },
        },
        b: {
          label: 'REST run + rm',
          fn: async () => {
            const name = `${prefix}-rw-${serial++}`;
            await rest.run(spec(name));
            await rest.remove({ name, timeoutSeconds: 0 });
          },
        },
        runs: Math.max(3, Math.floor(runs / 3)),
        warmup: 1,
      }),
    );
  } finally {
    if (rest) {
      const ours = (await rest.list()).filter((container) => container.name.startsWith(prefix));
      for (const container of ours) await rest.remove({ name: container.name, timeoutSeconds: 0 });
      rest.close();
    }
    await service.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  const table = markdownTable(results);
  // Both adapters share the machine with whatever else runs: the load average says how quiet it was.
  const load = require('node:os').loadavg().map((value) => value.toFixed(2)).join(' ');
  process.stdout.write(`${table}\nload average at the end (1/5/15 min): ${load}\n`);
  const out = path.join(__dirname, 'results');
  fs.mkdirSync(out, { recursive: true });
  const stamp = new Date().toISOString();
  fs.writeFileSync(path.join(out, 'runtime-list.json'), JSON.stringify({ at: stamp, load, results }, null, 2) + '\n');
  fs.writeFileSync(
    path.join(out, 'runtime-list.md'),
    `# runtime list: CLI vs REST (${stamp})\n\n${table}\nload average at the end (1/5/15 min): ${load}\n`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
