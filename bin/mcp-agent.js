#!/usr/bin/env -S node --max-semi-space-size=1 --optimize-for-size --no-opt
'use strict';
// The `mcp-agent` command (npm run build makes dist/mcp-agent.js).
//
// The flags on the line above are the agent's memory settings (bench P7, RUNBOOK "Agent
// memory"); `env -S` applies them whenever the file is run as a program (the systemd unit runs
// it through the /usr/local/bin/mcp-agent link). Run as `node bin/mcp-agent.js` they do not
// apply, which is fine for tests. Measured on 100 services: see bench/results/issue-13.md.
require('../dist/mcp-agent.js');
