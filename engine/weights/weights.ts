/**
 * Weight sets: the parameters of a pipeline's layers, by name, and the rules that tie each
 * name and shape to a layer of the checked pipeline.
 *
 * Naming convention (`BLOCK.INDEX` is the layer id, e.g. `encoder.2`; layouts follow ONNX,
 * which is also PyTorch's for dense and conv, so trained PyTorch weights load unchanged):
 * - dense: `ID.weight` `[units, in]` (like `torch.nn.Linear.weight`), `ID.bias` `[units]`;
 * - conv1d: `ID.weight` `[filters, channels, k]`, conv2d `[filters, channels, kh, kw]`,
 *   `ID.bias` `[filters]` (ONNX Conv `W`/`B`, `torch.nn.Conv1d/2d`);
 * - batchnorm: `ID.scale`, `ID.bias`, `ID.mean`, `ID.var`, each `[channels]` (ONNX
 *   BatchNormalization inputs; PyTorch `weight`, `bias`, `running_mean`, `running_var`),
 *   epsilon {@link BATCHNORM_EPSILON};
 * - gru: `ID.W` `[1, 3*units, in]`, `ID.R` `[1, 3*units, units]`, `ID.B` `[1, 6*units]`,
 *   gates in ONNX order z, r, h, with `linear_before_reset = 1` (PyTorch's GRU formula;
 *   PyTorch's r, z, n gate blocks must be reordered to z, r, n);
 * - lstm: `ID.W` `[1, 4*units, in]`, `ID.R` `[1, 4*units, units]`, `ID.B` `[1, 8*units]`,
 *   gates in ONNX order i, o, f, c (PyTorch's i, f, g, o reordered);
 * - the feature `normalize` step: `features.mean` and `features.std`, each with one entry
 *   per row of the tensor at the normalize step (bands for log-mel; see runtime/features.ts).
 * Recurrent layers read their input sequence `[features, steps]` along the steps axis.
 */
import { MAX_FILE_BYTES } from '../../io/file-limits';
import { featureOutputShape } from '../../language/feature-shapes';
import { formatBytes, formatCountShort } from '../../language/figures';
import { formatShape } from '../../language/layer-shapes';
import { FEATURES_KEY, type LayerSpec, type PipelineSpec, type Shape } from '../../language/pipeline-model';
import { storedSvdFactors, svdFactorNames } from '../compress/stored-factors';

/** Epsilon of every batchnorm layer (PyTorch's default), used by export and by references. */
export const BATCHNORM_EPSILON = 1e-5;

/** One parameter tensor: row-major float32 data and its shape. */
export interface WeightTensor {
  shape: Shape;
  data: Float32Array;
}

/** A weight set: parameter name to tensor. */
export type WeightSet = Map<string, WeightTensor>;

/** A parameter the pipeline needs: its name, shape and the layer it belongs to (`features` for normalisation). */
export interface ExpectedWeight {
  name: string;
  shape: Shape;
  layerId: string;
  /** What the tensor is, for messages and initialisation. */
  role: 'weight' | 'bias' | 'scale' | 'mean' | 'var' | 'std' | 'W' | 'R' | 'B';
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Number of elements of a shape. */
export function elementsOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Every layer of the pipeline in block order. */
export function allLayers(spec: PipelineSpec): LayerSpec[] {
  return spec.blocks.flatMap((b) => b.layers);
}

/**
 * The rows of the tensor at the pipeline's `normalize` step (the length of
 * `features.mean` and `features.std`), or undefined when the pipeline does not normalise.
 */
export function normalizationRows(spec: PipelineSpec): number | undefined {
  const idx = spec.features.steps.findIndex((s) => s.kind === 'normalize');
  if (idx < 0 || spec.input.kind === 'image') return undefined;
  const shape = featureOutputShape(spec.input, spec.features.steps.slice(0, idx));
  return shape[0] ?? 1;
}

/** The parameters of one layer, by the naming convention above; none for parameter-free layers. */
export function layerWeights(layer: LayerSpec): ExpectedWeight[] {
  const id = layer.id;
  const w = (role: ExpectedWeight['role'], shape: Shape): ExpectedWeight => ({ name: `${id}.${role}`, shape, layerId: id, role });
  switch (layer.kind) {
    case 'dense': {
      const inWidth = layer.inputShape[layer.inputShape.length - 1] ?? 1;
      return [w('weight', [layer.units ?? 1, inWidth]), w('bias', [layer.units ?? 1])];
    }
    case 'conv1d':
    case 'conv2d': {
      const k = layer.kernel ?? [1];
      const kernel = layer.kind === 'conv1d' ? [k[0]] : [k[0], k[1] ?? k[0]];
      return [w('weight', [layer.filters ?? 1, layer.inputShape[0] ?? 1, ...kernel]), w('bias', [layer.filters ?? 1])];
    }
    case 'batchnorm': {
      const c = layer.inputShape[0] ?? 1;
      return [w('scale', [c]), w('bias', [c]), w('mean', [c]), w('var', [c])];
    }
    case 'gru':
    case 'lstm': {
      const gates = layer.kind === 'gru' ? 3 : 4;
      const h = layer.units ?? 1;
      const f = layer.inputShape[0] ?? 1;
      return [w('W', [1, gates * h, f]), w('R', [1, gates * h, h]), w('B', [1, 2 * gates * h])];
    }
    default:
      return [];
  }
}

/** Every parameter the pipeline needs, layers in block order, then the normalisation statistics. */
export function expectedWeights(spec: PipelineSpec): ExpectedWeight[] {
  const out = allLayers(spec).flatMap(layerWeights);
  const rows = normalizationRows(spec);
  if (rows !== undefined) {
    out.push({ name: 'features.mean', shape: [rows], layerId: FEATURES_KEY, role: 'mean' });
    out.push({ name: 'features.std', shape: [rows], layerId: FEATURES_KEY, role: 'std' });
  }
  return out;
}

/**
 * A pipeline whose float32 weights would not fit in a weights file ({@link MAX_FILE_BYTES}):
 * creating them (init-weights, train, calibrate) would try to allocate more than any file
 * could hold and fail inside V8, so it is refused first, naming the pipeline and the fix.
 */
export class PipelineTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PipelineTooLargeError';
  }
}

/** Throws {@link PipelineTooLargeError} when `spec`'s weights, as float32, exceed the weights-file limit. */
export function assertWeightsFitInFile(spec: PipelineSpec): void {
  const count = expectedWeights(spec).reduce((n, e) => n + elementsOf(e.shape), 0);
  const bytes = count * Float32Array.BYTES_PER_ELEMENT;
  if (bytes > MAX_FILE_BYTES.weights)
    throw new PipelineTooLargeError(
      `pipeline ${spec.name} has ${formatCountShort(count)} weights (${formatBytes(bytes)} as float32), more than a weights file holds (${formatBytes(MAX_FILE_BYTES.weights)}); make its layers smaller or compress them`,
    );
}

/** The result of checking a weight set against a pipeline. */
export interface WeightCheck {
  /** Tensors the pipeline does not use (each named), as warnings. */
  warnings: string[];
}

/**
 * Checks `weights` (read from `source`) against the pipeline: every expected tensor is
 * present with the expected shape and finite values, and normalisation std entries are
 * positive. Throws one Error listing every problem, each naming the tensor, its layer and
 * both shapes; returns warnings for tensors the pipeline does not use.
 */
export function checkWeights(spec: PipelineSpec, weights: WeightSet, source: string): WeightCheck {
  const problems: string[] = [];
  const expected = expectedWeights(spec);
  const known = new Set(expected.map((e) => e.name));
  for (const e of expected) {
    const t = weights.get(e.name);
    const where = e.layerId === FEATURES_KEY ? 'the feature normalize step' : `layer ${e.layerId}`;
    if (!t) {
      problems.push(`missing tensor '${e.name}' for ${where} (expected shape ${formatShape(e.shape)})`);
      continue;
    }
    if (!sameShape(t.shape, e.shape)) {
      problems.push(`tensor '${e.name}' of ${where} has shape ${formatShape(t.shape)} but the pipeline needs ${formatShape(e.shape)}`);
      continue;
    }
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) problems.push(`tensor '${e.name}' of ${where} holds ${t.data[bad]} at element ${bad}; weights must be finite`);
    else if (e.name === 'features.std') {
      const z = t.data.findIndex((v) => !(v > 0));
      if (z >= 0) problems.push(`tensor 'features.std' holds ${t.data[z]} at row ${z}; standard deviations must be positive`);
    }
  }
  // Stored SVD factors (compress/stored-factors.ts) are used, not unknown, and must fit their layer.
  for (const layer of allLayers(spec)) {
    try {
      if (storedSvdFactors(weights, layer)) for (const n of Object.values(svdFactorNames(layer.id))) known.add(n);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (problems.length > 0) {
    const fix = problems.some((p) => p.startsWith('missing')) ? " Train the pipeline, or run 'sense init-weights' for initial weights." : '';
    throw new Error(`${source}: the weights do not fit pipeline ${spec.name}:\n  ${problems.join('\n  ')}${fix}`);
  }
  const warnings = [...weights.keys()].filter((n) => !known.has(n)).map((n) => `${source}: tensor '${n}' is not used by pipeline ${spec.name} (ignored)`);
  return { warnings };
}

/** An IEEE 754 binary16 (half-precision) value, given as its 16 bits, as a number: subnormals, infinities and NaN included. */
export function halfToFloat(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const f = bits & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f === 0 ? s * Infinity : NaN;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
