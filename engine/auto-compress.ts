/**
 * Auto-compress (DeepX runtime layer compression, chosen automatically): picks the dense
 * and conv layers to factorise by SVD, and their ranks, so that the pipeline meets a
 * target with the least estimated error.
 *
 * Targets, each measured by {@link estimatePipeline} exactly as `sense estimate` shows it:
 * - `fit`: the memory of processor P (weights + peak activation working set of the ops
 *   placed on it, engine/schedule.ts) is within P's `memory` limit;
 * - `within`: the end-to-end latency (the schedule's makespan) is at most `latencyMs`;
 * - `energy`: the energy per inference is at most `energyMj`.
 *
 * Error model. Layer l at rank k has the relative weight error
 * e_l(k) = ||W_l - W_l,k||_F / ||W_l||_F = relativeErrorAtRank(spectrum, k) (Eckart–Young),
 * from its real weights' singular values when they are given, else from the expected
 * spectrum of a random Gaussian matrix of the same shape ({@link randomMatrixSpectrum},
 * data-free: trained weights are usually more compressible, so this over-states the error).
 * The plan's estimated error is the root-sum-square E = sqrt(sum_l e_l(k_l)^2). Why RSS:
 * to first order a layer's relative weight error becomes a relative perturbation of the
 * signal it passes on, and perturbations from different layers (independent truncations
 * of different matrices) add roughly in quadrature, not linearly; the max would ignore
 * that two damaged layers are worse than one. RSS also makes the search objective
 * additive (sum of e_l^2), so the optimum below is exact for it.
 *
 * Search. Every candidate layer has options: uncompressed, or `svd rank k` for k on a grid
 * below the break-even rank (where the factorised layer stops saving parameters). The
 * metric of a plan is the real estimate, but every target implies additive necessary
 * conditions whose per-layer terms are measured once per option (one estimate each):
 * energy is exactly additive over layers; the memory of P is its weights (additive) plus
 * the largest input + output of one of its ops (a max over layers); the makespan is at
 * least the sum of op latencies along every head's path and at least every processor's
 * busy time (both additive). A depth-first branch and bound over layers (options in
 * increasing error) prunes a node when a necessary condition fails even with every
 * remaining layer at its most saving option, or when its error so far plus the LP
 * relaxation of the multiple-choice knapsack (lower convex hull of error^2 vs saving per
 * layer, per condition) cannot beat the incumbent; each leaf is evaluated by
 * estimatePipeline. The incumbent starts from a greedy walk along the hull in order of
 * error^2 per unit saving. Every prune is valid, so the result is the least-error plan on
 * the grid that meets the target, unless the node limit stopped the search (`exact:
 * false`). When no plan on the grid meets the target, the closest one (every layer at its
 * most saving option) is returned with `feasible: false`.
 */
import type { CompressionSpec, LayerSpec, PipelineSpec } from '../language/pipeline-model';
import { FEATURES_KEY } from '../language/pipeline-model';
import { isCompressible, svdBreakEvenRank, weightMatrixShape } from '../language/layer-shapes';
import { randomMatrixSpectrum } from './compress/random-matrix';
import { relativeErrorAtRank, singularValues } from './compress/svd';
import type { Matrix } from './compress/matrix';
import { estimatePipeline, type Estimate, type EstimateOptions } from './estimate';
import type { WeightSet, WeightTensor } from './weights/weights';

export { randomMatrixSpectrum } from './compress/random-matrix';

/** What auto-compress must achieve. */
export type CompressTarget =
  | { kind: 'fit'; processor: string }
  | { kind: 'within'; latencyMs: number }
  | { kind: 'energy'; energyMj: number };

/** Options of {@link autoCompress}. */
export interface AutoCompressOptions extends EstimateOptions {
  /** Singular values of a layer's weight matrix (layer id -> descending values), e.g. from {@link spectraFromWeights}. */
  spectra?: ReadonlyMap<string, ArrayLike<number>>;
  /** Candidate ranks per layer id instead of the default grid ({@link rankGrid}). */
  ranks?: Readonly<Record<string, readonly number[]>>;
  /** Only these layer ids may be (re)compressed; default every dense/conv layer without an int8 or sparse line. */
  layers?: readonly string[];
  /** Branch-and-bound node limit (default 200,000); beyond it the plan is the best found, `exact: false`. */
  maxNodes?: number;
}

/** One candidate layer in the plan. */
export interface LayerChoice {
  layerId: string;
  /** How compress lines address it: `block.name` when named, else `block.index`. */
  ref: string;
  kind: string;
  /** Its (out, in) weight matrix shape; conv kernels reshape to (filters, in x kh x kw). */
  rows: number;
  cols: number;
  /** The SVD rank chosen, undefined when the layer stays uncompressed. */
  rank?: number;
  /** Parameters in the file as written, and in the plan. */
  paramsBefore: number;
  paramsAfter: number;
  /** Relative weight error ||W - W_k||_F / ||W||_F at the chosen rank (0 uncompressed). */
  relError: number;
  /**
   * Where the spectrum came from: the layer's weights, the data-free random-matrix estimate, or
   * the layer's output on a data folder (`sense compress --params N% --data DIR`, engine/compress/data-aware.ts).
   */
  errorSource: 'weights' | 'random-matrix' | 'data';
  /** The layer's compression in the file as written. */
  before?: CompressionSpec;
  /** True when the plan changes the layer's compression (its compress line is written). */
  changed: boolean;
}

/** Whole-pipeline figures of one plan. */
export interface PlanFigures {
  /** The target's metric: memory bytes of the processor, latency ms or energy mJ. */
  metric: number;
  params: number;
  endToEndLatencyMs: number;
  energyPerInferenceMj: number;
}

/** The result of {@link autoCompress}. */
export interface AutoCompressResult {
  target: CompressTarget;
  /** The limit the metric must not exceed (bytes, ms or mJ). */
  limit: number;
  /** The metric's unit: `bytes`, `ms` or `mJ`. */
  unit: 'bytes' | 'ms' | 'mJ';
  /** True when the plan meets the target. */
  feasible: boolean;
  /** True when the search finished: the plan is the least-error one on the rank grid. */
  exact: boolean;
  /** How the per-layer errors combine: always root-sum-square (see the module header). */
  errorCombination: 'root-sum-square';
  /** sqrt(sum of the squared per-layer relative errors) of the plan. */
  estimatedError: number;
  /** True when some layer's error is the data-free random-matrix estimate. */
  dataFree: boolean;
  before: PlanFigures;
  after: PlanFigures;
  /** Every candidate layer, in source order. */
  layers: LayerChoice[];
  /** The compress lines of the changed layers that have a rank (without indentation). */
  lines: string[];
  /** The plan as a checked pipeline, and its estimate. */
  spec: PipelineSpec;
  estimate: Estimate;
  /** Branch-and-bound nodes visited and plans evaluated by estimatePipeline. */
  nodes: number;
  evaluations: number;
}

/** The combined estimated error of per-layer relative errors: their root-sum-square (module header). */
export function combinedError(errors: readonly number[]): number {
  let s = 0;
  for (const e of errors) s += e * e;
  return Math.sqrt(s);
}

/**
 * The default candidate ranks of an (rows x cols) layer: ceil(b x 2^(-i/2)) for i = 1, 2, ...
 * down to 1, where b is the break-even rank, so every candidate saves parameters and
 * consecutive candidates differ by a factor of about 1.4 (2 log2 b values).
 */
export function rankGrid(rows: number, cols: number): number[] {
  const b = svdBreakEvenRank(rows, cols);
  const out = new Set<number>();
  for (let i = 1; ; i++) {
    const k = Math.ceil(b * 2 ** (-i / 2));
    if (k < b && k >= 1) out.add(k);
    if (k <= 1) break;
  }
  return [...out].sort((x, y) => x - y);
}

const spectrumCache = new Map<string, Float64Array>();

/** FNV-1a over the float32 bytes, twice with different offsets, plus the shape: a cache key for one weight tensor. */
function tensorHash(t: WeightTensor): string {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  let h1 = 0x811c9dc5, h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < bytes.length; i++) {
    h1 = Math.imul(h1 ^ bytes[i], 0x01000193);
    h2 = Math.imul(h2 ^ bytes[i], 0x01000193) ^ (h2 >>> 15);
  }
  return `${t.shape.join('x')}:${(h1 >>> 0).toString(16)}${(h2 >>> 0).toString(16)}`;
}

/**
 * The singular values of `layer`'s weight matrix (`ID.weight`, dense [out, in], conv
 * reshaped to (filters, in x kh x kw)), cached in memory by a hash of the tensor's bytes
 * and shape so repeated plans (every click) reuse them. Undefined when the weight set has
 * no `ID.weight` of the right size.
 */
export function layerSpectrum(layer: LayerSpec, weights: WeightSet): Float64Array | undefined {
  const t = weights.get(`${layer.id}.weight`);
  const [rows, cols] = weightMatrixShape(layer);
  if (!t || t.data.length !== rows * cols) return undefined;
  const key = tensorHash(t);
  const hit = spectrumCache.get(key);
  if (hit) return hit;
  const W: Matrix = { rows, cols, data: Float64Array.from(t.data) };
  const s = singularValues(W);
  if (spectrumCache.size > 512) spectrumCache.clear();
  spectrumCache.set(key, s);
  return s;
}

/** Spectra of every compressible (dense/conv) layer of `spec` found in `weights`, by layer id. */
export function spectraFromWeights(spec: PipelineSpec, weights: WeightSet): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const layer of spec.blocks.flatMap((b) => b.layers)) {
    if (!isCompressible(layer)) continue;
    const s = layerSpectrum(layer, weights);
    if (s) out.set(layer.id, s);
  }
  return out;
}

/** How a compress line addresses `layer`: `block.name` when it has a name, else `block.index`. */
export function layerRefText(layer: LayerSpec): string {
  return `${layer.block}.${layer.name ?? layer.index}`;
}

/** `spec` with the given layers' compression replaced (undefined: uncompressed); other layers untouched. */
export function withCompressions(spec: PipelineSpec, compressions: ReadonlyMap<string, CompressionSpec | undefined>): PipelineSpec {
  return {
    ...spec,
    blocks: spec.blocks.map((b) => ({
      ...b,
      layers: b.layers.map((l) => {
        if (!compressions.has(l.id)) return l;
        const c = compressions.get(l.id);
        const { compression: _old, ...rest } = l;
        return c ? { ...rest, compression: c } : rest;
      }),
    })),
  };
}

/** The target's metric of an estimate and its limit. Throws naming the processor when `fit` cannot apply. */
export function targetMetric(estimate: Estimate, target: CompressTarget, spec: PipelineSpec): { metric: number; limit: number; unit: AutoCompressResult['unit'] } {
  if (target.kind === 'within') return { metric: estimate.endToEndLatencyMs, limit: target.latencyMs, unit: 'ms' };
  if (target.kind === 'energy') return { metric: estimate.energyPerInferenceMj, limit: target.energyMj, unit: 'mJ' };
  const p = estimate.processors.find((x) => x.name === target.processor);
  if (!p) {
    throw new Error(`${spec.target.name} has no processor '${target.processor}' (it has ${spec.target.processors.map((x) => x.name).join(', ')}); choose one of them for --fit`);
  }
  if (!Number.isFinite(p.memoryLimitBytes)) {
    throw new Error(`processor '${target.processor}' of ${spec.target.name} has no memory limit, so everything fits; give it a 'memory' figure or choose another processor`);
  }
  return { metric: p.memoryBytes, limit: p.memoryLimitBytes, unit: 'bytes' };
}

interface Option {
  rank: number | undefined;
  errSq: number;
  relError: number;
  /** Change of each necessary condition's additive part against the base plan. */
  delta: Float64Array;
  /** fit only: the largest input + output bytes of the layer's ops on the processor. */
  act: number;
}

interface Candidate {
  layer: LayerSpec;
  spectrum: ArrayLike<number>;
  rows: number;
  cols: number;
  source: 'weights' | 'random-matrix';
  options: Option[];
}

/** One additive necessary condition: base + sum of deltas (+ the activation max for memory) <= limit. */
interface Condition {
  name: string;
  base: number;
  limit: number;
  /** fit: the condition's value adds max(actFixed, chosen options' act). */
  withAct: boolean;
}

/**
 * Picks the layers and SVD ranks that meet `target` with the least estimated error
 * (module header). `spec` is the pipeline as written; layers with an `svd` line are
 * re-decided, layers with `int8` or `sparse` lines keep them. Throws an Error naming the
 * processor when a `fit` target names a processor the target lacks or one without a
 * memory limit, and when a target value is not a positive number.
 */
export function autoCompress(spec: PipelineSpec, target: CompressTarget, opts: AutoCompressOptions = {}): AutoCompressResult {
  const value = target.kind === 'within' ? target.latencyMs : target.kind === 'energy' ? target.energyMj : 1;
  if (!(value > 0 && Number.isFinite(value))) throw new Error(`auto-compress: the target ${target.kind} ${value} must be a positive number`);
  const estOpts: EstimateOptions = { ...(opts.placement ? { placement: opts.placement } : {}), ...(opts.rankResolver ? { rankResolver: opts.rankResolver } : {}) };
  const asWritten = estimatePipeline(spec, estOpts);
  const { limit, unit } = targetMetric(asWritten, target, spec);
  const allLayers = spec.blocks.flatMap((b) => b.layers);
  const only = opts.layers ? new Set(opts.layers) : undefined;
  const processorOf = new Map(asWritten.layers.map((l) => [l.layerId, l.processor]));
  let candLayers = allLayers.filter((l) => isCompressible(l) && (!l.compression || l.compression.kind === 'svd') && (!only || only.has(l.id)));
  if (target.kind === 'fit') candLayers = candLayers.filter((l) => processorOf.get(l.id) === target.processor);

  const base = withCompressions(spec, new Map(candLayers.map((l) => [l.id, undefined])));
  let evaluations = 0;
  const evaluate = (s: PipelineSpec): Estimate => {
    evaluations++;
    return estimatePipeline(s, estOpts);
  };
  const baseEst = evaluate(base);

  // The necessary conditions and the base plan's value of each.
  const conditions: Condition[] = [];
  let actFixed = 0;
  const opIndexByLayer = new Map<string, number[]>();
  baseEst.ir.ops.forEach((op, i) => {
    if (op.layerId === undefined) return;
    const list = opIndexByLayer.get(op.layerId);
    if (list) list.push(i);
    else opIndexByLayer.set(op.layerId, [i]);
  });
  const candIds = new Set(candLayers.map((l) => l.id));
  const pathBlocks = new Map<string, Set<string>>();
  if (target.kind === 'energy') conditions.push({ name: 'energy', base: baseEst.energyPerInferenceMj, limit, withAct: false });
  else if (target.kind === 'fit') {
    const p = baseEst.processors.find((x) => x.name === target.processor)!;
    conditions.push({ name: `memory of ${target.processor}`, base: p.weightBytes, limit, withAct: true });
    baseEst.ir.ops.forEach((op, i) => {
      if (op.noop || baseEst.schedule.ops[i].processor !== target.processor) return;
      if (op.layerId !== undefined && candIds.has(op.layerId)) return;
      actFixed = Math.max(actFixed, op.inputBytes + op.activationBytes);
    });
  } else {
    for (const p of baseEst.processors) conditions.push({ name: `busy time of ${p.name}`, base: p.latencyMs, limit, withAct: false });
    for (const head of spec.blocks.filter((b) => b.kind === 'head')) {
      const blocks = new Set<string>([FEATURES_KEY]);
      for (let b: string | undefined = head.name; b !== undefined && !blocks.has(b); b = spec.blocks.find((x) => x.name === b)?.from) blocks.add(b);
      pathBlocks.set(head.name, blocks);
      let sum = 0;
      baseEst.schedule.ops.forEach((o) => {
        if (blocks.has(o.block)) sum += o.latencyMs;
      });
      conditions.push({ name: `path to ${head.name}`, base: sum, limit, withAct: false });
    }
  }
  const C = conditions.length;
  const baseLayer = new Map(baseEst.layers.map((l) => [l.layerId, l]));

  // Options per candidate layer, each measured by one estimate with only that layer changed.
  const candidates: Candidate[] = [];
  for (const layer of candLayers) {
    const [rows, cols] = weightMatrixShape(layer);
    const given = opts.spectra?.get(layer.id);
    const spectrum = given ?? randomMatrixSpectrum(rows, cols);
    const source = given ? 'weights' : 'random-matrix';
    const bl = baseLayer.get(layer.id)!;
    const baseAct = layerAct(baseEst, opIndexByLayer.get(layer.id) ?? [], target);
    const options: Option[] = [{ rank: undefined, errSq: 0, relError: 0, delta: new Float64Array(C), act: baseAct }];
    const maxRank = Math.min(rows, cols);
    const ranks = (opts.ranks?.[layer.id] ?? rankGrid(rows, cols)).filter((k) => Number.isInteger(k) && k >= 1 && k <= maxRank);
    for (const rank of [...new Set(ranks)].sort((a, b) => a - b)) {
      const est = evaluate(withCompressions(base, new Map([[layer.id, { kind: 'svd', criterion: 'rank', rank } as CompressionSpec]])));
      const delta = new Float64Array(C);
      const el = est.layers.find((l) => l.layerId === layer.id)!;
      if (target.kind === 'energy') delta[0] = est.energyPerInferenceMj - baseEst.energyPerInferenceMj;
      else if (target.kind === 'fit') delta[0] = est.processors.find((x) => x.name === target.processor)!.weightBytes - conditions[0].base;
      else {
        const dLat = el.latencyMs - bl.latencyMs;
        baseEst.processors.forEach((p, c) => {
          if (p.name === bl.processor) delta[c] = dLat;
        });
        let c = baseEst.processors.length;
        for (const blocks of pathBlocks.values()) {
          if (blocks.has(layer.block)) delta[c] = dLat;
          c++;
        }
      }
      const act = layerAct(est, est.ir.ops.flatMap((o, i) => (o.layerId === layer.id ? [i] : [])), target);
      const relError = relativeErrorAtRank(spectrum, rank);
      options.push({ rank, errSq: relError * relError, relError, delta, act });
    }
    candidates.push({ layer, spectrum, rows, cols, source, options: pruneDominated(options, target.kind !== 'within') });
  }

  const search = branchAndBound(candidates, conditions, actFixed, (choice) => {
    const s = planSpec(base, candidates, choice);
    const est = evaluate(s);
    return targetMetric(est, target, s).metric <= limit ? est : undefined;
  }, opts.maxNodes ?? 200_000);

  let choice = search.best;
  let feasible = choice !== undefined;
  if (!choice) choice = candidates.map((c) => mostSaving(c, conditions));
  let planned = planSpec(base, candidates, choice);
  if (feasible && !opts.ranks) planned = refineRanks(planned, candidates, choice, (s) => {
    const est = evaluate(s);
    return targetMetric(est, target, s).metric <= limit;
  });
  const estimate = evaluate(planned);
  const afterMetric = targetMetric(estimate, target, planned).metric;
  feasible = feasible && afterMetric <= limit;

  const afterLayer = new Map(estimate.layers.map((l) => [l.layerId, l]));
  const writtenLayer = new Map(asWritten.layers.map((l) => [l.layerId, l]));
  const layers: LayerChoice[] = candidates.map((c, i) => {
    const chosen = c.options[choice[i]];
    const planLayer = planned.blocks.flatMap((b) => b.layers).find((l) => l.id === c.layer.id)!;
    const rank = planLayer.compression?.kind === 'svd' && planLayer.compression.criterion === 'rank' ? planLayer.compression.rank : undefined;
    const relError = rank === chosen.rank ? chosen.relError : relativeErrorAtRank(spectrumOf(c), rank!);
    const o = { rank, relError };
    const before = c.layer.compression;
    const changed = o.rank === undefined ? before !== undefined : !(before?.kind === 'svd' && before.criterion === 'rank' && before.rank === o.rank);
    return {
      layerId: c.layer.id,
      ref: layerRefText(c.layer),
      kind: c.layer.kind,
      rows: c.rows,
      cols: c.cols,
      ...(o.rank !== undefined ? { rank: o.rank } : {}),
      paramsBefore: writtenLayer.get(c.layer.id)?.params ?? c.layer.params,
      paramsAfter: afterLayer.get(c.layer.id)?.params ?? c.layer.params,
      relError: o.relError,
      errorSource: c.source,
      ...(before ? { before } : {}),
      changed,
    };
  });
  const figures = (e: Estimate, s: PipelineSpec): PlanFigures => ({
    metric: targetMetric(e, target, s).metric,
    params: e.layers.reduce((a, l) => a + l.params, 0),
    endToEndLatencyMs: e.endToEndLatencyMs,
    energyPerInferenceMj: e.energyPerInferenceMj,
  });
  return {
    target,
    limit,
    unit,
    feasible,
    exact: search.exact,
    errorCombination: 'root-sum-square',
    estimatedError: combinedError(layers.map((l) => l.relError)),
    dataFree: layers.some((l) => l.errorSource === 'random-matrix' && l.rank !== undefined),
    before: figures(asWritten, spec),
    after: figures(estimate, planned),
    layers,
    lines: layers.filter((l) => l.changed && l.rank !== undefined).map((l) => compressLine(l.ref, l.rank!)),
    spec: planned,
    estimate,
    nodes: search.nodes,
    evaluations,
  };
}

function spectrumOf(c: Candidate): ArrayLike<number> {
  return c.spectrum;
}

/**
 * Raises each compressed layer's rank, one layer at a time in source order, towards the
 * next candidate rank of the grid (binary search; the rank grid is coarse, about 1.4x
 * steps) while the whole plan still meets the target: the error can only fall, and every
 * step is checked by `meets` on the real estimate.
 */
function refineRanks(spec: PipelineSpec, candidates: readonly Candidate[], choice: readonly number[], meets: (s: PipelineSpec) => boolean): PipelineSpec {
  let current = spec;
  candidates.forEach((c, i) => {
    const k = c.options[choice[i]].rank;
    if (k === undefined) return;
    const higher = c.options.map((o) => o.rank).filter((r): r is number => r !== undefined && r > k);
    const ceiling = higher.length > 0 ? Math.min(...higher) - 1 : svdBreakEvenRank(c.rows, c.cols) - 1;
    let lo = k, hi = ceiling;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const trial = withCompressions(current, new Map([[c.layer.id, { kind: 'svd', criterion: 'rank', rank: mid } as CompressionSpec]]));
      if (meets(trial)) lo = mid;
      else hi = mid - 1;
    }
    if (lo > k) current = withCompressions(current, new Map([[c.layer.id, { kind: 'svd', criterion: 'rank', rank: lo } as CompressionSpec]]));
  });
  return current;
}

/** The compress statement for a layer reference and rank: `compress encoder.2 svd rank 64`. */
export function compressLine(ref: string, rank: number): string {
  return `compress ${ref} svd rank ${rank}`;
}

function layerAct(est: Estimate, opIndices: readonly number[], target: CompressTarget): number {
  if (target.kind !== 'fit') return 0;
  let act = 0;
  for (const i of opIndices) {
    const op = est.ir.ops[i];
    if (!op.noop && est.schedule.ops[i].processor === target.processor) act = Math.max(act, op.inputBytes + op.activationBytes);
  }
  return act;
}

/**
 * Drops options that cannot be part of a least-error plan. With `strict` (energy and
 * memory, where the conditions are the metric itself): options no better than another on
 * every condition and the activation term that have no less error. Otherwise (latency,
 * where the conditions only bound the makespan): options that lower no condition at all
 * (a factorisation whose extra op overhead outweighs its saving).
 */
function pruneDominated(options: Option[], strict: boolean): Option[] {
  if (!strict) return options.filter((o, i) => i === 0 || o.delta.some((d) => d < 0) || o.act < options[0].act);
  return options.filter(
    (o, i) =>
      i === 0 ||
      !options.some((p, j) => j !== i && p.errSq <= o.errSq && p.act <= o.act && p.delta.every((d, c) => d <= o.delta[c]) && (p.errSq < o.errSq || j < i)),
  );
}

function planSpec(base: PipelineSpec, candidates: readonly Candidate[], choice: readonly number[]): PipelineSpec {
  const m = new Map<string, CompressionSpec | undefined>();
  candidates.forEach((c, i) => {
    const rank = c.options[choice[i]].rank;
    if (rank !== undefined) m.set(c.layer.id, { kind: 'svd', criterion: 'rank', rank });
  });
  return m.size === 0 ? base : withCompressions(base, m);
}

/** The option of `c` that lowers the conditions most (sum of deltas relative to each condition's limit). */
function mostSaving(c: Candidate, conditions: readonly Condition[]): number {
  let best = 0, bestScore = Infinity;
  c.options.forEach((o, i) => {
    let score = 0;
    o.delta.forEach((d, k) => (score += d / Math.max(1e-300, Math.abs(conditions[k].limit))));
    if (conditions.some((k) => k.withAct)) score += o.act / Math.max(1e-300, Math.abs(conditions[0].limit));
    if (score < bestScore - 1e-15) {
      bestScore = score;
      best = i;
    }
  });
  return best;
}

interface Segment {
  layer: number;
  saving: number;
  errSq: number;
}

/**
 * Depth-first branch and bound over candidate layers (module header). `feasibleLeaf`
 * evaluates a full choice and returns its estimate when it meets the target.
 */
function branchAndBound(
  candidates: readonly Candidate[],
  conditions: readonly Condition[],
  actFixed: number,
  feasibleLeaf: (choice: number[]) => Estimate | undefined,
  maxNodes: number,
): { best: number[] | undefined; exact: boolean; nodes: number } {
  const n = candidates.length;
  const C = conditions.length;
  const slack = (c: number): number => 1e-9 * Math.max(1, Math.abs(conditions[c].limit));
  // Suffix minima of each condition's delta and of the activation term.
  const restMin = Array.from({ length: n + 1 }, () => new Float64Array(C));
  const restAct = new Float64Array(n + 1);
  for (let i = n - 1; i >= 0; i--) {
    for (let c = 0; c < C; c++) restMin[i][c] = restMin[i + 1][c] + Math.min(...candidates[i].options.map((o) => o.delta[c]));
    restAct[i] = Math.max(restAct[i + 1], Math.min(...candidates[i].options.map((o) => o.act)));
  }
  // Per condition: every layer's lower-hull edges, sorted by slope; the LP relaxation of
  // the remaining layers takes edges in that order (skipping decided layers).
  const hulls: Segment[][] = conditions.map((_, c) =>
    candidates
      .flatMap((cand, li) => hullSegments(cand.options.map((o) => ({ saving: -o.delta[c], errSq: o.errSq })), li))
      .sort((a, b) => a.errSq / a.saving - b.errSq / b.saving),
  );
  const lpBound = (c: number, i: number, need: number): number => {
    if (need <= 0) return 0;
    let got = 0, err = 0;
    for (const s of hulls[c]) {
      if (s.layer < i) continue;
      if (got + s.saving >= need) return err + (s.errSq * (need - got)) / s.saving;
      got += s.saving;
      err += s.errSq;
    }
    return Infinity;
  };
  const conditionValue = (c: number, sums: Float64Array, act: number): number => conditions[c].base + sums[c] + (conditions[c].withAct ? act : 0);

  let bestErr = Infinity;
  let best: number[] | undefined;
  let nodes = 0;
  let exact = true;

  // Greedy incumbent: walk the first condition's hull (or the most violated one) from the base plan.
  const violation = (c: number): number => conditionValue(c, new Float64Array(C), actFixed) - conditions[c].limit;
  let primary = 0;
  for (let c = 1; c < C; c++) if (violation(c) > violation(primary)) primary = c;
  {
    const choice = new Array<number>(n).fill(0);
    const segs = candidates.flatMap((cand, li) => hullPoints(cand.options.map((o) => ({ saving: -o.delta[primary], errSq: o.errSq })), li));
    segs.sort((a, b) => a.slope - b.slope);
    const tryChoice = (): boolean => {
      const sums = new Float64Array(C);
      let act = actFixed;
      candidates.forEach((cand, li) => {
        const o = cand.options[choice[li]];
        for (let c = 0; c < C; c++) sums[c] += o.delta[c];
        act = Math.max(act, o.act);
      });
      for (let c = 0; c < C; c++) if (conditionValue(c, sums, act) > conditions[c].limit + slack(c)) return false;
      if (!feasibleLeaf(choice)) return false;
      best = [...choice];
      bestErr = candidates.reduce((a, cand, li) => a + cand.options[choice[li]].errSq, 0);
      return true;
    };
    if (!tryChoice()) {
      for (const s of segs) {
        if (s.option <= choice[s.layer]) continue;
        choice[s.layer] = s.option;
        if (tryChoice()) break;
      }
    }
  }

  const choice = new Array<number>(n).fill(0);
  const visit = (i: number, errSq: number, sums: Float64Array, act: number): void => {
    if (++nodes > maxNodes) {
      exact = false;
      return;
    }
    const actBound = Math.max(act, restAct[i]);
    let bound = errSq;
    for (let c = 0; c < C; c++) {
      const lowest = conditions[c].base + sums[c] + restMin[i][c] + (conditions[c].withAct ? actBound : 0);
      if (lowest > conditions[c].limit + slack(c)) return;
      const need = conditionValue(c, sums, conditions[c].withAct ? actBound : 0) - conditions[c].limit;
      bound = Math.max(bound, errSq + lpBound(c, i, need - slack(c)));
    }
    if (bound >= bestErr * (1 - 1e-12)) return;
    if (i === n) {
      if (feasibleLeaf(choice)) {
        bestErr = errSq;
        best = [...choice];
      }
      return;
    }
    const opts = candidates[i].options.map((o, k) => ({ o, k })).sort((a, b) => a.o.errSq - b.o.errSq);
    for (const { o, k } of opts) {
      if (!exact) return;
      choice[i] = k;
      const next = new Float64Array(C);
      for (let c = 0; c < C; c++) next[c] = sums[c] + o.delta[c];
      visit(i + 1, errSq + o.errSq, next, Math.max(act, o.act));
    }
    choice[i] = 0;
  };
  visit(0, 0, new Float64Array(C), actFixed);
  return { best, exact, nodes };
}

/**
 * The lower convex hull, from the uncompressed option (index 0, no saving, no error), of
 * the options' (saving, errSq) points with positive saving: vertices in increasing saving.
 */
function lowerHull(points: readonly { saving: number; errSq: number }[]): { saving: number; errSq: number; i: number }[] {
  const idx = points.map((p, i) => ({ ...p, i })).filter((p) => p.i === 0 || p.saving > 0).sort((a, b) => a.saving - b.saving || a.errSq - b.errSq || a.i - b.i);
  const hull: typeof idx = [];
  for (const p of idx) {
    if (hull.length > 0 && p.saving <= hull[hull.length - 1].saving) continue;
    while (hull.length >= 2) {
      const a = hull[hull.length - 2], b = hull[hull.length - 1];
      // Keep the hull lower-convex: drop b when it lies on or above the chord a -> p.
      if ((b.errSq - a.errSq) * (p.saving - a.saving) >= (p.errSq - a.errSq) * (b.saving - a.saving)) hull.pop();
      else break;
    }
    hull.push(p);
  }
  return hull;
}

/** The hull's vertices after the first, with the slope (errSq per unit saving) of the edge reaching them. */
function hullPoints(points: readonly { saving: number; errSq: number }[], layer: number): { layer: number; option: number; slope: number }[] {
  const hull = lowerHull(points);
  const out: { layer: number; option: number; slope: number }[] = [];
  for (let j = 1; j < hull.length; j++) out.push({ layer, option: hull[j].i, slope: (hull[j].errSq - hull[j - 1].errSq) / (hull[j].saving - hull[j - 1].saving) });
  return out;
}

/** The hull's edges as (saving, errSq) increments, for the LP bound. */
function hullSegments(points: readonly { saving: number; errSq: number }[], layer: number): Segment[] {
  const hull = lowerHull(points);
  const out: Segment[] = [];
  for (let j = 1; j < hull.length; j++) out.push({ layer, saving: hull[j].saving - hull[j - 1].saving, errSq: hull[j].errSq - hull[j - 1].errSq });
  return out;
}
