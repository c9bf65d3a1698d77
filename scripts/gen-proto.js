#!/usr/bin/env node
// Generates TypeScript types for proto/ with ts-proto, driven by buf's own compiler
// (both ship in the npm registry, so this works offline). The output is committed;
// CI regenerates it and fails if it differs.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'proto', 'gen');
fs.rmSync(out, { recursive: true, force: true });
execFileSync(path.join(root, 'node_modules', '.bin', 'buf'), ['generate'], { cwd: root, stdio: 'inherit' });
console.log('proto: generated', out);
