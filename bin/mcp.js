#!/usr/bin/env node
'use strict';
// The `mcp` command: the bundled CLI (npm run build makes dist/mcp.js).
try {
  require('node:module').enableCompileCache?.();
} catch {
  // compile cache is an optimisation only
}
require('../dist/mcp.js');
