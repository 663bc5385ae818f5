/**
 * Data-aware compression of a pipeline under a parameter budget (`sense compress --params N%
 * --data DIR`). Three steps:
 *
 * 1. {@link collectInputCovariances}: run the network (engine/train/network.ts, the one tfjs
 *    forward pass training uses, through its `capture` hook) over the data's feature windows
 *    and accumulate each candidate layer's input second moment C = E[x x^T] in float64, batch
 *    by batch (./whitened-svd CovarianceAccumulator): memory is one in x in matrix per layer,
 *    whatever the number of clips. The network is the dense one (compress lines ignored): every
 *    layer is calibrated on the activations of the model as trained, as SVD-LLM does.
 * 2. {@link planRanks}: the spectrum of W C^1/2 per layer gives the exact relative output
 *    error sqrt(tr(E C E^T) / tr(W C W^T)) of its whitened factorisation at every rank
 *    (E = W - A B), and ./rank-budget picks the ranks within the budget with the least
 *    root-sum-square output error. The plain SVD's ranks at the same budget (chosen on the weight
 *    spectra) are also scored on the data and kept when better, so the data-aware plan's summed
 *    squared output error is never above what the whitened factors reach at the plain ranks, which
 *    is never above the plain factors' (whitened-svd's property); `plainOutputError` reports
 *    the plain SVD's output error at its own ranks, measured exactly with C.
 * 3. The factors (A = U_r S_r, B = S_r^-1 U_r^T W) at the chosen ranks, ready to be stored as
 *    ./stored-factors describes.
 *
 * Without data the same budget search runs on the weight spectra (plain SVD, weight errors).
 * Only dense layers are candidates with data: a conv layer's input covariance would be of its
 * im2col patches, which the capture does not build yet.
 */
import * as tf from '@tensorflow/tfjs';
import type { LayerSpec, PipelineSpec } from '../../language/pipeline-model';
import { isCompressible, weightMatrixShape } from '../../language/layer-shapes';
import { computeFeatures, type NormalizationStats } from '../../runtime/features';
import type { LayerChoice } from '../auto-compress';
import { buildNetwork } from '../train/network';
import type { Window } from '../train/features';
import { allLayers, type WeightSet, type WeightTensor } from '../weights/weights';
import { fromData, type Matrix } from './matrix';
import { chooseRanksForBudget, factorisedParams, scoreChoice, type RankCandidate } from './rank-budget';
import { randomMatrixSpectrum } from './random-matrix';
import { reconstruct, relativeErrorAtRank, singularValues, truncatedSvd } from './svd';
import { CovarianceAccumulator, relOutputError, whitenedSvd } from './whitened-svd';

/** The normalisation statistics stored with the weights (`features.mean`, `features.std`), if any. */
export function normalizationOf(weights: WeightSet): NormalizationStats | undefined {
  const mean = weights.get('features.mean');
  const std = weights.get('features.std');
  return mean && std ? { mean: mean.data, std: std.data } : undefined;
}

/** The layers `sense compress --params` may factorise: compressible layers without an int8 or sparse line; with data, dense ones only. */
export function budgetCandidates(spec: PipelineSpec, withData: boolean): LayerSpec[] {
  return allLayers(spec).filter((l) => isCompressible(l) && (!l.compression || l.compression.kind === 'svd') && (!withData || l.kind === 'dense'));
}

/** A layer's weight matrix (out x in; conv kernels reshaped) in float64. */
export function weightMatrix(layer: LayerSpec, weights: WeightSet): Matrix {
  const t = weights.get(`${layer.id}.weight`);
  const [rows, cols] = weightMatrixShape(layer);
  if (!t || t.data.length !== rows * cols) throw new Error(`the weights have no ${rows} x ${cols} '${layer.id}.weight'; check them against the pipeline (sense check)`);
  return fromData(rows, cols, t.data);
}

/** What {@link collectInputCovariances} gathered. */
export interface CovarianceCollection {
  /** Per layer id, the input second moment over every input vector the data gave it. */
  covariances: Map<string, Matrix>;
  /** Windows run (not silent) and windows skipped as silent (the runtime would not run them either). */
  windows: number;
  silentWindows: number;
}

/**
 * Runs `spec`'s dense network (weights `weights`) over `windows` in batches of `batchWindows`
 * and returns each of `layers`' input second moments. Throws when no window reaches the network.
 */
export function collectInputCovariances(spec: PipelineSpec, weights: WeightSet, windows: Iterable<Window>, layers: readonly LayerSpec[], batchWindows = 32): CovarianceCollection {
  const dense: PipelineSpec = { ...spec, blocks: spec.blocks.map((b) => ({ ...b, layers: b.layers.map(({ compression: _c, ...l }) => l) })) };
  const net = buildNetwork(dense, weights);
  const stats = normalizationOf(weights);
  const acc = new Map(layers.map((l) => [l.id, new CovarianceAccumulator(weightMatrixShape(l)[1])]));
  const shape = spec.features.outputShape;
  const d = shape.reduce((a, b) => a * b, 1);
  let batch: Float32Array[] = [];
  let count = 0, silent = 0;
  const flush = (): void => {
    if (batch.length === 0) return;
    const buf = new Float32Array(batch.length * d);
    batch.forEach((f, i) => buf.set(f, i * d));
    tf.tidy(() => {
      net.forward(tf.tensor(buf, [batch.length, ...shape]), {
        training: false,
        capture: (layer, input) => {
          const a = acc.get(layer.id);
          if (!a) return;
          const data = input.dataSync() as Float32Array;
          a.add(fromData(data.length / a.dim, a.dim, data));
        },
      });
    });
    batch = [];
  };
  try {
    for (const w of windows) {
      const f = computeFeatures(spec.input, spec.features, w, stats ? { normalization: stats } : {});
      if (f.silent) {
        silent++;
        continue;
      }
      batch.push(f.data);
      count++;
      if (batch.length >= batchWindows) flush();
    }
    flush();
  } finally {
    net.dispose();
  }
  if (count === 0) throw new Error(silent > 0 ? `every one of the ${silent} windows is silent (below the pipeline's silence threshold), so no layer sees an input` : 'the data gave no windows');
  return { covariances: new Map([...acc].map(([id, a]) => [id, a.covariance()])), windows: count, silentWindows: silent };
}

/**
 * One layer of a {@link RankPlanResult}: its matrix shape, the rank chosen (undefined keeps it
 * dense), parameters before and after, and `relError`: with data the relative output error
 * sqrt(tr(E C E^T) / tr(W C W^T)) of the factors at that rank on the data, without data the
 * relative weight error ||E||_F / ||W||_F.
 */
export interface PlannedLayer extends Pick<LayerChoice, 'rows' | 'cols' | 'rank' | 'paramsBefore' | 'paramsAfter' | 'relError'> {
  layer: LayerSpec;
  /** With data: the plain SVD's relative output error on the data at the plain plan's rank for this layer (0 when dense). */
  plainRelOutputError?: number;
  /** With data: the plain plan's rank for this layer. */
  plainRank?: number;
  /** With data and a rank: the data-aware factors W ~ A B (A out x rank, B rank x in). */
  factors?: { A: WeightTensor; B: WeightTensor };
}

/** The result of {@link planRanks}. */
export interface RankPlanResult {
  layers: PlannedLayer[];
  /** Parameters of the pipeline as written, the budget and the plan (all layers). */
  paramsBefore: number;
  budgetParams: number;
  paramsAfter: number;
  /** Root-sum-square of the per-layer relative errors (output errors with data). */
  error: number;
  /** With data: the same for the plain SVD at the same budget, measured on the data. */
  plainError?: number;
  /** True when there were no weights: the errors are the data-free random-matrix estimate (./random-matrix). */
  dataFree: boolean;
}

/**
 * Chooses ranks so that the whole pipeline has at most `fraction` of `paramsBefore` parameters
 * (the figure `sense estimate` shows for the file as written; `layerParamsNow` gives each
 * candidate's share of it). With `covariances` the errors are output errors on the data and the
 * factors are the whitened ones; without, weight errors and no factors (plain SVD), estimated
 * from the random-matrix spectrum of each layer's shape when `weights` is undefined.
 */
export function planRanks(
  spec: PipelineSpec,
  weights: WeightSet | undefined,
  fraction: number,
  paramsBefore: number,
  layerParamsNow: ReadonlyMap<string, number>,
  covariances?: ReadonlyMap<string, Matrix>,
): RankPlanResult {
  const layers = budgetCandidates(spec, covariances !== undefined);
  if (layers.length === 0) throw new Error(`pipeline ${spec.name} has no ${covariances ? 'dense ' : ''}layer to factorise`);
  if (covariances && !weights) throw new Error('data-aware factors need the trained weights');
  const W = new Map(weights ? layers.map((l) => [l.id, weightMatrix(l, weights)]) : []);
  const plainCands: RankCandidate[] = layers.map((l) => {
    const [rows, cols] = weightMatrixShape(l);
    const w = W.get(l.id);
    return { layerId: l.id, rows, cols, spectrum: w ? singularValues(w) : randomMatrixSpectrum(rows, cols) };
  });
  const fixed = paramsBefore - layers.reduce((a, l) => a + (layerParamsNow.get(l.id) ?? 0), 0);
  const budgetParams = Math.floor(fraction * paramsBefore);
  const room = budgetParams - fixed;
  const guard = (f: () => ReturnType<typeof chooseRanksForBudget>): ReturnType<typeof chooseRanksForBudget> => {
    if (room <= 0) throw new Error(`${(100 * fraction).toFixed(1)}% of ${paramsBefore} parameters is ${budgetParams}, but the layers SVD cannot shrink already hold ${fixed}`);
    try {
      return f();
    } catch (e) {
      const least = fixed + plainCands.reduce((a, c) => a + factorisedParams(c.rows, c.cols, 1), 0);
      throw new Error(`${(e as Error).message}: the least reachable is ${least} parameters, ${((100 * least) / paramsBefore).toFixed(1)}% of ${paramsBefore}`);
    }
  };
  const plain = guard(() => chooseRanksForBudget(plainCands, room));
  if (!covariances) {
    const out = layers.map((l): PlannedLayer => {
      const c = plainCands.find((x) => x.layerId === l.id)!;
      const rank = plain.ranks.get(l.id);
      return { layer: l, rows: c.rows, cols: c.cols, ...(rank !== undefined ? { rank } : {}), paramsBefore: layerParamsNow.get(l.id) ?? 0, paramsAfter: factorisedParams(c.rows, c.cols, rank), relError: rank === undefined ? 0 : relativeErrorAtRank(c.spectrum, rank) };
    });
    return { layers: out, paramsBefore, budgetParams, paramsAfter: fixed + plain.params, error: Math.sqrt(plain.errorSq), dataFree: !weights };
  }
  const dataCands: RankCandidate[] = layers.map((l) => {
    const C = covariances.get(l.id);
    if (!C) throw new Error(`no input covariance was collected for layer ${l.id}`);
    return { layerId: l.id, rows: W.get(l.id)!.rows, cols: W.get(l.id)!.cols, spectrum: whitenedSvd(W.get(l.id)!, C, 1).S };
  });
  const chosen = guard(() => chooseRanksForBudget(dataCands, room, [plain.ranks]));
  let plainSq = 0;
  const out = layers.map((l): PlannedLayer => {
    const w = W.get(l.id)!;
    const C = covariances.get(l.id)!;
    const rank = chosen.ranks.get(l.id);
    const plainRank = plain.ranks.get(l.id);
    const plainRelOutputError = plainRank === undefined ? 0 : relOutputError(w, reconstruct(truncatedSvd(w, plainRank, { method: 'exact' })), C);
    plainSq += plainRelOutputError ** 2;
    const base: PlannedLayer = { layer: l, rows: w.rows, cols: w.cols, paramsBefore: layerParamsNow.get(l.id) ?? 0, paramsAfter: factorisedParams(w.rows, w.cols, rank), relError: 0, plainRelOutputError, ...(plainRank !== undefined ? { plainRank } : {}) };
    if (rank === undefined) return base;
    const f = whitenedSvd(w, C, rank);
    return {
      ...base,
      rank,
      relError: f.relOutputErrorByRank[rank - 1],
      factors: { A: { shape: [w.rows, rank], data: Float32Array.from(f.A.data) }, B: { shape: [rank, w.cols], data: Float32Array.from(f.B.data) } },
    };
  });
  return { layers: out, paramsBefore, budgetParams, paramsAfter: fixed + scoreChoice(dataCands, chosen.ranks).params, error: Math.sqrt(chosen.errorSq), plainError: Math.sqrt(plainSq), dataFree: false };
}
