/**
 * Measures held-out accuracy of trained sample weights on a generated test set, so the
 * README's figures can be rerun by anyone:
 *
 *   npx tsx scripts/measure-accuracy.ts --pipeline FILE.sense --test DIR --weights W.safetensors
 *       [--weights-noisy W2.safetensors] [--snr 0,5,10,20] [--svd-quarter BLOCK] [--json]
 *
 * - per head accuracy on the clean clips of DIR (DATA/HEAD/LABEL layout; a clip
 *   `X-snr5db.wav` is the generator's noisy variant of `X.wav`) with the chance level (the
 *   most frequent class's share);
 * - with `--snr`: accuracy per SNR for every head that has noisy variants, for the weights
 *   and (with `--weights-noisy`) the noise-trained weights: DeepEar's mixed-condition claim;
 * - with `--svd-quarter BLOCK`: every dense layer of BLOCK replaced by its rank-k SVD
 *   approximation with k(m + n) <= mn / 4 (a quarter of the layer's weights; DeepX's
 *   factorisation, engine/compress/svd.ts `truncatedSvd`, no retraining), and the clean
 *   accuracy again.
 * Features come from runtime/features.ts with the weights' `features.mean/std`; the forward
 * pass is the training network (engine/train/network.ts), which the unit tests check
 * against numpy. The data is synthetic: these numbers say nothing about real recordings.
 */
import { useTrainingBackend } from '../engine/train/backend';
import { readLabelledData } from '../engine/train/node-data';
import { chanceLevel, evaluateFeatures, type TrainExample } from '../engine/train/trainer';
import { windowFeatures } from '../engine/train/features';
import { buildNetwork } from '../engine/train/network';
import { readWeightsFile } from '../engine/weights/node-weights';
import { checkWeights, type WeightSet } from '../engine/weights/weights';
import { fromData } from '../engine/compress/matrix';
import { truncatedSvd } from '../engine/compress/svd';
import type { PipelineSpec } from '../language/pipeline-model';
import '../language/polyfills';
import { loadPipeline } from '../cli/load';

interface Args {
  pipeline: string;
  test: string;
  weights: string;
  weightsNoisy?: string;
  snr: number[];
  svdBlock?: string;
  json: boolean;
}

function parse(argv: string[]): Args {
  const a: Partial<Args> = { snr: [], json: false };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    const v = argv[i + 1];
    if (f === '--json') { a.json = true; continue; }
    if (v === undefined) throw new Error(`${f} needs a value`);
    i++;
    if (f === '--pipeline') a.pipeline = v;
    else if (f === '--test') a.test = v;
    else if (f === '--weights') a.weights = v;
    else if (f === '--weights-noisy') a.weightsNoisy = v;
    else if (f === '--snr') a.snr = v.split(',').map(Number);
    else if (f === '--svd-quarter') a.svdBlock = v;
    else throw new Error(`unknown option ${f}`);
  }
  if (!a.pipeline || !a.test || !a.weights) throw new Error('usage: measure-accuracy.ts --pipeline FILE.sense --test DIR --weights W.safetensors [--weights-noisy W2] [--snr 0,5,10,20] [--svd-quarter BLOCK] [--json]');
  return a as Args;
}

type HeadScores = Record<string, { accuracy: number; windows: number; chance: number }>;

function accuracy(spec: PipelineSpec, weights: WeightSet, examples: TrainExample[]): HeadScores {
  const stats = weights.has('features.mean') ? { mean: weights.get('features.mean')!.data, std: weights.get('features.std')!.data } : undefined;
  const net = buildNetwork(spec, weights);
  try {
    const heads = spec.blocks.filter((b) => b.kind === 'head').map((b) => b.name);
    const labels = Object.fromEntries(heads.map((h) => [h, Int32Array.from(examples, (e) => (e.head === h ? e.label : -1))]));
    const r = evaluateFeatures(net, spec.features.outputShape, examples.map((e) => windowFeatures(spec, e.window, stats)), labels);
    const out: HeadScores = {};
    for (const h of heads) {
      const labs = examples.filter((e) => e.head === h).map((e) => e.label);
      if (labs.length > 0) out[h] = { accuracy: r.accuracy[h], windows: labs.length, chance: chanceLevel(labs) };
    }
    return out;
  } finally {
    net.dispose();
  }
}

/** Replaces every dense weight of `block` by its best rank-k approximation with k(m + n) <= mn / 4. */
function svdQuarter(spec: PipelineSpec, weights: WeightSet, block: string): { weights: WeightSet; before: number; after: number; ranks: string[] } {
  const out: WeightSet = new Map(weights);
  const b = spec.blocks.find((x) => x.name === block);
  if (!b) throw new Error(`--svd-quarter: no block '${block}'`);
  let before = 0;
  let after = 0;
  const ranks: string[] = [];
  for (const layer of b.layers.filter((l) => l.kind === 'dense')) {
    const w = weights.get(`${layer.id}.weight`)!;
    const [m, n] = w.shape;
    const k = Math.max(1, Math.floor((m * n) / (4 * (m + n))));
    const svd = truncatedSvd(fromData(m, n, w.data), k);
    const approx = new Float32Array(m * n);
    for (let i = 0; i < m; i++)
      for (let r = 0; r < k; r++) {
        const u = svd.U.data[i * k + r] * svd.S[r];
        for (let j = 0; j < n; j++) approx[i * n + j] += u * svd.Vt.data[r * n + j];
      }
    out.set(`${layer.id}.weight`, { shape: w.shape, data: approx });
    before += m * n + m;
    after += k * (m + n) + m;
    ranks.push(`${layer.id} rank ${k}`);
  }
  return { weights: out, before, after, ranks };
}

function pct(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '-' : `${(100 * x).toFixed(1)}%`;
}

async function main(): Promise<void> {
  const a = parse(process.argv.slice(2));
  const { spec } = await loadPipeline(a.pipeline);
  await useTrainingBackend(spec);
  const load = (p: string): WeightSet => {
    const w = readWeightsFile(p);
    checkWeights(spec, w, p);
    return w;
  };
  const clean = readLabelledData(spec, a.test, { acceptFile: (f) => !/-snr-?\d+db\./i.test(f) }).examples;
  const models: [string, WeightSet][] = [['clean-trained', load(a.weights)]];
  if (a.weightsNoisy) models.push(['noise-trained', load(a.weightsNoisy)]);
  const result: Record<string, unknown> = { pipeline: spec.name, test: a.test, synthetic: true };
  for (const [name, w] of models) {
    const scores = accuracy(spec, w, clean);
    result[name] = { clean: scores };
    if (!a.json) {
      console.log(`\n${spec.name} ${name} (${name === 'clean-trained' ? a.weights : a.weightsNoisy}), held-out clean clips of ${a.test}:`);
      console.log('| head | accuracy | chance | windows |\n|---|---|---|---|');
      for (const [h, s] of Object.entries(scores)) console.log(`| ${h} | ${pct(s.accuracy)} | ${pct(s.chance)} | ${s.windows} |`);
    }
  }
  if (a.snr.length > 0) {
    const bySnr: Record<string, Record<string, HeadScores>> = {};
    for (const snr of a.snr) {
      // Only speech heads have noisy variants: read head by head and skip heads without any.
      const noisy: TrainExample[] = [];
      for (const head of spec.blocks.filter((b) => b.kind === 'head').map((b) => b.name)) {
        try {
          noisy.push(...readLabelledData(spec, a.test, { heads: [head], acceptFile: (f) => new RegExp(`-snr${snr}db\\.`, 'i').test(f) }).examples);
        } catch {
          // This head has no clip at this SNR.
        }
      }
      for (const [name, w] of models) (bySnr[name] ??= {})[`${snr} dB`] = accuracy(spec, w, noisy);
    }
    for (const [name] of models) (bySnr[name] ??= {}).clean = (result[name] as { clean: HeadScores }).clean;
    result.snr = bySnr;
    if (!a.json) {
      const heads = Object.keys(bySnr[models[0][0]][`${a.snr[0]} dB`] ?? {});
      const cols = [...a.snr.map((s) => `${s} dB`), 'clean'];
      console.log(`\naccuracy against SNR (noisy variants of the held-out clips; chance in brackets):`);
      console.log(`| head | model | ${cols.join(' | ')} |\n|---|---|${cols.map(() => '---').join('|')}|`);
      for (const h of heads)
        for (const [name] of models)
          console.log(`| ${h} (${pct(bySnr[name].clean[h]?.chance)}) | ${name} | ${cols.map((c) => pct(bySnr[name][c]?.[h]?.accuracy)).join(' | ')} |`);
    }
  }
  if (a.svdBlock) {
    const c = svdQuarter(spec, models[0][1], a.svdBlock);
    const scores = accuracy(spec, c.weights, clean);
    result.svdQuarter = { block: a.svdBlock, paramsBefore: c.before, paramsAfter: c.after, ranks: c.ranks, clean: scores };
    if (!a.json) {
      console.log(`\nSVD of ${a.svdBlock}'s dense layers to a quarter of their weights (${c.ranks.join(', ')}; ${c.before} -> ${c.after} parameters), clean-trained model, no retraining:`);
      console.log('| head | before | after | chance |\n|---|---|---|---|');
      const base = (result[models[0][0]] as { clean: HeadScores }).clean;
      for (const [h, s] of Object.entries(scores)) console.log(`| ${h} | ${pct(base[h]?.accuracy)} | ${pct(s.accuracy)} | ${pct(s.chance)} |`);
    }
  }
  if (a.json) console.log(JSON.stringify(result, null, 2));
}

main().catch((e: unknown) => {
  console.error(`measure-accuracy: ${(e as Error).message}`);
  process.exitCode = 1;
});
