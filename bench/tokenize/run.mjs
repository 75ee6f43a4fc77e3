// bench/tokenize: bundles bench.ts and the template worker with esbuild as the product is bundled (esbuild.mjs), so
// the workers start as they do for users (not through tsx, which compiles TypeScript in every worker), then runs it.
// Usage: node bench/tokenize/run.mjs [--out bench/results/DATE-tokenize.txt] [bench.ts's options]
// --out also writes the output there (atomically), headed by the commit, the date and the machine's load average.
import * as esbuild from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');
// Inside the repository, so the bundle resolves the fixture tokenizer's package from node_modules.
const out = join(root, 'node_modules', '.cache', 'bench-tokenize');
mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: [{ in: join(root, 'bench/tokenize/bench.ts'), out: 'bench' }, { in: join(root, 'native/data/template-worker.ts'), out: 'template-worker' }],
  outdir: out, bundle: true, platform: 'node', format: 'cjs', target: 'node20', mainFields: ['module', 'main'], logLevel: 'warning',
  external: ['onnxruntime-node'],
});
const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const outFile = outAt >= 0 ? resolve(args[outAt + 1]) : undefined;
if (outAt >= 0) args.splice(outAt, 2);
const header = `# node bench/tokenize/run.mjs ${args.join(' ')} at ${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim()}` +
  ` on ${new Date().toISOString()}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;
const result = spawnSync(process.execPath, [join(out, 'bench.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'], cwd: root, encoding: 'utf8' });
process.stdout.write(result.stdout);
if (outFile && result.status === 0) {
  writeFileSync(`${outFile}.tmp`, `${header}\n${result.stdout}`);
  renameSync(`${outFile}.tmp`, outFile);
}
process.exit(result.status ?? 1);
