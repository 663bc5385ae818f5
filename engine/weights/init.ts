/**
 * Seeded initial weights for a pipeline that has none, so it can be run, exported and
 * profiled before training. Schemes are the usual ones:
 * - dense and conv followed by relu / elu / leakyrelu / gelu (fused or as the next layer):
 *   He normal, N(0, 2 / fan_in) (He et al., ICCV 2015);
 * - other dense and conv: Glorot uniform, U(+-sqrt(6 / (fan_in + fan_out))) (Glorot &
 *   Bengio, AISTATS 2010);
 * - gru / lstm: U(+-1 / sqrt(units)) for W, R and B, PyTorch's default;
 * - batchnorm: scale 1, bias 0, mean 0, var 1; biases 0;
 * - normalisation statistics: mean 0, std 1 (the identity).
 * The same seed gives the same weights in Node and in a browser (engine/compress/random.ts).
 */
import type { ActivationName, PipelineSpec } from '../../language/pipeline-model';
import { gaussian, mulberry32 } from '../compress/random';
import { allLayers, assertWeightsFitInFile, elementsOf, expectedWeights, type WeightSet } from './weights';

const HE_ACTIVATIONS = new Set<ActivationName>(['relu', 'elu', 'leakyrelu', 'gelu']);

/**
 * Initial weights for every tensor of {@link expectedWeights}, from `seed` (default 1).
 * Throws PipelineTooLargeError when they would not fit in a weights file.
 */
export function initWeights(spec: PipelineSpec, seed = 1): WeightSet {
  assertWeightsFitInFile(spec);
  const rng = mulberry32(seed);
  const layers = allLayers(spec);
  const byId = new Map(layers.map((l, i) => [l.id, { layer: l, next: layers[i + 1] }]));
  const out: WeightSet = new Map();
  for (const e of expectedWeights(spec)) {
    const n = elementsOf(e.shape);
    const data = new Float32Array(n);
    const entry = byId.get(e.layerId);
    if (e.role === 'std' || e.role === 'var' || e.role === 'scale') data.fill(1);
    else if (entry && e.role === 'weight') {
      const { layer, next } = entry;
      // Fans as PyTorch counts them: a conv kernel's receptive field multiplies both.
      const receptive = e.shape.length > 2 ? elementsOf(e.shape.slice(2)) : 1;
      const fanIn = e.shape[1] * receptive;
      const fanOut = e.shape[0] * receptive;
      const act = layer.activation ?? (next && next.block === layer.block && next.kind === 'activation' ? next.activation : undefined);
      if (act && HE_ACTIVATIONS.has(act)) {
        const std = Math.sqrt(2 / fanIn);
        for (let i = 0; i < n; i++) data[i] = gaussian(rng) * std;
      } else {
        const limit = Math.sqrt(6 / (fanIn + fanOut));
        for (let i = 0; i < n; i++) data[i] = (2 * rng() - 1) * limit;
      }
    } else if (entry && (e.role === 'W' || e.role === 'R' || e.role === 'B')) {
      const limit = 1 / Math.sqrt(entry.layer.units ?? 1);
      for (let i = 0; i < n; i++) data[i] = (2 * rng() - 1) * limit;
    }
    out.set(e.name, { shape: e.shape, data });
  }
  return out;
}
