/**
 * ONNX export of a checked pipeline: one model per partition (see ./partition-plan), each
 * reading `features` or tensors of earlier partitions by name and writing its outputs by
 * name (the producing layer's id). Tensors are `[N, ...shape]`: the batch first, then the
 * pipeline's channels-first shape.
 *
 * Layers map to ONNX operators as follows:
 * - dense: Gemm (transB = 1) on a `[N, in]` input; on higher ranks Transpose(weight)
 *   (folded by ONNX Runtime at load) + MatMul + Add, acting on the last axis;
 * - conv1d / conv2d: Conv with explicit pads (`same`: TensorFlow's SAME_UPPER split,
 *   total = max(0, (ceil(L / s) - 1) s + k - L), the smaller half first);
 * - maxpool / avgpool: MaxPool / AveragePool (count_include_pad = 0), global ones as
 *   GlobalMaxPool / GlobalAveragePool + Flatten;
 * - batchnorm: BatchNormalization (epsilon {@link BATCHNORM_EPSILON}); flatten: Flatten(axis 1);
 *   dropout and `linear`: Identity (inference ignores dropout);
 * - gru / lstm: Transpose `[N, F, T]` to `[T, N, F]`, GRU (linear_before_reset = 1) / LSTM,
 *   then the last state `Y_h` squeezed to `[N, units]`, or with `sequences` the whole `Y`
 *   transposed back to `[N, units, T]`;
 * - activations: Relu, Sigmoid, Tanh, Softmax (last axis), Elu (alpha 1), LeakyRelu
 *   (alpha 0.01), and gelu as x * 0.5 * (1 + erf(x / sqrt 2)) (opset 17 has no Gelu). A
 *   layer's fused activation is applied to its output (also for gru / lstm).
 * Compression (the weights file always holds the dense weights; export factorises them):
 * - svd: W ~ U_k S_k V_k^T as two MatMuls (conv: a k-filter Conv then a 1x1 Conv),
 *   factors from engine/compress/svd.ts `truncatedSvd`;
 * - int8: int8 initializers with per-output-channel scales, DequantizeLinear (axis 0,
 *   opset 13+) feeding the float op (ONNX Runtime keeps the weights int8 in the file);
 * - sparse: K-SVD W ~ C D (engine/compress/ksvd.ts): a dense MatMul/Conv by the dictionary
 *   D, then the sparse codes C (`nonzeros` per output row) as Gather + Mul + ReduceSum over
 *   an ELLPACK table (indices and values `[out, nonzeros]`). ONNX Runtime executes this
 *   without a dense C: it costs out * nonzeros multiply-adds and as many stored values.
 *   (A `sparse_initializer` would not do: ONNX Runtime densifies it at load time.)
 */
import type { ActivationName, CompressionSpec, LayerSpec, PipelineSpec } from '../../language/pipeline-model';
import { FEATURES_KEY } from '../../language/pipeline-model';
import { fromData, frobeniusSq, type Matrix } from '../compress/matrix';
import { ksvd } from '../compress/ksvd';
import { quantizeInt8 } from '../compress/int8';
import { rankForEnergy, rankForError, singularValues, truncatedSvd } from '../compress/svd';
import { storedRelError, storedSvdFactors } from '../compress/stored-factors';
import { BATCHNORM_EPSILON, elementsOf, type WeightSet, type WeightTensor } from '../weights/weights';
import { GraphBuilder, encodeModel } from './onnx-builder';
import type { CompressionReport, TensorRef } from '../../runtime/bundle-manifest';
import { planPartitions, placementOf, type ExportPlan } from './partition-plan';

/** One exported partition: its ONNX model and interface. */
export interface ExportedPartition {
  id: string;
  processor: string;
  layerIds: string[];
  /** The gated head it computes (engine/onnx/partition-plan.ts), absent for ungated blocks. */
  gatedHead?: string;
  inputs: TensorRef[];
  outputs: TensorRef[];
  /** The serialised ModelProto. */
  model: Uint8Array;
}

/** The result of {@link exportOnnx}. */
export interface OnnxExport {
  partitions: ExportedPartition[];
  headOutputs: ExportPlan['headOutputs'];
  compression: CompressionReport[];
}

/** Options of {@link exportOnnx}. */
export interface ExportOnnxOptions {
  /** Processor per layer id, over the pipeline's `place` lines (see {@link placementOf}). */
  placement?: Record<string, string>;
  /** One model for the whole pipeline regardless of placement (tests, `sense run` profiling). */
  single?: boolean;
  /** Seed of the K-SVD initial dictionary (default 1). */
  seed?: number;
}

function tensor(weights: WeightSet, name: string): WeightTensor {
  const t = weights.get(name);
  if (!t) throw new Error(`export: missing weight tensor '${name}'; check the weights against the pipeline first (checkWeights)`);
  return t;
}

function samePads(input: number[], kernel: number[], stride: number, padding: 'same' | 'valid'): number[] {
  if (padding === 'valid') return [...kernel.map(() => 0), ...kernel.map(() => 0)];
  const totals = input.map((len, i) => Math.max(0, (Math.ceil(len / stride) - 1) * stride + kernel[i] - len));
  return [...totals.map((t) => Math.floor(t / 2)), ...totals.map((t) => t - Math.floor(t / 2))];
}

function toF32(m: Matrix): Float32Array {
  return Float32Array.from(m.data);
}

function transposeF32(data: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j];
  return out;
}

class LayerEmitter {
  readonly reports: CompressionReport[] = [];

  constructor(
    private readonly g: GraphBuilder,
    private readonly weights: WeightSet,
    private readonly seed: number,
  ) {}

  /** Emits `layer` reading tensor `x`; its last node writes `out`. */
  emit(layer: LayerSpec, x: string, out: string): void {
    const act = layer.kind === 'activation' ? undefined : layer.activation;
    const coreOut = act && act !== 'linear' ? this.g.fresh(`${layer.id}/pre`) : out;
    this.core(layer, x, coreOut);
    if (act && act !== 'linear') this.activation(act, coreOut, out);
    else if (act === 'linear' && coreOut !== out) this.g.node('Identity', [coreOut], [out]);
  }

  private core(layer: LayerSpec, x: string, out: string): void {
    const g = this.g;
    const id = layer.id;
    switch (layer.kind) {
      case 'dense':
        return this.dense(layer, x, out);
      case 'conv1d':
      case 'conv2d':
        return this.conv(layer, x, out);
      case 'maxpool':
      case 'avgpool': {
        const op = layer.kind === 'maxpool' ? 'MaxPool' : 'AveragePool';
        if (layer.global) {
          const pooled = g.node(`Global${op}`, [x], [g.fresh(`${id}/pooled`)]);
          g.node('Flatten', [pooled], [out], { axis: 1 });
          return;
        }
        const spatial = layer.inputShape.slice(1);
        const size = layer.poolSize ?? [2];
        const k = spatial.length === 1 ? [size[0]] : [size[0], size[1] ?? size[0]];
        const stride = layer.stride ?? k[0];
        const attrs: Record<string, number | number[]> = { kernel_shape: k, strides: k.map(() => stride), pads: samePads(spatial, k, stride, layer.padding ?? 'valid') };
        if (op === 'AveragePool') attrs.count_include_pad = 0;
        g.node(op, [x], [out], attrs);
        return;
      }
      case 'batchnorm': {
        if (layer.inputShape.length === 0) throw new Error(`export: ${id} is a batchnorm on a scalar; ONNX BatchNormalization needs a channel axis`);
        const names = ['scale', 'bias', 'mean', 'var'].map((r) => {
          const t = tensor(this.weights, `${id}.${r}`);
          return g.float(`${id}.${r}`, t.shape, t.data);
        });
        g.node('BatchNormalization', [x, ...names], [out], { epsilon: { float: BATCHNORM_EPSILON } });
        return;
      }
      case 'dropout':
        g.node('Identity', [x], [out]);
        return;
      case 'flatten':
        g.node('Flatten', [x], [out], { axis: 1 });
        return;
      case 'gru':
      case 'lstm':
        return this.recurrent(layer, x, out);
      case 'activation':
        this.activation(layer.activation ?? 'linear', x, out);
        return;
    }
  }

  private activation(act: ActivationName, x: string, out: string): void {
    const g = this.g;
    switch (act) {
      case 'relu':
        g.node('Relu', [x], [out]);
        return;
      case 'sigmoid':
        g.node('Sigmoid', [x], [out]);
        return;
      case 'tanh':
        g.node('Tanh', [x], [out]);
        return;
      case 'softmax':
        g.node('Softmax', [x], [out], { axis: -1 });
        return;
      case 'elu':
        g.node('Elu', [x], [out], { alpha: { float: 1 } });
        return;
      case 'leakyrelu':
        g.node('LeakyRelu', [x], [out], { alpha: { float: 0.01 } });
        return;
      case 'linear':
        g.node('Identity', [x], [out]);
        return;
      case 'gelu': {
        const sqrt2 = this.constant('gelu_sqrt2', Math.SQRT2);
        const half = this.constant('gelu_half', 0.5);
        const one = this.constant('gelu_one', 1);
        const d = g.node('Div', [x, sqrt2], [g.fresh(`${out}/gelu_div`)]);
        const e = g.node('Erf', [d], [g.fresh(`${out}/gelu_erf`)]);
        const a = g.node('Add', [e, one], [g.fresh(`${out}/gelu_add`)]);
        const m = g.node('Mul', [x, a], [g.fresh(`${out}/gelu_mul`)]);
        g.node('Mul', [m, half], [out]);
        return;
      }
    }
  }

  private readonly constants = new Map<string, string>();

  private constant(key: string, v: number): string {
    let name = this.constants.get(key);
    if (!name) {
      name = this.g.float(this.g.fresh(`const/${key}`), [], [v]);
      this.constants.set(key, name);
    }
    return name;
  }

  /** A float matrix [rows, cols] applied on the last axis: x @ M. */
  private matmul(x: string, name: string, m: Float32Array, rows: number, cols: number, out: string): string {
    const w = this.g.float(name, [rows, cols], m);
    return this.g.node('MatMul', [x, w], [out]);
  }

  private dense(layer: LayerSpec, x: string, out: string): void {
    const g = this.g;
    const id = layer.id;
    const W = tensor(this.weights, `${id}.weight`);
    const B = tensor(this.weights, `${id}.bias`);
    const [outW, inW] = W.shape;
    const twoD = layer.inputShape.length === 1;
    const c = layer.compression;
    if (c?.kind === 'svd' || c?.kind === 'sparse') {
      const lowered = this.factorLinear(layer, W.data, outW, inW, x);
      g.node('Add', [lowered, g.float(`${id}.bias`, B.shape, B.data)], [out]);
      return;
    }
    let w: string;
    if (c?.kind === 'int8') w = this.dequantized(id, W.data, W.shape, outW, inW);
    else w = g.float(`${id}.weight`, W.shape, W.data);
    const b = g.float(`${id}.bias`, B.shape, B.data);
    if (twoD) {
      g.node('Gemm', [x, w, b], [out], { transB: 1 });
      return;
    }
    const wt = g.node('Transpose', [w], [g.fresh(`${id}/weight_t`)], { perm: [1, 0] });
    const mm = g.node('MatMul', [x, wt], [g.fresh(`${id}/matmul`)]);
    g.node('Add', [mm, b], [out]);
  }

  /** DequantizeLinear of per-output-channel int8 weights; returns the float tensor's name. */
  private dequantized(id: string, data: Float32Array, shape: number[], rows: number, cols: number): string {
    const g = this.g;
    const q = quantizeInt8(fromData(rows, cols, data));
    this.reports.push({ layerId: id, kind: 'int8', relError: q.relError, storedValues: rows * cols, denseParams: rows * cols });
    const qn = g.int8(`${id}.weight_q`, shape, q.q);
    const sn = g.float(`${id}.weight_scale`, [rows], q.scales);
    const zn = g.int8(`${id}.weight_zero_point`, [rows], new Int8Array(rows));
    return g.node('DequantizeLinear', [qn, sn, zn], [g.fresh(`${id}/weight`)], { axis: 0 });
  }

  /**
   * SVD or K-SVD of a dense layer's [out, in] matrix applied to `x` on its last axis;
   * returns the name of the [.., out] product (bias not added).
   */
  private factorLinear(layer: LayerSpec, data: Float32Array, rows: number, cols: number, x: string): string {
    const g = this.g;
    const id = layer.id;
    const c = layer.compression!;
    const W = fromData(rows, cols, data);
    if (c.kind === 'svd') {
      const { first, second, k, relError } = this.svdFactors(layer, W);
      this.reports.push({ layerId: id, kind: 'svd', rank: k, relError, storedValues: k * (rows + cols), denseParams: rows * cols });
      const h = this.matmul(x, `${id}.svd_vt`, transposeF32(first, k, cols), cols, k, g.fresh(`${id}/svd_hidden`));
      return this.matmul(h, `${id}.svd_us_t`, transposeF32(second, rows, k), k, rows, g.fresh(`${id}/svd_out`));
    }
    const sp = this.sparseFactors(layer, W);
    const z = this.matmul(x, `${id}.ksvd_dict_t`, transposeF32(sp.dict, sp.atoms, cols), cols, sp.atoms, g.fresh(`${id}/ksvd_codes_in`));
    return this.sparseProduct(id, z, sp, -1, 0);
  }

  private svdFactors(layer: LayerSpec, W: Matrix): { first: Float32Array; second: Float32Array; k: number; relError: number } {
    const c = layer.compression as Extract<CompressionSpec, { kind: 'svd' }>;
    const maxRank = Math.min(W.rows, W.cols);
    let k: number;
    if (c.criterion === 'rank') k = Math.min(c.rank, maxRank);
    else {
      const S = singularValues(W);
      k = c.criterion === 'energy' ? rankForEnergy(S, c.fraction) : rankForError(S, c.fraction);
    }
    // Factors the weights file holds (sense compress --data) are used as they are: see compress/stored-factors.ts.
    const stored = storedSvdFactors(this.weights, layer, k);
    if (stored) return { first: stored.B.data, second: stored.A.data, k, relError: storedRelError(W, stored) };
    const svd = truncatedSvd(W, k);
    // Vt (k x in) is the first layer; U diag(S) (out x k) the second.
    const second = new Float32Array(W.rows * k);
    for (let i = 0; i < W.rows; i++) for (let j = 0; j < k; j++) second[i * k + j] = svd.U.data[i * k + j] * svd.S[j];
    const first = toF32(svd.Vt);
    // Orthonormal factors: ||W - U S Vt||^2 = ||W||^2 - sum of the kept s_i^2 (no dense reconstruction).
    const total = frobeniusSq(W);
    let kept = 0;
    for (let j = 0; j < k; j++) kept += svd.S[j] * svd.S[j];
    return { first, second, k, relError: total === 0 ? 0 : Math.sqrt(Math.max(0, total - kept) / total) };
  }

  private sparseFactors(layer: LayerSpec, W: Matrix): { dict: Float32Array; atoms: number; s: number; idx: number[]; vals: Float32Array; rows: number } {
    const c = layer.compression as Extract<CompressionSpec, { kind: 'sparse' }>;
    const atoms = c.atoms;
    const s = c.nonzeros;
    let r: ReturnType<typeof ksvd>;
    try {
      r = ksvd(W, { atoms, sparsity: s, seed: this.seed });
    } catch (e) {
      throw new Error(`export: cannot compress ${layer.id} (${W.rows} x ${W.cols}) with ${atoms} atoms and ${s} nonzeros: ${(e as Error).message}`);
    }
    const idx = new Array<number>(W.rows * s).fill(0);
    const vals = new Float32Array(W.rows * s);
    for (let i = 0; i < W.rows; i++) {
      let slot = 0;
      for (let p = r.codes.rowPtr[i]; p < r.codes.rowPtr[i + 1] && slot < s; p++, slot++) {
        idx[i * s + slot] = r.codes.colIdx[p];
        vals[i * s + slot] = r.codes.values[p];
      }
    }
    this.reports.push({ layerId: layer.id, kind: 'sparse', relError: r.relError, storedValues: atoms * W.cols + 2 * W.rows * s, denseParams: W.rows * W.cols });
    return { dict: toF32(r.dictionary), atoms, s, idx, vals, rows: W.rows };
  }

  /**
   * Applies the ELLPACK sparse codes along `axis` of `z` (the atoms axis): Gather picks each
   * output row's atoms, Mul weighs them, ReduceSum adds them. `trailing` spatial axes after
   * the atoms axis (conv) broadcast the values.
   */
  private sparseProduct(id: string, z: string, sp: { s: number; idx: number[]; vals: Float32Array; rows: number }, axis: number, trailing: number): string {
    const g = this.g;
    const idx = g.int64(`${id}.ksvd_index`, [sp.rows, sp.s], sp.idx);
    const vals = g.float(`${id}.ksvd_value`, [sp.rows, sp.s, ...new Array<number>(trailing).fill(1)], sp.vals);
    const gathered = g.node('Gather', [z, idx], [g.fresh(`${id}/ksvd_gather`)], { axis });
    const weighted = g.node('Mul', [gathered, vals], [g.fresh(`${id}/ksvd_mul`)]);
    const sumAxis = axis < 0 ? -1 : axis + 1;
    const axes = g.int64(g.fresh(`${id}/ksvd_axes`), [1], [sumAxis]);
    return g.node('ReduceSum', [weighted, axes], [g.fresh(`${id}/ksvd_sum`)], { keepdims: 0 });
  }

  private conv(layer: LayerSpec, x: string, out: string): void {
    const g = this.g;
    const id = layer.id;
    const W = tensor(this.weights, `${id}.weight`);
    const B = tensor(this.weights, `${id}.bias`);
    const [F, C, ...k] = W.shape;
    const spatial = layer.inputShape.slice(1);
    const stride = layer.stride ?? 1;
    const attrs = { kernel_shape: k, strides: k.map(() => stride), pads: samePads(spatial, k, stride, layer.padding ?? 'valid') };
    const cols = C * elementsOf(k);
    const ones = k.map(() => 1);
    const c = layer.compression;
    const b = g.float(`${id}.bias`, [F], B.data);
    if (c?.kind === 'svd') {
      const { first, second, k: r, relError } = this.svdFactors(layer, fromData(F, cols, W.data));
      this.reports.push({ layerId: id, kind: 'svd', rank: r, relError, storedValues: r * (F + cols), denseParams: F * cols });
      const w1 = g.float(`${id}.svd_v`, [r, C, ...k], first);
      const h = g.node('Conv', [x, w1], [g.fresh(`${id}/svd_hidden`)], attrs);
      const w2 = g.float(`${id}.svd_us`, [F, r, ...ones], second);
      g.node('Conv', [h, w2, b], [out], { kernel_shape: ones });
      return;
    }
    if (c?.kind === 'sparse') {
      const sp = this.sparseFactors(layer, fromData(F, cols, W.data));
      const d = g.float(`${id}.ksvd_dict`, [sp.atoms, C, ...k], sp.dict);
      const z = g.node('Conv', [x, d], [g.fresh(`${id}/ksvd_codes_in`)], attrs);
      const prod = this.sparseProduct(id, z, sp, 1, k.length);
      const bias = g.float(`${id}.bias_b`, [F, ...ones], B.data);
      g.node('Add', [prod, bias], [out]);
      return;
    }
    const w = c?.kind === 'int8' ? this.dequantized(id, W.data, W.shape, F, cols) : g.float(`${id}.weight`, W.shape, W.data);
    g.node('Conv', [x, w, b], [out], attrs);
  }

  private recurrent(layer: LayerSpec, x: string, out: string): void {
    const g = this.g;
    const id = layer.id;
    const [W, R, B] = ['W', 'R', 'B'].map((r) => {
      const t = tensor(this.weights, `${id}.${r}`);
      return g.float(`${id}.${r}`, t.shape, t.data);
    });
    const h = layer.units ?? 1;
    const seq = g.node('Transpose', [x], [g.fresh(`${id}/seq`)], { perm: [2, 0, 1] });
    const Y = g.fresh(`${id}/Y`);
    const Yh = g.fresh(`${id}/Y_h`);
    if (layer.kind === 'gru') g.node('GRU', [seq, W, R, B], [Y, Yh], { hidden_size: h, linear_before_reset: 1 });
    else g.node('LSTM', [seq, W, R, B], [Y, Yh, g.fresh(`${id}/Y_c`)], { hidden_size: h });
    if (layer.sequences) {
      const axes = g.int64(g.fresh(`${id}/axes`), [1], [1]);
      const y = g.node('Squeeze', [Y, axes], [g.fresh(`${id}/Y_squeezed`)]);
      g.node('Transpose', [y], [out], { perm: [1, 2, 0] });
    } else {
      const axes = g.int64(g.fresh(`${id}/axes`), [1], [0]);
      g.node('Squeeze', [Yh, axes], [out]);
    }
  }
}

/**
 * Exports the pipeline as ONNX, one model per partition. `weights` must already fit the
 * pipeline (see checkWeights); normalisation is not in the models (the runtime's feature
 * front end applies it at the `normalize` step, where the pipeline puts it). Throws an
 * Error naming the layer for a weight that is missing.
 */
export function exportOnnx(spec: PipelineSpec, weights: WeightSet, opts: ExportOnnxOptions = {}): OnnxExport {
  let placement = opts.placement ? placementOf(spec, opts.placement) : placementOf(spec);
  if (opts.single) placement = Object.fromEntries(Object.keys(placement).map((k) => [k, spec.target.defaultProcessor]));
  const plan = planPartitions(spec, placement);
  const compression: CompressionReport[] = [];
  const inputOfLayer = inputTensorOf(spec);
  const partitions = plan.partitions.map((p) => {
    const g = new GraphBuilder();
    for (const i of p.inputs) g.fresh(i.name);
    const emitter = new LayerEmitter(g, weights, opts.seed ?? 1);
    for (const layer of p.layers) {
      g.fresh(layer.id);
      emitter.emit(layer, inputOfLayer.get(layer.id)!, layer.id);
    }
    compression.push(...emitter.reports);
    const model = encodeModel(g, {
      name: `${spec.name}.${p.id}`,
      inputs: p.inputs,
      outputs: p.outputs,
      doc: `Sense Studio export of pipeline ${spec.name}, partition ${p.id} on ${p.processor}: layers ${p.layers.map((l) => l.id).join(', ')}.`,
      metadata: { 'sense.pipeline': spec.name, 'sense.partition': p.id, 'sense.processor': p.processor },
    });
    return { id: p.id, processor: p.processor, layerIds: p.layers.map((l) => l.id), ...(p.gatedHead ? { gatedHead: p.gatedHead } : {}), inputs: p.inputs, outputs: p.outputs, model };
  });
  return { partitions, headOutputs: plan.headOutputs, compression };
}

/** The tensor each layer reads: the previous layer's id, the `from` block's output, or `features`. */
export function inputTensorOf(spec: PipelineSpec): Map<string, string> {
  const out = new Map<string, string>();
  const blockOut = new Map<string, string>();
  for (const b of spec.blocks) {
    let prev = b.from ? (blockOut.get(b.from) ?? FEATURES_KEY) : FEATURES_KEY;
    for (const l of b.layers) {
      out.set(l.id, prev);
      prev = l.id;
    }
    blockOut.set(b.name, prev);
  }
  return out;
}
