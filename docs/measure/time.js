// A protected measure script: runs a command ROUNDS times as a child process, timed from outside it,
// and writes the median to the metrics file. A run that fails (a failing benchmark check, a failing
// test) fails the experiment. The measured code gets neither this process's clock nor the metrics
// file's path, and its output is kept apart from this script's.
//   usage: node measure/time.js METRIC ROUNDS COMMAND [ARGS...]
//   e.g.   node measure/time.js runtime_ms 5 node bench.js
const { spawnSync } = require("node:child_process");
const { writeFileSync } = require("node:fs");
const [metric, rounds, command, ...args] = process.argv.slice(2);
const { AUTORESEARCH_METRICS_FILE: metricsFile, ...env } = process.env;
const times = [];
for (let round = 0; round < Number(rounds); round++) {
  const start = process.hrtime.bigint();
  const run = spawnSync(command, args, { env, stdio: ["ignore", "ignore", "inherit"] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.status !== 0) {
    console.error(`${command} ${args.join(" ")} failed (${run.status ?? run.signal ?? run.error}) in round ${round + 1}`);
    process.exit(1);
  }
  times.push(ms);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
writeFileSync(metricsFile, JSON.stringify({ [metric]: median, [`${metric}_fastest`]: times[0] }));
console.log(`${metric}: ${median.toFixed(2)} (fastest ${times[0].toFixed(2)}, ${times.length} rounds)`);
