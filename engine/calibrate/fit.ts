/**
 * Fits a processor's roofline parameters to measured op latencies: the cost model of
 * engine/cost-model.ts,
 *
 *   latencyMs = overheadMs + max(macs / computeMacsPerS, bytes / bandwidthBytesPerS) x 1000,
 *
 * summed over the parts of a sample that covers several ops. Pure and deterministic.
 *
 * Method. With a = 1000 / compute (ms per MAC) and b = 1000 / bandwidth (ms per byte) a
 * part is compute-bound exactly when its intensity macs / bytes is at least b / a, so
 * for a fixed split of the parts by intensity the prediction is linear in
 * (overhead, a, b): n x overhead + a x (MACs of the compute-bound parts) + b x (bytes of
 * the memory-bound parts). For every split (each threshold between distinct
 * intensities, plus all-compute and all-memory) the weighted non-negative least-squares
 * solution is found exactly (every subset of free parameters, 3 unknowns), the true
 * roofline loss of each candidate is evaluated, and the best is kept. Residuals are
 * relative ((predicted - measured) / measured), so a 2 us op counts as much as a 2 ms
 * one. Robustness: iteratively reweighted least squares, Huber weights (k = 1.345) then
 * Tukey's bisquare (c = 4.685), on the residual scale 1.4826 x median |residual|
 * (at least 1 %); samples with zero bisquare weight are reported as outliers.
 *
 * A parameter the data cannot determine (no sample is compute-bound, or none is
 * memory-bound) comes out as the bound the data imply: the slowest figure that leaves
 * every sample in the other regime, flagged `computeIdentified` / `bandwidthIdentified`
 * false.
 */

/** One measured unit: a single op (`macs`, `bytes`) or several (`parts`). */
export interface FitSample {
  macs: number;
  bytes: number;
  /** The ops the measurement covers, when more than one (each pays the overhead). */
  parts?: readonly { macs: number; bytes: number }[];
  measuredMs: number;
}

/** Roofline parameters of one processor. */
export interface RooflineParams {
  computeMacsPerS: number;
  bandwidthBytesPerS: number;
  overheadMs: number;
}

/** The result of {@link fitRoofline}. */
export interface RooflineFit extends RooflineParams {
  /** Relative residual per sample: (predicted - measured) / measured. */
  residuals: number[];
  /** Robust weight per sample in the final iteration (0: rejected as an outlier). */
  weights: number[];
  /** Indices of the samples rejected as outliers. */
  outliers: number[];
  /** Median |relative residual| over the samples that are not outliers. */
  medianAbsRelError: number;
  /** False when no sample was compute-bound: computeMacsPerS is then a lower bound. */
  computeIdentified: boolean;
  /** False when no sample was memory-bound: bandwidthBytesPerS is then a lower bound. */
  bandwidthIdentified: boolean;
}

interface Part {
  macs: number;
  bytes: number;
  sample: number;
}

function partsOf(s: FitSample): readonly { macs: number; bytes: number }[] {
  return s.parts && s.parts.length > 0 ? s.parts : [{ macs: s.macs, bytes: s.bytes }];
}

/** The model's latency for `sample` with parameters (overhead, a ms/MAC, b ms/byte). */
function predictAb(s: FitSample, o: number, a: number, b: number): number {
  let t = 0;
  for (const p of partsOf(s)) t += o + Math.max(a * p.macs, b * p.bytes);
  return t;
}

/** The model's latency for `sample` with `params` (the cost model's formula, summed over parts). */
export function predictMs(params: RooflineParams, sample: Pick<FitSample, 'macs' | 'bytes' | 'parts'>): number {
  const a = 1000 / params.computeMacsPerS;
  const b = Number.isFinite(params.bandwidthBytesPerS) ? 1000 / params.bandwidthBytesPerS : 0;
  return predictAb({ ...sample, measuredMs: 0 }, params.overheadMs, a, b);
}

/** Solves the k x k system m x = v (Gaussian elimination, partial pivoting); undefined when singular. */
export function solve(m: number[][], v: number[]): number[] | undefined {
  const k = v.length;
  const A = m.map((row, i) => [...row, v[i]]);
  for (let c = 0; c < k; c++) {
    let piv = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(A[r][c]) > Math.abs(A[piv][c])) piv = r;
    const scale = Math.max(...A.map((row) => Math.abs(row[c])));
    if (Math.abs(A[piv][c]) <= 1e-12 * (scale || 1)) return undefined;
    [A[c], A[piv]] = [A[piv], A[c]];
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = A[r][c] / A[c][c];
      for (let j = c; j <= k; j++) A[r][j] -= f * A[c][j];
    }
  }
  return A.map((row, i) => row[k] / row[i]);
}

/**
 * Weighted non-negative least squares for 3 unknowns: min sum w_i (X_i . x - y_i)^2 with
 * x >= 0, exactly, by solving every subset of free unknowns and keeping the best feasible.
 */
function nnls3(X: readonly number[][], y: readonly number[], w: readonly number[]): number[] {
  // Columns are scaled to unit norm first: MACs, bytes and counts differ by 10 orders of magnitude.
  const norms = [0, 1, 2].map((j) => Math.sqrt(X.reduce((s, row, i) => s + w[i] * row[j] * row[j], 0)) || 1);
  let best = [0, 0, 0];
  let bestCost = X.reduce((s, _row, i) => s + w[i] * y[i] * y[i], 0);
  for (let mask = 1; mask < 8; mask++) {
    const free = [0, 1, 2].filter((j) => mask & (1 << j));
    const M = free.map((p) => free.map((q) => X.reduce((s, row, i) => s + (w[i] * row[p] * row[q]) / (norms[p] * norms[q]), 0)));
    const v = free.map((p) => X.reduce((s, row, i) => s + (w[i] * row[p] * y[i]) / norms[p], 0));
    const sol = solve(M, v);
    if (!sol || sol.some((x) => x < 0 || !Number.isFinite(x))) continue;
    const x = [0, 0, 0];
    free.forEach((p, i) => (x[p] = sol[i] / norms[p]));
    const cost = X.reduce((s, row, i) => s + w[i] * (row[0] * x[0] + row[1] * x[1] + row[2] * x[2] - y[i]) ** 2, 0);
    if (cost < bestCost) {
      bestCost = cost;
      best = x;
    }
  }
  return best;
}

/** The median of `xs` (0 for none). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? 0 : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** The best (overhead, a, b) for robust weights `rw` over every intensity split. */
function bestSplit(samples: readonly FitSample[], parts: readonly Part[], rw: readonly number[], power: number): number[] {
  const intensities = [...new Set(parts.map((p) => (p.bytes > 0 ? p.macs / p.bytes : Number.POSITIVE_INFINITY)))].sort((a, b) => a - b);
  // Threshold t: parts with intensity >= t are compute-bound. -1 puts every part there, +Infinity none.
  const thresholds = [-1, ...intensities, Number.POSITIVE_INFINITY];
  const w = samples.map((s, i) => rw[i] / s.measuredMs ** power);
  const y = samples.map((s) => s.measuredMs);
  let best = [0, 0, 0];
  let bestLoss = Number.POSITIVE_INFINITY;
  for (const t of thresholds) {
    const X = samples.map(() => [0, 0, 0]);
    for (const p of parts) {
      const intensity = p.bytes > 0 ? p.macs / p.bytes : Number.POSITIVE_INFINITY;
      X[p.sample][0] += 1;
      if (intensity >= t && t !== Number.POSITIVE_INFINITY) X[p.sample][1] += p.macs;
      else X[p.sample][2] += p.bytes;
    }
    const x = nnls3(X, y, w);
    const loss = samples.reduce((s, smp, i) => s + w[i] * (predictAb(smp, x[0], x[1], x[2]) - smp.measuredMs) ** 2, 0);
    if (loss < bestLoss) {
      bestLoss = loss;
      best = x;
    }
  }
  return best;
}

/** Options of {@link fitRoofline}. */
export interface FitOptions {
  /** IRLS iterations per stage (Huber, then bisquare); default 8. */
  iterations?: number;
  /** Where each sample comes from, for error messages (`layer encoder.2`). */
  names?: readonly string[];
  /**
   * The processor's catalog figures. When the measurements are explained by the overhead
   * alone (every op too small to show compute or bandwidth), compute and bandwidth keep
   * these values (flagged not identified) and only the overhead is fitted; without a
   * prior that case is an error.
   */
  prior?: RooflineParams;
  /**
   * How samples weigh in the least squares: `relative` (default) minimises the sum of
   * squared relative residuals, so a 2 us op counts as much as a 2 ms one (right for
   * per-op figures); `time` weighs each squared relative residual by the sample's
   * measured time, sum (predicted - measured)^2 / measured, so an op counts in
   * proportion to its share of the time (right when the sum of the ops, the end-to-end
   * latency, is what the fit is for).
   */
  weighting?: 'relative' | 'time';
}

/**
 * Fits overhead, compute and bandwidth to `samples` (see the module header). Throws an
 * Error naming the sample for a negative, non-finite or zero measurement, a sample with no
 * work, or fewer than 3 samples.
 */
export function fitRoofline(samples: readonly FitSample[], opts: FitOptions = {}): RooflineFit {
  const name = (i: number): string => opts.names?.[i] ?? `sample ${i}`;
  if (samples.length < 3) throw new Error(`calibration needs at least 3 measured samples to fit 3 parameters, got ${samples.length}`);
  const parts: Part[] = [];
  samples.forEach((s, i) => {
    if (!(Number.isFinite(s.measuredMs) && s.measuredMs > 0)) throw new Error(`calibration: ${name(i)} has measured latency ${s.measuredMs} ms; it must be a positive number of milliseconds`);
    for (const p of partsOf(s)) {
      if (!(Number.isFinite(p.macs) && p.macs >= 0 && Number.isFinite(p.bytes) && p.bytes >= 0)) throw new Error(`calibration: ${name(i)} has MACs ${p.macs} and bytes ${p.bytes}; both must be finite and non-negative`);
      parts.push({ macs: p.macs, bytes: p.bytes, sample: i });
    }
  });
  if (parts.every((p) => p.macs === 0 && p.bytes === 0)) throw new Error('calibration: no sample has any MACs or bytes; the profile has timings only (fill MACs and bytes from the pipeline first)');
  const iterations = opts.iterations ?? 8;
  const power = opts.weighting === 'time' ? 1 : 2;
  let rw = samples.map(() => 1);
  let x = bestSplit(samples, parts, rw, power);
  const residualsOf = (v: number[]): number[] => samples.map((s) => (predictAb(s, v[0], v[1], v[2]) - s.measuredMs) / s.measuredMs);
  for (const stage of ['huber', 'bisquare'] as const) {
    for (let it = 0; it < iterations; it++) {
      const r = residualsOf(x);
      const scale = Math.max(0.01, 1.4826 * median(r.map(Math.abs)));
      const next = r.map((ri) => {
        const u = Math.abs(ri) / scale;
        if (stage === 'huber') return u <= 1.345 ? 1 : 1.345 / u;
        return u < 4.685 ? (1 - (u / 4.685) ** 2) ** 2 : 0;
      });
      // Bisquare can reject everything on a pathological start: keep the previous weights then.
      if (next.filter((v) => v > 0).length < 3) break;
      const changed = next.some((v, i) => Math.abs(v - rw[i]) > 1e-6);
      rw = next;
      x = bestSplit(samples, parts, rw, power);
      if (!changed) break;
    }
  }
  let [o, a, b] = x;
  const used = parts.filter((p) => rw[p.sample] > 0);
  const computeIdentified = x[1] > 0 && used.some((p) => a * p.macs > b * p.bytes);
  const bandwidthIdentified = x[2] > 0 && used.some((p) => b * p.bytes > a * p.macs);
  // An unidentified parameter becomes the bound that keeps every part in the other regime.
  if (a === 0) a = Math.min(...used.filter((p) => p.macs > 0).map((p) => (b * p.bytes) / p.macs));
  if (b === 0) b = Math.min(...used.filter((p) => p.bytes > 0).map((p) => (a * p.macs) / p.bytes));
  if (!(a > 0) || !Number.isFinite(a)) a = 0;
  if (!(b > 0) || !Number.isFinite(b)) b = 0;
  if (a === 0 && b === 0 && opts.prior) {
    a = 1000 / opts.prior.computeMacsPerS;
    b = Number.isFinite(opts.prior.bandwidthBytesPerS) ? 1000 / opts.prior.bandwidthBytesPerS : 0;
    // Overhead alone, weighted as above: the weighted mean of (measured - work) / parts.
    let num = 0;
    let den = 0;
    samples.forEach((s, i) => {
      const n = partsOf(s).length;
      const w = rw[i] / s.measuredMs ** power;
      num += w * n * (s.measuredMs - predictAb(s, 0, a, b));
      den += w * n * n;
    });
    o = den > 0 ? num / den : 0;
  }
  if (a === 0 && b === 0) throw new Error('calibration: the measurements are explained by the per-op overhead alone; profile larger ops (more MACs or bytes) to fit compute and bandwidth');
  const residuals = residualsOf([o, a, b]);
  const outliers = rw.flatMap((v, i) => (v === 0 ? [i] : []));
  o = Math.max(0, o);
  return {
    overheadMs: o,
    computeMacsPerS: a > 0 ? 1000 / a : Number.POSITIVE_INFINITY,
    bandwidthBytesPerS: b > 0 ? 1000 / b : Number.POSITIVE_INFINITY,
    residuals,
    weights: rw,
    outliers,
    medianAbsRelError: median(residuals.filter((_, i) => rw[i] > 0).map(Math.abs)),
    computeIdentified,
    bandwidthIdentified,
  };
}

/** The result of {@link fitFrontendThroughput}. */
export interface FrontendFit {
  /** MAC throughput of the front-end ops, MACs per second. */
  frontendMacsPerS: number;
  /**
   * False when the measurements are explained by overhead and memory traffic alone (the
   * front end is memory-bound at any throughput): frontendMacsPerS is then the slowest
   * figure that keeps every part memory-bound, a lower bound.
   */
  identified: boolean;
  /** Per sample, the relative residual (predicted - measured) / measured with the fitted figure. */
  residuals: number[];
}

/**
 * The ms-per-MAC `a` at which `sample`'s parts, each costing overheadMs + max(a x macs,
 * b x bytes), sum to its measured time: the root of a non-decreasing piecewise-linear
 * function, found exactly segment by segment (parts turn compute-bound in the order of
 * their break points b x bytes / macs). Undefined when even a = 0 over-predicts.
 */
function solveMsPerMac(sample: FitSample, overheadMs: number, b: number): number | undefined {
  const parts = partsOf(sample);
  const fixed = parts.length * overheadMs;
  const withMacs = parts.filter((p) => p.macs > 0).map((p) => ({ macs: p.macs, memMs: b * p.bytes, breakAt: (b * p.bytes) / p.macs }));
  withMacs.sort((x, y) => x.breakAt - y.breakAt);
  let memMs = parts.reduce((s, p) => s + b * p.bytes, 0);
  if (fixed + memMs >= sample.measuredMs) return undefined;
  // On the segment where the first k parts are compute-bound: fixed + a x M_k + memMs_k = measured.
  let macs = 0;
  for (let k = 0; k < withMacs.length; k++) {
    macs += withMacs[k].macs;
    memMs -= withMacs[k].memMs;
    const a = (sample.measuredMs - fixed - memMs) / macs;
    const next = k + 1 < withMacs.length ? withMacs[k + 1].breakAt : Number.POSITIVE_INFINITY;
    if (a >= withMacs[k].breakAt && a <= next) return a;
  }
  return undefined;
}

/**
 * Fits the MAC throughput of the feature front end (ProcessorSpec.frontendMacsPerS) to
 * measured front-end times, with the processor's overhead and bandwidth already fitted
 * to its layers (`params`, from {@link fitRoofline}): each sample's parts are the front
 * end's IR ops, priced as the cost model prices them, overheadMs + max(macs x a,
 * bytes / bandwidth) with a = 1000 / throughput. For one sample the figure reproduces
 * the measurement exactly; for several, the median of the per-sample solutions (robust
 * to a descheduled run). Throws an Error for no samples, a non-positive measurement, or
 * samples without MACs.
 */
export function fitFrontendThroughput(samples: readonly FitSample[], params: RooflineParams): FrontendFit {
  if (samples.length === 0) throw new Error('calibration: no front-end measurement to fit the front-end throughput to');
  samples.forEach((s, i) => {
    if (!(Number.isFinite(s.measuredMs) && s.measuredMs > 0)) throw new Error(`calibration: front-end sample ${i} has measured latency ${s.measuredMs} ms; it must be a positive number of milliseconds`);
    if (!partsOf(s).some((p) => p.macs > 0)) throw new Error(`calibration: front-end sample ${i} has no MACs, so it cannot determine a throughput`);
  });
  const b = Number.isFinite(params.bandwidthBytesPerS) ? 1000 / params.bandwidthBytesPerS : 0;
  const solved = samples.map((s) => solveMsPerMac(s, params.overheadMs, b));
  const found = solved.filter((a): a is number => a !== undefined);
  let a: number;
  let identified = true;
  if (found.length * 2 > samples.length) a = median(found);
  else {
    // Memory and overhead already explain the time: the slowest throughput that keeps every part memory-bound.
    identified = false;
    const bounds = samples.flatMap((s) => partsOf(s).filter((p) => p.macs > 0).map((p) => (b * p.bytes) / p.macs));
    a = Math.min(...bounds);
  }
  const frontendMacsPerS = a > 0 ? 1000 / a : Number.POSITIVE_INFINITY;
  const residuals = samples.map((s) => (predictAb(s, params.overheadMs, a, b) - s.measuredMs) / s.measuredMs);
  return { frontendMacsPerS, identified, residuals };
}

/** One measured inference for {@link fitDispatchMs}. */
export interface DispatchSample {
  /** Whole inference (one window), measured. */
  measuredMs: number;
  /** The part of it the ops account for: the front end and every layer's kernels, measured. */
  opsMs: number;
  /** Partition runs in the inference (exported models run), at least 1. */
  partitions: number;
}

/** The result of {@link fitDispatchMs}. */
export interface DispatchFit {
  /** Fixed cost per partition run, ms (ProcessorSpec.dispatchMs). */
  dispatchMs: number;
  /** Per sample, (measuredMs - opsMs) / partitions, ms: the spread of the estimate. */
  perSampleMs: number[];
}

/**
 * Fits the fixed cost of a partition run (ProcessorSpec.dispatchMs): per inference, the
 * time outside any op, (measured - ops) / partitions, and its median over the inferences
 * (robust to a descheduled run), clamped at 0. Throws an Error for no samples, a
 * non-finite or negative time, or fewer than one partition.
 */
export function fitDispatchMs(samples: readonly DispatchSample[]): DispatchFit {
  if (samples.length === 0) throw new Error('calibration: no whole-window measurement to fit the per-partition dispatch cost to');
  const perSampleMs = samples.map((s, i) => {
    if (!(Number.isFinite(s.measuredMs) && s.measuredMs >= 0 && Number.isFinite(s.opsMs) && s.opsMs >= 0)) throw new Error(`calibration: window ${i} has measured ${s.measuredMs} ms and ops ${s.opsMs} ms; both must be finite and non-negative`);
    if (!(Number.isInteger(s.partitions) && s.partitions >= 1)) throw new Error(`calibration: window ${i} ran ${s.partitions} partitions; it must be a positive integer`);
    return (s.measuredMs - s.opsMs) / s.partitions;
  });
  return { dispatchMs: Math.max(0, median(perSampleMs)), perSampleMs };
}
