// bench/memory: turns the raw measurements into the printed report — the table (ours vs peer peak RSS per row), the
// Llama projections with their formulas, the attention term, the issue's targets — and the ours/peer summary line.
// GB here is 10^9 bytes (the stricter reading of the targets); /usr/bin/time's %M is KiB.
import { lossChunkTokens } from '../../native/model/block-sizes';
import { LOSS_CHUNK_TENSORS, SHAPES, attentionBytes, embedHeadBytes, layerWeightBytes, lossWorkingSetBytes, type ConfigShape, type ShapeKey } from './shapes';

export interface SideResult {
  /** ok; failed (non-zero exit); killed (over the RSS cap or the time limit); skipped (not run). */
  status: 'ok' | 'failed' | 'killed' | 'skipped';
  peakKb?: number;
  wallS?: number;
  note?: string;
  /** Ours only: the engine measured (its folder, and its commit when it is a git checkout). */
  engine?: string;
  /** The side's JSON line (ours-step.ts or torch_lora.py). */
  json?: { losses?: number[]; step_s?: number[]; setup_s?: number; [key: string]: unknown };
}

export interface Row {
  shape: ShapeKey;
  layers: number;
  tokens: number;
  config: ConfigShape;
  ours: SideResult;
  peer: SideResult;
  /** Ours with --quantization nf4 (QLoRA), when measured. */
  nf4?: SideResult;
}

const GB = 1e9;
const gb = (bytes: number) => bytes / GB;
export const peakBytes = (side: SideResult) => (side.status === 'ok' && side.peakKb !== undefined ? side.peakKb * 1024 : undefined);
/** A killed side's peak is a lower bound: '>x.xx'. */
const fmtGb = (bytes: number | undefined, side?: SideResult) =>
  bytes !== undefined ? gb(bytes).toFixed(2) : side?.status === 'killed' && side.peakKb ? `>${gb(side.peakKb * 1024).toFixed(2)}` : side && side.status !== 'skipped' ? side.status : '—';
const pad = (s: string, n: number) => s.padStart(n);

export function ratio(row: Row): number | undefined {
  const o = peakBytes(row.ours), p = peakBytes(row.peer);
  return o !== undefined && p !== undefined ? o / p : undefined;
}

/** The ratio, or a bound ('>x' / '<x') when one side was killed at the cap. */
function ratioText(row: Row): string {
  const q = ratio(row);
  if (q !== undefined) return q.toFixed(2);
  const o = row.ours.peakKb, p = row.peer.peakKb;
  if (o && p && row.ours.status === 'killed' && row.peer.status === 'ok') return `>${(o / p).toFixed(2)}`;
  if (o && p && row.ours.status === 'ok' && row.peer.status === 'killed') return `<${(o / p).toFixed(2)}`;
  return '—';
}

export function firstLossDiff(row: Row): number | undefined {
  const o = row.ours.json?.losses?.[0], p = row.peer.json?.losses?.[0];
  return o !== undefined && p !== undefined ? Math.abs(o - p) : undefined;
}

export function tableLines(rows: Row[]): string[] {
  const withNf4 = rows.some((r) => r.nf4 && r.nf4.status !== 'skipped');
  const head = ['model shape', 'layers', 'LoRA', 'tokens', 'ours GB', 'peer GB', 'ours/peer', 'attn/layer MB', 'loss ours', 'loss peer', 'ours step s', 'peer step s', ...(withNf4 ? ['NF4 GB', 'loss NF4', 'NF4 step s'] : [])];
  const widths = [14, 6, 15, 6, 8, 8, 9, 13, 10, 10, 11, 11, 8, 10, 10];
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 2 ? c.padEnd(widths[i]) : pad(c, widths[i]))).join('  ');
  const lastStep = (side: SideResult) => side.json?.step_s?.at(-1)?.toFixed(1) ?? '—';
  const out = [line(head)];
  for (const r of rows) {
    out.push(line([
      SHAPES[r.shape].label, String(r.layers), SHAPES[r.shape].lora.label, String(r.tokens), fmtGb(peakBytes(r.ours), r.ours), fmtGb(peakBytes(r.peer), r.peer),
      ratioText(r), (attentionBytes(r.config, r.tokens) / 2 ** 20).toFixed(0),
      r.ours.json?.losses?.[0]?.toFixed(5) ?? '—', r.peer.json?.losses?.[0]?.toFixed(5) ?? '—', lastStep(r.ours), lastStep(r.peer),
      ...(withNf4 ? [r.nf4 ? fmtGb(peakBytes(r.nf4), r.nf4) : '—', r.nf4?.json?.losses?.[0]?.toFixed(5) ?? '—', r.nf4 ? lastStep(r.nf4) : '—'] : []),
    ]));
  }
  return out;
}

export interface Projection {
  side: 'ours' | 'peer' | 'nf4';
  shape: ShapeKey;
  tokens: number;
  /** The two largest layer counts measured for this side, shape and length, and their peaks. */
  layersA: number;
  layersB: number;
  peakA: number;
  peakB: number;
  perLayer: number;
  peak32: number;
}

/**
 * Per layer = (peakB − peakA)/(B − A) for the two largest layer counts measured (2 and 4, or 4 and 8 when 8 is
 * measured: the farther from the step's fixed costs and the allocator's growth steps, the truer the slope);
 * peak32 = peakB + (32 − B)·per-layer, per side, shape and length.
 */
export function projections(rows: Row[]): Projection[] {
  const out: Projection[] = [];
  for (const shape of ['llama2-7b', 'llama3-8b'] as const) {
    for (const tokens of [...new Set(rows.filter((r) => r.shape === shape).map((r) => r.tokens))]) {
      for (const side of ['ours', 'peer', 'nf4'] as const) {
        const peakOf = (r: Row) => (r[side] ? peakBytes(r[side]!) : undefined);
        const measured = rows
          .filter((r) => r.shape === shape && r.tokens === tokens && peakOf(r) !== undefined)
          .map((r) => ({ layers: r.layers, peak: peakOf(r)! }))
          .sort((a, b) => a.layers - b.layers);
        if (measured.length < 2) continue;
        const [a, b] = measured.slice(-2);
        const perLayer = (b.peak - a.peak) / (b.layers - a.layers);
        out.push({ side, shape, tokens, layersA: a.layers, layersB: b.layers, peakA: a.peak, peakB: b.peak, perLayer, peak32: b.peak + (32 - b.layers) * perLayer });
      }
    }
  }
  return out;
}

export function projectionLines(rows: Row[]): string[] {
  const out: string[] = [];
  const all = projections(rows);
  for (const p of all) {
    const [A, B] = [p.layersA, p.layersB];
    out.push(`${SHAPES[p.shape].label} ${p.tokens} tokens, ${p.side}: per layer = (peak${B} − peak${A})/${B - A} = (${gb(p.peakB).toFixed(3)} − ${gb(p.peakA).toFixed(3)})/${B - A} = ${gb(p.perLayer).toFixed(3)} GB; `
      + (B === 32 ? `peak32 measured: ${gb(p.peak32).toFixed(2)} GB` : `peak32 = peak${B} + ${32 - B}·per-layer = ${gb(p.peakB).toFixed(3)} + ${32 - B}·${gb(p.perLayer).toFixed(3)} = ${gb(p.peak32).toFixed(2)} GB`));
  }
  // Llama-3-8B from Llama-2-7B's measurement: its layers differ in weights (GQA k/v, a wider MLP), not in the hidden
  // size the saved activations have, so per-layer = w3 + (perLayer2 − w2); its vocabulary changes the embedding/head
  // bytes and the chunked loss's working set.
  const l2 = rows.find((r) => r.shape === 'llama2-7b'), l3 = rows.find((r) => r.shape === 'llama3-8b');
  const l3Config: ConfigShape = l3?.config ?? { vocab: 128256, hidden: 4096, heads: 32, kvHeads: 8, headDim: 128, intermediate: 14336, tied: false, qkvBias: false };
  for (const p of all.filter((x) => x.shape === 'llama2-7b' && x.side !== 'nf4')) {
    if (!l2) break;
    const w2 = layerWeightBytes(l2.config), w3 = layerWeightBytes(l3Config);
    const e2 = embedHeadBytes(l2.config), e3 = embedHeadBytes(l3Config);
    const s2 = lossWorkingSetBytes(l2.config.vocab, p.tokens), s3 = lossWorkingSetBytes(l3Config.vocab, p.tokens);
    const derived = p.peak32 + 32 * (w3 - w2) + (e3 - e2) + (s3 - s2);
    const measured = all.find((x) => x.shape === 'llama3-8b' && x.side === p.side && x.tokens === p.tokens);
    out.push(`Llama-3-8B ${p.tokens} tokens, ${p.side}, derived from Llama-2-7B: peak32(L3) = peak32(L2) + 32·(w3 − w2) + (E3 − E2) + (S3 − S2) = `
      + `${gb(p.peak32).toFixed(2)} + 32·(${gb(w3).toFixed(3)} − ${gb(w2).toFixed(3)}) + (${gb(e3).toFixed(3)} − ${gb(e2).toFixed(3)}) + (${gb(s3).toFixed(3)} − ${gb(s2).toFixed(3)}) = ${gb(derived).toFixed(2)} GB`
      + (measured ? `; measured projection above: ${gb(measured.peak32).toFixed(2)} GB (${gb(measured.peak32 - derived) >= 0 ? '+' : ''}${gb(measured.peak32 - derived).toFixed(2)} GB of vocabulary-sized terms the formula does not know; use the measured one)` : ''));
  }
  if (all.some((p) => p.shape === 'llama2-7b')) {
    out.push(`  w = one layer's bf16 weights; E = embedding + head bf16 (2·V·4096·2 bytes); S = the chunked loss's working set ${LOSS_CHUNK_TENSORS}·min(T, chunk)·V·4 bytes, `
      + `chunk = lossChunkTokens(V) (native/model/block-sizes.ts): ${lossChunkTokens(32000)} tokens at V = 32,000, ${lossChunkTokens(128256)} at V = 128,256`);
  }
  return out;
}

export function attentionLines(rows: Row[]): string[] {
  const seen = new Set<string>();
  const out = ['attention scores of one layer computed whole, H·T·T·4 bytes (its softmax is as big): with layers recomputed, the one term quadratic in T, unless attention runs in blocks of query rows:'];
  for (const r of rows) {
    const key = `${r.shape}:${r.tokens}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(`  ${SHAPES[r.shape].label} H=${r.config.heads} T=${r.tokens}: ${r.config.heads}·${r.tokens}·${r.tokens}·4 = ${(attentionBytes(r.config, r.tokens) / 2 ** 20).toFixed(0)} MiB`);
  }
  return out;
}

export interface Target {
  what: string;
  value: string;
  met: boolean | undefined;
}

export function targets(rows: Row[]): Target[] {
  const out: Target[] = [];
  const qwen = (t: number) => rows.find((r) => r.shape === 'qwen2.5-0.5b' && r.tokens === t);
  const q1024 = qwen(1024), q4096 = qwen(4096);
  const p1024 = q1024 && peakBytes(q1024.ours);
  out.push({ what: 'Qwen2.5-0.5B shape, 1,024 tokens: ours ≤ 3.0 GB', value: p1024 === undefined ? (q1024 ? `${q1024.ours.status}${q1024.ours.note ? ` (${q1024.ours.note})` : ''}` : 'not run') : `${gb(p1024).toFixed(2)} GB`, met: p1024 === undefined ? (q1024 && q1024.ours.status !== 'skipped' ? false : undefined) : p1024 <= 3.0 * GB });
  out.push({ what: 'Qwen2.5-0.5B shape, 4,096 tokens trainable here', value: q4096 ? `${q4096.ours.status}${q4096.ours.note ? ` (${q4096.ours.note})` : ''}` : 'not run', met: q4096 && q4096.ours.status !== 'skipped' ? q4096.ours.status === 'ok' : undefined });
  const l2 = projections(rows).filter((p) => p.side === 'ours' && p.shape === 'llama2-7b' && p.tokens === 512)[0];
  out.push({ what: 'Llama-2-7B shape: ours ≤ 0.45 GB per layer (512 tokens)', value: l2 ? `${gb(l2.perLayer).toFixed(3)} GB` : 'not measured', met: l2 ? l2.perLayer <= 0.45 * GB : undefined });
  out.push({ what: `Llama-2-7B ${l2?.layersB === 32 ? 'measured at 32 layers' : 'projected'}, r8 q,v, 512 tokens: ours ≤ 16 GB`, value: l2 ? `${gb(l2.peak32).toFixed(2)} GB` : 'not measured', met: l2 ? l2.peak32 <= 16 * GB : undefined });
  const q2 = projections(rows).filter((p) => p.side === 'nf4' && p.shape === 'llama2-7b' && p.tokens === 512)[0];
  if (q2) out.push({ what: `Llama-2-7B QLoRA (NF4) ${q2.layersB === 32 ? 'measured at 32 layers' : 'projected'}, r8 q,v, 512 tokens: ≤ 6 GB`, value: `${gb(q2.peak32).toFixed(2)} GB`, met: q2.peak32 <= 6 * GB });
  const ratios = rows.map(ratio).filter((x): x is number => x !== undefined);
  const worst = ratios.length ? Math.max(...ratios) : undefined;
  out.push({ what: 'ours/peer peak ≤ 1.0 at every row', value: worst === undefined ? 'no row with both sides' : `max ${worst.toFixed(2)} over ${ratios.length} rows`, met: worst === undefined ? undefined : worst <= 1.0 });
  return out;
}

export function targetLines(rows: Row[]): string[] {
  return targets(rows).map((t) => `  ${t.met === undefined ? '  ?  ' : t.met ? ' met ' : ' MISS'}  ${t.what}: ${t.value}`);
}

export function agreementLines(rows: Row[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    const d = firstLossDiff(r);
    if (d === undefined) continue;
    const o = r.ours.json?.losses ?? [], p = r.peer.json?.losses ?? [];
    const later = o.slice(1).map((x, i) => (p[i + 1] === undefined ? '' : `step ${i + 2} |diff| ${Math.abs(x - p[i + 1]).toExponential(1)}`)).filter(Boolean).join(', ');
    out.push(`  ${SHAPES[r.shape].label} ${r.layers}L ${r.tokens} tokens: first-step loss |ours − peer| = ${d.toExponential(2)} ${d <= 1e-3 ? '(agree ≤ 1e-3)' : 'DISAGREE (> 1e-3): the two sides compute different models'}${later ? `; ${later}` : ''}`);
  }
  return out;
}

/** The last line: ours/peer per row and the worst. */
export function summaryLine(rows: Row[]): string {
  const parts = rows.map((r) => `${SHAPES[r.shape].label} ${r.layers}L ${r.tokens} ${ratioText(r)}`);
  const ratios = rows.map(ratio).filter((x): x is number => x !== undefined);
  const worst = ratios.length ? `max ${Math.max(...ratios).toFixed(2)}` : 'no row with both sides';
  return `ours/peer peak RSS: ${parts.join(' · ')}; ${worst} (target ≤ 1.0)`;
}
