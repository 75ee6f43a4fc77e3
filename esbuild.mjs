// Builds the three bundles: extension host (CJS, vscode external), worker + CLI (Node, onnxruntime-node
// external so its native binding loads from node_modules), and the webviews (browser ESM).
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, copyFileSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'info' };
// ESM entry points first: some packages' "main" is a UMD build whose dynamic require() esbuild cannot follow
// (jsonc-parser's lib/umd), while their "module" build bundles cleanly.
const nodeResolution = { mainFields: ['module', 'main'] };

const webviewEntries = ['training-panel', 'dashboard', 'dataset-preview', 'compare', 'compare-methods']
  .map((name) => ({ in: `webview/${name}/main.ts`, out: name }))
  .filter((entry) => existsSync(entry.in));

const builds = [
  {
    ...common,
    entryPoints: ['extension/extension.ts'],
    outfile: 'dist/extension.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    ...nodeResolution,
    external: ['vscode', 'onnxruntime-node'],
  },
  {
    ...common,
    entryPoints: [
      // The executable: a small launcher that loads native/cli.ts lazily (a supervisor of `train` never does).
      { in: 'native/cli-launch.ts', out: 'cli' },
      ...(existsSync('native/worker.ts') ? [{ in: 'native/worker.ts', out: 'worker' }] : []),
      // Chat templates render in worker processes forked from this file (native/data/template-pool.ts), by the CLI,
      // the training worker and the extension host alike.
      { in: 'native/data/template-worker.ts', out: 'template-worker' },
    ],
    outdir: 'dist',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    ...nodeResolution,
    external: ['onnxruntime-node', 'vscode'],
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    ...common,
    entryPoints: webviewEntries,
    outdir: 'dist/webview',
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    loader: { '.css': 'text' },
  },
];

mkdirSync('dist/webview', { recursive: true });
copyFileSync('node_modules/uplot/dist/uPlot.min.css', 'dist/webview/uPlot.min.css');
const codiconCss = 'node_modules/@vscode/codicons/dist/codicon.css';
if (existsSync(codiconCss)) {
  copyFileSync(codiconCss, 'dist/webview/codicon.css');
  copyFileSync('node_modules/@vscode/codicons/dist/codicon.ttf', 'dist/webview/codicon.ttf');
}

if (watch) {
  const contexts = await Promise.all(builds.filter((b) => b.entryPoints.length > 0).map((b) => esbuild.context(b)));
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(builds.filter((b) => b.entryPoints.length > 0).map((b) => esbuild.build(b)));
}
