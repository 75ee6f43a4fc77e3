// bench/validate: validating a 100k-record JSONL file with `lora-studio validate`, against `jq -c . >/dev/null`
// (which only parses) on the same file in the same run. Median of 5 runs after one warm-up; ours/peer last.
// Usage: node bench/validate/run.mjs [--records N]   (needs `npm run build` and jq on PATH)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');
const count = Number(process.argv.includes('--records') ? process.argv[process.argv.indexOf('--records') + 1] : 100_000);
const file = join(mkdtempSync(join(tmpdir(), 'bench-validate-')), 'data.jsonl');
const lines = [];
for (let i = 0; i < count; i += 1) {
  lines.push(i % 2 === 0
    ? JSON.stringify({ instruction: `Summarize note ${i} about the release schedule.`, input: `Note ${i}: the build moved to Thursday; QA signs off on Friday.`, output: `Build on Thursday, QA sign-off Friday (note ${i}).` })
    : JSON.stringify({ instruction: `Translate item ${i} to French.`, output: `Élément ${i}, s'il vous plaît.` }));
}
writeFileSync(file, lines.join('\n') + '\n');

function time(command, args) {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`);
  return seconds;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function measure(command, args) {
  time(command, args);
  return median(Array.from({ length: 5 }, () => time(command, args)));
}

const check = JSON.parse(execFileSync(process.execPath, [join(root, 'dist', 'cli.js'), 'validate', '--json', file], { encoding: 'utf8' }));
if (check.records !== count || check.errors.length !== 0) throw new Error(`validation disagrees: ${JSON.stringify(check).slice(0, 200)}`);
const ours = measure(process.execPath, [join(root, 'dist', 'cli.js'), 'validate', file]);
const peer = measure('jq', ['-c', '.', file]);
const mb = statSync(file).size / 1e6;
console.log(`file: ${count.toLocaleString('en-US')} records, ${mb.toFixed(1)} MB`);
console.log(`lora-studio validate: ${ours.toFixed(3)} s (${(mb / ours).toFixed(0)} MB/s, includes Node start-up)`);
console.log(`jq -c . >/dev/null:   ${peer.toFixed(3)} s (${(mb / peer).toFixed(0)} MB/s)`);
console.log(`ours/jq time ratio: ${(ours / peer).toFixed(2)} (${ours < 1 ? 'under' : 'OVER'} the 1 s target)`);
