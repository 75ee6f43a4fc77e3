// Dense float64 linear algebra for initializations computed from the base weights: Householder QR with LAPACK's
// sign convention (geqrf, as torch.linalg.qr: R's diagonal is −sign(a)·‖a‖), a one-sided Jacobi SVD for tall thin
// panels (Hestenes 1958), and the top-k SVD of a large matrix W [rows, cols] by subspace iteration on k columns:
// PiSSA (native/model/svd-init.ts) needs only the k leading singular triplets, never a full 4096×4096 SVD.
// Row-major throughout; W may be float32 (read once per product, accumulated in float64).
import { mulberry32 } from '../util/random';

/** Y [rows, q] = W [rows, cols] · X [cols, q]. */
export function mulW(W: ArrayLike<number>, rows: number, cols: number, X: Float64Array, q: number): Float64Array {
  const Y = new Float64Array(rows * q);
  for (let i = 0; i < rows; i++) {
    const y = i * q;
    for (let c = 0; c < cols; c++) {
      const w = W[i * cols + c];
      if (w === 0) continue;
      const x = c * q;
      for (let j = 0; j < q; j++) Y[y + j] += w * X[x + j];
    }
  }
  return Y;
}

/** Y [cols, q] = Wᵀ · X, W [rows, cols], X [rows, q]. */
export function mulWt(W: ArrayLike<number>, rows: number, cols: number, X: Float64Array, q: number): Float64Array {
  const Y = new Float64Array(cols * q);
  for (let i = 0; i < rows; i++) {
    const x = i * q;
    for (let c = 0; c < cols; c++) {
      const w = W[i * cols + c];
      if (w === 0) continue;
      const y = c * q;
      for (let j = 0; j < q; j++) Y[y + j] += w * X[x + j];
    }
  }
  return Y;
}

/**
 * Householder QR of M [m, n] (row-major), k = min(m, n, kMax) reflectors: Q [m, k] with orthonormal columns and
 * R [k, n] (upper trapezoidal) with M's first k columns = Q·R[:, :k] and, for k = min(m, n), M = Q·R. The reflectors
 * are LAPACK's dlarfg (β = −sign(α)·‖(α, x)‖), so Q and R equal torch.linalg.qr's (mode 'reduced') up to rounding.
 */
export function householderQr(M: ArrayLike<number>, m: number, n: number, kMax = Math.min(m, n)): { Q: Float64Array; R: Float64Array; k: number } {
  const k = Math.min(m, n, kMax);
  const a = Float64Array.from(M as ArrayLike<number>);
  const taus = new Float64Array(k);
  const vs: Float64Array[] = [];
  const w = new Float64Array(n);
  for (let j = 0; j < k; j++) {
    const alpha = a[j * n + j];
    let xnorm2 = 0;
    for (let i = j + 1; i < m; i++) xnorm2 += a[i * n + j] * a[i * n + j];
    const v = new Float64Array(m - j);
    v[0] = 1;
    if (xnorm2 === 0) {
      taus[j] = 0;
      vs.push(v);
      continue;
    }
    const beta = -Math.sign(alpha || 1) * Math.hypot(alpha, Math.sqrt(xnorm2));
    const tau = (beta - alpha) / beta;
    const inv = 1 / (alpha - beta);
    for (let i = j + 1; i < m; i++) v[i - j] = a[i * n + j] * inv;
    taus[j] = tau;
    vs.push(v);
    // Apply H = I − τ v vᵀ to the columns right of j; column j becomes (β, 0, …).
    w.fill(0, j + 1);
    for (let i = j; i < m; i++) {
      const vi = v[i - j], row = i * n;
      for (let c = j + 1; c < n; c++) w[c] += vi * a[row + c];
    }
    for (let i = j; i < m; i++) {
      const f = tau * v[i - j], row = i * n;
      for (let c = j + 1; c < n; c++) a[row + c] -= f * w[c];
    }
    a[j * n + j] = beta;
    for (let i = j + 1; i < m; i++) a[i * n + j] = 0;
  }
  const R = new Float64Array(k * n);
  for (let i = 0; i < k; i++) for (let c = i; c < n; c++) R[i * n + c] = a[i * n + c];
  // Q = H₀ H₁ … H_{k−1} applied to the first k columns of the identity, the last reflector first.
  const Q = new Float64Array(m * k);
  for (let i = 0; i < k; i++) Q[i * k + i] = 1;
  const u = new Float64Array(k);
  for (let j = k - 1; j >= 0; j--) {
    const v = vs[j], tau = taus[j];
    if (tau === 0) continue;
    u.fill(0);
    for (let i = j; i < m; i++) {
      const vi = v[i - j], row = i * k;
      for (let c = 0; c < k; c++) u[c] += vi * Q[row + c];
    }
    for (let i = j; i < m; i++) {
      const f = tau * v[i - j], row = i * k;
      for (let c = 0; c < k; c++) Q[row + c] -= f * u[c];
    }
  }
  return { Q, R, k };
}

/**
 * SVD of a tall thin X [m, q] (m ≥ q) by one-sided Jacobi: X = U·diag(S)·Wᵀ with U [m, q], W [q, q] orthogonal,
 * S descending. Rotations until every column pair is orthogonal to float64 precision.
 */
export function thinSvd(X: Float64Array, m: number, q: number): { U: Float64Array; S: Float64Array; W: Float64Array } {
  const cols = Array.from({ length: q }, (_, j) => {
    const c = new Float64Array(m);
    for (let i = 0; i < m; i++) c[i] = X[i * q + j];
    return c;
  });
  const wCols = Array.from({ length: q }, (_, j) => {
    const c = new Float64Array(q);
    c[j] = 1;
    return c;
  });
  const rotate = (x: Float64Array, y: Float64Array, c: number, s: number) => {
    for (let i = 0; i < x.length; i++) {
      const a = x[i], b = y[i];
      x[i] = c * a - s * b;
      y[i] = s * a + c * b;
    }
  };
  for (let sweep = 0; sweep < 100; sweep++) {
    let rotated = false;
    for (let p = 0; p < q - 1; p++) {
      for (let r = p + 1; r < q; r++) {
        const x = cols[p], y = cols[r];
        let alpha = 0, beta = 0, gamma = 0;
        for (let i = 0; i < m; i++) {
          alpha += x[i] * x[i];
          beta += y[i] * y[i];
          gamma += x[i] * y[i];
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t), s = c * t;
        rotate(x, y, c, s);
        rotate(wCols[p], wCols[r], c, s);
      }
    }
    if (!rotated) break;
  }
  const norms = cols.map((c) => Math.sqrt(c.reduce((sum, v) => sum + v * v, 0)));
  const order = norms.map((_, j) => j).sort((a, b) => norms[b] - norms[a]);
  const U = new Float64Array(m * q), S = new Float64Array(q), W = new Float64Array(q * q);
  order.forEach((j, out) => {
    S[out] = norms[j];
    const inv = norms[j] > 0 ? 1 / norms[j] : 0;
    for (let i = 0; i < m; i++) U[i * q + out] = cols[j][i] * inv;
    for (let i = 0; i < q; i++) W[i * q + out] = wCols[j][i];
  });
  return { U, S, W };
}

/** Standard normal draws (Box–Muller on mulberry32): torch.randn's role in svd_lowrank, seeded. */
function gaussian(count: number, seed: number): Float64Array {
  const random = mulberry32(seed);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    const u = 1 - random(), v = random();
    const radius = Math.sqrt(-2 * Math.log(u));
    out[i] = radius * Math.cos(2 * Math.PI * v);
    if (i + 1 < count) out[i + 1] = radius * Math.sin(2 * Math.PI * v);
  }
  return out;
}

export interface TruncatedSvd {
  /** U [rows, k], S [k] descending, V [cols, k]: W ≈ U·diag(S)·Vᵀ. */
  U: Float64Array;
  S: Float64Array;
  V: Float64Array;
  k: number;
  /** Subspace iterations done (each is a product with W and one with Wᵀ). */
  iterations: number;
  /** Exact mode: whether every kept triplet met the tolerance. Randomized (niter) mode: always true. */
  converged: boolean;
}

export interface TruncatedSvdOptions {
  seed: number;
  /**
   * torch.svd_lowrank(W, q=k, niter) as PEFT's `pissa_niter_N` calls it (Halko et al. 2011, Alg. 4.4 with q = k, no
   * oversampling): a randomized range, `niter` power iterations. Absent: the exact top-k, iterated to `tol`.
   */
  niter?: number;
  /** Exact mode: ‖Wᵀuᵢ − σᵢvᵢ‖ ≤ tol·σ₁ for each kept triplet (default 1e-10). */
  tol?: number;
  /** Exact mode: the most iterations (default 1000). */
  maxIterations?: number;
}

/**
 * The k leading singular triplets of W [rows, cols]. As torch's svd_lowrank for cols > q, it finds an orthonormal
 * basis Q [cols, q] of the row space, SVDs the thin W·Q = U·S·Gᵀ and returns V = Q·G; then W·vᵢ = σᵢuᵢ exactly and the
 * residual ‖Wᵀuᵢ − σᵢvᵢ‖ measures convergence. Exact mode iterates with q = min(2k + 8, rows, cols) columns (the
 * extra ones speed convergence: the error shrinks like (σ_{q+1}/σ_k)² per iteration) until the residuals meet `tol`.
 */
export function truncatedSvd(W: ArrayLike<number>, rows: number, cols: number, k: number, options: TruncatedSvdOptions): TruncatedSvd {
  const small = Math.min(rows, cols);
  if (k > small) throw new Error(`rank ${k} exceeds the matrix's smaller side ${small}`);
  const exact = options.niter === undefined;
  const q = exact ? Math.min(2 * k + 8, small) : k;
  const tol = options.tol ?? 1e-10;
  const maxIterations = exact ? (options.maxIterations ?? 1000) : options.niter!;
  // Basis of the row space: Q = qr(Wᵀ·G), G [rows, q] Gaussian (get_approximate_basis on Wᵀ).
  let Q = householderQr(mulWt(W, rows, cols, gaussian(rows * q, options.seed), q), cols, q).Q;
  let iterations = 0;
  for (;;) {
    const { U, S, W: G } = thinSvd(mulW(W, rows, cols, Q, q), rows, q);
    const V = mulSmall(Q, cols, q, G);
    if (!exact && iterations >= maxIterations) return pick(U, S, V, rows, cols, q, k, iterations, true);
    const X = mulWt(W, rows, cols, U, q);
    if (exact) {
      let worst = 0;
      for (let j = 0; j < k; j++) {
        let sum = 0;
        for (let c = 0; c < cols; c++) {
          const d = X[c * q + j] - S[j] * V[c * q + j];
          sum += d * d;
        }
        worst = Math.max(worst, Math.sqrt(sum));
      }
      const converged = worst <= tol * Math.max(S[0], Number.MIN_VALUE) || q === small;
      if (converged || iterations >= maxIterations) return pick(U, S, V, rows, cols, q, k, iterations, converged);
    }
    Q = householderQr(X, cols, q).Q;
    iterations++;
  }
}

/** C [m, q] = A [m, q] · G [q, q]. */
function mulSmall(A: Float64Array, m: number, q: number, G: Float64Array): Float64Array {
  const C = new Float64Array(m * q);
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < q; l++) {
      const a = A[i * q + l];
      if (a === 0) continue;
      for (let j = 0; j < q; j++) C[i * q + j] += a * G[l * q + j];
    }
  }
  return C;
}

function pick(U: Float64Array, S: Float64Array, V: Float64Array, rows: number, cols: number, q: number, k: number, iterations: number, converged: boolean): TruncatedSvd {
  const take = (M: Float64Array, n: number) => {
    const out = new Float64Array(n * k);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) out[i * k + j] = M[i * q + j];
    return out;
  };
  return { U: take(U, rows), S: S.slice(0, k), V: take(V, cols), k, iterations, converged };
}
