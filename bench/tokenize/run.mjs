// bench/tokenize: bundles bench.ts and the template worker with esbuild as the product is bundled (esbuild.mjs), so
// the workers start as they do for users (not through tsx, which compiles TypeScript in every worker), then runs it.
// Usage: node bench/tokenize/run.mjs [--records N]
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
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
const result = spawnSync(process.execPath, [join(out, 'bench.js'), ...process.argv.slice(2)], { stdio: 'inherit', cwd: root });
process.exit(result.status ?? 1);
