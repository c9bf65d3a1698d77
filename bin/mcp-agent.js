#!/usr/bin/env node
'use strict';
// The `mcp-agent` command (npm run build makes dist/mcp-agent.js).
require('../dist/mcp-agent.js');
