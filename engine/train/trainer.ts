/**
 * Multi-task training of a checked pipeline with @tensorflow/tfjs: the shared blocks and
 * every head jointly, softmax cross-entropy per head counted only for the samples labelled
 * for that head (partial labels), Adam, seeded (initial weights, shuffling, the held-out
 * split, dropout masks, augmentation and noise mixing all derive from one seed), a held-out split
 * stratified per head and label, early stopping on the validation loss (the best epoch's
 * weights are kept), and one progress line per epoch.
 *
 * Pure apart from tfjs: examples come in as windows (see ./node-data.ts for reading the
 * generator's `DATA/HEAD/LABEL/*` folders). Features are computed by runtime/features.ts
 * through ./features.ts. The backend is the caller's choice (`tf.setBackend`); the CLI
 * picks tfjs's wasm backend, see ./backend.ts.
 */
import * as tf from '@tensorflow/tfjs';
import type { PipelineSpec } from '../../language/pipeline-model';
import type { NormalizationStats } from '../../runtime/features';
import { mulberry32, type Rng } from '../compress/random';
import { initWeights } from '../weights/init';
import type { WeightSet } from '../weights/weights';
import { fitNormalization, windowFeatures, type Window } from './features';
import { applyBatchnormUpdates, buildNetwork, maskedCrossEntropy, trainabilityProblems, type BatchnormUpdate, type Network } from './network';

/** One labelled window. Windows of the same clip share `clip`, so the split never separates them. */
export interface TrainExample {
  /** Identifies the clip the window was cut from (a file path). */
  clip: string;
  head: string;
  /** Class index within the head's labels. */
  label: number;
  window: Window;
}

/** Mixed-condition synthesis (DeepEar): background noise mixed into clips of chosen heads. */
export interface NoiseOptions {
  /** Noise signals, mono at the pipeline's rate. */
  signals: Float32Array[];
  /** SNRs in dB; each epoch each eligible training window is either clean or mixed at one of these, uniformly. */
  snrDb: number[];
  /** Heads whose clips are mixed (DeepEar mixes speech, not the ambient scenes themselves). */
  heads: string[];
  /** Mixes `noise` into `clean` at `snrDb` (engine/train/signal.ts `mixAtSnr`). */
  mix: (clean: Float32Array, noise: Float32Array, snrDb: number) => Float32Array;
}

/** Options of {@link trainPipeline}. */
export interface TrainOptions {
  epochs: number;
  seed: number;
  batchSize: number;
  learningRate: number;
  /** Fraction of each (head, label)'s clips held out for validation, 0 to < 1. */
  valFraction: number;
  /** Epochs without a validation-loss improvement before stopping. */
  patience: number;
  noise?: NoiseOptions;
  /**
   * Changes one raw training window before noise mixing and the front end, drawing from `rng`
   * (./augment.ts `augmentWindow`); applied anew each epoch to every audio training window,
   * never to the held-out split.
   */
  augment?: (window: Float32Array, rng: Rng) => Float32Array;
  /** One line per epoch (and a few setup lines). */
  log?: (line: string) => void;
  /** Starting weights in our layout; seeded initialisation (engine/weights/init.ts) when undefined. */
  init?: WeightSet;
  /**
   * Normalisation statistics to keep instead of fitting them on the training split: a fine-tune
   * (`sense compress --recover`) must see the features the weights were trained on.
   */
  normalization?: NormalizationStats;
}

/** What one epoch did. */
export interface EpochRecord {
  epoch: number;
  /** Mean training loss over the epoch's batches (sum over heads), nats. */
  trainLoss: number;
  /** Validation loss (sum over heads of each head's mean), nats; NaN without a validation set. */
  valLoss: number;
  trainAccuracy: Record<string, number>;
  valAccuracy: Record<string, number>;
  seconds: number;
}

/** The result of a training run. */
export interface TrainResult {
  /** Every layer's parameters plus `features.mean`/`features.std` when the pipeline normalises. */
  weights: WeightSet;
  normalization?: NormalizationStats;
  history: EpochRecord[];
  /** Epoch whose weights were kept (1-based). */
  bestEpoch: number;
  /** Held-out accuracy per head of the starting weights, before the first step (empty without a held-out split). */
  startValAccuracy: Record<string, number>;
  /** Held-out accuracy per head at the best epoch, with the number of held-out windows. */
  valAccuracy: Record<string, { accuracy: number; windows: number; chance: number }>;
  trainWindows: number;
  valWindows: number;
  /** Clip paths held out, so an evaluation can use the same split. */
  valClips: string[];
}

function shuffle<T>(a: T[], rng: Rng): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/**
 * Splits clips into training and held-out sets, stratified per (head, label): of each
 * group's n clips, round(valFraction * n) are held out (at least one when n >= 2 and
 * valFraction > 0), chosen by the seeded shuffle. Returns the held-out clip names.
 */
export function stratifiedSplit(examples: readonly TrainExample[], valFraction: number, rng: Rng): Set<string> {
  const groups = new Map<string, string[]>();
  for (const e of examples) {
    const key = `${e.head}\u0000${e.label}`;
    const g = groups.get(key) ?? [];
    if (!g.includes(e.clip)) g.push(e.clip);
    groups.set(key, g);
  }
  const val = new Set<string>();
  if (valFraction <= 0) return val;
  for (const key of [...groups.keys()].sort()) {
    const clips = shuffle([...(groups.get(key) as string[])].sort(), rng);
    let k = Math.round(valFraction * clips.length);
    if (k === 0 && clips.length >= 2) k = 1;
    if (k >= clips.length) k = clips.length - 1;
    for (const c of clips.slice(0, k)) val.add(c);
  }
  return val;
}

/** Chance level of a head: the accuracy of always predicting its most frequent class among `labels`. */
export function chanceLevel(labels: readonly number[]): number {
  if (labels.length === 0) return NaN;
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  return Math.max(...counts.values()) / labels.length;
}

/** Per-head accuracy and mean loss of a network on prepared features. */
export function evaluateFeatures(
  net: Network,
  shape: number[],
  features: Float32Array[],
  labels: Record<string, Int32Array>,
  batchSize = 256,
): { loss: number; accuracy: Record<string, number>; counts: Record<string, number>; predictions: Record<string, Int32Array> } {
  const d = shape.reduce((a, b) => a * b, 1);
  const n = features.length;
  const lossSum: Record<string, number> = {};
  const correct: Record<string, number> = {};
  const counts: Record<string, number> = {};
  const predictions: Record<string, Int32Array> = {};
  for (const h of net.heads) {
    lossSum[h] = 0;
    correct[h] = 0;
    counts[h] = 0;
    predictions[h] = new Int32Array(n).fill(-1);
  }
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const buf = new Float32Array((end - start) * d);
    for (let i = start; i < end; i++) buf.set(features[i], (i - start) * d);
    tf.tidy(() => {
      const x = tf.tensor(buf, [end - start, ...shape]);
      const logits = net.forward(x, { training: false });
      for (const h of net.heads) {
        const lab = (labels[h] ?? new Int32Array(n).fill(-1)).subarray(start, end);
        const m = lab.reduce((a, l) => a + (l >= 0 ? 1 : 0), 0);
        const arg = tf.argMax(logits[h], 1).dataSync();
        for (let i = 0; i < lab.length; i++) {
          predictions[h][start + i] = arg[i];
          if (lab[i] >= 0 && arg[i] === lab[i]) correct[h]++;
        }
        if (m > 0) {
          lossSum[h] += maskedCrossEntropy(logits[h], Int32Array.from(lab)).dataSync()[0] * m;
          counts[h] += m;
        }
      }
    });
  }
  let loss = 0;
  const accuracy: Record<string, number> = {};
  for (const h of net.heads) {
    if (counts[h] > 0) {
      loss += lossSum[h] / counts[h];
      accuracy[h] = correct[h] / counts[h];
    }
  }
  return { loss, accuracy, counts, predictions };
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : '-';
}

/**
 * Trains `spec` on `examples` and returns the weights of the best epoch (lowest validation
 * loss; the last epoch without a validation set) with the normalisation statistics fitted
 * on the training split. Throws an Error naming the problem for a pipeline that cannot be
 * trained (image input, a head that is not a classifier), no examples, or bad options.
 */
export async function trainPipeline(spec: PipelineSpec, examples: readonly TrainExample[], opts: TrainOptions): Promise<TrainResult> {
  const problems = trainabilityProblems(spec);
  if (problems.length > 0) throw new Error(`cannot train pipeline ${spec.name}:\n  ${problems.join('\n  ')}`);
  if (examples.length === 0) throw new Error(`no training examples for pipeline ${spec.name}`);
  if (!(opts.epochs >= 1) || !Number.isInteger(opts.epochs)) throw new Error(`epochs must be a positive integer, got ${opts.epochs}`);
  if (!(opts.batchSize >= 1) || !Number.isInteger(opts.batchSize)) throw new Error(`batch size must be a positive integer, got ${opts.batchSize}`);
  if (!(opts.learningRate > 0)) throw new Error(`learning rate must be positive, got ${opts.learningRate}`);
  if (!(opts.valFraction >= 0 && opts.valFraction < 1)) throw new Error(`validation fraction must be in [0, 1), got ${opts.valFraction}`);
  if (!(opts.patience >= 1)) throw new Error(`patience must be at least 1 epoch, got ${opts.patience}`);
  const log = opts.log ?? (() => {});
  const heads = spec.blocks.filter((b) => b.kind === 'head').map((b) => b.name);
  for (const e of examples) {
    const block = spec.blocks.find((b) => b.name === e.head && b.kind === 'head');
    if (!block) throw new Error(`example from ${e.clip} is labelled for head '${e.head}', which pipeline ${spec.name} does not have`);
    if (!(e.label >= 0 && e.label < block.outputShape[0])) throw new Error(`example from ${e.clip} has class ${e.label}, outside head ${e.head}'s ${block.outputShape[0]} outputs`);
  }

  const splitRng = mulberry32(opts.seed ^ 0x5eed);
  const valClips = stratifiedSplit(examples, opts.valFraction, splitRng);
  const train = examples.filter((e) => !valClips.has(e.clip));
  const val = examples.filter((e) => valClips.has(e.clip));
  const stats = opts.normalization ?? fitNormalization(spec, train.map((e) => e.window));
  const shape = spec.features.outputShape;
  const d = shape.reduce((a, b) => a * b, 1);
  const labelsOf = (set: readonly TrainExample[]): Record<string, Int32Array> =>
    Object.fromEntries(heads.map((h) => [h, Int32Array.from(set, (e) => (e.head === h ? e.label : -1))]));
  const trainClean = train.map((e) => windowFeatures(spec, e.window, stats));
  const valFeatures = val.map((e) => windowFeatures(spec, e.window, stats));
  const trainLabels = labelsOf(train);
  const valLabels = labelsOf(val);
  const noise = opts.noise;
  if (noise) {
    if (noise.signals.length === 0) throw new Error('noise mixing needs at least one noise clip');
    if (spec.input.kind !== 'audio') throw new Error(`noise mixing applies to audio pipelines; ${spec.name} reads ${spec.input.kind} data`);
  }
  const augmentable = train.map((e) => !!noise && noise.heads.includes(e.head) && e.window instanceof Float32Array);
  const augment = opts.augment;
  log(`training ${spec.name}: ${train.length} training windows, ${val.length} held out; heads ${heads.map((h) => `${h} (${trainLabels[h].filter((l) => l >= 0).length}/${valLabels[h].filter((l) => l >= 0).length})`).join(', ')}; backend ${tf.getBackend()}`);

  const net = buildNetwork(spec, opts.init ?? initWeights(spec, opts.seed));
  const optimizer = tf.train.adam(opts.learningRate);
  const orderRng = mulberry32(opts.seed ^ 0x0dde);
  const noiseRng = mulberry32(opts.seed ^ 0x401e);
  const augmentRng = mulberry32(opts.seed ^ 0xa06e);
  const history: EpochRecord[] = [];
  let best = { loss: Infinity, epoch: 0, weights: undefined as WeightSet | undefined };
  let step = 0;
  try {
    const startValAccuracy = val.length > 0 ? evaluateFeatures(net, shape, valFeatures, valLabels).accuracy : {};
    for (let epoch = 1; epoch <= opts.epochs; epoch++) {
      const t0 = performance.now();
      const features = trainClean.map((clean, i) => {
        const raw = train[i].window;
        const augmented = augment && raw instanceof Float32Array ? augment(raw, augmentRng) : undefined;
        if (!augmentable[i] || !noise) return augmented ? windowFeatures(spec, augmented, stats) : clean;
        const choice = Math.floor(noiseRng() * (noise.snrDb.length + 1));
        const noiseSignal = noise.signals[Math.floor(noiseRng() * noise.signals.length)];
        const offset = Math.floor(noiseRng() * noiseSignal.length);
        const w = augmented ?? (raw as Float32Array);
        if (choice === noise.snrDb.length) return augmented ? windowFeatures(spec, w, stats) : clean;
        const shifted = new Float32Array(w.length);
        for (let k = 0; k < w.length; k++) shifted[k] = noiseSignal[(offset + k) % noiseSignal.length];
        return windowFeatures(spec, noise.mix(w, shifted, noise.snrDb[choice]), stats);
      });
      const order = shuffle([...train.keys()], orderRng);
      let lossSum = 0;
      let batches = 0;
      for (let start = 0; start < order.length; start += opts.batchSize) {
        const idx = order.slice(start, start + opts.batchSize);
        const buf = new Float32Array(idx.length * d);
        idx.forEach((i, k) => buf.set(features[i], k * d));
        const batchLabels = Object.fromEntries(heads.map((h) => [h, Int32Array.from(idx, (i) => trainLabels[h][i])]));
        const updates: BatchnormUpdate[] = [];
        step++;
        const lossValue = tf.tidy(() => {
          const x = tf.tensor(buf, [idx.length, ...shape]);
          const { value, grads } = tf.variableGrads(() => {
            const logits = net.forward(x, { training: true, seed: opts.seed * 100003 + step }, updates);
            let total: tf.Scalar = tf.scalar(0);
            for (const h of heads) total = tf.add(total, maskedCrossEntropy(logits[h], batchLabels[h]));
            return total;
          }, net.trainable);
          // Adam keys its moments by position in this list: give every variable a gradient, in a
          // fixed order, even when a batch holds no label for its head (variableGrads omits those).
          optimizer.applyGradients(net.trainable.map((v) => ({ name: v.name, tensor: grads[v.name] ?? tf.zerosLike(v) })));
          return value.dataSync()[0];
        });
        applyBatchnormUpdates(net, updates);
        lossSum += lossValue;
        batches++;
        // Yield to the event loop so progress lines flush and the process stays responsive.
        if (batches % 8 === 0) await new Promise((r) => setImmediate(r));
      }
      const trainEval = evaluateFeatures(net, shape, features, trainLabels);
      const valEval = val.length > 0 ? evaluateFeatures(net, shape, valFeatures, valLabels) : undefined;
      const seconds = (performance.now() - t0) / 1000;
      const rec: EpochRecord = {
        epoch,
        trainLoss: lossSum / Math.max(1, batches),
        valLoss: valEval ? valEval.loss : NaN,
        trainAccuracy: trainEval.accuracy,
        valAccuracy: valEval ? valEval.accuracy : {},
        seconds,
      };
      history.push(rec);
      const perHead = heads
        .filter((h) => rec.trainAccuracy[h] !== undefined)
        .map((h) => `${h} ${fmt(rec.trainAccuracy[h])}/${fmt(rec.valAccuracy[h] ?? NaN)}`)
        .join('  ');
      log(`epoch ${String(epoch).padStart(3)}/${opts.epochs}  loss ${fmt(rec.trainLoss)}  val ${fmt(rec.valLoss)}  acc train/val: ${perHead}  ${seconds.toFixed(1)} s`);
      const score = valEval ? valEval.loss : rec.trainLoss;
      if (score < best.loss || !valEval) {
        best = { loss: score, epoch, weights: net.toWeightSet() };
      } else if (epoch - best.epoch >= opts.patience) {
        log(`early stop: no validation-loss improvement for ${opts.patience} epochs; keeping epoch ${best.epoch}`);
        break;
      }
    }
    const weights = best.weights as WeightSet;
    net.setWeights(weights);
    const finalVal = val.length > 0 ? evaluateFeatures(net, shape, valFeatures, valLabels) : undefined;
    const valAccuracy: TrainResult['valAccuracy'] = {};
    for (const h of heads) {
      const labs = [...valLabels[h]].filter((l) => l >= 0);
      if (finalVal && labs.length > 0) valAccuracy[h] = { accuracy: finalVal.accuracy[h], windows: labs.length, chance: chanceLevel(labs) };
    }
    if (stats) {
      weights.set('features.mean', { shape: [stats.mean.length], data: Float32Array.from(stats.mean) });
      weights.set('features.std', { shape: [stats.std.length], data: Float32Array.from(stats.std) });
    }
    return { weights, normalization: stats, history, bestEpoch: best.epoch, startValAccuracy, valAccuracy, trainWindows: train.length, valWindows: val.length, valClips: [...valClips].sort() };
  } finally {
    optimizer.dispose();
    net.dispose();
  }
}
