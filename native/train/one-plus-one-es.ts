// A (1+1) evolution strategy with the one-fifth success rule: the gradient-free search LoRAHub's weights need.
// LoRAHub calls Nevergrad, whose choice for a few dimensions and a budget of tens of evaluations is a (1+1)-type
// method. No npm package offers CMA-ES or a (1+1)-ES ("cmaes" and "cma-es" do not exist; fmin 0.0.4 has Nelder–Mead
// and conjugate gradients only), so it is written here: thirty lines, tested on known functions.
// One parent, one Gaussian child per evaluation; the child replaces the parent when no worse. The step size grows by
// exp(1/3) on a success and shrinks by exp(-1/12) on a failure, so it is stable exactly at a 1/5 success rate
// (Rechenberg 1973; the constants of Kern et al. 2004, "Learning probability distributions in continuous
// evolutionary algorithms", section 3.1). Candidates are clipped to the box, as Nevergrad's bounded arrays are.
// Ask/tell, so the caller owns the evaluations (and can stop between them).
import { mulberry32 } from '../util/random';

export interface EsOptions {
  /** The starting point (evaluated first). */
  x0: readonly number[];
  /** The initial step size (standard deviation of a coordinate's mutation). */
  sigma0: number;
  /** Box bounds for every coordinate. */
  lower: number;
  upper: number;
  seed: number;
}

export class OnePlusOneEs {
  private parent: { x: number[]; f: number } | undefined;
  private stepSize: number;
  private readonly random: () => number;
  private spare: number | undefined;
  private evaluations = 0;

  constructor(private readonly opts: EsOptions) {
    if (!(opts.sigma0 > 0)) throw new Error(`sigma0 must be > 0, got ${opts.sigma0}`);
    if (!(opts.lower < opts.upper)) throw new Error(`lower bound ${opts.lower} must be below upper bound ${opts.upper}`);
    this.stepSize = opts.sigma0;
    this.random = mulberry32(opts.seed);
  }

  /** The next point to evaluate: x0 first, then a mutation of the best point so far. */
  ask(): number[] {
    if (!this.parent) return this.opts.x0.map((v) => this.clip(v));
    return this.parent.x.map((v) => this.clip(v + this.stepSize * this.gaussian()));
  }

  /** The value at the point `ask` gave; a non-finite value counts as a failure. */
  tell(x: readonly number[], f: number): void {
    this.evaluations += 1;
    const value = Number.isFinite(f) ? f : Infinity;
    if (!this.parent) {
      this.parent = { x: [...x], f: value };
      return;
    }
    if (value <= this.parent.f) {
      this.parent = { x: [...x], f: value };
      this.stepSize *= Math.exp(1 / 3);
    } else {
      this.stepSize *= Math.exp(-1 / 12);
    }
  }

  /** The best point and its value (undefined before the first tell). */
  get best(): { x: number[]; f: number } | undefined {
    return this.parent && { x: [...this.parent.x], f: this.parent.f };
  }

  get sigma(): number {
    return this.stepSize;
  }

  get count(): number {
    return this.evaluations;
  }

  private clip(v: number): number {
    return Math.min(this.opts.upper, Math.max(this.opts.lower, v));
  }

  /** A standard normal draw (Box–Muller, both values used). */
  private gaussian(): number {
    if (this.spare !== undefined) {
      const z = this.spare;
      this.spare = undefined;
      return z;
    }
    const u = 1 - this.random(); // (0, 1]: log(0) never happens
    const v = this.random();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spare = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }
}
