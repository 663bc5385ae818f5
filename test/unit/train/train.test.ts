/**
 * Training: a toy task beats chance, multi-task partial labels are masked correctly, the
 * same seed gives the same weights, and the written weights (our layout, read back from
 * the safetensors bytes) give in numpy (ONNX operator semantics) the same outputs as the
 * tfjs network that trained them.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { pythonHas, runPython } from '../../support/python';
import { mulberry32 } from '../../../engine/compress/random';
import { useTrainingBackend } from '../../../engine/train/backend';
import { windowFeatures } from '../../../engine/train/features';
import { buildNetwork, maskedCrossEntropy } from '../../../engine/train/network';
import { chanceLevel, stratifiedSplit, trainPipeline, type TrainExample } from '../../../engine/train/trainer';
import { encodeSafetensors } from '../../../engine/weights/safetensors';
import { checkWeights } from '../../../engine/weights/weights';
import { SINE_PIPELINE, pipelineFromText, sineClip, sineExamples, useBackend } from './helpers';

const QUICK = { epochs: 12, seed: 7, batchSize: 16, learningRate: 0.01, valFraction: 0.25, patience: 4 };

/** Examples for the `loud` head: random tones, quiet (amplitude 0.01) or loud (0.5). */
function loudExamples(perClass: number, seed: number): TrainExample[] {
  const rng = mulberry32(seed);
  const out: TrainExample[] = [];
  for (let label = 0; label < 2; label++)
    for (let i = 0; i < perClass; i++) {
      const w = sineClip(Math.floor(rng() * 3), rng);
      const peak = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      out.push({ clip: `loud/${label}/${i}`, head: 'loud', label, window: w.map((v) => (v / peak) * (label === 0 ? 0.01 : 0.5)) });
    }
  return out;
}

describe('maskedCrossEntropy', () => {
  beforeAll(() => useBackend('wasm'));

  it('averages only over labelled samples and gives masked rows no gradient (hand-computed)', () => {
    // Row 0: logits [0, 0], label 1 -> ln 2. Row 1: masked. Row 2: [ln 3, 0], label 0 -> p = 3/4 -> ln(4/3).
    const logits = tf.tensor2d([0, 0, 5, -5, Math.log(3), 0], [3, 2]);
    const labels = Int32Array.from([1, -1, 0]);
    const loss = maskedCrossEntropy(logits, labels).dataSync()[0];
    expect(loss).toBeCloseTo((Math.log(2) + Math.log(4 / 3)) / 2, 6);
    const g = tf.grad((l: tf.Tensor) => maskedCrossEntropy(l as tf.Tensor2D, labels))(logits).arraySync() as number[][];
    // d/dlogits of mean CE = (softmax - onehot) / labelled count (2).
    expect(g[0][0]).toBeCloseTo(0.25, 6);
    expect(g[0][1]).toBeCloseTo(-0.25, 6);
    expect(g[1].map(Math.abs)).toEqual([0, 0]);
    expect(g[2][0]).toBeCloseTo((0.75 - 1) / 2, 6);
    expect(g[2][1]).toBeCloseTo(0.25 / 2, 6);
  });

  it('is 0 for a batch with no label for the head', () => {
    expect(maskedCrossEntropy(tf.tensor2d([1, 2, 3, 4], [2, 2]), Int32Array.from([-1, -1])).dataSync()[0]).toBe(0);
  });
});

describe('stratifiedSplit and chance', () => {
  it('holds out the same fraction of every (head, label) and never splits a clip', () => {
    const ex: TrainExample[] = [];
    for (const head of ['a', 'b']) for (let l = 0; l < 3; l++) for (let c = 0; c < 10; c++) for (let w = 0; w < 2; w++) ex.push({ clip: `${head}${l}-${c}`, head, label: l, window: new Float32Array(1) });
    const val = stratifiedSplit(ex, 0.2, mulberry32(1));
    expect(val.size).toBe(2 * 3 * 2);
    for (const head of ['a', 'b']) for (let l = 0; l < 3; l++) expect([...val].filter((c) => c.startsWith(`${head}${l}-`)).length).toBe(2);
    expect(chanceLevel([0, 0, 1, 2])).toBe(0.5);
  });
});

describe('trainPipeline', () => {
  it('learns a toy multi-task problem with partial labels far above chance', async () => {
    await useBackend('wasm');
    const { spec } = await pipelineFromText(SINE_PIPELINE);
    const examples = [...sineExamples('tone', 24, 1), ...loudExamples(24, 2)];
    const lines: string[] = [];
    const r = await trainPipeline(spec, examples, { ...QUICK, log: (l) => lines.push(l) });
    expect(r.valAccuracy.tone.chance).toBeCloseTo(1 / 3, 6);
    expect(r.valAccuracy.tone.accuracy).toBeGreaterThanOrEqual(0.85);
    expect(r.valAccuracy.loud.chance).toBe(0.5);
    expect(r.valAccuracy.loud.accuracy).toBeGreaterThanOrEqual(0.85);
    expect(lines.filter((l) => l.startsWith('epoch')).length).toBe(r.history.length);
    expect(lines.some((l) => /tone [\d.]+\/[\d.]+/.test(l))).toBe(true);
    // Normalisation statistics are stored and the result fits the pipeline.
    expect(() => checkWeights(spec, r.weights, 'trained')).not.toThrow();
    expect(r.weights.get('features.mean')?.shape).toEqual([16]);
  }, 60_000);

  it('gives bit-identical weights for the same seed and different ones for another seed', async () => {
    await useBackend('wasm');
    const { spec } = await pipelineFromText(SINE_PIPELINE);
    const examples = [...sineExamples('tone', 8, 3), ...loudExamples(6, 4)];
    const opts = { ...QUICK, epochs: 2, batchSize: 8 };
    const a = await trainPipeline(spec, examples, opts);
    const b = await trainPipeline(spec, examples, opts);
    const c = await trainPipeline(spec, examples, { ...opts, seed: 8 });
    const bytes = (w: typeof a.weights) => Buffer.from(encodeSafetensors(w));
    expect(bytes(a.weights).equals(bytes(b.weights))).toBe(true);
    expect(bytes(a.weights).equals(bytes(c.weights))).toBe(false);
  }, 60_000);

  it('refuses a head that is not a classifier and a label outside the head', async () => {
    const { spec } = await pipelineFromText(SINE_PIPELINE.replace('dense 2 softmax', 'dense 2 sigmoid'));
    await expect(trainPipeline(spec, sineExamples('tone', 2, 1), QUICK)).rejects.toThrow(/head loud ends in sigmoid/);
    const ok = await pipelineFromText(SINE_PIPELINE);
    await expect(trainPipeline(ok.spec, [{ clip: 'x', head: 'tone', label: 3, window: new Float32Array(2000) }], QUICK)).rejects.toThrow(/class 3, outside head tone's 3 outputs/);
    await expect(trainPipeline(ok.spec, [{ clip: 'x', head: 'nope', label: 0, window: new Float32Array(2000) }], QUICK)).rejects.toThrow(/head 'nope'/);
  });
});

const LAYOUT_PIPELINE = `
pipeline Layout {
  input audio { rate 8 kHz  window 0.25 s }
  features { frames 32 ms hop 16 ms  logmel 16 bands  normalize }
  shared enc {
    conv1d 8 kernel 3 stride 2 padding same relu
    batchnorm
    maxpool 2
    gru 6 sequences
    lstm 5
  }
  head a from enc { dense 4 tanh  dense 3 softmax  labels [low, mid, high] }
  head b from enc { dropout 0.5  dense 2 leakyrelu  softmax }
  target snapdragon800
  weights "layout.safetensors"
}
`;

// ONNX operator semantics in numpy: Conv (SAME_UPPER pads), BatchNormalization, MaxPool,
// GRU (linear_before_reset = 1, gates z r h), LSTM (gates i o f c), Gemm, activations.
const NUMPY_FORWARD = `
import json, sys, struct
import numpy as np
inp = json.load(sys.stdin)
raw = bytes(inp['file'])
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
W = {}
for k, v in header.items():
    if k == '__metadata__': continue
    b, e = v['data_offsets']
    W[k] = np.frombuffer(data[b:e], dtype='<f4').reshape(v['shape']).astype(np.float64)
sig = lambda x: 1 / (1 + np.exp(-x))
def softmax(x):
    e = np.exp(x - x.max()); return e / e.sum()
def conv1d(x, w, b, s, k):
    C, L = x.shape
    out_len = -(-L // s)
    total = max(0, (out_len - 1) * s + k - L)
    xp = np.pad(x, ((0, 0), (total // 2, total - total // 2)))
    y = np.zeros((w.shape[0], out_len))
    for t in range(out_len):
        y[:, t] = np.tensordot(w, xp[:, t * s:t * s + k], axes=([1, 2], [0, 1])) + b
    return y
def rnn(x, Wt, Rt, Bt, kind):
    Wt, Rt, Bt = Wt[0], Rt[0], Bt[0]
    g = 3 if kind == 'gru' else 4
    h = Rt.shape[1]
    Wb, Rb = Bt[:g * h], Bt[g * h:]
    H = np.zeros(h); C = np.zeros(h); ys = []
    for t in range(x.shape[1]):
        xw = Wt @ x[:, t] + Wb; hr = Rt @ H + Rb
        if kind == 'gru':
            z = sig(xw[:h] + hr[:h]); r = sig(xw[h:2*h] + hr[h:2*h])
            n_ = np.tanh(xw[2*h:] + r * hr[2*h:])
            H = (1 - z) * n_ + z * H
        else:
            i = sig(xw[:h] + hr[:h]); o = sig(xw[h:2*h] + hr[h:2*h]); f = sig(xw[2*h:3*h] + hr[2*h:3*h]); c = np.tanh(xw[3*h:] + hr[3*h:])
            C = f * C + i * c; H = o * np.tanh(C)
        ys.append(H)
    return np.stack(ys, 1), H
out = []
for x in inp['features']:
    x = np.array(x, dtype=np.float64).reshape(16, 14)
    y = np.maximum(conv1d(x, W['enc.1.weight'], W['enc.1.bias'], 2, 3), 0)
    y = (y - W['enc.2.mean'][:, None]) / np.sqrt(W['enc.2.var'][:, None] + 1e-5) * W['enc.2.scale'][:, None] + W['enc.2.bias'][:, None]
    L = y.shape[1] // 2
    y = y[:, :2 * L].reshape(y.shape[0], L, 2).max(2)
    seq, _ = rnn(y, W['enc.4.W'], W['enc.4.R'], W['enc.4.B'], 'gru')
    _, e = rnn(seq, W['enc.5.W'], W['enc.5.R'], W['enc.5.B'], 'lstm')
    a = np.tanh(W['a.1.weight'] @ e + W['a.1.bias'])
    a = softmax(W['a.2.weight'] @ a + W['a.2.bias'])
    b = W['b.2.weight'] @ e + W['b.2.bias']
    b = softmax(np.where(b > 0, b, 0.01 * b))
    out.append({'a': a.tolist(), 'b': b.tolist()})
print(json.dumps(out))
`;

describe('written weights vs an independent numpy forward pass', () => {
  it('has numpy', () => {
    expect(pythonHas('numpy')).toBe(true);
  });

  it('the trained tfjs network and numpy on the written safetensors agree (conv1d, batchnorm, maxpool, gru, lstm, dense)', async () => {
    const { spec } = await pipelineFromText(LAYOUT_PIPELINE);
    await useTrainingBackend(spec);
    const examples = [...sineExamples('a', 6, 5), ...sineExamples('b', 4, 6).map((e) => ({ ...e, label: e.label % 2 }))];
    const r = await trainPipeline(spec, examples, { ...QUICK, epochs: 2, batchSize: 6 });
    // Training moved the batchnorm running statistics away from their initial 0 and 1.
    expect(Math.abs(r.weights.get('enc.2.mean')!.data[0])).toBeGreaterThan(1e-4);
    const file = encodeSafetensors(r.weights);
    const stats = { mean: r.weights.get('features.mean')!.data, std: r.weights.get('features.std')!.data };
    const rng = mulberry32(9);
    const feats = [0, 1, 2].map((l) => windowFeatures(spec, sineClip(l, rng), stats));
    const net = buildNetwork(spec, r.weights);
    const probs = net.predict(tf.tensor(Float32Array.from(feats.flatMap((f) => [...f])), [3, 16, 14]));
    const ours = { a: probs.a.arraySync(), b: probs.b.arraySync() };
    net.dispose();
    const ref = runPython<{ a: number[]; b: number[] }[]>(NUMPY_FORWARD, { file: [...file], features: feats.map((f) => [...f]) });
    for (let i = 0; i < 3; i++) {
      ref[i].a.forEach((v, j) => expect(ours.a[i][j]).toBeCloseTo(v, 4));
      ref[i].b.forEach((v, j) => expect(ours.b[i][j]).toBeCloseTo(v, 4));
    }
  }, 60_000);
});
