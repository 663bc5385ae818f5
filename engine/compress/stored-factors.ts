/**
 * SVD factors stored in a pipeline's weights file, next to the dense weight they replace:
 * `ID.svd.a` (out x r) and `ID.svd.b` (r x in) for a dense layer whose `compress` line is
 * `svd rank r`, so that W x ~ A (B x). `sense compress --data` writes them (the data-aware,
 * whitened factors of ./whitened-svd, or their fine-tuned values after `--recover`); export,
 * run, evaluation and training then use them as they are instead of recomputing the plain
 * truncated SVD of `ID.weight`, which stays in the file as the data-free fallback.
 *
 * The rank is fixed by the stored tensors: a `compress` line asking for another rank (or for
 * an energy or error criterion that resolves to another rank) is an error naming both, never
 * a silent switch to different factors. Conv layers have no stored factors (their data-aware
 * covariance would be of im2col patches, not collected yet); tensors with these names for
 * a layer the pipeline does not compress by SVD are reported unused like any other.
 */
import type { LayerSpec } from '../../language/pipeline-model';
import type { WeightSet, WeightTensor } from '../weights/weights';
import type { Matrix } from './matrix';

/** The tensor names of a layer's stored SVD factors: `ID.svd.a` (out x r) and `ID.svd.b` (r x in). */
export function svdFactorNames(layerId: string): { a: string; b: string } {
  return { a: `${layerId}.svd.a`, b: `${layerId}.svd.b` };
}

/** A layer's stored factors: W ~ A B with A out x rank and B rank x in, row-major float32. */
export interface StoredSvdFactors {
  A: WeightTensor;
  B: WeightTensor;
  rank: number;
}

/** Whether stored factors can apply to `layer`: a dense layer whose compression is SVD. */
export function takesStoredFactors(layer: Pick<LayerSpec, 'kind' | 'compression'>): boolean {
  return layer.kind === 'dense' && layer.compression?.kind === 'svd';
}

/**
 * The stored SVD factors of `layer` in `weights`, or undefined when the file holds none for it
 * (or the layer is not a dense layer compressed by SVD). With `rank`, the factors must have that
 * rank. Throws an Error naming the tensors and the fix when only one factor is present, the
 * shapes do not fit the layer or each other, a value is not finite, or the rank differs.
 */
export function storedSvdFactors(weights: WeightSet, layer: LayerSpec, rank?: number): StoredSvdFactors | undefined {
  if (!takesStoredFactors(layer)) return undefined;
  const names = svdFactorNames(layer.id);
  const A = weights.get(names.a);
  const B = weights.get(names.b);
  if (!A && !B) return undefined;
  const out = layer.units ?? 1;
  const inWidth = layer.inputShape[layer.inputShape.length - 1] ?? 1;
  const redo = `run 'sense compress FILE --params N% --data DIR --write' again, or delete '${names.a}' and '${names.b}' for plain SVD`;
  if (!A || !B) throw new Error(`layer ${layer.id}: the weights hold '${A ? names.a : names.b}' but not '${A ? names.b : names.a}'; ${redo}`);
  const r = A.shape[1];
  if (A.shape.length !== 2 || B.shape.length !== 2 || A.shape[0] !== out || B.shape[1] !== inWidth || B.shape[0] !== r || !(r >= 1)) {
    throw new Error(`layer ${layer.id}: stored SVD factors '${names.a}' [${A.shape.join(', ')}] and '${names.b}' [${B.shape.join(', ')}] do not fit a ${out} x ${inWidth} dense layer (expected [${out}, r] and [r, ${inWidth}]); ${redo}`);
  }
  for (const [name, t] of [[names.a, A], [names.b, B]] as const) {
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`layer ${layer.id}: stored SVD factor '${name}' holds ${t.data[bad]} at element ${bad}; ${redo}`);
  }
  if (rank !== undefined && rank !== r) {
    throw new Error(`layer ${layer.id}: the compress line asks for SVD rank ${rank} but the weights hold data-aware factors of rank ${r} ('${names.a}', '${names.b}'); write 'svd rank ${r}', or ${redo}`);
  }
  return { A, B, rank: r };
}

/** The relative weight error ||W - A B||_F / ||W||_F of stored factors (0 when W = 0), for export's compression report. */
export function storedRelError(W: Matrix, f: StoredSvdFactors): number {
  const { rank: r } = f;
  const A = f.A.data, B = f.B.data;
  let err = 0, total = 0;
  const row = new Float64Array(W.cols);
  for (let i = 0; i < W.rows; i++) {
    row.fill(0);
    for (let k = 0; k < r; k++) {
      const a = A[i * r + k];
      for (let j = 0; j < W.cols; j++) row[j] += a * B[k * W.cols + j];
    }
    for (let j = 0; j < W.cols; j++) {
      const w = W.data[i * W.cols + j];
      err += (w - row[j]) ** 2;
      total += w * w;
    }
  }
  return total === 0 ? 0 : Math.sqrt(err / total);
}
