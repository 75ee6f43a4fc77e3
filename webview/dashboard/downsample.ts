// Chart data preparation for the dashboard (pure): min/max-per-bucket downsampling that keeps every spike, EMA
// smoothing like TensorBoard's (debiased, so the first points are not pulled towards 0), and aligning series with
// different x values into one uPlot table. A 30,000-step run becomes ~2,000 drawn points; a 3-step run is untouched.

export type Column = (number | null)[];

/**
 * Indices to keep so that the drawn line looks like the full one: the first and last point, and in each of
 * `buckets` equal index ranges the minimum and maximum of every column (so spikes and dips survive). Series of at
 * most 2 × buckets points are returned whole. The result is sorted and has no duplicates.
 */
export function downsampleIndices(columns: readonly Column[], length: number, buckets: number): number[] {
  if (length <= Math.max(2, 2 * buckets)) return Array.from({ length }, (_, i) => i);
  const keep = new Set<number>([0, length - 1]);
  const size = length / buckets;
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size);
    const to = Math.min(length, Math.floor((b + 1) * size));
    for (const column of columns) {
      let minAt = -1;
      let maxAt = -1;
      for (let i = from; i < to; i++) {
        const v = column[i];
        if (v === null || v === undefined || !Number.isFinite(v)) continue;
        if (minAt < 0 || v < (column[minAt] as number)) minAt = i;
        if (maxAt < 0 || v > (column[maxAt] as number)) maxAt = i;
      }
      if (minAt >= 0) keep.add(minAt);
      if (maxAt >= 0) keep.add(maxAt);
    }
  }
  return [...keep].sort((a, b) => a - b);
}

/** Picks `indices` from a column. */
export function pick<T>(column: readonly T[], indices: readonly number[]): T[] {
  return indices.map((i) => column[i]);
}

/**
 * Exponential moving average with bias correction (TensorBoard's smoothing): s_t = w·s_{t-1} + (1-w)·y_t, divided
 * by 1 - w^t. weight 0 returns the input. Nulls pass through and do not advance the average.
 */
export function emaSmooth(values: readonly (number | null)[], weight: number): (number | null)[] {
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return null;
    last = last * weight + (1 - weight) * v;
    n++;
    const debias = 1 - Math.pow(weight, n);
    return debias > 0 ? last / debias : v;
  });
}

/**
 * Merges series with their own x values into one table [xs, ys1, ys2, …] over the sorted union of x (uPlot's
 * aligned-data format); a series has null where it has no point.
 */
export function alignSeries(series: readonly { x: readonly number[]; y: readonly (number | null)[] }[]): [number[], ...Column[]] {
  const xs = [...new Set(series.flatMap((s) => s.x))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const columns = series.map((s) => {
    const column: Column = new Array<number | null>(xs.length).fill(null);
    s.x.forEach((x, i) => {
      column[at.get(x) as number] = s.y[i] ?? null;
    });
    return column;
  });
  return [xs, ...columns];
}
