// Lets a child process `require` the project's TypeScript sources (libs/*, test/*) the way
// Jest does: swc transpiles each .ts file on load, `@mcp/<lib>` resolves to libs/<lib>/src.
// For tests that need the real code in a process of its own (e.g. to SIGKILL it mid-way):
//   node -r ./test/support/ts-register.js child.ts
'use strict';
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const swc = require('@swc/core');

const ROOT = path.resolve(__dirname, '..', '..');
const ALIASES = { '@mcp/proto': path.join(ROOT, 'proto', 'index.ts') };

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (ALIASES[request]) return ALIASES[request];
  const lib = /^@mcp\/([a-z-]+)(\/testing)?$/.exec(request);
  if (lib) return path.join(ROOT, 'libs', lib[1], 'src', lib[2] ? 'testing' : '', 'index.ts');
  return resolve.call(this, request, ...rest);
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
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};
