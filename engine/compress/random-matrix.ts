/**
 * The spectrum of a random Gaussian matrix, the data-free stand-in for weights that are
 * not loaded: engine/ir.ts sizes `svd energy`/`svd error` ranks with it, and
 * engine/auto-compress.ts prices a layer's truncation error with it. Trained weights are
 * usually more compressible, so both over-state the rank and the error.
 *
 * The squared singular values of a random m x n Gaussian matrix, scaled by 1/max(m, n),
 * follow the Marchenko–Pastur law with ratio beta = min/max (Marchenko & Pastur, Math.
 * USSR-Sb. 1(4), 1967): density sqrt((b - x)(x - a)) / (2 pi beta x) on
 * [a, b] = [(1 - sqrt beta)^2, (1 + sqrt beta)^2], mean 1. It is integrated numerically on
 * the grid x = a + (b - a)(1 - cos theta)/2, which puts more points near the edges where the
 * density changes fastest.
 */

/** The law integrated from the top of its support down: at step j, x_j and the mass and energy (sum of x dp) above it. */
interface TailTable {
  x: Float64Array;
  mass: Float64Array;
  energy: Float64Array;
}

/** Integrates the Marchenko–Pastur law of a rows x cols matrix (min(rows, cols) > 1) over `steps` points, from the top down. */
function marchenkoPasturTail(rows: number, cols: number, steps: number): TailTable {
  const beta = Math.min(rows, cols) / Math.max(rows, cols);
  const a = (1 - Math.sqrt(beta)) ** 2;
  const b = (1 + Math.sqrt(beta)) ** 2;
  const h = Math.PI / steps;
  const half = (b - a) / 2;
  const table: TailTable = { x: new Float64Array(steps), mass: new Float64Array(steps), energy: new Float64Array(steps) };
  let mass = 0;
  let energy = 0;
  for (let j = 0; j < steps; j++) {
    const theta = Math.PI - (j + 0.5) * h;
    const x = a + half * (1 - Math.cos(theta));
    const s = Math.sin(theta);
    // p(x) dx = half^2 sin^2(theta) / (2 pi beta x) dtheta; for beta = 1, a = 0 the ratio stays finite.
    const dp = x > 0 ? ((half * half * s * s) / (2 * Math.PI * beta * x)) * h : 0;
    mass += dp;
    energy += dp * x;
    table.x[j] = x;
    table.mass[j] = mass;
    table.energy[j] = energy;
  }
  return table;
}

const rankCache = new Map<string, number>();

/**
 * The smallest rank k whose best rank-k approximation of a random rows x cols Gaussian
 * matrix keeps `energyFraction` of its energy (sum of squared singular values):
 * k = ceil(min(rows, cols) x P(x >= t)) where the top tail above t holds that fraction of
 * the mean (4096 integration steps).
 */
export function randomMatrixRank(rows: number, cols: number, energyFraction: number): number {
  const small = Math.min(rows, cols);
  if (small <= 1 || energyFraction >= 1) return small;
  if (energyFraction <= 0) return 1;
  const key = `${rows},${cols},${energyFraction}`;
  const hit = rankCache.get(key);
  if (hit !== undefined) return hit;
  const { mass, energy } = marchenkoPasturTail(rows, cols, 4096);
  const totalMass = mass[mass.length - 1];
  const totalEnergy = energy[energy.length - 1];
  let k = small;
  for (let j = 0; j < energy.length; j++) {
    if (energy[j] >= energyFraction * totalEnergy) {
      k = Math.min(small, Math.max(1, Math.ceil(small * (mass[j] / totalMass) - 1e-9)));
      break;
    }
  }
  if (rankCache.size > 4096) rankCache.clear();
  rankCache.set(key, k);
  return k;
}

const spectrumCache = new Map<string, Float64Array>();

/**
 * The expected singular values (descending, scaled so the largest squared mean is 1) of a
 * random rows x cols Gaussian matrix: the min(rows, cols) quantiles at (i + 1/2) / r of the
 * law (8192 integration steps). Only ratios of these values matter for relative errors.
 */
export function randomMatrixSpectrum(rows: number, cols: number): Float64Array {
  const r = Math.min(rows, cols);
  if (r <= 1) return Float64Array.of(1);
  const key = `${rows}x${cols}`;
  const hit = spectrumCache.get(key);
  if (hit) return hit;
  const steps = 8192;
  const { x, mass } = marchenkoPasturTail(rows, cols, steps);
  const totalMass = mass[steps - 1];
  const out = new Float64Array(r);
  let j = 0;
  for (let i = 0; i < r; i++) {
    const q = ((i + 0.5) / r) * totalMass;
    while (j < steps - 1 && mass[j] < q) j++;
    out[i] = Math.sqrt(Math.max(0, x[j]));
  }
  if (spectrumCache.size > 256) spectrumCache.clear();
  spectrumCache.set(key, out);
  return out;
}
