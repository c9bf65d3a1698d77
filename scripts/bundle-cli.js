#!/usr/bin/env node
// Bundles the two programs from tsc's output (dist/), never from TypeScript: esbuild would
// drop decorator metadata and break Nest's DI. Our own `@mcp/*` libs are inlined (tsc does
// not rewrite path aliases). The agent keeps node_modules external (native better-sqlite3,
// TypeORM's dynamic requires); the CLI is one file for start-up time, minus the packages
// Nest loads lazily and never uses here.
const esbuild = require('esbuild');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const libs = ['registry', 'runtime', 'servicedef', 'mcproxy', 'auth', 'common', 'acme', 'oci', 'deployer', 'alerts', 'interop', 'metrics', 'restic'];

const aliasPlugin = {
  name: 'mcp-alias',
  setup(build) {
    build.onResolve({ filter: /^@mcp\// }, (args) => {
      const name = args.path.slice('@mcp/'.length);
      const file =
        name === 'proto'
          ? path.join(dist, 'proto', 'index.js')
          : libs.includes(name)
            ? path.join(dist, 'libs', name, 'src', 'index.js')
            : undefined;
      if (!file) return { errors: [{ text: `unknown alias ${args.path}` }] };
      return { path: file };
    });
  },
};

// While files are mid-edit (MCP_BUILD_ALLOW_TYPE_ERRORS=1, see scripts/build.js), a relative
// import whose file does not exist yet is left external with a warning instead of failing the
// bundle; a normal build has already failed in tsc by then.
const missingRelativePlugin = {
  name: 'mcp-missing-relative',
  setup(build) {
    if (process.env.MCP_BUILD_ALLOW_TYPE_ERRORS !== '1') return;
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      const base = path.resolve(args.resolveDir, args.path);
      if (['', '.js', '/index.js'].some((ext) => fs.existsSync(base + ext))) return undefined;
      console.warn(`bundle: ${args.path} (from ${path.relative(root, args.importer)}) does not exist; left external`);
      return { path: args.path, external: true };
    });
  },
};

/**
 * nest-commander loads inquirer (for @Question prompts) and cosmiconfig (for `usePlugins`) at
 * start-up; the mcp CLI uses neither (it has its own prompter, and no plugins), and together
 * they cost ~80 ms of CPU per invocation. Replace them with stand-ins that fail loudly if
 * anything ever does call them.
 */
const unusedStandIns = {
  name: 'mcp-unused-stand-ins',
  setup(build) {
    // Nest's lazy require of class-validator (ValidationPipe, unused by the CLI) stays outside
    // the bundle; MCP's own deep imports of it (libs/common/src/toml-validation.ts) are bundled.
    build.onResolve({ filter: /^class-validator$/ }, () => ({ path: 'class-validator', external: true }));
    build.onResolve({ filter: /^(inquirer|cosmiconfig)$/ }, (args) => ({ path: args.path, namespace: 'mcp-stand-in' }));
    build.onLoad({ filter: /.*/, namespace: 'mcp-stand-in' }, (args) => ({
      loader: 'js',
      contents:
        args.path === 'inquirer'
          ? "module.exports = { prompt() { throw new Error('inquirer is not bundled into the mcp CLI'); } };"
          : "module.exports = { cosmiconfig() { throw new Error('cosmiconfig is not bundled into the mcp CLI'); } };",
    }));
  },
};

const lazyExternal = [
  '@nestjs/websockets',
  '@nestjs/websockets/*',
  '@nestjs/platform-express',
  '@nestjs/typeorm',
  'kafkajs',
  'ioredis',
  'mqtt',
  'amqplib',
  'amqp-connection-manager',
  'nats',
  '@fastify/*',
  'class-transformer/storage',
  'typescript',
  'prettier',
  'better-sqlite3',
  'typeorm',
];

async function bundle(entry, outfile, { extraPlugins = [], ...options }) {
  if (!fs.existsSync(entry)) return;
  await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    logLevel: 'warning',
    plugins: [aliasPlugin, missingRelativePlugin, ...extraPlugins],
    ...options,
  });
}

/**
 * `mcp --help` is the command people run first and most; booting Nest and nest-commander to
 * print it costs several times `node -e 0`. Capture the top-level help from the bundle just
 * built, so bin/mcp.js can print it without loading anything. bin/mcp.js only uses it when it
 * is newer than the bundle, so a stale copy is never shown.
 */
function writeHelpSnapshot() {
  const bundlePath = path.join(dist, 'mcp.js');
  if (!fs.existsSync(bundlePath)) return;
  const { spawnSync } = require('node:child_process');
  const result = spawnSync(process.execPath, [bundlePath, '--help'], {
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (result.status !== 0 || !result.stdout) {
    throw new Error(`mcp --help failed while building the help snapshot: ${result.stderr}`);
  }
  fs.writeFileSync(path.join(dist, 'mcp-help.txt'), result.stdout);
}

/**
 * The `mcp ui` page: app.ts (browser code, typechecked by scripts/build.js against the DOM
 * library) bundled and minified for the browser, the stylesheet minified, the HTML shell and
 * icon copied. The CLI serves exactly these files from dist/ui/, next to dist/mcp.js.
 */
async function bundleDashboard() {
  const web = path.join(root, 'apps', 'cli', 'src', 'ui', 'web');
  const out = path.join(dist, 'ui');
  fs.mkdirSync(out, { recursive: true });
  const common = { bundle: true, minify: true, legalComments: 'none', logLevel: 'warning', target: ['chrome110', 'firefox115', 'safari16'] };
  await esbuild.build({ ...common, entryPoints: [path.join(web, 'app.ts')], outfile: path.join(out, 'app.js'), format: 'iife', platform: 'browser' });
  await esbuild.build({ ...common, entryPoints: [path.join(web, 'app.css')], outfile: path.join(out, 'app.css') });
  for (const file of ['index.html', 'icon.svg']) fs.copyFileSync(path.join(web, file), path.join(out, file));
}

/**
 * The agent is a long-running daemon whose idle memory is a feature (bench P7): every module
 * it loads keeps its source text and compiled code on the heap for the life of the process.
 * node_modules stay external, so only what is loaded costs memory (bundling a package puts all
 * its reachable files' text on the heap, used or not) -- except TypeORM: its DriverFactory
 * imports all 17 drivers, and through them every other database's query runner (~2 MB of
 * source). Bundled, those imports resolve to stand-ins that throw if one is ever constructed
 * (the registry only uses better-sqlite3), so a wrong driver fails loudly, never silently.
 */
const TYPEORM_DRIVER_KEPT = './better-sqlite3/BetterSqlite3Driver';
const agentPackages = {
  name: 'mcp-agent-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@mcp/') || args.path === 'typeorm' || args.path.startsWith('typeorm/')) return undefined;
      return { path: args.path, external: true };
    });
    build.onResolve({ filter: /^\.\/[a-z0-9-]+\/[A-Za-z0-9]+Driver$/ }, (args) => {
      if (!args.importer.endsWith(path.join('typeorm', 'driver', 'DriverFactory.js')) || args.path === TYPEORM_DRIVER_KEPT) return undefined;
      return { path: args.path, namespace: 'mcp-typeorm-driver-stand-in' };
    });
    build.onLoad({ filter: /.*/, namespace: 'mcp-typeorm-driver-stand-in' }, (args) => {
      const name = args.path.split('/').pop();
      return {
        loader: 'js',
        contents: `class ${name} { constructor() { throw new Error('the ${name} TypeORM driver is not bundled into mcp-agent (the registry uses better-sqlite3)'); } }\nmodule.exports = { ${name} };`,
      };
    });
  },
};

(async () => {
  await bundleDashboard();
  await bundle(path.join(dist, 'apps', 'agent', 'src', 'main.js'), path.join(dist, 'mcp-agent.js'), {
    extraPlugins: [agentPackages],
    // No comments (they hold non-ASCII text, which would make V8 keep the whole source as
    // a two-byte string) and no indentation: the source stays on the heap.
    minifyWhitespace: true,
    keepNames: true,
  });
  await bundle(path.join(dist, 'apps', 'cli', 'src', 'main.js'), path.join(dist, 'mcp.js'), {
    external: lazyExternal,
    extraPlugins: [unusedStandIns],
    // The agent API parsed here once (scripts/agent-proto-json.js), not by every `mcp` run.
    define: { MCP_AGENT_PROTO_JSON: JSON.stringify(JSON.stringify(require('./agent-proto-json').agentProtoJson())) },
  });
  writeHelpSnapshot();
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
