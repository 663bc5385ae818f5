/**
 * What the inspector asks before Apply: a layer's singular-value spectrum and the cost and
 * error of a candidate compression. Pure apart from reading the weights file (through
 * ./workspace-files.ts, confined to the workspace); no `vscode` import, so unit tests run
 * it in Node.
 *
 * Errors are computed from the real weights: SVD by the Eckart–Young tail of the spectrum
 * (engine/compress/svd.ts relativeErrorAtRank), int8 by quantizing the matrix
 * (engine/compress/int8.ts), K-SVD by running K-SVD (engine/compress/ksvd.ts). Without
 * a weights file there is no spectrum and no error, and the preview says so.
 */
import { stat } from 'node:fs/promises';
import { estimatePipeline, type Estimate, type LayerCost as EngineLayerCost } from '../engine/estimate';
import { quantizeInt8 } from '../engine/compress/int8';
import { ksvd } from '../engine/compress/ksvd';
import { fromData, type Matrix } from '../engine/compress/matrix';
import { rankForEnergy, rankForError, relativeErrorAtRank, retainedEnergy, singularValues, suggestRank } from '../engine/compress/svd';
import type { WeightSet } from '../engine/weights/weights';
import { isCompressible, notCompressibleMessage, svdBreakEvenRank, weightMatrixShape } from '../language/layer-shapes';
import type { CompressionSpec, LayerSpec, PipelineSpec } from '../language/pipeline-model';
import type { LayerCost, TotalsView } from '../webview/protocol';
import { readWeightsIn, weightsFileOf, type DocumentFiles } from './workspace-files';
import { resolveUserPath, UserFileError } from '../io/user-files';

/** The spectrum of one layer's weight matrix, as the protocol's `spectrum` reply carries it. */
export interface LayerSpectrum {
  layerId: string;
  /** Singular values, largest first. */
  singularValues: number[];
  matrixShape: [number, number];
  breakEvenRank: number;
  suggestedRank?: number;
}

/** A candidate compression's effect, as the protocol's `compressionPreview` reply carries it. */
export interface CompressionPreview {
  layerId: string;
  method: CompressionSpec;
  before: LayerCost;
  after: LayerCost;
  /** Relative Frobenius error of the compressed weight matrix, 0-1. */
  estimatedError: number;
  retainedEnergy?: number;
  totalsAfter: TotalsView;
}

/**
 * Reads weights once per file version (path, size and modification time) and keeps the
 * spectra it computed, so moving the rank slider costs one estimate, not an SVD.
 */
export class WeightsCache {
  private key = '';
  private weights: Promise<WeightSet> | undefined;
  private readonly spectra = new Map<string, Float64Array>();

  /**
   * The weights of `spec` (its `weights` line, relative to the `.sense` file), read inside
   * the document's roots; rejects with an Error naming the file.
   */
  async weightsFor(spec: PipelineSpec, files: DocumentFiles): Promise<WeightSet> {
    const path = weightsFileOf(spec, files.sensePath);
    if (!path) throw new Error(`Pipeline ${spec.name} has no 'weights' line, so there is no weight matrix to analyse; add one (weights "model.safetensors") and create it with 'sense init-weights' or by training.`);
    const real = resolveUserPath(path, 'weights', files.roots);
    const st = await stat(real).catch(() => undefined);
    if (!st) throw new UserFileError(`The weights file ${path} does not exist; create it with 'sense init-weights' or by training, then try again.`, path, 'not-found');
    const stamp = `${real}:${st.size}:${st.mtimeMs}`;
    if (stamp !== this.key || !this.weights) {
      this.spectra.clear();
      this.key = stamp;
      const loading = readWeightsIn(path, files.roots);
      this.weights = loading;
      // A failed read is not kept: the next request reads again (the user may fix the file).
      loading.catch(() => {
        if (this.weights === loading) this.weights = undefined;
      });
    }
    return this.weights;
  }

  /** The singular values of a layer's weight matrix, largest first. */
  async spectrum(spec: PipelineSpec, files: DocumentFiles, layer: LayerSpec): Promise<Float64Array> {
    const W = layerMatrix(await this.weightsFor(spec, files), layer);
    let s = this.spectra.get(layer.id);
    if (!s) {
      s = singularValues(W);
      this.spectra.set(layer.id, s);
    }
    return s;
  }
}

/** The weight matrix of a dense or conv layer, (out, in) or (filters, in*kh*kw). */
export function layerMatrix(weights: WeightSet, layer: LayerSpec): Matrix {
  const t = weights.get(`${layer.id}.weight`);
  if (!t) throw new Error(`The weights have no tensor '${layer.id}.weight' for ${layer.id}; they do not match the pipeline (check them with 'sense check').`);
  const [rows, cols] = weightMatrixShape(layer);
  if (t.data.length !== rows * cols) throw new Error(`'${layer.id}.weight' holds ${t.data.length} values but ${layer.id} needs ${rows} x ${cols}; the weights do not match the pipeline.`);
  return fromData(rows, cols, t.data);
}

function findLayer(spec: PipelineSpec, layerId: string): LayerSpec {
  const layer = spec.blocks.flatMap((b) => b.layers).find((l) => l.id === layerId);
  if (!layer) throw new Error(`Pipeline ${spec.name} has no layer ${layerId}.`);
  if (!isCompressible(layer)) throw new Error(notCompressibleMessage(layer));
  return layer;
}

/** The spectrum reply for a layer. */
export async function layerSpectrum(cache: WeightsCache, spec: PipelineSpec, files: DocumentFiles, layerId: string): Promise<LayerSpectrum> {
  const layer = findLayer(spec, layerId);
  const s = await cache.spectrum(spec, files, layer);
  const [rows, cols] = weightMatrixShape(layer);
  return {
    layerId,
    singularValues: [...s],
    matrixShape: [rows, cols],
    breakEvenRank: svdBreakEvenRank(rows, cols),
    suggestedRank: suggestRank(s, rows, cols),
  };
}

function costOf(c: EngineLayerCost | undefined): LayerCost {
  return { params: c?.params ?? 0, macs: c?.macs ?? 0, latencyMs: c?.latencyMs ?? 0, energyMj: c?.energyMj ?? 0 };
}

/** The totals the side panel shows, from an estimate. */
export function totalsOf(estimate: Estimate): TotalsView {
  return {
    endToEndLatencyMs: estimate.endToEndLatencyMs,
    energyPerInferenceMj: estimate.energyPerInferenceMj,
    ...(estimate.batteryLifeHours !== undefined && Number.isFinite(estimate.batteryLifeHours) ? { batteryLifeHours: estimate.batteryLifeHours } : {}),
    ...(estimate.budgetMs !== undefined ? { budgetMs: estimate.budgetMs } : {}),
    params: estimate.layers.reduce((a, l) => a + l.params, 0),
    macs: estimate.layers.reduce((a, l) => a + l.macs, 0) + (estimate.features?.macs ?? 0),
  };
}

/**
 * What compressing `layerId` with `method` would cost and save: the layer's figures
 * before (as the text stands) and after, the whole pipeline's totals after, and the
 * relative error of the compressed weights. Nothing is written.
 */
export async function previewCompression(cache: WeightsCache, spec: PipelineSpec, files: DocumentFiles, layerId: string, method: CompressionSpec): Promise<CompressionPreview> {
  const layer = findLayer(spec, layerId);
  const W = layerMatrix(await cache.weightsFor(spec, files), layer);
  const s = await cache.spectrum(spec, files, layer);
  const rankOf = (l: LayerSpec): number | undefined => {
    const c = l.compression;
    if (!c || c.kind !== 'svd' || c.criterion === 'rank') return undefined;
    const ls = l.id === layer.id ? s : undefined;
    if (!ls) return undefined;
    return c.criterion === 'energy' ? rankForEnergy(ls, c.fraction) : rankForError(ls, c.fraction);
  };
  const before = estimatePipeline(spec, { rankResolver: rankOf });
  const candidate: PipelineSpec = {
    ...spec,
    blocks: spec.blocks.map((b) => ({ ...b, layers: b.layers.map((l) => (l.id === layerId ? { ...l, compression: method } : l)) })),
  };
  const after = estimatePipeline(candidate, { rankResolver: rankOf });
  let estimatedError: number;
  let kept: number | undefined;
  if (method.kind === 'svd') {
    const rank = method.criterion === 'rank' ? Math.min(method.rank, s.length) : method.criterion === 'energy' ? rankForEnergy(s, method.fraction) : rankForError(s, method.fraction);
    estimatedError = relativeErrorAtRank(s, rank);
    kept = retainedEnergy(s, rank);
  } else if (method.kind === 'int8') {
    estimatedError = quantizeInt8(W).relError;
  } else {
    estimatedError = ksvd(W, { atoms: method.atoms, sparsity: method.nonzeros, iterations: 3 }).relError;
  }
  return {
    layerId,
    method,
    before: costOf(before.layers.find((l) => l.layerId === layerId)),
    after: costOf(after.layers.find((l) => l.layerId === layerId)),
    estimatedError,
    ...(kept !== undefined ? { retainedEnergy: kept } : {}),
    totalsAfter: totalsOf(after),
  };
}
