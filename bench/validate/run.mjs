// bench/validate: `lora-studio validate` on (1) a file of many small records and (2) one record of one 200 MB line,
// against peers on the same file in the same run: `jq -c . >/dev/null` and a Node script that reads the file whole
// (fs.readFileSync) and JSON.parses each line. Both peers only parse; ours also checks the schema, locates problems,
// and streams (memory: one chunk plus the longest line). Median after one warm-up; each command includes its start-up.
// Case (2) was quadratic before forEachLine (issue 19: 120 s reported, 11 s here); the target is < 5 s.
// Usage: node bench/validate/run.mjs [--records N] [--line-mb M] [--runs K]   (needs `npm run build` and jq on PATH)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');
const flag = (name, fallback) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback);
const count = flag('--records', 100_000);
const lineMb = flag('--line-mb', 200);
const runs = flag('--runs', 3);
const dir = mkdtempSync(join(tmpdir(), 'bench-validate-'));
const cli = join(root, 'dist', 'cli.js');

const small = join(dir, 'small.jsonl');
const lines = [];
for (let i = 0; i < count; i += 1) {
  lines.push(i % 2 === 0
    ? JSON.stringify({ instruction: `Summarize note ${i} about the release schedule.`, input: `Note ${i}: the build moved to Thursday; QA signs off on Friday.`, output: `Build on Thursday, QA sign-off Friday (note ${i}).` })
    : JSON.stringify({ instruction: `Translate item ${i} to French.`, output: `Élément ${i}, s'il vous plaît.` }));
}
writeFileSync(small, lines.join('\n') + '\n');
// Prose with a newline escape every ~80 characters, as a long document pasted into one record would be.
const long = join(dir, 'long.jsonl');
const sentence = 'The build moved to Thursday; QA signs off on Friday, and the release notes follow.\n';
const text = sentence.repeat(Math.ceil((lineMb * 1e6) / sentence.length)).slice(0, lineMb * 1e6);
writeFileSync(long, JSON.stringify({ instruction: 'Summarize this document.', output: text }) + '\n');

// The peer that reads the whole file and parses each line (what a simple script would do).
const nodePeer = `const fs = require('fs'); for (const l of fs.readFileSync(process.argv[1], 'utf8').split('\\n')) if (l.trim()) JSON.parse(l);`;
const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** Seconds and peak resident memory (MiB, when GNU time is there) of one run. */
function time(command, args) {
  const [cmd, argv] = gnuTime ? [gnuTime, ['-f', '%M', command, ...args]] : [command, args];
  const started = process.hrtime.bigint();
  const result = spawnSync(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 20 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  const rssKb = gnuTime ? Number(result.stderr.trim().split('\n').pop()) : NaN;
  return { seconds, rssMib: rssKb / 1024 };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function measure(command, args) {
  time(command, args);
  const samples = Array.from({ length: runs }, () => time(command, args));
  return { seconds: median(samples.map((s) => s.seconds)), rssMib: Math.max(...samples.map((s) => s.rssMib)) };
}
const rss = (m) => (Number.isFinite(m.rssMib) ? `, peak ${m.rssMib.toFixed(0)} MiB` : '');

function bench(file, records, label) {
  const check = JSON.parse(execFileSync(process.execPath, [cli, 'validate', '--json', file], { encoding: 'utf8', maxBuffer: 1 << 24 }));
  if (check.records !== records || check.errors.length !== 0) throw new Error(`validation disagrees: ${JSON.stringify(check).slice(0, 200)}`);
  const mb = statSync(file).size / 1e6;
  const ours = measure(process.execPath, [cli, 'validate', file]);
  const jq = measure('jq', ['-c', '.', file]);
  const parse = measure(process.execPath, ['-e', nodePeer, file]);
  console.log(`${label}: ${records.toLocaleString('en-US')} record(s), ${mb.toFixed(1)} MB`);
  console.log(`  lora-studio validate:          ${ours.seconds.toFixed(3)} s (${(mb / ours.seconds).toFixed(0)} MB/s${rss(ours)})`);
  console.log(`  jq -c . >/dev/null:            ${jq.seconds.toFixed(3)} s (${(mb / jq.seconds).toFixed(0)} MB/s${rss(jq)})`);
  console.log(`  readFileSync + JSON.parse:     ${parse.seconds.toFixed(3)} s (${(mb / parse.seconds).toFixed(0)} MB/s${rss(parse)})`);
  return { ours, jq, parse };
}

try {
  const many = bench(small, count, 'many small lines');
  const one = bench(long, 1, `one ${lineMb} MB line`);
  console.log(`many small lines: ours/jq ${(many.ours.seconds / many.jq.seconds).toFixed(2)}, ours/JSON.parse ${(many.ours.seconds / many.parse.seconds).toFixed(2)} (time)`);
  console.log(`one ${lineMb} MB line: ${one.ours.seconds.toFixed(2)} s (${one.ours.seconds < 5 ? 'under' : 'OVER'} the 5 s target); ours/jq ${(one.ours.seconds / one.jq.seconds).toFixed(2)}, ours/JSON.parse ${(one.ours.seconds / one.parse.seconds).toFixed(2)} (time)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
