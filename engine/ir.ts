/**
 * The pipeline IR: a DAG of ops built from a checked {@link PipelineSpec}, device-independent.
 * Every op carries its input and output shapes, parameters, multiply-accumulates (MACs)
 * and bytes, and traces back to the layer (and its source range) or the feature step it
 * came from. The cost model (engine/cost-model.ts) prices ops on processors; the schedule
 * (engine/schedule.ts) places and orders them.
 *
 * Conventions:
 * - Tensors are float32 (4 bytes per element); int8 compression changes weight bytes only.
 * - MACs count multiply-accumulates; element-wise and other scalar work counts one MAC per
 *   real arithmetic operation, as language/layer-shapes.ts counts activations. This makes
 *   the feature front end comparable with the DNN on one throughput figure.
 * - Ops are listed in a topological order: the feature front end, then the blocks in
 *   source order (a block's `from` always names an earlier shared block), each block's
 *   layers in order, except that a gated head comes after the head its gate reads
 *   ({@link gateOrder}).
 * - Gated heads (`head speaker from encoder when ambient is voicing`): the first op of a
 *   gated head waits for the op producing the gating head's output ({@link IrOp.after}, a
 *   dependency without data: the runtime reads the top label there and decides), and
 *   {@link PipelineIr.firingProbability} says how often each block runs (the product of
 *   the `expect` fractions along its chain of gates). The IR itself is the window on which
 *   every gate opens; engine/estimate.ts takes the expectation over the gates' outcomes.
 *
 * Feature front end (per window; F x T maps are [rows, frames]):
 * - `silence`: sum of squares over the window, `samples` MACs.
 * - `frames`: copy into frames; when a spectral step follows, the Hann window is applied
 *   here: `frameLen x frames` MACs, a `frameLen` float table.
 * - `fft`: real FFT of size N plus the power spectrum, per frame
 *   `5/2 N log2 N` (a real FFT through a half-size complex FFT, the classic radix-2
 *   count of 5 (N/2) log2(N/2) real operations plus the N-point split, rounded to
 *   5/2 N log2 N) `+ 2 (N/2 + 1)` for re^2 + im^2.
 * - `mel`: triangular filterbank applied sparsely, as runtime/features.ts does: each of the
 *   N/2 + 1 bins lies in at most two triangles, so `2 (N/2 + 1)` MACs per frame and as
 *   many float weights.
 * - `log`: one per output element. `dct`: `coeffs x bands` MACs per frame (DCT-II as a
 *   matrix), `coeffs x bands` float weights.
 * - `deltas` (including MFCC deltas): `compute_deltas(win_length=5)`, 5 operations per
 *   element of the map each order is computed from.
 * - `normalize`: 2 per element (subtract, scale); mean and std per row are its parameters.
 * - `stats`: per element of the [rows, length] input and per statistic: mean, min, max 1;
 *   rms, energy, range, zcr 2; std 3; skew, kurtosis 4; median log2(length) + 1 (a sort).
 * - `stack`: a copy, 0 MACs. `raw` creates no op.
 *
 * Compression:
 * - `svd rank k` on dense (out x in) gives two ops: in -> k (no bias, k in params) and
 *   k -> out (bias and the fused activation, k out + out params): DeepX's additional layer.
 *   On conv1d/conv2d the first op is a convolution with k filters of the original kernel
 *   and the second a 1x1 convolution k -> filters.
 * - `svd energy f` / `svd error e`: the rank depends on the weights' spectrum. With
 *   {@link IrOptions.rankResolver} it is asked; otherwise a data-free estimate is used,
 *   the rank that a random Gaussian matrix of the same shape needs
 *   (Marchenko–Pastur law, see {@link randomMatrixRank}). Trained weights are usually far
 *   more compressible, so this over-estimates the rank; the op is flagged
 *   `rankEstimated: true` so the UI can say so.
 * - `sparse atoms N nonzeros S` (K-SVD, as engine/compress/ksvd.ts factors it: W (out x in)
 *   ~ C D with a dense dictionary D (N x in) and sparse codes C (out x N), S nonzeros per
 *   row): a dictionary op `D x` (in -> N, `N in` MACs and float weights, no bias; on conv
 *   layers a convolution with N filters of the kernel), then a sparse op `C z` (N -> out,
 *   `S out` MACs, the bias and the fused activation) stored as CSR: a 4-byte value and a
 *   4-byte column index per nonzero, `out + 1` 4-byte row pointers, float biases.
 * - `int8`: per-channel symmetric quantisation: 1 byte per weight, float32 biases, one
 *   float32 scale per output channel. MACs are unchanged.
 */
import type { BlockSpec, CompressionSpec, FeatureStep, LayerSpec, PipelineSpec, Shape, SourceRange, StatName } from '../language/pipeline-model';
import { FEATURES_KEY, firingProbabilities } from '../language/pipeline-model';
import { frameGeometry, windowSamples, inertialChannelCount } from '../language/feature-shapes';
import { elementCount, FLOAT32_BYTES, isCompressible, weightMatrixShape } from '../language/layer-shapes';
import { randomMatrixRank } from './compress/random-matrix';

export { randomMatrixRank } from './compress/random-matrix';

/** What an op computes. Layer ops use the layer kind; factor ops of compressed layers are named apart. */
export type OpKind =
  | 'silence'
  | 'frames'
  | 'fft'
  | 'mel'
  | 'log'
  | 'dct'
  | 'deltas'
  | 'normalize'
  | 'stats'
  | 'stack'
  | LayerSpec['kind']
  | 'svd-in'
  | 'svd-out'
  | 'sparse-codes'
  | 'dictionary';

/** One node of the IR. All sizes are per inference (one window). */
export interface IrOp {
  /** Unique id: the layer id (`encoder.2`), a factor of it (`encoder.2/svd-in`), or `features/fft`. */
  id: string;
  kind: OpKind;
  /** The placement unit it belongs to: its layer id, or {@link FEATURES_KEY}. */
  placementKey: string;
  /** Block name, or `features` for the front end. */
  block: string;
  /** The layer it comes from, for layer ops. */
  layerId?: string;
  /** 0-based index of the feature step it comes from, for front-end ops. */
  featureStep?: number;
  /** Source range of its layer (front-end ops have none in the checked pipeline). */
  range?: SourceRange;
  /** Ids of the ops whose outputs it reads; empty means the input window. */
  inputs: string[];
  inputShape: Shape;
  outputShape: Shape;
  params: number;
  macs: number;
  /** Bytes of its stored weights (and constant tables for front-end ops). */
  weightBytes: number;
  /** Bytes of the input tensor(s) it reads. */
  inputBytes: number;
  /** Bytes of its float32 output tensor. */
  activationBytes: number;
  /**
   * Names a processor's `supports` list must contain for it to run this op: `features`
   * for front-end ops, else the layer kind and its fused activation (as lower.ts checks pins).
   */
  supportKinds: string[];
  /**
   * True for ops that cost nothing at inference: `flatten` is a reshape of a contiguous
   * tensor and `dropout` the identity, so runtimes elide them (no dispatch, no traffic).
   */
  noop?: boolean;
  /**
   * Ops that must have finished before this one starts, though it reads nothing of theirs:
   * the first op of a gated head waits for the gating head's output op.
   */
  after?: string[];
  /** The compression that produced this op, if any. */
  compression?: CompressionSpec;
  /** For `svd energy|error`: the rank used (resolved or estimated). */
  rank?: number;
  /** True when the rank is the data-free random-matrix estimate, not from the weights. */
  rankEstimated?: boolean;
}

/** The IR of one pipeline. */
export interface PipelineIr {
  pipeline: string;
  /** Ops in topological order. */
  ops: IrOp[];
  /** Shape and bytes of one input window (what the sensor delivers). */
  inputShape: Shape;
  inputBytes: number;
  /** Per block, the id of the op producing its output. */
  blockOutput: Record<string, string>;
  /** Per layer id, its op ids in order (two for factorised layers). */
  layerOps: Record<string, string[]>;
  /** Id of the op producing the features (undefined when the front end is empty). */
  featuresOutput?: string;
  /** Per block, the probability that it runs on a window (language/pipeline-model.ts firingProbabilities); 1 without gates. */
  firingProbability: Record<string, number>;
  /** Per gated head, its gate: the head whose top label decides and the label that opens it. */
  gates: Record<string, { head: string; label: string }>;
}

/** Options of {@link buildIr}. */
export interface IrOptions {
  /**
   * Rank for an `svd energy|error` compression of `layer`, from its weights' spectrum
   * (engine/compress/svd.ts rankForEnergy / rankForError). Return undefined to fall back
   * to the data-free estimate.
   */
  rankResolver?: (layer: LayerSpec) => number | undefined;
}

const STAT_OPS_PER_ELEMENT: Record<Exclude<StatName, 'median'>, number> = {
  mean: 1,
  min: 1,
  max: 1,
  rms: 2,
  energy: 2,
  range: 2,
  zcr: 2,
  std: 3,
  skew: 4,
  kurtosis: 4,
};

/** MAC-equivalents of a real FFT of size `n` plus its power spectrum: 5/2 n log2 n + 2 (n/2 + 1). */
export function fftMacs(n: number): number {
  return 2.5 * n * Math.log2(n) + 2 * (n / 2 + 1);
}

/** Number of positions the weight matrix is applied at: leading axes for dense, output positions for conv. */
function positions(layer: LayerSpec): number {
  if (layer.kind === 'dense') return elementCount(layer.inputShape) / (layer.inputShape[layer.inputShape.length - 1] || 1);
  return elementCount(layer.outputShape.slice(1));
}

function layerSupportKinds(layer: Pick<LayerSpec, 'kind' | 'activation'>): string[] {
  if (layer.kind === 'activation') return [layer.activation ?? 'linear'];
  return layer.activation ? [layer.kind, layer.activation] : [layer.kind];
}

/** Resolves the rank of an svd compression; returns whether it is the data-free estimate. */
function svdRank(layer: LayerSpec, c: Extract<CompressionSpec, { kind: 'svd' }>, opts: IrOptions): { rank: number; estimated: boolean } {
  const [out, inp] = weightMatrixShape(layer);
  const maxRank = Math.min(out, inp);
  if (c.criterion === 'rank') return { rank: Math.min(c.rank, maxRank), estimated: false };
  const resolved = opts.rankResolver?.(layer);
  if (resolved !== undefined && Number.isFinite(resolved) && resolved >= 1) return { rank: Math.min(Math.round(resolved), maxRank), estimated: false };
  const fraction = c.criterion === 'energy' ? c.fraction : 1 - c.fraction * c.fraction;
  return { rank: randomMatrixRank(out, inp, fraction), estimated: true };
}

/**
 * Creates an op with every property present, in one order, so all ops share one hidden
 * class: object spreads with conditional parts made building 2,000 ops 20x slower.
 */
function makeOp(
  id: string,
  kind: OpKind,
  placementKey: string,
  block: string,
  inputs: string[],
  inputShape: Shape,
  outputShape: Shape,
  params: number,
  macs: number,
  weightBytes: number,
  inputBytes: number,
  activationBytes: number,
  supportKinds: string[],
): IrOp {
  return {
    id,
    kind,
    placementKey,
    block,
    layerId: undefined,
    featureStep: undefined,
    range: undefined,
    inputs,
    inputShape,
    outputShape,
    params,
    macs,
    weightBytes,
    inputBytes,
    activationBytes,
    supportKinds,
    noop: undefined,
    compression: undefined,
    rank: undefined,
    rankEstimated: undefined,
  };
}

/** An op of `layer`, traced to it. */
function layerOp(layer: LayerSpec, id: string, kind: OpKind, inputs: string[], inShape: Shape, outShape: Shape, params: number, macs: number, weightBytes: number, inBytes: number, outBytes: number, kinds: string[]): IrOp {
  const op = makeOp(id, kind, layer.id, layer.block, inputs, inShape, outShape, params, macs, weightBytes, inBytes, outBytes, kinds);
  op.layerId = layer.id;
  op.range = layer.range;
  return op;
}

/** Shape between the two factors of a compressed layer of inner width `width`. */
function midShape(layer: LayerSpec, width: number): Shape {
  return layer.kind === 'dense' ? [...layer.inputShape.slice(0, -1), width] : [width, ...layer.outputShape.slice(1)];
}

/** Lowers one layer to its op(s), applying its compression. */
function layerOps(layer: LayerSpec, input: string | undefined, inputBytes: number, opts: IrOptions): IrOp[] {
  const inputs = input ? [input] : [];
  const outBytes = layer.activationBytes;
  const c = layer.compression;
  if (!c || !isCompressible(layer)) {
    const op = layerOp(layer, layer.id, layer.kind, inputs, layer.inputShape, layer.outputShape, layer.params, layer.macs, layer.weightBytes, inputBytes, outBytes, layerSupportKinds(layer));
    if (layer.kind === 'flatten' || layer.kind === 'dropout') op.noop = true;
    return [op];
  }
  const [out, inp] = weightMatrixShape(layer);
  const lead = positions(layer);
  const activationMacs = layer.activation ? lead * out : 0;
  if (c.kind === 'int8') {
    const weights = out * inp;
    const op = layerOp(layer, layer.id, layer.kind, inputs, layer.inputShape, layer.outputShape, layer.params, layer.macs, weights + (layer.params - weights) * FLOAT32_BYTES + out * FLOAT32_BYTES, inputBytes, outBytes, layerSupportKinds(layer));
    op.compression = c;
    return [op];
  }
  const conv = layer.kind !== 'dense';
  const firstKind = layer.kind;
  const secondKind = conv ? layer.kind : 'dense';
  const secondKinds = layer.activation ? [secondKind, layer.activation] : [secondKind];
  if (c.kind === 'svd') {
    const { rank, estimated } = svdRank(layer, c, opts);
    const mid = midShape(layer, rank);
    const midBytes = elementCount(mid) * FLOAT32_BYTES;
    const firstParams = rank * inp;
    const secondParams = rank * out + out;
    const a = layerOp(layer, `${layer.id}/svd-in`, 'svd-in', inputs, layer.inputShape, mid, firstParams, lead * inp * rank, firstParams * FLOAT32_BYTES, inputBytes, midBytes, [firstKind]);
    const b = layerOp(layer, `${layer.id}/svd-out`, 'svd-out', [a.id], mid, layer.outputShape, secondParams, lead * rank * out + activationMacs, secondParams * FLOAT32_BYTES, midBytes, outBytes, secondKinds);
    for (const op of [a, b]) {
      op.compression = c;
      op.rank = rank;
      if (c.criterion !== 'rank') op.rankEstimated = estimated;
    }
    return [a, b];
  }
  // K-SVD as engine/compress/ksvd.ts factors it: W (out x in) ~ C D, D (atoms x in) dense,
  // C (out x atoms) with `nonzeros` entries per row; y = C (D x).
  const nnz = c.nonzeros * out;
  const mid = midShape(layer, c.atoms);
  const midBytes = elementCount(mid) * FLOAT32_BYTES;
  const dictParams = c.atoms * inp;
  const codeParams = nnz + out;
  const dict = layerOp(layer, `${layer.id}/dictionary`, 'dictionary', inputs, layer.inputShape, mid, dictParams, lead * c.atoms * inp, dictParams * FLOAT32_BYTES, inputBytes, midBytes, [firstKind]);
  const codes = layerOp(layer, `${layer.id}/sparse-codes`, 'sparse-codes', [dict.id], mid, layer.outputShape, codeParams, lead * nnz + activationMacs, nnz * 2 * FLOAT32_BYTES + (out + 1) * FLOAT32_BYTES + out * FLOAT32_BYTES, midBytes, outBytes, secondKinds);
  dict.compression = c;
  codes.compression = c;
  return [dict, codes];
}

/** The front-end ops of `spec`, in order, and the shape after each. */
function featureOps(spec: PipelineSpec, inputShape: Shape): IrOp[] {
  const ops: IrOp[] = [];
  const input = spec.input;
  if (input.kind === 'image') return ops;
  const rateHz = input.rateHz;
  let shape = inputShape;
  let prev: string | undefined;
  let fftSize = 0;
  const steps = spec.features.steps;
  const push = (step: number, kind: OpKind, outputShape: Shape, macs: number, params: number, weightBytes: number, suffix = ''): void => {
    const id = `features/${step + 1}-${kind}${suffix}`;
    const op = makeOp(id, kind, FEATURES_KEY, FEATURES_KEY, prev ? [prev] : [], shape, outputShape, params, macs, weightBytes, elementCount(shape) * FLOAT32_BYTES, elementCount(outputShape) * FLOAT32_BYTES, [FEATURES_KEY]);
    op.featureStep = step;
    ops.push(op);
    prev = id;
    shape = outputShape;
  };
  const spectral = (from: number): boolean => steps.slice(from).some((s) => s.kind === 'logmel' || s.kind === 'mfcc');
  const deltaOps = (i: number, order: number): void => {
    const [f, t] = shape;
    let macs = 0;
    for (let o = 1; o <= order; o++) macs += 5 * f * t;
    push(i, 'deltas', [f * (1 + order), t], macs, 0, 0);
  };
  steps.forEach((step: FeatureStep, i) => {
    switch (step.kind) {
      case 'silence': {
        // The filter reads the window and passes it on unchanged: its output is the same tensor.
        const n = elementCount(shape);
        push(i, 'silence', shape, n, 0, 0);
        return;
      }
      case 'raw':
        return;
      case 'normalize': {
        const rows = shape[0] ?? 1;
        push(i, 'normalize', shape, 2 * elementCount(shape), 2 * rows, 2 * rows * FLOAT32_BYTES);
        return;
      }
      case 'frames': {
        const g = frameGeometry(rateHz, step);
        fftSize = g.fftSize;
        const samples = shape[1] ?? windowSamples(rateHz, input.windowS);
        const frames = samples < g.frameLen ? 0 : Math.floor((samples - g.frameLen) / g.hop) + 1;
        const windowed = spectral(i + 1);
        push(i, 'frames', [g.frameLen, frames], windowed ? g.frameLen * frames : 0, 0, windowed ? g.frameLen * FLOAT32_BYTES : 0);
        return;
      }
      case 'logmel':
      case 'mfcc': {
        const frames = shape[1];
        const bins = fftSize / 2 + 1;
        push(i, 'fft', [bins, frames], frames * fftMacs(fftSize), 0, 0);
        push(i, 'mel', [step.bands, frames], frames * 2 * bins, 2 * bins, 2 * bins * FLOAT32_BYTES);
        push(i, 'log', [step.bands, frames], step.bands * frames, 0, 0);
        if (step.kind === 'mfcc') {
          const dct = step.coeffs * step.bands;
          push(i, 'dct', [step.coeffs, frames], dct * frames, dct, dct * FLOAT32_BYTES);
          if (step.deltas > 0) deltaOps(i, step.deltas);
        }
        return;
      }
      case 'deltas':
        deltaOps(i, step.order);
        return;
      case 'stats': {
        const [rows, len] = shape.length === 2 ? shape : [1, elementCount(shape)];
        let perElement = 0;
        for (const s of step.stats) perElement += s === 'median' ? Math.log2(Math.max(2, len)) + 1 : STAT_OPS_PER_ELEMENT[s];
        push(i, 'stats', [rows * step.stats.length], Math.ceil(perElement * rows * len), 0, 0);
        return;
      }
      case 'stack': {
        const [f, t] = shape;
        push(i, 'stack', [f * step.frames, t - step.frames + 1], 0, 0, 0);
        return;
      }
    }
  });
  return ops;
}

function windowShape(spec: PipelineSpec): Shape {
  const input = spec.input;
  if (input.kind === 'image') return [input.channels, input.height, input.width];
  const samples = windowSamples(input.rateHz, input.windowS);
  return input.kind === 'audio' ? [1, samples] : [inertialChannelCount(input), samples];
}

/**
 * The blocks in the order their ops are listed: source order, except that a gated head is
 * moved after the head its gate reads (and that head's own gate, and so on), keeping the
 * source order among the rest. A gate that names no block, or one on a cycle (which
 * lowering reports), is ignored here.
 */
export function gateOrder(blocks: readonly BlockSpec[]): BlockSpec[] {
  if (!blocks.some((b) => b.gate)) return [...blocks];
  const byName = new Map(blocks.map((b) => [b.name, b]));
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const out: BlockSpec[] = [];
  const visit = (b: BlockSpec): void => {
    if (placed.has(b.name) || visiting.has(b.name)) return;
    visiting.add(b.name);
    const gating = b.gate ? byName.get(b.gate.head) : undefined;
    if (gating) visit(gating);
    visiting.delete(b.name);
    placed.add(b.name);
    out.push(b);
  };
  for (const b of blocks) visit(b);
  return out;
}

/**
 * Builds the IR of a checked pipeline. Pure and deterministic; linear in the number of
 * layers. Throws only on a spec that violates the checked-pipeline contract (a block
 * reading from an unknown or later block), naming the block.
 */
export function buildIr(spec: PipelineSpec, opts: IrOptions = {}): PipelineIr {
  const inputShape = windowShape(spec);
  const ops = featureOps(spec, inputShape);
  const featuresOutput = ops.length > 0 ? ops[ops.length - 1].id : undefined;
  const featureBytes = elementCount(spec.features.outputShape) * FLOAT32_BYTES;
  const blockOutput: Record<string, string> = {};
  const layerOpsById: Record<string, string[]> = {};
  // A block's output: the op producing it (undefined: the input window) and its bytes. An
  // empty block passes its input through, so blocks reading from it still resolve.
  const resolved = new Map<string, { op: string | undefined; bytes: number }>();
  const front = { op: featuresOutput, bytes: featuresOutput ? featureBytes : elementCount(inputShape) * FLOAT32_BYTES };
  const gates: PipelineIr['gates'] = {};
  for (const block of gateOrder(spec.blocks)) {
    const source = block.from === undefined ? front : resolved.get(block.from);
    if (!source) throw new Error(`buildIr: block '${block.name}' of pipeline '${spec.name}' reads from '${block.from}', which is not an earlier shared block; fix the 'from' name`);
    let prev = source.op;
    let prevBytes = source.bytes;
    // A gate whose head is not a block of the pipeline (lowering reports it) opens always.
    const gating = block.gate && resolved.has(block.gate.head) ? block.gate : undefined;
    if (gating) gates[block.name] = { head: gating.head, label: gating.label };
    const waitFor = gating ? resolved.get(gating.head)!.op : undefined;
    for (const layer of block.layers) {
      const lops = layerOps(layer, prev, prevBytes, opts);
      if (waitFor !== undefined && layer === block.layers[0]) lops[0].after = [waitFor];
      const ids: string[] = [];
      for (const op of lops) {
        ops.push(op);
        ids.push(op.id);
      }
      layerOpsById[layer.id] = ids;
      prev = lops[lops.length - 1].id;
      prevBytes = layer.activationBytes;
    }
    resolved.set(block.name, { op: prev, bytes: prevBytes });
    if (prev !== undefined) blockOutput[block.name] = prev;
  }
  return {
    pipeline: spec.name,
    ops,
    inputShape,
    inputBytes: elementCount(inputShape) * FLOAT32_BYTES,
    blockOutput,
    layerOps: layerOpsById,
    ...(featuresOutput ? { featuresOutput } : {}),
    firingProbability: Object.fromEntries(firingProbabilities(spec.blocks)),
    gates,
  };
}
