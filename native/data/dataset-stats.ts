// Length statistics of a dataset (characters or tokens per record): min / median / p95 / max / mean and histogram
// bins. Pure: values in, numbers out. Quantiles use linear interpolation between order statistics (numpy's
// default), found by quickselect so a million records need no full sort.

export interface LengthSummary {
  count: number;
  min: number;
  median: number;
  p95: number;
  max: number;
  mean: number;
}

export interface HistogramBin {
  /** Inclusive lower and exclusive upper edge (the last bin also holds its upper edge). */
  from: number;
  to: number;
  count: number;
}

/** Growable collector of per-record lengths, kept in a typed array (8 bytes per record). */
export class LengthCollector {
  private data = new Float64Array(1024);
  private used = 0;
  push(value: number): void {
    if (this.used === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.used++] = value;
  }
  get length(): number {
    return this.used;
  }
  values(): Float64Array {
    return this.data.subarray(0, this.used);
  }
}

/** Summary of `values` (not modified); null for no values, since min/median of nothing has no honest answer. */
export function summarize(values: ArrayLike<number>): LengthSummary | null {
  const n = values.length;
  if (n === 0) return null;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const work = Float64Array.from(values);
  return { count: n, min, max, mean: sum / n, median: quantileInPlace(work, 0.5), p95: quantileInPlace(work, 0.95) };
}

/** The q-quantile (0..1) with linear interpolation: position q·(n-1) between the two order statistics around it. */
export function quantileInPlace(work: Float64Array, q: number): number {
  if (work.length === 0) throw new RangeError('quantile of no values');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} is outside 0..1`);
  const position = q * (work.length - 1);
  const lower = Math.floor(position);
  const below = select(work, lower);
  if (position === lower) return below;
  // After selecting `lower`, everything right of it is >= it, so the next order statistic is their minimum.
  let above = Infinity;
  for (let i = lower + 1; i < work.length; i++) if (work[i] < above) above = work[i];
  return below + (above - below) * (position - lower);
}

/** Rearranges `a` so a[k] is the k-th smallest, smaller ones left and larger right (Hoare quickselect). */
export function select(a: Float64Array, k: number): number {
  let left = 0;
  let right = a.length - 1;
  while (left < right) {
    // Median of three pivots avoid the quadratic case on sorted input, which datasets often are (by length).
    const mid = (left + right) >>> 1;
    const pivot = medianOf3(a[left], a[mid], a[right]);
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return a[k];
  }
  return a[k];
}

function medianOf3(x: number, y: number, z: number): number {
  if (x < y) return y < z ? y : x < z ? z : x;
  return x < z ? x : y < z ? z : y;
}

/**
 * `binCount` equal-width bins over [min, max] with "nice" integer edges for lengths; empty for no values.
 * A single distinct value gives one bin holding everything.
 */
export function histogram(values: ArrayLike<number>, binCount = 20): HistogramBin[] {
  const n = values.length;
  if (n === 0) return [];
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    if (values[i] < min) min = values[i];
    if (values[i] > max) max = values[i];
  }
  if (min === max) return [{ from: min, to: max, count: n }];
  const width = niceWidth((max - min) / Math.max(1, binCount));
  const start = Math.floor(min / width) * width;
  const bins = Math.max(1, Math.ceil((max - start) / width));
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < n; i++) counts[Math.min(bins - 1, Math.floor((values[i] - start) / width))]++;
  return counts.map((count, b) => ({ from: start + b * width, to: start + (b + 1) * width, count }));
}

/** Rounds a raw bin width up to 1, 2 or 5 times a power of ten (at least 1: lengths are whole numbers). */
export function niceWidth(raw: number): number {
  if (raw <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const step of [1, 2, 5, 10]) if (step * power >= raw) return step * power;
  return 10 * power;
}
