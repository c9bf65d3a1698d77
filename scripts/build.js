#!/usr/bin/env node
// `npm run build`: generate proto types, compile with tsc (which keeps decorator metadata),
// then bundle tsc's JS with esbuild (scripts/bundle-cli.js). Type errors fail the build
// unless MCP_BUILD_ALLOW_TYPE_ERRORS=1 (tsc still emits, for working while files are mid-edit).
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const step = (what, file, args) => {
  console.log(`build: ${what}`);
  execFileSync(file, args, { cwd: root, stdio: 'inherit' });
};

step('proto', process.execPath, [path.join(root, 'scripts', 'gen-proto.js')]);
try {
  step('tsc', bin('tsc'), ['-p', 'tsconfig.build.json']);
} catch (err) {
  if (process.env.MCP_BUILD_ALLOW_TYPE_ERRORS !== '1') {
    console.error('build: tsc reported errors (set MCP_BUILD_ALLOW_TYPE_ERRORS=1 to bundle anyway)');
    process.exit(typeof err.status === 'number' ? err.status : 1);
  }
  console.warn('build: continuing despite type errors (MCP_BUILD_ALLOW_TYPE_ERRORS=1)');
}
try {
  step('tsc (dashboard page)', bin('tsc'), ['-p', path.join('apps', 'cli', 'src', 'ui', 'web', 'tsconfig.json')]);
} catch (err) {
  if (process.env.MCP_BUILD_ALLOW_TYPE_ERRORS !== '1') process.exit(typeof err.status === 'number' ? err.status : 1);
}
step('bundle', process.execPath, [path.join(root, 'scripts', 'bundle-cli.js')]);
console.log('build: done');
