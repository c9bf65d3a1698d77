'use strict';
// Preloaded into the agent by bench/soak.js only (`node --expose-gc -r bench/agent-memory-probe.js
// bin/mcp-agent.js …`), never by the product: on SIGUSR2 it runs a full garbage collection and
// writes process.memoryUsage() to the file named by MCP_BENCH_MEMORY_FILE, so the soak can tell
// a growing JavaScript heap (a leak) from resident memory V8 does not own (code, SQLite's page
// cache, malloc arenas and their fragmentation).
const fs = require('node:fs');

const file = process.env.MCP_BENCH_MEMORY_FILE;
if (file && typeof global.gc === 'function') {
  let seq = 0;
  process.on('SIGUSR2', () => {
    global.gc();
    global.gc();
    seq += 1;
    fs.writeFileSync(`${file}.tmp`, JSON.stringify({ seq, ...process.memoryUsage() }));
    fs.renameSync(`${file}.tmp`, file);
  });
}
