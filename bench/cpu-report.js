'use strict';
// Preloaded with `node -r` by bench/cpu-ab.js: at exit, appends this process's CPU time
// (user + sys) and wall time to the file named by MCP_BENCH_CPU_REPORT, one JSON line.
const fs = require('node:fs');

const started = process.hrtime.bigint();
process.on('exit', () => {
  const usage = process.cpuUsage();
  const line = { script: process.argv[1], cpuMs: (usage.user + usage.system) / 1000, wallMs: Number(process.hrtime.bigint() - started) / 1e6 };
  fs.appendFileSync(process.env.MCP_BENCH_CPU_REPORT, `${JSON.stringify(line)}\n`);
});
