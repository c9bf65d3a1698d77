#!/usr/bin/env node
// `npm run bundle:agent [-- --out FILE] [--version X]`: the agent bundle (SPEC §16) of this
// build, for `mcp node upgrade --bundle FILE`: a gzipped tarball of package.json, bin/, dist/
// programs and the .proto files (libs/common/src/agent-bundle.ts says what and why). Prints
// the file, version, SHA-256 and release name. `--version` stamps another version into the
// bundle's package.json (tests make a "new" release of the same build that way). Needs
// `npm run build` first.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const lib = path.join(root, 'dist', 'libs', 'common', 'src', 'agent-bundle.js');
if (!fs.existsSync(lib)) {
  console.error('bundle:agent: dist/ is not built: run npm run build first');
  process.exit(1);
}
const { bundleFiles, makeBundle, packageVersion, releaseName, sha256Hex, stampedPackageJson } = require(lib);
const args = process.argv.slice(2);
let out;
let version;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out' && args[i + 1]) out = args[++i];
  else if (args[i] === '--version' && args[i + 1]) version = args[++i];
  else if (args[i] === '-h' || args[i] === '--help') {
    console.log('usage: npm run bundle:agent -- [--out FILE] [--version X.Y.Z]');
    process.exit(0);
  } else {
    console.error(`bundle:agent: unknown argument ${args[i]} (see --help)`);
    process.exit(2);
  }
}
if (version !== undefined && !/^\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$/.test(version)) {
  console.error(`bundle:agent: --version must look like 1.2.3, not "${version}"`);
  process.exit(2);
}
version ??= packageVersion(root);
const data = makeBundle(root, bundleFiles(root), { 'package.json': stampedPackageJson(root, version) });
const sha256 = sha256Hex(data);
out ??= path.join(root, 'dist', `mcp-agent-bundle-${version}.tar.gz`);
fs.writeFileSync(out, data);
console.log(JSON.stringify({ file: out, version, sha256, release: releaseName(version, sha256), size: data.length }));
