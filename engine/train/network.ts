/**
 * A trainable network for a checked pipeline, built from @tensorflow/tfjs operations whose
 * parameters are `tf.Variable`s held in OUR weight layout (engine/weights/weights.ts:
 * dense `[out, in]`, conv `[F, C, k(, k)]`, batchnorm `scale/bias/mean/var`, gru/lstm in
 * ONNX's `W/R/B` layout). Activations flow channels-first, `[N, ...shape]`, exactly as the
 * pipeline's shapes and the ONNX export define them; only inside a conv, pool or recurrent
 * op is a tensor transposed to what tfjs wants (channels-last) and back. So the trained
 * variables are written as they are: there is no layout conversion step that could go wrong.
 *
 * Why not tfjs-layers' `tf.model`: its GRU supports only the reset-before convention
 * (`resetAfter: false`), while our weights and ONNX export use `linear_before_reset = 1`
 * (PyTorch's formula); its dropout draws the same mask at every step when seeded; and its
 * dense/conv kernels are channels-last, needing a conversion on every save. Gradients still
 * come from tfjs's automatic differentiation (`tf.variableGrads`), never by hand.
 *
 * The last softmax of every head (fused `dense N softmax` or a standalone `softmax` line)
 * is left out of {@link Network.forward}: heads return logits, and training applies a
 * numerically stable softmax cross-entropy. {@link Network.predict} adds the softmax back.
 */
import * as tf from '@tensorflow/tfjs';
import type { ActivationName, BlockSpec, LayerSpec, PipelineSpec } from '../../language/pipeline-model';
import { BATCHNORM_EPSILON, layerWeights, type WeightSet } from '../weights/weights';
import { storedSvdFactors, svdFactorNames } from '../compress/stored-factors';

/** Momentum of batchnorm running statistics per training step: running = m * running + (1 - m) * batch (PyTorch's 0.1 update). */
export const BATCHNORM_MOMENTUM = 0.9;

/** Slope of leakyrelu for negative inputs, as the ONNX export uses (LeakyRelu alpha). */
export const LEAKY_RELU_ALPHA = 0.01;

/** Options of one forward pass. */
export interface ForwardOptions {
  /** Training mode: dropout active, batchnorm uses batch statistics. */
  training: boolean;
  /** Seed of the dropout masks of this pass (training only); each dropout layer derives its own. */
  seed?: number;
  /**
   * Called with every layer's input just before the layer runs, e.g. to accumulate the input
   * covariance that data-aware compression needs (engine/compress/data-aware.ts). The tensor
   * belongs to the pass: read it (dataSync) inside the call, do not keep it.
   */
  capture?: (layer: LayerSpec, input: tf.Tensor) => void;
}

/** A running-statistics update of one batchnorm layer, produced by a training forward pass. */
export interface BatchnormUpdate {
  layerId: string;
  batchMean: tf.Tensor;
  batchVar: tf.Tensor;
}

/** A network built from a pipeline: its variables and a forward pass per head. */
export interface Network {
  spec: PipelineSpec;
  /** Every parameter by its weights-file name (`encoder.2.weight`), in our layout. */
  variables: Map<string, tf.Variable>;
  /** The variables the optimizer updates (batchnorm running statistics excluded). */
  trainable: tf.Variable[];
  /** Head names in source order. */
  heads: string[];
  /**
   * Runs the layers on features `[N, ...features.outputShape]` (already normalised) and
   * returns each head's logits `[N, classes]`. In training mode, batchnorm updates are
   * pushed to `updates` (the caller applies them after the step, see {@link applyBatchnormUpdates}).
   */
  forward(x: tf.Tensor, opts: ForwardOptions, updates?: BatchnormUpdate[]): Record<string, tf.Tensor2D>;
  /** Class probabilities per head for features `[N, ...]`, in inference mode. */
  predict(x: tf.Tensor): Record<string, tf.Tensor2D>;
  /** The current parameters as a weight set in our layout (copies). */
  toWeightSet(): WeightSet;
  /** Sets every parameter from a weight set (same names and shapes). */
  setWeights(weights: WeightSet): void;
  dispose(): void;
}

/** Applies a layer's activation `act` (undefined and 'linear' are the identity) as the ONNX export does. */
export function applyActivation(x: tf.Tensor, act: ActivationName | undefined): tf.Tensor {
  switch (act) {
    case undefined:
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'tanh':
      return tf.tanh(x);
    case 'softmax':
      return tf.softmax(x, -1);
    case 'elu':
      return tf.elu(x);
    case 'leakyrelu':
      return tf.leakyRelu(x, LEAKY_RELU_ALPHA);
    case 'gelu':
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));
  }
}

/** The layer whose softmax is a head's final one (left out of the logits), if any. */
function finalSoftmaxOf(block: BlockSpec): LayerSpec | undefined {
  const last = block.layers[block.layers.length - 1];
  if (!last) return undefined;
  return last.activation === 'softmax' ? last : undefined;
}

/**
 * Checks that every head can be trained with softmax cross-entropy: it must end in a
 * softmax (fused or standalone) or be linear. Returns the problems, each naming the head.
 */
export function trainabilityProblems(spec: PipelineSpec): string[] {
  const problems: string[] = [];
  if (spec.input.kind === 'image') problems.push(`pipeline ${spec.name} reads images; training needs image data, which 'sense train' does not read yet (audio WAV and inertial CSV only)`);
  for (const b of spec.blocks.filter((x) => x.kind === 'head')) {
    const last = b.layers[b.layers.length - 1];
    if (!last) problems.push(`head ${b.name} has no layers`);
    else if (b.outputShape.length !== 1)
      problems.push(`head ${b.name} outputs shape [${b.outputShape.join(', ')}]; a classification head must end in a vector (add flatten before its last dense)`);
    else if (last.activation && last.activation !== 'softmax' && last.activation !== 'linear')
      problems.push(`head ${b.name} ends in ${last.activation}; 'sense train' trains classification heads, which end in softmax (e.g. dense ${b.outputShape[0]} softmax)`);
  }
  return problems;
}

function padFor(layer: LayerSpec): 'same' | 'valid' {
  return layer.padding ?? 'valid';
}

let networkCount = 0;

/** Builds the network for `spec` with initial parameters from `init` (in our layout, e.g. engine/weights/init.ts). */
export function buildNetwork(spec: PipelineSpec, init: WeightSet): Network {
  // tfjs variable names are global: prefix them so several networks can live at once.
  const netId = ++networkCount;
  const variables = new Map<string, tf.Variable>();
  const trainable: tf.Variable[] = [];
  for (const layer of spec.blocks.flatMap((b) => b.layers)) {
    for (const e of layerWeights(layer)) {
      const t = init.get(e.name);
      if (!t) throw new Error(`buildNetwork: initial weights lack '${e.name}' for layer ${layer.id}`);
      const isRunning = layer.kind === 'batchnorm' && (e.role === 'mean' || e.role === 'var');
      const v = tf.variable(tf.tensor(t.data, e.shape, 'float32'), !isRunning, `net${netId}/${e.name}`);
      variables.set(e.name, v);
      if (!isRunning) trainable.push(v);
    }
    // A layer with stored SVD factors trains them, keeping the factorised structure; its dense
    // weight stays as it is (the data-free fallback), so it is held but not trained.
    const factors = storedSvdFactors(init, layer);
    if (factors) {
      const names = svdFactorNames(layer.id);
      const dense = variables.get(`${layer.id}.weight`) as tf.Variable;
      trainable.splice(trainable.indexOf(dense), 1);
      dense.trainable = false;
      for (const [name, t] of [[names.a, factors.A], [names.b, factors.B]] as const) {
        const v = tf.variable(tf.tensor(t.data, t.shape, 'float32'), true, `net${netId}/${name}`);
        variables.set(name, v);
        trainable.push(v);
      }
    }
  }
  const get = (name: string): tf.Variable => {
    const v = variables.get(name);
    if (!v) throw new Error(`network: no variable '${name}'`);
    return v;
  };
  const heads = spec.blocks.filter((b) => b.kind === 'head').map((b) => b.name);

  const runLayer = (layer: LayerSpec, x: tf.Tensor, opts: ForwardOptions, dropoutSeed: number, updates: BatchnormUpdate[] | undefined, skipSoftmax: boolean): tf.Tensor => {
    const act = skipSoftmax && layer.activation === 'softmax' ? undefined : layer.activation;
    const n = x.shape[0];
    switch (layer.kind) {
      case 'dense': {
        const W = get(`${layer.id}.weight`);
        const b = get(`${layer.id}.bias`);
        const inWidth = W.shape[1] as number;
        const lead = x.shape.slice(1, -1);
        const flat = (x.rank === 2 ? x : tf.reshape(x, [-1, inWidth])) as tf.Tensor2D;
        const names = svdFactorNames(layer.id);
        const A = variables.get(names.a);
        const B = variables.get(names.b);
        const product = A && B ? tf.matMul(tf.matMul(flat, B as tf.Tensor2D, false, true), A as tf.Tensor2D, false, true) : tf.matMul(flat, W as tf.Tensor2D, false, true);
        let y: tf.Tensor = tf.add(product, b);
        if (x.rank !== 2) y = tf.reshape(y, [n, ...lead, W.shape[0]]);
        return applyActivation(y, act);
      }
      case 'conv1d': {
        const W = get(`${layer.id}.weight`);
        const b = get(`${layer.id}.bias`);
        const xl = tf.transpose(x, [0, 2, 1]) as tf.Tensor3D;
        const k = tf.transpose(W, [2, 1, 0]) as tf.Tensor3D;
        const y = tf.add(tf.conv1d(xl, k, layer.stride ?? 1, padFor(layer)), b);
        return applyActivation(tf.transpose(y, [0, 2, 1]), act);
      }
      case 'conv2d': {
        const W = get(`${layer.id}.weight`);
        const b = get(`${layer.id}.bias`);
        const xl = tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D;
        const k = tf.transpose(W, [2, 3, 1, 0]) as tf.Tensor4D;
        const s = layer.stride ?? 1;
        const y = tf.add(tf.conv2d(xl, k, [s, s], padFor(layer)), b);
        return applyActivation(tf.transpose(y, [0, 3, 1, 2]), act);
      }
      case 'maxpool':
      case 'avgpool': {
        const spatialAxes = x.shape.slice(2).map((_, i) => i + 2);
        if (layer.global) {
          const y = layer.kind === 'maxpool' ? tf.max(x, spatialAxes) : tf.mean(x, spatialAxes);
          return applyActivation(y, act);
        }
        const size = layer.poolSize ?? [2];
        const is1d = x.rank === 3;
        const k: [number, number] = is1d ? [1, size[0]] : [size[0], size[1] ?? size[0]];
        const s = layer.stride ?? size[0];
        const stride: [number, number] = is1d ? [1, s] : [s, s];
        const xl = is1d ? tf.reshape(tf.transpose(x, [0, 2, 1]), [n, 1, x.shape[2] as number, x.shape[1] as number]) : tf.transpose(x, [0, 2, 3, 1]);
        const pooled = layer.kind === 'maxpool' ? tf.maxPool(xl as tf.Tensor4D, k, stride, padFor(layer)) : tf.avgPool(xl as tf.Tensor4D, k, stride, padFor(layer));
        const y = is1d ? tf.transpose(tf.reshape(pooled, [n, pooled.shape[2], pooled.shape[3]]), [0, 2, 1]) : tf.transpose(pooled, [0, 3, 1, 2]);
        return applyActivation(y, act);
      }
      case 'batchnorm': {
        const c = x.rank === 1 ? 1 : (x.shape[1] as number);
        const bshape = [1, c, ...x.shape.slice(2).map(() => 1)];
        const scale = tf.reshape(get(`${layer.id}.scale`), bshape);
        const bias = tf.reshape(get(`${layer.id}.bias`), bshape);
        let mean: tf.Tensor;
        let variance: tf.Tensor;
        if (opts.training) {
          const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
          const m = tf.moments(x, axes);
          mean = tf.reshape(m.mean, bshape);
          variance = tf.reshape(m.variance, bshape);
          updates?.push({ layerId: layer.id, batchMean: tf.keep(tf.clone(m.mean)), batchVar: tf.keep(tf.clone(m.variance)) });
        } else {
          mean = tf.reshape(get(`${layer.id}.mean`), bshape);
          variance = tf.reshape(get(`${layer.id}.var`), bshape);
        }
        const y = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, BATCHNORM_EPSILON))), scale), bias);
        return applyActivation(y, act);
      }
      case 'dropout': {
        const rate = layer.dropoutRate ?? 0;
        if (!opts.training || rate <= 0) return applyActivation(x, act);
        const keep = tf.cast(tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', dropoutSeed), rate), 'float32');
        return applyActivation(tf.div(tf.mul(x, keep), 1 - rate), act);
      }
      case 'flatten':
        return applyActivation(tf.reshape(x, [n, -1]), act);
      case 'gru':
      case 'lstm':
        return applyActivation(recurrent(layer, x), act);
      case 'activation':
        return applyActivation(x, act);
    }
  };

  // ONNX GRU (linear_before_reset = 1) and LSTM, gates in ONNX order (z, r, h) and (i, o, f, c).
  const recurrent = (layer: LayerSpec, x: tf.Tensor): tf.Tensor => {
    const h = layer.units ?? 1;
    const gates = layer.kind === 'gru' ? 3 : 4;
    const W = tf.reshape(get(`${layer.id}.W`), [gates * h, -1]) as tf.Tensor2D;
    const R = tf.reshape(get(`${layer.id}.R`), [gates * h, h]) as tf.Tensor2D;
    const B = tf.reshape(get(`${layer.id}.B`), [2 * gates * h]);
    const Wb = tf.slice(B, [0], [gates * h]);
    const Rb = tf.slice(B, [gates * h], [gates * h]);
    const steps = tf.unstack(x, 2) as tf.Tensor2D[];
    const n = x.shape[0];
    let H: tf.Tensor2D = tf.zeros([n, h]);
    let C: tf.Tensor2D = tf.zeros([n, h]);
    const outs: tf.Tensor2D[] = [];
    for (const xt of steps) {
      const xw = tf.add(tf.matMul(xt, W, false, true), Wb);
      const hr = tf.add(tf.matMul(H, R, false, true), Rb);
      const xs = tf.split(xw, gates, 1);
      const hs = tf.split(hr, gates, 1);
      if (layer.kind === 'gru') {
        const z = tf.sigmoid(tf.add(xs[0], hs[0]));
        const r = tf.sigmoid(tf.add(xs[1], hs[1]));
        const cand = tf.tanh(tf.add(xs[2], tf.mul(r, hs[2])));
        H = tf.add(tf.mul(tf.sub(1, z), cand), tf.mul(z, H)) as tf.Tensor2D;
      } else {
        const i = tf.sigmoid(tf.add(xs[0], hs[0]));
        const o = tf.sigmoid(tf.add(xs[1], hs[1]));
        const f = tf.sigmoid(tf.add(xs[2], hs[2]));
        const c = tf.tanh(tf.add(xs[3], hs[3]));
        C = tf.add(tf.mul(f, C), tf.mul(i, c)) as tf.Tensor2D;
        H = tf.mul(o, tf.tanh(C)) as tf.Tensor2D;
      }
      outs.push(H);
    }
    return layer.sequences ? tf.stack(outs, 2) : H;
  };

  const forward = (x: tf.Tensor, opts: ForwardOptions, updates?: BatchnormUpdate[]): Record<string, tf.Tensor2D> => {
    const outputs = new Map<string, tf.Tensor>();
    const result: Record<string, tf.Tensor2D> = {};
    let dropoutCount = 0;
    for (const block of spec.blocks) {
      let y = block.from ? outputs.get(block.from) : x;
      if (!y) throw new Error(`network: block ${block.name} reads '${block.from}', which has not run`);
      const finalSoftmax = block.kind === 'head' ? finalSoftmaxOf(block) : undefined;
      for (const layer of block.layers) {
        const seed = ((opts.seed ?? 0) * 7919 + ++dropoutCount) >>> 0;
        opts.capture?.(layer, y);
        y = runLayer(layer, y, opts, seed, updates, layer === finalSoftmax);
      }
      outputs.set(block.name, y);
      if (block.kind === 'head') result[block.name] = y as tf.Tensor2D;
    }
    return result;
  };

  return {
    spec,
    variables,
    trainable,
    heads,
    forward,
    predict(x) {
      return tf.tidy(() => {
        const logits = forward(x, { training: false });
        const out: Record<string, tf.Tensor2D> = {};
        for (const [name, l] of Object.entries(logits)) out[name] = tf.softmax(l, -1);
        return out;
      });
    },
    toWeightSet() {
      const out: WeightSet = new Map();
      for (const [name, v] of variables) out.set(name, { shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) });
      return out;
    },
    setWeights(weights) {
      for (const [name, v] of variables) {
        const t = weights.get(name);
        if (!t) throw new Error(`network: the weights lack '${name}'`);
        v.assign(tf.tensor(t.data, v.shape, 'float32'));
      }
    },
    dispose() {
      for (const v of variables.values()) v.dispose();
    },
  };
}

/** Applies batchnorm running-statistics updates from a training step (see {@link BATCHNORM_MOMENTUM}) and disposes them. */
export function applyBatchnormUpdates(net: Network, updates: BatchnormUpdate[]): void {
  for (const u of updates) {
    const mean = net.variables.get(`${u.layerId}.mean`);
    const variance = net.variables.get(`${u.layerId}.var`);
    if (mean && variance) {
      tf.tidy(() => {
        mean.assign(tf.add(tf.mul(mean, BATCHNORM_MOMENTUM), tf.mul(u.batchMean, 1 - BATCHNORM_MOMENTUM)));
        variance.assign(tf.add(tf.mul(variance, BATCHNORM_MOMENTUM), tf.mul(u.batchVar, 1 - BATCHNORM_MOMENTUM)));
      });
    }
    u.batchMean.dispose();
    u.batchVar.dispose();
  }
}

/**
 * Softmax cross-entropy of one head, counted only for the samples that have a label for
 * it: `labels[i]` is the class index, or -1 when sample i carries no label for this head
 * (multi-task training with partial labels). Returns the mean over the labelled samples,
 * ln-based (nats), and 0 when none in the batch is labelled.
 */
export function maskedCrossEntropy(logits: tf.Tensor2D, labels: Int32Array): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[1];
    const mask = Float32Array.from(labels, (l) => (l >= 0 ? 1 : 0));
    const count = mask.reduce((a, b) => a + b, 0);
    if (count === 0) return tf.scalar(0);
    const idx = tf.tensor1d(Int32Array.from(labels, (l) => (l >= 0 ? l : 0)), 'int32');
    const onehot = tf.oneHot(idx, classes);
    const logp = tf.logSoftmax(logits, -1);
    const perSample = tf.neg(tf.sum(tf.mul(onehot, logp), 1));
    return tf.div(tf.sum(tf.mul(perSample, tf.tensor1d(mask))), count) as tf.Scalar;
  });
}
