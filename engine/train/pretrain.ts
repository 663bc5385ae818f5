/**
 * Unsupervised pre-training of a pipeline's shared layers, as DeepEar did before its supervised
 * stage: greedy layer-wise denoising autoencoders (Vincent et al., JMLR 2010). For each dense
 * layer of the shared blocks, in order, the layer (its own activation) plus an untied linear
 * decoder learn to reconstruct the layer's clean input from a corrupted copy (masking noise: a
 * seeded fraction of the input values set to 0); the mean squared reconstruction error is
 * minimised with Adam. The layer is then frozen and the next one is trained on its outputs.
 * The decoders are thrown away; the returned weights are the initial weights with the shared
 * dense layers replaced, ready for {@link trainPipeline}'s `init`.
 *
 * What is done for other layers of the trunk: parameter-free layers (flatten, dropout, pooling,
 * activation) are passed through; a batchnorm keeps its initial parameters and statistics (it is
 * trained in the supervised stage); at the first conv1d, conv2d, gru or lstm layer pre-training
 * STOPS, because a denoising autoencoder per dense layer says nothing about how to reconstruct
 * through a convolution or a recurrence: that layer and every shared layer after it keep their
 * seeded initial weights, and a note says so. Heads are never pre-trained.
 *
 * Inputs reach each layer through {@link Network.forward}'s capture hook in inference mode, so
 * the features, their normalisation and the frozen layers below are exactly those the
 * supervised stage uses.
 */
import * as tf from '@tensorflow/tfjs';
import type { LayerSpec, PipelineSpec } from '../../language/pipeline-model';
import type { NormalizationStats } from '../../runtime/features';
import { mulberry32, type Rng } from '../compress/random';
import { initWeights } from '../weights/init';
import type { WeightSet } from '../weights/weights';
import { windowFeatures, type Window } from './features';
import { applyActivation, buildNetwork, trainabilityProblems, type Network } from './network';

/** Fraction of the inputs zeroed by the masking corruption that `sense train --pretrain` uses; not tuned, written into the training record. */
export const PRETRAIN_MASK_FRACTION = 0.25;

/** Options of {@link pretrainShared}. */
export interface PretrainOptions {
  /** Epochs per dense layer, at least 1. */
  epochs: number;
  seed: number;
  batchSize: number;
  learningRate: number;
  /** Fraction of each input's values zeroed by the masking corruption, 0 to < 1. */
  maskFraction: number;
  /** Normalisation of the features (fitted by the caller, e.g. on the unlabeled windows). */
  normalization?: NormalizationStats;
  /** Starting weights; seeded initialisation (engine/weights/init.ts) when undefined. */
  init?: WeightSet;
  log?: (line: string) => void;
}

/** What pre-training did to one layer of the shared blocks. */
export interface PretrainedLayer {
  layerId: string;
  kind: LayerSpec['kind'];
  /** Mean squared reconstruction error of the corrupted inputs per epoch (training loss), empty for a layer not trained. */
  reconstructionLoss: number[];
  /** Why a layer was not trained; absent for a trained dense layer. */
  note?: string;
}

/** The result of {@link pretrainShared}. */
export interface PretrainResult {
  /** The starting weights with every pre-trained dense layer replaced. */
  weights: WeightSet;
  layers: PretrainedLayer[];
  windows: number;
}

function shuffled(n: number, rng: Rng): number[] {
  const a = [...Array(n).keys()];
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** The input rows of `layer` for every feature vector, `[rows, width]` flattened, by a forward pass of the frozen network. */
function layerInputs(net: Network, layer: LayerSpec, features: Float32Array[], batchSize: number): { data: Float32Array; width: number } {
  const shape = net.spec.features.outputShape;
  const d = shape.reduce((a, b) => a * b, 1);
  const parts: Float32Array[] = [];
  let width = 0;
  for (let start = 0; start < features.length; start += batchSize) {
    const end = Math.min(features.length, start + batchSize);
    const buf = new Float32Array((end - start) * d);
    for (let i = start; i < end; i++) buf.set(features[i], (i - start) * d);
    tf.tidy(() => {
      net.forward(tf.tensor(buf, [end - start, ...shape]), {
        training: false,
        capture: (l, input) => {
          if (l !== layer) return;
          width = input.shape[input.rank - 1] as number;
          parts.push(Float32Array.from(input.dataSync() as Float32Array));
        },
      });
    });
  }
  const data = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { data, width };
}

/** Trains one dense layer as a denoising autoencoder on `rows` (`[n, width]`); returns the loss per epoch. */
async function trainDenseAutoencoder(net: Network, layer: LayerSpec, rows: Float32Array, width: number, opts: PretrainOptions, rng: Rng): Promise<number[]> {
  const W = net.variables.get(`${layer.id}.weight`) as tf.Variable;
  const b = net.variables.get(`${layer.id}.bias`) as tf.Variable;
  const out = W.shape[0] as number;
  const n = rows.length / width;
  // The decoder starts as the encoder's transpose (the tied choice) so the first steps already
  // reconstruct something; it is untied: its own variable, trained on its own afterwards.
  const decW = tf.variable(tf.transpose(W), true);
  const decB = tf.variable(tf.zeros([width]), true);
  const optimizer = tf.train.adam(opts.learningRate);
  const trained = [W, b, decW, decB];
  const losses: number[] = [];
  try {
    for (let epoch = 1; epoch <= opts.epochs; epoch++) {
      const order = shuffled(n, rng);
      let sum = 0;
      let batches = 0;
      for (let start = 0; start < n; start += opts.batchSize) {
        const idx = order.slice(start, start + opts.batchSize);
        const clean = new Float32Array(idx.length * width);
        idx.forEach((r, k) => clean.set(rows.subarray(r * width, (r + 1) * width), k * width));
        const corrupt = Float32Array.from(clean, (v) => (rng() < opts.maskFraction ? 0 : v));
        const loss = tf.tidy(() => {
          const x = tf.tensor2d(clean, [idx.length, width]);
          const xt = tf.tensor2d(corrupt, [idx.length, width]);
          const { value, grads } = tf.variableGrads(() => {
            const h = applyActivation(tf.add(tf.matMul(xt, W as unknown as tf.Tensor2D, false, true), b), layer.activation) as tf.Tensor2D;
            const recon = tf.add(tf.matMul(h, decW as unknown as tf.Tensor2D, false, true), decB);
            return tf.mean(tf.square(tf.sub(recon, x))) as tf.Scalar;
          }, trained);
          optimizer.applyGradients(trained.map((v) => ({ name: v.name, tensor: grads[v.name] ?? tf.zerosLike(v) })));
          return value.dataSync()[0];
        });
        sum += loss;
        batches++;
        if (batches % 8 === 0) await new Promise((r) => setImmediate(r));
      }
      losses.push(sum / Math.max(1, batches));
      opts.log?.(`pretrain ${layer.id} (dense ${width}->${out}) epoch ${epoch}/${opts.epochs}  reconstruction mse ${losses[losses.length - 1].toFixed(4)}`);
    }
  } finally {
    optimizer.dispose();
    decW.dispose();
    decB.dispose();
  }
  return losses;
}

const PASS_THROUGH = new Set<LayerSpec['kind']>(['flatten', 'dropout', 'maxpool', 'avgpool', 'activation']);

/**
 * Pre-trains the dense layers of `spec`'s shared blocks on unlabeled `windows` (see the module
 * comment for the method and what happens to other layers). Throws an Error naming the problem
 * for a pipeline the supervised stage cannot train, no windows or bad options.
 */
export async function pretrainShared(spec: PipelineSpec, windows: readonly Window[], opts: PretrainOptions): Promise<PretrainResult> {
  // Refuse before pre-training, not after it: a pipeline the supervised stage cannot train would waste it.
  const problems = trainabilityProblems(spec);
  if (problems.length > 0) throw new Error(`cannot train pipeline ${spec.name}:\n  ${problems.join('\n  ')}`);
  if (windows.length === 0) throw new Error(`no training windows: no unlabeled windows to pre-train pipeline ${spec.name} on`);
  if (!(opts.epochs >= 1) || !Number.isInteger(opts.epochs)) throw new Error(`pre-training epochs must be a positive integer, got ${opts.epochs}`);
  if (!(opts.batchSize >= 1) || !Number.isInteger(opts.batchSize)) throw new Error(`batch size must be a positive integer, got ${opts.batchSize}`);
  if (!(opts.learningRate > 0)) throw new Error(`learning rate must be positive, got ${opts.learningRate}`);
  if (!(opts.maskFraction >= 0 && opts.maskFraction < 1)) throw new Error(`mask fraction must be in [0, 1), got ${opts.maskFraction}`);
  const features = windows.map((w) => windowFeatures(spec, w, opts.normalization));
  const net = buildNetwork(spec, opts.init ?? initWeights(spec, opts.seed));
  const rng = mulberry32(opts.seed ^ 0x9e7a);
  const layers: PretrainedLayer[] = [];
  try {
    let stoppedAt: LayerSpec | undefined;
    for (const layer of spec.blocks.filter((bl) => bl.kind !== 'head').flatMap((bl) => bl.layers)) {
      if (stoppedAt) {
        layers.push({ layerId: layer.id, kind: layer.kind, reconstructionLoss: [], note: `after ${stoppedAt.id} (${stoppedAt.kind}), where pre-training stopped; initial weights kept` });
      } else if (layer.kind === 'dense') {
        const { data, width } = layerInputs(net, layer, features, opts.batchSize);
        layers.push({ layerId: layer.id, kind: layer.kind, reconstructionLoss: await trainDenseAutoencoder(net, layer, data, width, opts, rng) });
      } else if (PASS_THROUGH.has(layer.kind)) {
        layers.push({ layerId: layer.id, kind: layer.kind, reconstructionLoss: [], note: 'no parameters; passed through' });
      } else if (layer.kind === 'batchnorm') {
        layers.push({ layerId: layer.id, kind: layer.kind, reconstructionLoss: [], note: 'batchnorm keeps its initial parameters and statistics; the supervised stage trains it' });
      } else {
        stoppedAt = layer;
        layers.push({
          layerId: layer.id,
          kind: layer.kind,
          reconstructionLoss: [],
          note: `${layer.kind} is not pre-trained (layer-wise denoising autoencoders here train dense layers only); pre-training stops here and this and every later shared layer keep their initial weights`,
        });
      }
      const last = layers[layers.length - 1];
      if (last.note) opts.log?.(`pretrain ${layer.id} (${layer.kind}): ${last.note}`);
    }
    return { weights: net.toWeightSet(), layers, windows: windows.length };
  } finally {
    net.dispose();
  }
}
