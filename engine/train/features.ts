/**
 * Training-side use of the ONE feature front end (runtime/features.ts): features of a
 * window, and the normalisation statistics fitted on the training split. Nothing here
 * re-implements a feature; every number comes from `computeFeatures`, so what a model is
 * trained on is exactly what the studio and the exported runtime compute.
 */
import { featureOutputShape } from '../../language/feature-shapes';
import type { PipelineSpec } from '../../language/pipeline-model';
import { computeFeatures, type NormalizationStats } from '../../runtime/features';
import { normalizationRows } from '../weights/weights';

/** Smallest standard deviation stored for a feature row, so a constant row does not divide by zero. */
export const MIN_FEATURE_STD = 1e-5;

/** One analysis window: mono audio at the input's rate, or one row per inertial axis. */
export type Window = Float32Array | readonly Float32Array[];

/** The features the first layer sees for one window, normalised with `stats` when the pipeline normalises. */
export function windowFeatures(spec: PipelineSpec, window: Window, stats?: NormalizationStats): Float32Array {
  return computeFeatures(spec.input, spec.features, window, stats ? { normalization: stats } : {}).data;
}

/**
 * Mean and standard deviation per row of the tensor at the pipeline's `normalize` step,
 * over every column of every given window (population std, floored at
 * {@link MIN_FEATURE_STD}). The tensor is computed by `computeFeatures` on the steps
 * before `normalize`. Returns undefined when the pipeline has no `normalize` step.
 */
export function fitNormalization(spec: PipelineSpec, windows: Iterable<Window>): NormalizationStats | undefined {
  const rows = normalizationRows(spec);
  if (rows === undefined || spec.input.kind === 'image') return undefined;
  const at = spec.features.steps.findIndex((s) => s.kind === 'normalize');
  const steps = spec.features.steps.slice(0, at);
  const prefix = { steps, outputShape: featureOutputShape(spec.input, steps) };
  const sum = new Float64Array(rows);
  const sumSq = new Float64Array(rows);
  let perRow = 0;
  for (const w of windows) {
    const data = computeFeatures(spec.input, prefix, w).data;
    const cols = data.length / rows;
    for (let r = 0; r < rows; r++) {
      // Shifted sums would be more stable; features are O(10) and windows number thousands, so float64 sums suffice.
      for (let c = 0; c < cols; c++) {
        const v = data[r * cols + c];
        sum[r] += v;
        sumSq[r] += v * v;
      }
    }
    perRow += cols;
  }
  if (perRow === 0) throw new Error('fitNormalization: no training window to fit the normalisation statistics on');
  const mean = new Float32Array(rows);
  const std = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const m = sum[r] / perRow;
    mean[r] = m;
    std[r] = Math.max(MIN_FEATURE_STD, Math.sqrt(Math.max(0, sumSq[r] / perRow - m * m)));
  }
  return { mean, std };
}
