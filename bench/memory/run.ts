// bench/memory: peak memory of one LoRA training step, ours vs PyTorch (bench/peers/torch_lora.py with
// torch.utils.checkpoint per layer and bf16 frozen weights cast where used), each side in its own process, peak RSS
// from /usr/bin/time -f %M. Rows: Qwen2.5-0.5B shape (24 layers, bf16, r16 all-linear, batch 1) at 512–4,096 tokens;
// Llama-2-7B and Llama-3-8B shapes with 2 and 4 layers (bf16, r8 q,v) at 512 tokens, projected to 32 layers.
// Both sides read the same model folder, token batches and initial adapter; their first-step losses must agree.
// Usage: npx tsx bench/memory/run.ts [--only qwen|llama|llama2|llama3] [--lengths 512,1024] [--layers 2,4] [--steps 2]
//        [--sides both|ours|peer|nf4|all|ours,nf4,…] [--gradient-checkpointing on|off] [--rss-cap-gb 20] [--timeout-min 60] [--threads 2]
//        [--engine DIR] [--label NAME] [--results DIR] [--malloc-mmap-threshold 131072|default]
//        [--merge A.json,B.json]   (no measuring: the report of earlier runs' rows, later files' sides replacing earlier)
// Sides: ours (the engine, weights as stored), peer (PyTorch), nf4 (ours with --quantization nf4, QLoRA; its NF4 cache
// is made in a process of its own first, under $TMPDIR/bench-memory/nf4-cache, so the measured step only reads it).
// --lengths applies to every selected shape (default: 512,1024,2048,4096 for Qwen, 512 for Llama). A process whose
// process tree passes --rss-cap-gb is killed and its row says "killed". Model folders are cached in $TMPDIR/bench-memory
// (made once, ~1–3 min each; ~12 GB of disk for all five); each run's batches and adapters go to a folder of its own.
// Measure one run at a time: two at once share the cores and may together exhaust the memory.
// Both sides run with MALLOC_MMAP_THRESHOLD_=131072 unless told otherwise: glibc's threshold otherwise grows with each
// freed block (up to 32 MB), so freed per-layer temporaries stay in the heap and count as resident (measured: +1.2 GB
// for the peer on the Qwen row at 512 tokens). Fixed, the peak is the working set, for both sides alike.
// Writes bench/results/<date>-cpu-memory[-label].json (every raw measurement) and .txt (the report).
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { writeFileAtomic } from '../../native/util/atomic-write';
import { parseHfConfig } from '../../native/model/hf-config';
import { initLora, resolveTargets } from '../../native/model/lora';
import { writePeftAdapter } from '../../native/model/peft-io';
import { CACHE_DIR, SHAPES, modelDir, modelReady, readConfigShape, writeBatches, type ShapeKey } from './shapes';
import { agreementLines, attentionLines, projectionLines, summaryLine, tableLines, targetLines, type Row, type SideResult } from './report';

const root = resolve(import.meta.dirname, '..', '..');
const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const numbers = (text: string) => text.split(',').map(Number);
const only = option('--only', 'all');
const steps = Number(option('--steps', '2')), threads = option('--threads', '2'), lr = option('--lr', '2e-4');
const sidesText = option('--sides', 'both');
const sideSet = new Set(sidesText === 'both' ? ['ours', 'peer'] : sidesText === 'all' ? ['ours', 'peer', 'nf4'] : sidesText.split(','));
const checkpointing = option('--gradient-checkpointing', 'on');
const capBytes = Number(option('--rss-cap-gb', '20')) * 1e9;
const timeoutMs = Number(option('--timeout-min', '60')) * 60_000;
const engine = option('--engine', root);
const label = option('--label', '');
const resultsDir = resolve(option('--results', join(root, 'bench', 'results')));
const mallocThreshold = option('--malloc-mmap-threshold', '131072');
const childEnv = {
  ...process.env, LORA_STUDIO_CACHE: join(CACHE_DIR, 'nf4-cache'),
  ...(mallocThreshold === 'default' ? {} : { MALLOC_MMAP_THRESHOLD_: mallocThreshold }),
};
const llamaLayers = numbers(option('--layers', '2,4'));
const lengthsFor = (shape: ShapeKey) => numbers(option('--lengths', shape === 'qwen2.5-0.5b' ? '512,1024,2048,4096' : '512'));
if ([...sideSet].some((s) => !['ours', 'peer', 'nf4'].includes(s)) || !['on', 'off'].includes(checkpointing) || !['all', 'qwen', 'llama', 'llama2', 'llama3'].includes(only)) {
  console.error('usage: npx tsx bench/memory/run.ts [--only qwen|llama|llama2|llama3] [--lengths 512,1024] [--layers 2,4] [--steps 2] [--sides both|ours|peer|nf4|all|ours,nf4] [--gradient-checkpointing on|off]');
  process.exit(2);
}

const selected: { shape: ShapeKey; layers: number; tokens: number }[] = [];
if (only === 'all' || only === 'qwen') for (const tokens of lengthsFor('qwen2.5-0.5b')) selected.push({ shape: 'qwen2.5-0.5b', layers: SHAPES['qwen2.5-0.5b'].fullLayers, tokens });
for (const shape of ['llama2-7b', 'llama3-8b'] as const) {
  if (!(only === 'all' || only === 'llama' || only === shape.slice(0, 6))) continue;
  for (const tokens of lengthsFor(shape)) for (const layers of llamaLayers) selected.push({ shape, layers, tokens });
}

// The first Python with torch: $PYTHON, then python3 on PATH, then Debian's (pyenv shims often hide it).
const merge = option('--merge', '');
const python = merge ? undefined : [process.env.PYTHON, 'python3', '/usr/bin/python3'].find((c) => c && spawnSync(c, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0);
if (!merge && !python && sideSet.has('peer')) {
  console.error('bench/memory: the peer needs python3 with torch and numpy — apt-get install python3-torch python3-numpy libopenblas0-pthread');
  process.exit(2);
}
if (!existsSync('/usr/bin/time')) {
  console.error('bench/memory: needs GNU time for the peak RSS — apt-get install time');
  process.exit(2);
}

/** Resident set of a process and all its descendants, from /proc (0 once it is gone). */
function treeRss(pid: number): { bytes: number; pids: number[] } {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    try {
      for (const task of readdirSync(`/proc/${pids[i]}/task`)) {
        const children = readFileSync(`/proc/${pids[i]}/task/${task}/children`, 'utf8').trim();
        if (children) pids.push(...children.split(/\s+/).map(Number));
      }
    } catch { /* exited meanwhile */ }
  }
  let bytes = 0;
  for (const p of pids) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (match) bytes += Number(match[1]) * 1024;
    } catch { /* exited meanwhile */ }
  }
  return { bytes, pids };
}

/** Runs `command` under /usr/bin/time -f %M, killing its process tree past the RSS cap or the time limit. */
function measure(command: string[], timeFile: string): Promise<SideResult> {
  return new Promise((done) => {
    rmSync(timeFile, { force: true });
    const child = spawn('/usr/bin/time', ['-f', '%M %e', '-o', timeFile, ...command], { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', killedFor: string | undefined;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-20_000);
      process.stderr.write(d);
    });
    const started = Date.now();
    const watch = setInterval(() => {
      const tree = treeRss(child.pid!);
      const over = tree.bytes > capBytes ? `RSS ${(tree.bytes / 1e9).toFixed(1)} GB > cap ${(capBytes / 1e9).toFixed(1)} GB` : Date.now() - started > timeoutMs ? `over ${timeoutMs / 60_000} min` : undefined;
      if (over && !killedFor) {
        killedFor = over;
        // The measured processes (children of /usr/bin/time), youngest first; time itself then reports and exits.
        for (const p of tree.pids.slice(1).reverse()) {
          try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
        }
      }
    }, 200);
    child.on('close', (code) => {
      clearInterval(watch);
      const timeLine = existsSync(timeFile) ? readFileSync(timeFile, 'utf8').trim().split('\n').pop()! : '';
      const [peakKb, wallS] = timeLine.split(' ').map(Number);
      const jsonLine = stdout.trim().split('\n').pop() ?? '';
      let json: SideResult['json'];
      try { json = JSON.parse(jsonLine) as SideResult['json']; } catch { json = undefined; }
      const status = killedFor ? 'killed' : code === 0 && json ? 'ok' : 'failed';
      const note = killedFor ?? (status === 'failed' ? stderr.trim().split('\n').slice(-3).join(' | ') : undefined);
      done({ status, peakKb: Number.isFinite(peakKb) ? peakKb : undefined, wallS: Number.isFinite(wallS) ? wallS : undefined, note, json });
    });
  });
}

// Batches, adapter and time files of this run: its own folder, so that runs at the same time never share a file.
const runDir = join(CACHE_DIR, 'runs', `${label || 'run'}-${process.pid}`);

function ensureModel(shape: ShapeKey, layers: number): string {
  const dir = modelDir(SHAPES[shape], layers);
  if (!modelReady(dir)) {
    console.error(`making ${dir} (once; cached)…`);
    execFileSync(process.execPath, ['--import', 'tsx', join(root, 'bench', 'memory', 'make-model.ts'), shape, String(layers), dir], { cwd: root, stdio: 'inherit' });
  }
  return dir;
}

async function measureRow(shape: ShapeKey, layers: number, tokens: number): Promise<Row> {
  const s = SHAPES[shape];
  const dir = ensureModel(shape, layers);
  const config = readConfigShape(dir);
  const work = join(runDir, `${shape}-${layers}l-${tokens}`);
  mkdirSync(work, { recursive: true });
  const batches = join(work, 'batches.json'), adapter = join(work, 'adapter');
  writeBatches(batches, tokens, config.vocab);
  // PEFT's init (B = 0, so the first step's loss is the base model's on both sides; A matters from the second step).
  const modelConfig = parseHfConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), join(dir, 'config.json'));
  const targets = resolveTargets(modelConfig, s.lora.targets);
  writePeftAdapter(adapter, { config: { r: s.lora.r, lora_alpha: s.lora.alpha, lora_dropout: 0, use_rslora: false }, baseModel: dir, targets, weights: initLora(targets, s.lora.r, 1), dtype: 'float32' });

  const skipped: SideResult = { status: 'skipped' };
  console.error(`— ${s.label} ${layers} layers, ${s.lora.label}, ${tokens} tokens`);
  const oursCommand = [
    process.execPath, '--import', 'tsx', join(root, 'bench', 'memory', 'ours-step.ts'), '--model', dir, '--adapter', adapter, '--batches', batches,
    '--steps', String(steps), '--lr', lr, '--gradient-checkpointing', checkpointing, '--engine', engine,
  ];
  const ours: SideResult = !sideSet.has('ours') ? skipped : await measure(oursCommand, join(work, 'ours.time'));
  if (ours.status !== 'skipped') ours.engine = describeEngine(engine, gitInfo());
  let nf4: SideResult = skipped;
  if (sideSet.has('nf4')) {
    execFileSync(oursCommand[0], [...oursCommand.slice(1), '--quantization', 'nf4', '--prepare'], { cwd: root, env: childEnv, stdio: ['ignore', 'ignore', 'inherit'] });
    nf4 = await measure([...oursCommand, '--quantization', 'nf4'], join(work, 'nf4.time'));
    nf4.engine = describeEngine(engine, gitInfo());
  }
  const peer = !sideSet.has('peer') ? skipped : await measure([
    python as string, join(root, 'bench', 'peers', 'torch_lora.py'), '--model', dir, '--adapter', adapter, '--batches', batches,
    '--steps', String(steps), '--warmup', '0', '--threads', threads, '--lr', lr, '--checkpoint', '--weights-dtype', 'bf16',
  ], join(work, 'peer.time'));
  for (const [name, side] of [['ours', ours], ['peer', peer], ['nf4', nf4]] as const) {
    if (side.status !== 'skipped') console.error(`   ${name}: ${side.status}${side.peakKb ? `, peak ${(side.peakKb * 1024 / 1e9).toFixed(2)} GB` : ''}${side.wallS ? `, ${side.wallS.toFixed(0)} s` : ''}${side.note ? ` (${side.note})` : ''}`);
  }
  return { shape, layers, tokens, config, ours, peer, nf4 };
}

/** The engine folder, with the commit when it is this checkout (an exported copy is named by its commit). */
function describeEngine(dir: string, git?: { commit: string; native_dirty: boolean }): string {
  return resolve(dir) === root && git ? `${dir} @ ${git.commit.slice(0, 7)}${git.native_dirty ? ' + uncommitted native/' : ''}` : dir;
}

function gitInfo(): { commit: string; native_dirty: boolean } | undefined {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'native'], { cwd: root, encoding: 'utf8' }).trim() !== '';
    return { commit, native_dirty: dirty };
  } catch {
    return undefined;
  }
}

/** Rows of earlier runs' JSON files, one per (shape, layers, tokens); a later file's side replaces an earlier one unless skipped. */
function mergedRows(files: string[]): Row[] {
  const byKey = new Map<string, Row>();
  for (const file of files) {
    const data = JSON.parse(readFileSync(file, 'utf8')) as { rows: Row[]; engine: string; git?: { commit: string; native_dirty: boolean } };
    for (const r of data.rows) {
      const key = `${r.shape}:${r.layers}:${r.tokens}`;
      const prev = byKey.get(key);
      const ours = r.ours.status === 'skipped' ? prev?.ours ?? r.ours : { ...r.ours, engine: r.ours.engine ?? describeEngine(data.engine, data.git) };
      const nf4 = !r.nf4 || r.nf4.status === 'skipped' ? prev?.nf4 ?? r.nf4 : r.nf4;
      byKey.set(key, { ...r, ours, peer: r.peer.status === 'skipped' && prev ? prev.peer : r.peer, nf4 });
    }
  }
  const order = Object.keys(SHAPES);
  return [...byKey.values()].sort((a, b) => order.indexOf(a.shape) - order.indexOf(b.shape) || a.tokens - b.tokens || a.layers - b.layers);
}

/** The printed report and the raw JSON of these rows. */
function render(rows: Row[], started: number, partial: boolean): { text: string; raw: unknown } {
  const ortVersion = (JSON.parse(readFileSync(join(root, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')) as { version: string }).version;
  const peerName = rows.map((r) => r.peer.json?.peer).find((p) => typeof p === 'string');
  // What the rows were measured with: these flags, or (merging) the first merged file's.
  type Options = { steps: number; threads: string; gradient_checkpointing: boolean; malloc_mmap_threshold: string };
  const measuredWith = merge
    ? (JSON.parse(readFileSync(merge.split(',')[0], 'utf8')) as { engine: string; options: Options })
    : { engine, options: { steps, threads, lr: Number(lr), sides: sidesText, gradient_checkpointing: checkpointing === 'on', rss_cap_bytes: capBytes, malloc_mmap_threshold: mallocThreshold } };
  const o = measuredWith.options;
  const engines = [...new Set(rows.map((r) => r.ours.engine).filter((e): e is string => e !== undefined))];
  const header = [
    `bench/memory: peak RSS of one training step (max over ${o.steps} steps, batch 1), ours vs PyTorch peer (checkpoint per layer, bf16 weights cast where used); GB = 10^9 bytes`,
    `ours: gradient_checkpointing ${o.gradient_checkpointing ? 'on' : 'off'} in RunConfig (engines before that field ignore it), engine ${engines.join('; ') || 'not run'}; peer: ${peerName ?? 'not run'}, ${o.threads} threads; MALLOC_MMAP_THRESHOLD_ ${o.malloc_mmap_threshold}`,
    ...(merge ? [`merged from ${merge.split(',').map((f) => basename(f)).join(', ')}`] : []),
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 1e9).toFixed(1)} GB RAM, Node ${process.version}, onnxruntime-node ${ortVersion}`,
  ];
  const text = [
    ...header, '', ...tableLines(rows), '',
    'first-step losses (both sides widen the same bf16 weights exactly):', ...agreementLines(rows), '',
    ...projectionLines(rows), '', ...attentionLines(rows), '',
    'targets:', ...targetLines(rows), '',
    summaryLine(rows),
  ].join('\n');
  const raw = {
    date: new Date().toISOString().slice(0, 10), label, partial, command: `npx tsx bench/memory/run.ts ${args.join(' ')}`.trim(), total_s: (Date.now() - started) / 1000,
    machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, total_mem_bytes: totalmem(), kernel: release() },
    versions: { node: process.version, onnxruntime_node: ortVersion, peer: peerName ?? null },
    merged_from: merge ? merge.split(',') : undefined, git: gitInfo(), engine: measuredWith.engine, engines_measured: engines, options: o,
    rows: rows.map((r) => ({ shape: r.shape, label: SHAPES[r.shape].label, layers: r.layers, lora: SHAPES[r.shape].lora, tokens: r.tokens, config: r.config, ours: r.ours, peer: r.peer, nf4: r.nf4 })),
  };
  return { text, raw };
}

async function main(): Promise<void> {
  const started = Date.now();
  const base = join(resultsDir, `${new Date().toISOString().slice(0, 10)}-cpu-memory${label ? `-${label}` : ''}`);
  mkdirSync(resultsDir, { recursive: true });
  const save = (rows: Row[], partial: boolean) => {
    const { text, raw } = render(rows, started, partial);
    writeFileAtomic(`${base}.json`, `${JSON.stringify(raw, null, 2)}\n`);
    writeFileAtomic(`${base}.txt`, `${text}\n`);
    return text;
  };
  const rows: Row[] = [];
  if (merge) rows.push(...mergedRows(merge.split(',')));
  for (const r of merge ? [] : selected) {
    rows.push(await measureRow(r.shape, r.layers, r.tokens));
    save(rows, true); // "partial" until the end: an interrupted run keeps the rows it measured
  }
  const text = save(rows, false);
  rmSync(runDir, { recursive: true, force: true });
  console.error(`wrote ${base}.json and .txt`);
  console.log(text);
}

void main();
