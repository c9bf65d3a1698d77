#!/usr/bin/env node
'use strict';
// The `mcp` command: the bundled CLI (npm run build makes dist/mcp.js).
//
// Start-up time is a feature: on Node versions with module.enableCompileCache (22.1+) that
// is used; on Node 20 the bundle is compiled through vm.Script with a V8 code cache kept
// next to it (or in the temp folder when dist/ is read-only), keyed by the bundle's size,
// mtime and the Node version. Any cache problem falls back to a plain require.
const Module = require('node:module');
const path = require('node:path');
const bundle = path.join(__dirname, '..', 'dist', 'mcp.js');

function runWithCodeCache() {
  const fs = require('node:fs');
  const os = require('node:os');
  const vm = require('node:vm');
  const stat = fs.statSync(bundle);
  const key = `${stat.size}-${Math.floor(stat.mtimeMs)}-${process.version}`;
  const candidates = [
    path.join(path.dirname(bundle), '.mcp.js.cache'),
    path.join(os.tmpdir(), `mcp-code-cache-${typeof process.getuid === 'function' ? process.getuid() : 'user'}`),
  ];
  let cachedData;
  for (const file of candidates) {
    try {
      const data = fs.readFileSync(file);
      const newline = data.indexOf(10);
      if (newline > 0 && data.subarray(0, newline).toString() === key) {
        cachedData = data.subarray(newline + 1);
        break;
      }
    } catch {
      // no cache there
    }
  }
  const script = new vm.Script(Module.wrap(fs.readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
  const mod = new Module(bundle, module);
  mod.filename = bundle;
  mod.paths = Module._nodeModulePaths(path.dirname(bundle));
  mod.loaded = true;
  const run = script.runInThisContext();
  if (!cachedData || script.cachedDataRejected) {
    // Written once the CLI has done its work, so the functions it compiled are included.
    process.once('exit', () => {
      const data = Buffer.concat([Buffer.from(`${key}\n`), script.createCachedData()]);
      for (const file of candidates) {
        try {
          const temp = `${file}.${process.pid}`;
          fs.writeFileSync(temp, data, { mode: 0o600 });
          fs.renameSync(temp, file);
          return;
        } catch {
          // try the next place
        }
      }
    });
  }
  run.call(mod.exports, mod.exports, Module.createRequire(bundle), mod, bundle, path.dirname(bundle));
}

/** The top-level help captured at build time (scripts/bundle-cli.js), if it is current. */
function helpSnapshot() {
  try {
    const fs = require('node:fs');
    const file = path.join(__dirname, '..', 'dist', 'mcp-help.txt');
    if (fs.statSync(file).mtimeMs < fs.statSync(bundle).mtimeMs) return undefined;
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

const args = process.argv.slice(2);
const help = args.length === 1 && (args[0] === '--help' || args[0] === '-h') ? helpSnapshot() : undefined;
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // No need to load (or even compile) the bundle to print the version.
  process.stdout.write(`${require('../package.json').version}\n`);
} else if (help !== undefined) {
  process.stdout.write(help);
} else if (typeof Module.enableCompileCache === 'function') {
  try {
    Module.enableCompileCache();
  } catch {
    // an optimisation only
  }
  require(bundle);
} else {
  let ready = false;
  try {
    require('node:fs').accessSync(bundle);
    ready = true;
  } catch {
    ready = false;
  }
  if (ready) runWithCodeCache();
  else require(bundle);
}
