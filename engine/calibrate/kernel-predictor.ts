/**
 * Kernel-level latency prediction, as nn-Meter (Zhang et al., MobiSys 2021) does it: a
 * device is measured on a suite of kernels (engine/calibrate/node-kernel-suite.ts), one
 * model is fitted per kernel kind, and a pipeline never measured is predicted as the sum
 * of its kernels. A kind is a layer kind (`dense`, `conv1d`, `gru`, ...; the factors of a
 * compressed layer count as their layer's kind) or a front-end step kind
 * (`features/spectral` for the fused FFT, mel, log and DCT loop of runtime/features.ts,
 * `features/frames`, `features/stats`, ...): the front end is costed per step kind, not by
 * one MAC/s figure.
 *
 * Each kind's model (runtime/device-profile.ts KernelKindModel) is the cost model's
 * roofline, overheadMs + max(msPerMac x macs, msPerByte x bytes), fitted robustly by
 * ./fit.ts fitRoofline to the kind's kernels (relative residuals: a 5 us kernel counts as
 * much as a 5 ms one), times a correction exp(c(log2 bytes)) learned from what the
 * roofline left: c is piecewise linear in log2 of the bytes moved, the axis along which
 * the cache levels make one bandwidth wrong. nn-Meter learns its correction with random
 * forests over kernel configurations; with tens of kernels per kind here a handful of
 * knots fitted by ridge least squares is what the data support (no npm regression
 * library is needed for a k x k normal-equations solve; ./fit.ts solve does it). Because
 * the correction depends on bytes only and the roofline is non-decreasing in MACs, a
 * prediction never falls when the MACs grow.
 *
 * The predictor travels on a {@link ProcessorSpec} as an extra property
 * (`kernelPredictor`, {@link withKernelPredictor}); spreading a processor keeps it, and
 * engine/cost-model.ts prices an op with it when it is there. Pure.
 */
import type { ProcessorSpec } from '../../language/pipeline-model';
import { FEATURES_KEY } from '../../language/pipeline-model';
import { KERNEL_PREDICTOR_VERSION, type KernelKindModel, type KernelPredictorData } from '../../runtime/device-profile';
import { fitRoofline, median, solve, type FitSample, type RooflineParams } from './fit';

/** The part of an IR op the predictor reads (engine/ir.ts IrOp). */
export interface KernelOp {
  kind: string;
  placementKey?: string;
  supportKinds?: readonly string[];
  /** Bytes of its output, for pricing a fused activation that runs as a node of its own. */
  activationBytes?: number;
}

/** Activations ONNX Runtime fuses into the kernel before them (Gemm, Conv), so they cost no node of their own. */
const FUSED_ACTIVATIONS = new Set(['relu', 'linear']);

/** A front-end op kind's step kind: the FFT, mel, log and DCT run as one loop in runtime/features.ts. */
const FRONTEND_STEP_OF_OP: Record<string, string> = { fft: 'spectral', mel: 'spectral', log: 'spectral', dct: 'spectral' };

/** The kernel kind that prices `op` (see the module header). */
export function kernelKindOf(op: KernelOp): string {
  if (op.placementKey === FEATURES_KEY) return `features/${FRONTEND_STEP_OF_OP[op.kind] ?? op.kind}`;
  // The factors of a compressed layer (svd-in, svd-out, dictionary) run their layer's kernels.
  if ((op.kind === 'svd-in' || op.kind === 'svd-out' || op.kind === 'dictionary') && op.supportKinds?.[0]) return op.supportKinds[0];
  return op.kind;
}

/** One measured kernel of the suite. */
export interface KernelSample {
  /** Its kernel kind ({@link kernelKindOf}). */
  kind: string;
  /** Where it came from (`dense-chain/out.3`), for messages and reports. */
  id: string;
  /** The IR ops it covers (one for a layer, several for a front-end step). */
  parts: { macs: number; bytes: number }[];
  /** Median measured latency, ms. */
  measuredMs: number;
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const at = q * (s.length - 1);
  const lo = Math.floor(at);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (at - lo);
}

/** The roofline of `m` for one part, before the correction. */
function rooflineMs(m: Pick<KernelKindModel, 'overheadMs' | 'msPerMac' | 'msPerByte'>, macs: number, bytes: number): number {
  return m.overheadMs + Math.max(m.msPerMac * macs, m.msPerByte * bytes);
}

/** c(log2 bytes): linear between the knots, constant outside them, 0 without knots. */
function correctionAt(m: Pick<KernelKindModel, 'correctionLog2Bytes' | 'correctionLogFactor'>, bytes: number): number {
  const k = m.correctionLog2Bytes;
  const c = m.correctionLogFactor;
  if (k.length === 0) return 0;
  const x = Math.log2(Math.max(1, bytes));
  if (x <= k[0]) return c[0];
  if (x >= k[k.length - 1]) return c[c.length - 1];
  let j = 1;
  while (k[j] < x) j++;
  const t = (x - k[j - 1]) / (k[j] - k[j - 1]);
  return c[j - 1] + t * (c[j] - c[j - 1]);
}

/** The hat basis of the knots at `x` (weights that interpolate linearly, constant outside). */
function basisAt(knots: readonly number[], x: number): number[] {
  const phi = knots.map(() => 0);
  if (knots.length === 1 || x <= knots[0]) phi[0] = 1;
  else if (x >= knots[knots.length - 1]) phi[knots.length - 1] = 1;
  else {
    let j = 1;
    while (knots[j] < x) j++;
    const t = (x - knots[j - 1]) / (knots[j] - knots[j - 1]);
    phi[j - 1] = 1 - t;
    phi[j] = t;
  }
  return phi;
}

/** Predicted latency of one kernel of `macs` and `bytes` under `m` (roofline times correction), ms. */
export function predictKernelMs(m: KernelKindModel, macs: number, bytes: number): number {
  return rooflineMs(m, macs, bytes) * Math.exp(correctionAt(m, bytes));
}

function sampleMs(m: KernelKindModel, s: Pick<KernelSample, 'parts'>): number {
  return s.parts.reduce((a, p) => a + predictKernelMs(m, p.macs, p.bytes), 0);
}

/** Options of {@link fitKernelKind} and {@link fitKernelPredictor}. */
export interface KernelFitOptions {
  /**
   * The processor's catalog figures, kept for a kind whose kernels are all explained by
   * their overhead (too small to show a throughput).
   */
  prior: RooflineParams;
}

/**
 * Fits one kind's model to its kernels (see the module header). Throws an Error naming the
 * kind for fewer than 3 kernels or a measurement that is not a positive number.
 */
export function fitKernelKind(kind: string, samples: readonly KernelSample[], opts: KernelFitOptions): KernelKindModel {
  if (samples.length < 3) throw new Error(`calibration: kernel kind ${kind} has ${samples.length} measured kernels; at least 3 are needed`);
  const fitSamples: FitSample[] = samples.map((s) => ({
    macs: s.parts.reduce((a, p) => a + p.macs, 0),
    bytes: s.parts.reduce((a, p) => a + p.bytes, 0),
    ...(s.parts.length > 1 ? { parts: s.parts } : {}),
    measuredMs: s.measuredMs,
  }));
  const fit = fitRoofline(fitSamples, { names: samples.map((s) => `${kind} kernel ${s.id}`), prior: opts.prior, weighting: 'relative' });
  const allParts = samples.flatMap((s) => s.parts);
  const base: KernelKindModel = {
    overheadMs: fit.overheadMs,
    msPerMac: Number.isFinite(fit.computeMacsPerS) ? 1000 / fit.computeMacsPerS : 0,
    msPerByte: Number.isFinite(fit.bandwidthBytesPerS) ? 1000 / fit.bandwidthBytesPerS : 0,
    correctionLog2Bytes: [],
    correctionLogFactor: [],
    // Coverage is of single ops (a front-end step's kernels are its ops), as predictOp checks it.
    minMacs: Math.min(...allParts.map((p) => p.macs)),
    maxMacs: Math.max(...allParts.map((p) => p.macs)),
    minBytes: Math.min(...allParts.map((p) => p.bytes)),
    maxBytes: Math.max(...allParts.map((p) => p.bytes)),
    samples: samples.length,
  };
  // The correction: ln(measured / roofline) against log2 of the bytes of each kernel's largest part.
  const used = samples.map((s, i) => ({ s, w: fit.weights[i] })).filter((u) => u.w > 0);
  const xs = used.map(({ s }) => Math.log2(Math.max(1, Math.max(...s.parts.map((p) => p.bytes)))));
  const rs = used.map(({ s }) => Math.log(s.measuredMs / Math.max(1e-9, sampleMs(base, s))));
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  // One knot per 4 kernels, at most 6, spread evenly over the octaves covered; one knot is a constant factor.
  const count = hi - lo < 1 ? 1 : Math.max(1, Math.min(6, Math.floor(used.length / 4)));
  const knots = count === 1 ? [(lo + hi) / 2] : Array.from({ length: count }, (_, j) => lo + ((hi - lo) * j) / (count - 1));
  // Ridge toward 0 (no correction) and toward neighbours (smooth), each at 1e-2 of the data's weight.
  const totalW = used.reduce((a, u) => a + u.w, 0);
  const lambda = 1e-2 * totalW;
  const M = knots.map(() => knots.map(() => 0));
  const v = knots.map(() => 0);
  used.forEach((u, i) => {
    const phi = basisAt(knots, xs[i]);
    for (let a = 0; a < knots.length; a++) {
      v[a] += u.w * phi[a] * rs[i];
      for (let b = 0; b < knots.length; b++) M[a][b] += u.w * phi[a] * phi[b];
    }
  });
  for (let a = 0; a < knots.length; a++) {
    M[a][a] += lambda;
    if (a + 1 < knots.length) {
      M[a][a] += lambda;
      M[a + 1][a + 1] += lambda;
      M[a][a + 1] -= lambda;
      M[a + 1][a] -= lambda;
    }
  }
  const c = solve(M, v);
  if (c && c.every(Number.isFinite)) {
    base.correctionLog2Bytes = knots;
    base.correctionLogFactor = c;
  }
  return base;
}

/** Options of {@link fitKernelPredictor}. */
export interface KernelPredictorOptions extends KernelFitOptions {
  /** Every how many kernels of a kind one is held out to test the fit (default 4: a quarter). */
  holdOutEvery?: number;
}

/**
 * Fits a predictor to the suite's kernels: per kind, a model fitted without every
 * `holdOutEvery`-th kernel predicts those held out (the figure the profile records and
 * estimates print), then the stored model is fitted on all of them. Kinds with fewer than
 * 3 kernels are left out (their ops fall back to the processor's roofline and are
 * reported as outside the suite). Throws an Error when no kind can be fitted.
 */
export function fitKernelPredictor(samples: readonly KernelSample[], opts: KernelPredictorOptions): KernelPredictorData {
  const every = opts.holdOutEvery ?? 4;
  const byKind = new Map<string, KernelSample[]>();
  for (const s of samples) {
    if (!(Number.isFinite(s.measuredMs) && s.measuredMs > 0)) continue;
    const list = byKind.get(s.kind);
    if (list) list.push(s);
    else byKind.set(s.kind, [s]);
  }
  const kinds: Record<string, KernelKindModel> = {};
  const errors: number[] = [];
  for (const [kind, list] of [...byKind].sort(([a], [b]) => a.localeCompare(b))) {
    if (list.length < 3) continue;
    const held = list.filter((_, i) => i % every === every - 1);
    const train = list.filter((_, i) => i % every !== every - 1);
    const model = fitKernelKind(kind, list, opts);
    if (held.length > 0 && train.length >= 3) {
      const probe = fitKernelKind(kind, train, opts);
      const errs = held.map((s) => Math.abs(sampleMs(probe, s) - s.measuredMs) / s.measuredMs);
      errors.push(...errs);
      model.heldOutMedianAbsErrorPct = 100 * median(errs);
    }
    kinds[kind] = model;
  }
  if (Object.keys(kinds).length === 0) throw new Error('calibration: no kernel kind has the 3 measured kernels a fit needs');
  return {
    version: KERNEL_PREDICTOR_VERSION,
    kinds,
    heldOut: {
      kernels: errors.length,
      medianAbsErrorPct: 100 * median(errors),
      p90AbsErrorPct: 100 * quantile(errors, 0.9),
      within10: errors.length === 0 ? 0 : errors.filter((e) => e <= 0.1).length / errors.length,
    },
  };
}

/** A processor that carries a kernel predictor (see the module header). */
export type CalibratedProcessor = ProcessorSpec & { kernelPredictor?: KernelPredictorData };

/** The kernel predictor `p` carries, if any. */
export function kernelPredictorOf(p: ProcessorSpec): KernelPredictorData | undefined {
  return (p as CalibratedProcessor).kernelPredictor;
}

/** `p` carrying `predictor` (replacing any it had). */
export function withKernelPredictor(p: ProcessorSpec, predictor: KernelPredictorData): CalibratedProcessor {
  return { ...p, kernelPredictor: predictor };
}

/** How the predictor prices one op: its latency and whether its kind and size lie within what the suite measured. */
export interface KernelPrediction {
  latencyMs: number;
  kind: string;
  /** False when the suite measured no kernel of this kind, or none within a factor of 2 of its MACs and bytes. */
  covered: boolean;
}

/**
 * The latency of one op of `macs` and `bytes` by `predictor`, or undefined when the
 * predictor has no model of the op's kind (the caller then prices it by the roofline). A
 * op also pays for its output outside the kernel ({@link KernelPredictorData.outputMsPerByte}),
 * and a layer op whose activation ONNX Runtime does not fuse (softmax, tanh, ...) pays that
 * activation as the suite's standalone `activation` kernels cost it, on its output.
 */
export function predictOp(predictor: KernelPredictorData, op: KernelOp, macs: number, bytes: number): KernelPrediction | undefined {
  const kind = kernelKindOf(op);
  const m = predictor.kinds[kind];
  if (!m) return undefined;
  const inside = (x: number, lo: number, hi: number): boolean => x >= lo / 2 && x <= hi * 2;
  const covered = (macs === 0 || inside(macs, m.minMacs, m.maxMacs)) && inside(bytes, m.minBytes, m.maxBytes);
  let latencyMs = predictKernelMs(m, macs, bytes) + (predictor.outputMsPerByte ?? 0) * (op.activationBytes ?? 0);
  if (op.placementKey !== FEATURES_KEY) {
    const activation = op.kind === 'activation' ? undefined : op.supportKinds?.[1];
    const act = predictor.kinds.activation;
    if (activation !== undefined && !FUSED_ACTIVATIONS.has(activation) && act && op.activationBytes) latencyMs += predictKernelMs(act, op.activationBytes / 4, 2 * op.activationBytes);
  }
  return { latencyMs, kind, covered };
}

/**
 * How well `predictor` predicted its own held-out kernels, as estimates print it:
 * `±6.1% on held-out kernels (median of 40; 90% within ±14.0%; 78% within ±10%)`.
 */
export function heldOutText(predictor: Pick<KernelPredictorData, 'heldOut'>): string {
  const h = predictor.heldOut;
  if (h.kernels === 0) return 'no kernels were held out, so the profile cannot say how well it predicts';
  return `±${h.medianAbsErrorPct.toFixed(1)}% on held-out kernels (median of ${h.kernels}; 90% within ±${h.p90AbsErrorPct.toFixed(1)}%; ${Math.round(100 * h.within10)}% within ±10%)`;
}

/** What an estimate made with kernel predictors should say about its uncertainty. */
export interface PredictorNotes {
  /** One line per calibrated processor the estimate used: its held-out figure. */
  accuracy: string[];
  /** One line per op priced outside what the suite covered (kind not measured, or size beyond it). */
  outside: string[];
}

/**
 * The uncertainty notes of an estimate on `processors`: for each processor with a kernel
 * predictor that runs at least one of `ops` (`processor` of each op), its held-out figure,
 * and every op it prices outside the suite's coverage (see {@link KernelPrediction.covered}).
 */
export function predictorNotes(processors: readonly ProcessorSpec[], ops: readonly (KernelOp & { id: string; macs: number; bytes: number; processor: string; noop?: boolean })[]): PredictorNotes {
  const accuracy: string[] = [];
  const outside: string[] = [];
  for (const p of processors) {
    const predictor = kernelPredictorOf(p);
    const mine = ops.filter((o) => o.processor === p.name && !o.noop);
    if (!predictor || mine.length === 0) continue;
    accuracy.push(`${p.name}: kernel predictor ${heldOutText(predictor)}`);
    for (const o of mine) {
      const r = predictOp(predictor, o, o.macs, o.bytes);
      if (!r) outside.push(`${o.id} (${kernelKindOf(o)}) on ${p.name}: the kernel suite measured no ${kernelKindOf(o)} kernel; priced by the fitted roofline`);
      else if (!r.covered) outside.push(`${o.id} (${r.kind}) on ${p.name}: ${o.macs} MACs and ${o.bytes} bytes lie outside the suite's ${r.kind} kernels; the prediction is an extrapolation`);
    }
  }
  return { accuracy, outside };
}
