/**
 * Unsupervised pre-training (`sense train --pretrain DIR`): the denoising reconstruction loss of
 * every shared dense layer falls over its epochs; a conv/recurrent trunk layer stops it with a
 * note; the supervised stage starts from the pre-trained tensors (not the random init); hostile
 * folders and flags give clear errors naming the folder or flag.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseTrainArgs } from '../../../cli/commands/train';
import { main } from '../../../cli/main';
import { mulberry32 } from '../../../engine/compress/random';
import { fitNormalization } from '../../../engine/train/features';
import { readUnlabeledWindows } from '../../../engine/train/node-data';
import { pretrainShared } from '../../../engine/train/pretrain';
import { trainPipeline } from '../../../engine/train/trainer';
import { initWeights } from '../../../engine/weights/init';
import type { WeightSet } from '../../../engine/weights/weights';
import { encodeWav16 } from '../../../runtime/wav';
import { SINE_PIPELINE, pipelineFromText, sineClip, sineExamples, tempDir, useBackend } from './helpers';

/** The toy pipeline with a two-layer shared trunk, so the layer-wise order is exercised. */
const TWO_LAYER = SINE_PIPELINE.replace('shared body { flatten  dense 16 relu }', 'shared body { flatten  dense 24 relu  dropout 0.1  dense 12 tanh }');

const OPTS = { epochs: 8, seed: 5, batchSize: 16, learningRate: 0.003, maskFraction: 0.25 };

/** `n` unlabeled sine windows of random classes. */
function unlabeledWindows(n: number, seed: number): Float32Array[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () => sineClip(Math.floor(rng() * 3), rng));
}

function maxAbsDiff(a: WeightSet, b: WeightSet, name: string): number {
  const x = a.get(name)!.data;
  const y = b.get(name)!.data;
  expect(x.length).toBe(y.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

describe('pretrainShared', () => {
  beforeAll(() => useBackend('wasm'));

  it('lowers each shared dense layer’s reconstruction loss layer by layer and leaves the heads at their init', async () => {
    const { spec } = await pipelineFromText(TWO_LAYER);
    const windows = unlabeledWindows(96, 11);
    const normalization = fitNormalization(spec, windows);
    const r = await pretrainShared(spec, windows, { ...OPTS, normalization });
    const dense = r.layers.filter((l) => l.kind === 'dense');
    expect(dense.map((l) => l.layerId)).toEqual(['body.2', 'body.4']);
    for (const l of dense) {
      expect(l.reconstructionLoss.length).toBe(OPTS.epochs);
      // The last epoch's loss is well below the first's (a real fall, not noise).
      expect(l.reconstructionLoss[OPTS.epochs - 1]).toBeLessThan(0.8 * l.reconstructionLoss[0]);
    }
    expect(r.layers.find((l) => l.kind === 'dropout')?.note).toMatch(/no parameters/);
    const init = initWeights(spec, OPTS.seed);
    expect(maxAbsDiff(r.weights, init, 'body.2.weight')).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(r.weights, init, 'body.4.weight')).toBeGreaterThan(1e-3);
    for (const name of ['tone.1.weight', 'tone.1.bias', 'loud.1.weight']) expect(maxAbsDiff(r.weights, init, name)).toBe(0);
  }, 60_000);

  it('stops at a recurrent trunk layer with a note, keeping it and what follows at their init', async () => {
    const { spec } = await pipelineFromText(SINE_PIPELINE.replace('shared body { flatten  dense 16 relu }', 'shared body { dense 8 relu  gru 6  dense 4 relu }'));
    const windows = unlabeledWindows(32, 2);
    const r = await pretrainShared(spec, windows, { ...OPTS, epochs: 2, normalization: fitNormalization(spec, windows) });
    expect(r.layers.map((l) => [l.layerId, l.reconstructionLoss.length])).toEqual([
      ['body.1', 2],
      ['body.2', 0],
      ['body.3', 0],
    ]);
    expect(r.layers[1].note).toMatch(/gru is not pre-trained .* pre-training stops here/);
    expect(r.layers[2].note).toMatch(/after body.2 \(gru\)/);
    const init = initWeights(spec, OPTS.seed);
    expect(maxAbsDiff(r.weights, init, 'body.1.weight')).toBeGreaterThan(1e-3);
    for (const name of ['body.2.W', 'body.2.R', 'body.3.weight']) expect(maxAbsDiff(r.weights, init, name)).toBe(0);
  }, 60_000);

  it('the supervised stage starts from the pre-trained tensors, not the random init', async () => {
    const { spec } = await pipelineFromText(TWO_LAYER);
    const windows = unlabeledWindows(64, 4);
    const normalization = fitNormalization(spec, windows);
    const pre = await pretrainShared(spec, windows, { ...OPTS, epochs: 3, normalization });
    // Adam moves every parameter by at most about the learning rate per step whatever the
    // gradient, so with lr 1e-9 and a few steps the kept weights are the starting ones to 1e-7.
    const r = await trainPipeline(spec, sineExamples('tone', 4, 9), { epochs: 1, seed: OPTS.seed, batchSize: 4, learningRate: 1e-9, valFraction: 0, patience: 1, init: pre.weights, normalization });
    const init = initWeights(spec, OPTS.seed);
    for (const name of ['body.2.weight', 'body.2.bias', 'body.4.weight', 'tone.1.weight']) expect(maxAbsDiff(r.weights, pre.weights, name)).toBeLessThan(1e-7);
    expect(maxAbsDiff(r.weights, init, 'body.2.weight')).toBeGreaterThan(1e-3);
    // The supervised stage kept the unlabeled clips' normalisation the layers were pre-trained on.
    expect(Array.from(r.weights.get('features.mean')!.data)).toEqual(Array.from(normalization!.mean));
  }, 60_000);
});

function writeClip(dir: string, name: string, samples: Float32Array): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), encodeWav16(samples, 8000));
}

describe('sense train --pretrain', () => {
  it('pre-trains before the supervised stage and records each layer’s reconstruction loss', async () => {
    const { path } = await pipelineFromText(TWO_LAYER);
    const rng = mulberry32(8);
    const data = tempDir('sense-data-');
    ['low', 'mid', 'high'].forEach((l, i) => {
      for (let k = 0; k < 3; k++) writeClip(join(data, 'tone', l), `${l}-${k}.wav`, sineClip(i, rng));
    });
    const unlabeled = tempDir('sense-unlabeled-');
    for (let k = 0; k < 40; k++) writeClip(join(unlabeled, k % 2 ? 'sub' : ''), `u${k}.wav`, sineClip(k % 3, rng));
    const weights = join(tempDir(), 'w.safetensors');
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['train', path, data, '--epochs', '1', '--pretrain', unlabeled, '--pretrain-epochs', '6', '--lr', '0.003', '--out', weights], { out: (l) => out.push(l), err: (l) => err.push(l) });
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out.some((l) => /^pretrain: 40 unlabeled clips \(40 windows\)/.test(l))).toBe(true);
    const record = JSON.parse(readFileSync(weights.replace('.safetensors', '.training.json'), 'utf8'));
    expect(record.pretrain).toMatchObject({ dir: unlabeled, clips: 40, windows: 40, epochsPerLayer: 6 });
    const dense = record.pretrain.layers.filter((l: { kind: string }) => l.kind === 'dense');
    expect(dense.length).toBe(2);
    for (const l of dense) expect(l.mseLast).toBeLessThan(l.mseFirst);
  }, 120_000);

  it('refuses hostile --pretrain folders and flags with a message naming them', async () => {
    expect(() => parseTrainArgs(['p', 'd', '--pretrain', 'u', '--pretrain-epochs', '0'])).toThrow(/--pretrain-epochs needs a positive integer, got '0'/);
    expect(() => parseTrainArgs(['p', 'd', '--pretrain', 'u', '--pretrain-epochs', 'abc'])).toThrow(/--pretrain-epochs needs a positive integer, got 'abc'/);
    expect(() => parseTrainArgs(['p', 'd', '--pretrain-epochs', '3'])).toThrow(/--pretrain-epochs needs --pretrain/);
    expect(() => parseTrainArgs(['p', 'd', '--pretrain', ''])).toThrow(/--pretrain needs a folder/);
    expect(parseTrainArgs(['p', 'd', '--pretrain', 'u'])).toMatchObject({ pretrain: 'u', pretrainEpochs: 10 });

    const { spec, path } = await pipelineFromText(SINE_PIPELINE);
    const empty = tempDir('sense-empty-');
    expect(() => readUnlabeledWindows(spec, empty)).toThrow(`--pretrain ${empty}: no .wav clips in it or its subfolders`);
    const csvs = tempDir('sense-csv-');
    writeFileSync(join(csvs, 'a.csv'), 't,x,y,z\n0,0,0,1\n');
    expect(() => readUnlabeledWindows(spec, csvs)).toThrow(/holds 1 \.csv file\(s\), but pipeline Tones reads audio \(\.wav\) clips/);
    const file = join(csvs, 'a.csv');
    expect(() => readUnlabeledWindows(spec, file)).toThrow(`--pretrain ${file} is a file; give a folder of unlabeled clips`);
    const broken = tempDir('sense-broken-');
    writeFileSync(join(broken, 'x.wav'), 'not a wav');
    expect(() => readUnlabeledWindows(spec, broken)).toThrow(/--pretrain: .*x\.wav/);

    // A head the supervised stage cannot train is refused before any pre-training.
    const sig = await pipelineFromText(SINE_PIPELINE.replace('dense 2 softmax', 'dense 2 sigmoid'));
    await expect(pretrainShared(sig.spec, [new Float32Array(2000)], OPTS)).rejects.toThrow(/cannot train pipeline Tones:\n {2}head loud ends in sigmoid/);

    // Through the CLI: exit 2, the message on stderr, nothing written, no stack trace.
    const data = tempDir('sense-data-');
    writeClip(join(data, 'tone', 'low'), 'a.wav', sineClip(0, mulberry32(1)));
    for (const dir of [empty, csvs, file, join(empty, 'missing')]) {
      const weights = join(tempDir(), 'w.safetensors');
      const err: string[] = [];
      expect(await main(['train', path, data, '--pretrain', dir, '--out', weights], { out: () => {}, err: (l) => err.push(l) })).toBe(2);
      expect(err.join('\n')).toMatch(new RegExp(`sense train: --pretrain ${dir.replace(/[/.]/g, '\\$&')}`));
      expect(err.join('\n')).not.toMatch(/\n\s+at /);
      expect(existsSync(weights)).toBe(false);
    }
  }, 60_000);
});
