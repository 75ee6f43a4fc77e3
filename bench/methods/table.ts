// bench/methods: the pure half — what a finished run folder says about its method (trainable parameters, adapter
// size, final train loss, eval loss, step time) and the markdown table of all methods. No I/O here: run.ts reads the
// files and hands their text in, so the numbers can be tested on made-up records.

/** The metrics.jsonl fields this table reads. */
export interface StepRecord {
  step: number;
  loss: number;
  elapsed_s: number;
  eval_loss?: number;
}

export interface MethodRow {
  method: string;
  trainableParams: number;
  adapterBytes: number;
  /** Mean train loss of the last `LAST_STEPS` steps (one step is noisy). */
  finalLoss: number;
  /** The last evaluation's loss, when the run evaluated. */
  evalLoss?: number;
  /** Median seconds per optimizer step. */
  stepS: number;
  /**
   * AdaLoRA: the orthogonal regularization its losses include (PEFT's AdaLoraModel.forward adds it to every loss),
   * at the final weights. The table shows the losses less it (the cross-entropy, comparable with the other rows).
   */
  penalty?: number;
}

/** How many final steps the train loss is averaged over. */
export const LAST_STEPS = 10;

/** metrics.jsonl records: blank lines skipped, a torn last line (a run killed mid-write) ignored. */
export function parseMetrics(text: string): StepRecord[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const records: StepRecord[] = [];
  lines.forEach((line, i) => {
    try {
      records.push(JSON.parse(line) as StepRecord);
    } catch (error) {
      if (i < lines.length - 1) throw new Error(`metrics.jsonl:${i + 1}: not JSON (${(error as Error).message})`);
    }
  });
  return records;
}

/** Mean loss of the last `n` steps. */
export function finalTrainLoss(records: readonly StepRecord[], n = LAST_STEPS): number {
  const tail = records.slice(-n);
  if (tail.length === 0) return NaN;
  return tail.reduce((sum, r) => sum + r.loss, 0) / tail.length;
}

/** The last evaluation's loss, or undefined when no record has one. */
export function lastEvalLoss(records: readonly StepRecord[]): number | undefined {
  for (let i = records.length - 1; i >= 0; i--) if (typeof records[i].eval_loss === 'number') return records[i].eval_loss;
  return undefined;
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Median of the elapsed_s differences between consecutive steps. The first step (graph compilation, warm-up) has no
 * predecessor and is left out, and so is every step that also evaluated (its difference holds the eval pass too).
 */
export function medianStepSeconds(records: readonly StepRecord[]): number {
  const deltas: number[] = [];
  for (let i = 1; i < records.length; i++) {
    if (records[i].step !== records[i - 1].step + 1 || typeof records[i].eval_loss === 'number') continue;
    deltas.push(records[i].elapsed_s - records[i - 1].elapsed_s);
  }
  return median(deltas);
}

/**
 * Trainable parameters of a run, from its checkpoint's trainer_state.json `tensors` (name → shape): a tensor is
 * trained when AdamW keeps moments for it (`<name>.exp_avg`). This counts what the run trained, at the shapes it
 * trained them — AdaLoRA's init_r triplets (not the pruned saved ones), PiSSA's r (not the saved 2r), ReLoRA's r per
 * cycle (not the saved k·r), DoRA's magnitudes — which the adapter file alone does not tell.
 */
export function trainableFromState(tensors: Record<string, readonly number[]>): number {
  let total = 0;
  for (const [name, shape] of Object.entries(tensors)) {
    if (name.endsWith('.exp_avg') || name.endsWith('.exp_avg_sq') || !(`${name}.exp_avg` in tensors)) continue;
    total += shape.reduce((a, b) => a * b, 1);
  }
  return total;
}

/**
 * PEFT's AdaLoRA orthogonal regularization: weight × the mean over all lora_A and lora_B of ‖AAᵀ − I‖_F and
 * ‖BᵀB − I‖_F (torch.norm, not squared). A is [r, in] (row-major), B is [out, r].
 */
export function orthRegularization(mats: readonly { kind: 'A' | 'B'; data: Float32Array; rows: number; cols: number }[], weight: number): number {
  if (mats.length === 0) return 0;
  let sum = 0;
  for (const { kind, data, rows, cols } of mats) {
    // A: rows × rows Gram of rows; B: cols × cols Gram of columns.
    const n = kind === 'A' ? rows : cols;
    const len = kind === 'A' ? cols : rows;
    const at = (k: number, i: number) => (kind === 'A' ? data[k * cols + i] : data[i * cols + k]);
    let fro = 0;
    for (let p = 0; p < n; p++) {
      for (let q = 0; q < n; q++) {
        let dot = 0;
        for (let i = 0; i < len; i++) dot += at(p, i) * at(q, i);
        const d = dot - (p === q ? 1 : 0);
        fro += d * d;
      }
    }
    sum += Math.sqrt(fro);
  }
  return (weight * sum) / mats.length;
}

const grouped = (n: number) => Math.round(n).toLocaleString('en-US');

/** Bytes as KiB/MiB with the exact count beside them. */
export function formatBytes(n: number): string {
  const unit = n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
  return `${unit} (${grouped(n)} B)`;
}

/** Seconds per step in ms (steps of a tiny model take well under a second). */
export function formatStepTime(s: number): string {
  return Number.isFinite(s) ? `${Math.round(s * 1000)} ms` : '—';
}

/** The table: a row per method, numbers right-aligned, columns padded so the plain text reads as a table too. */
export function markdownTable(rows: readonly MethodRow[]): string {
  const header = ['method', 'trainable params', 'adapter size', `final train loss (last ${LAST_STEPS})`, 'eval loss', 'median step'];
  // Losses less a regularization term are marked with *: the caller's note says what was taken off.
  const loss = (v: number | undefined, r: MethodRow) =>
    v === undefined || !Number.isFinite(v) ? '—' : r.penalty !== undefined ? `${(v - r.penalty).toFixed(4)}*` : v.toFixed(4);
  const cells = rows.map((r) => [
    r.method, grouped(r.trainableParams), formatBytes(r.adapterBytes), loss(r.finalLoss, r), loss(r.evalLoss, r), formatStepTime(r.stepS),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c].length)));
  const line = (row: string[]) => `| ${row.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (c === 0 ? `${'-'.repeat(w + 2)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...cells.map(line)].join('\n');
}
