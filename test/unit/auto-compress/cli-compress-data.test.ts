/**
 * `sense compress --params N% --data DIR [--recover EPOCHS] [--write]` end to end: the written
 * bundle of `sense export` holds exactly the stored B^T and A^T, and the written
 * pipeline runs with the stored data-aware factors (its probabilities equal a float64 forward pass
 * by hand with W ~ A B from the weights file, and differ from the plain SVD's at the same ranks),
 * a compress line of another rank is refused by name, recovery trains the factors and not the
 * dense weights, an unlabelled folder is data too, DeepEar's wide encoder on its 68 sample clips
 * (fewer windows than inputs) plans without error and beats plain SVD on the same data, and hostile
 * folders and values are usage errors naming what is wrong.
 */
import '../../../language/polyfills';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromData } from '../../../engine/compress/matrix';
import { truncatedSvd } from '../../../engine/compress/svd';
import { parseSafetensors } from '../../../engine/weights/safetensors';
import { decodeOnnxModel, decodeOnnxTensor } from '../../../engine/weights/onnx-decode';
import type { WeightSet } from '../../../engine/weights/weights';
import { loadPipeline } from '../../../cli/load';
import { computeFeatures } from '../../../runtime/features';
import { clipWindows } from '../../../engine/train/node-data';
import { sense } from '../../support/sense-cli';

const CLIP = 'samples/data/watch/activity/walking/walking-0000.csv';

function copyWatch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sense-compress-data-'));
  copyFileSync('samples/watch/activity.sense', join(dir, 'activity.sense'));
  copyFileSync('samples/watch/activity.safetensors', join(dir, 'activity.safetensors'));
  return join(dir, 'activity.sense');
}

function weightsOf(senseFile: string): WeightSet {
  return parseSafetensors(readFileSync(senseFile.replace(/\.sense$/, '.safetensors'))).tensors;
}

interface BudgetJson {
  paramsBefore: number;
  paramsAfter: number;
  budget: { params: number };
  error: number;
  plainError: number | null;
  layers: { layerId: string; rank?: number; relError: number; plainRelOutputError?: number }[];
  lines: string[];
  recovery: { before: Record<string, number>; after: Record<string, number> } | null;
  written: string[];
}

/**
 * The watch pipeline's head probabilities for the first window of `clip`, by hand in float64:
 * features from the runtime's front end, then each dense layer as W x + b, or A (B x) + b for the
 * layers in `factored` (their A and B), relu in the encoder, softmax at each head.
 */
async function byHand(senseFile: string, weights: WeightSet, factored: Map<string, { A: Float64Array | Float32Array; B: Float64Array | Float32Array; rank: number }>): Promise<Record<string, number[]>> {
  const { spec } = await loadPipeline(senseFile);
  const stats = { mean: weights.get('features.mean')!.data, std: weights.get('features.std')!.data };
  const x0 = Float64Array.from(computeFeatures(spec.input, spec.features, clipWindows(spec, CLIP)[0], { normalization: stats }).data);
  const dense = (id: string, x: Float64Array, out: number): Float64Array => {
    const b = weights.get(`${id}.bias`)!.data;
    const f = factored.get(id);
    const y = new Float64Array(out);
    if (f) {
      const h = new Float64Array(f.rank);
      for (let k = 0; k < f.rank; k++) for (let i = 0; i < x.length; i++) h[k] += f.B[k * x.length + i] * x[i];
      for (let o = 0; o < out; o++) {
        let s = b[o];
        for (let k = 0; k < f.rank; k++) s += f.A[o * f.rank + k] * h[k];
        y[o] = s;
      }
      return y;
    }
    const W = weights.get(`${id}.weight`)!.data;
    for (let o = 0; o < out; o++) {
      let s = b[o];
      for (let i = 0; i < x.length; i++) s += W[o * x.length + i] * x[i];
      y[o] = s;
    }
    return y;
  };
  const relu = (v: Float64Array): Float64Array => v.map((t) => Math.max(0, t));
  const h = relu(dense('encoder.2', relu(dense('encoder.1', x0, 64)), 32));
  const out: Record<string, number[]> = {};
  for (const [head, n] of [['activity', 5], ['transport', 4], ['place', 2]] as const) {
    const z = dense(`${head}.1`, h, n);
    const m = Math.max(...z);
    const e = [...z].map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    out[head] = e.map((v) => v / s);
  }
  return out;
}

async function runProbabilities(senseFile: string): Promise<Record<string, number[]>> {
  const r = await sense('run', senseFile, CLIP, '--json');
  expect(r.code, r.err).toBe(0);
  const heads = (JSON.parse(r.out) as { clips: { heads: Record<string, { probabilities: Record<string, number> }> }[] }).clips[0].heads;
  return Object.fromEntries(Object.entries(heads).map(([h, v]) => [h, Object.values(v.probabilities)]));
}

function maxDiff(a: Record<string, number[]>, b: Record<string, number[]>): number {
  let d = 0;
  for (const h of Object.keys(a)) a[h].forEach((v, i) => (d = Math.max(d, Math.abs(v - b[h][i]))));
  return d;
}

describe('sense compress --params --data --write', () => {
  it('stores the data-aware factors, and sense run uses them (hand computation of A B), not plain SVD', async () => {
    const file = copyWatch();
    const r = await sense('compress', file, '--params', '40%', '--data', 'samples/data/watch', '--write', '--json');
    expect(r.code, r.err).toBe(0);
    const plan = JSON.parse(r.out) as BudgetJson;
    expect(plan.paramsAfter).toBeLessThanOrEqual(plan.budget.params);
    expect(plan.error).toBeLessThanOrEqual(plan.plainError! + 1e-9);
    expect(plan.written).toHaveLength(2);
    const text = readFileSync(file, 'utf8');
    const weights = weightsOf(file);
    const factored = new Map<string, { A: Float32Array; B: Float32Array; rank: number }>();
    const plainFactored = new Map<string, { A: Float64Array; B: Float64Array; rank: number }>();
    for (const l of plan.layers.filter((x) => x.rank !== undefined)) {
      expect(text).toContain(`compress ${l.layerId} svd rank ${l.rank}\n`);
      const A = weights.get(`${l.layerId}.svd.a`)!, B = weights.get(`${l.layerId}.svd.b`)!;
      expect(A.shape[1]).toBe(l.rank);
      expect(B.shape[0]).toBe(l.rank);
      factored.set(l.layerId, { A: A.data, B: B.data, rank: l.rank! });
      const W = weights.get(`${l.layerId}.weight`)!;
      const svd = truncatedSvd(fromData(W.shape[0], W.shape[1], W.data), l.rank!, { method: 'exact' });
      const US = svd.U.data.map((u, i) => u * svd.S[i % l.rank!]);
      plainFactored.set(l.layerId, { A: US, B: svd.Vt.data, rank: l.rank! });
    }
    expect(factored.size).toBeGreaterThan(0);
    // The dense weights stay as they were (the data-free fallback).
    const original = parseSafetensors(readFileSync('samples/watch/activity.safetensors')).tensors;
    for (const [name, t] of original) expect(weights.get(name)!.data).toEqual(t.data);
    expect((await sense('check', file)).code).toBe(0);
    const run = await runProbabilities(file);
    const hand = await byHand(file, weights, factored);
    const plainHand = await byHand(file, weights, plainFactored);
    expect(maxDiff(run, hand)).toBeLessThan(1e-5);
    expect(maxDiff(run, plainHand)).toBeGreaterThan(1e-3);
    const [id, f] = [...factored][0];

    // The exported bundle carries B^T and A^T as the two MatMul initializers, exactly.
    const bundle = join(mkdtempSync(join(tmpdir(), 'sense-bundle-')), 'b');
    const ex = await sense('export', file, '-o', bundle);
    expect(ex.code, ex.err).toBe(0);
    const inits = new Map<string, Float32Array>();
    for (const name of readdirSync(bundle).filter((n) => n.endsWith('.onnx'))) {
      const model = decodeOnnxModel(readFileSync(join(bundle, name)), (m) => {
        throw new Error(m);
      });
      for (const t of model.graph.initializer ?? []) {
        const decoded = decodeOnnxTensor(t, (m) => {
          throw new Error(m);
        });
        if (decoded.floats) inits.set(t.name ?? '', decoded.floats);
      }
    }
    const cols = weights.get(`${id}.weight`)!.shape[1], rows = weights.get(`${id}.weight`)!.shape[0];
    const bt = new Float32Array(cols * f.rank), at = new Float32Array(f.rank * rows);
    for (let k = 0; k < f.rank; k++) for (let i = 0; i < cols; i++) bt[i * f.rank + k] = f.B[k * cols + i];
    for (let o = 0; o < rows; o++) for (let k = 0; k < f.rank; k++) at[k * rows + o] = f.A[o * f.rank + k];
    expect(inits.get(`${id}.svd_vt`)).toEqual(bt);
    expect(inits.get(`${id}.svd_us_t`)).toEqual(at);

    // A compress line of another rank is refused by name, never silently replaced by plain SVD.
    writeFileSync(file, text.replace(`compress ${id} svd rank ${f.rank}`, `compress ${id} svd rank ${f.rank + 1}`));
    const bad = await sense('run', file, CLIP);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain(`compress line asks for SVD rank ${f.rank + 1} but the weights hold data-aware factors of rank ${f.rank}`);
  });

  it('without --data chooses plain SVD ranks on the weight errors and stores no factors', async () => {
    const file = copyWatch();
    const r = await sense('compress', file, '--params', '40%', '--write', '--json');
    expect(r.code, r.err).toBe(0);
    const plan = JSON.parse(r.out) as BudgetJson;
    expect(plan.plainError).toBeNull();
    expect(plan.written).toEqual([file]);
    expect([...weightsOf(file).keys()].some((k) => k.includes('.svd.'))).toBe(false);
    expect(readFileSync(file, 'utf8')).toContain('svd rank');
  });

  it('without weights plans data-free on the random-matrix spectra, and refuses --data', async () => {
    const r = await sense('compress', 'samples/deepx/alexnet.sense', '--params', '25%', '--json');
    expect(r.code, r.err).toBe(0);
    const plan = JSON.parse(r.out) as BudgetJson & { errorSource: string };
    expect(plan.errorSource).toBe('random-matrix');
    expect(plan.paramsAfter).toBeLessThanOrEqual(plan.budget.params);
    expect(plan.budget.params).toBe(Math.floor(0.25 * plan.paramsBefore));
    const est = JSON.parse((await sense('estimate', 'samples/deepx/alexnet.sense', '--json')).out) as { layers: { params: number }[] };
    expect(plan.paramsBefore).toBe(est.layers.reduce((a, l) => a + l.params, 0));
    const d = await sense('compress', 'samples/deepx/alexnet.sense', '--params', '25%', '--data', 'samples/data/watch');
    expect(d.code).toBe(2);
    expect(d.err).toContain("has no 'weights' line; --data measures the trained network on your clips");
  });

  it('reads an unlabelled folder of clips', async () => {
    const file = copyWatch();
    const flat = mkdtempSync(join(tmpdir(), 'sense-flat-'));
    for (const name of ['still', 'walking', 'running']) copyFileSync(`samples/data/watch/activity/${name}/${name}-0000.csv`, join(flat, `${name}.csv`));
    const r = await sense('compress', file, '--params', '50%', '--data', flat);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`relative output error on 3 windows of ${flat}`);
  });

  it('--recover trains the factors (not the dense weights) and reports held-out accuracy before and after', async () => {
    const file = copyWatch();
    const r = await sense('compress', file, '--params', '40%', '--data', 'samples/data/watch', '--recover', '3', '--write', '--json');
    expect(r.code, r.err).toBe(0);
    const plan = JSON.parse(r.out) as BudgetJson;
    expect(Object.keys(plan.recovery!.before).sort()).toEqual(['activity', 'place', 'transport']);
    expect(Object.keys(plan.recovery!.after).sort()).toEqual(['activity', 'place', 'transport']);
    const weights = weightsOf(file);
    const original = parseSafetensors(readFileSync('samples/watch/activity.safetensors')).tensors;
    const id = plan.layers.find((l) => l.rank !== undefined)!.layerId;
    expect(weights.get(`${id}.weight`)!.data).toEqual(original.get(`${id}.weight`)!.data);
    const unrecovered = copyWatch();
    expect((await sense('compress', unrecovered, '--params', '40%', '--data', 'samples/data/watch', '--write')).code).toBe(0);
    expect(weights.get(`${id}.svd.a`)!.data).not.toEqual(weightsOf(unrecovered).get(`${id}.svd.a`)!.data);
    const ev = await sense('eval', file, 'samples/data/watch');
    expect(ev.code, ev.err).toBe(0);
    expect(ev.out).toMatch(/activity: accuracy/);
  });

  it("DeepEar on its 68 sample clips (fewer windows than the encoder's 3920 inputs) plans, beating plain SVD on the data", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sense-deepear-'));
    copyFileSync('samples/deepear/deepear.sense', join(dir, 'deepear.sense'));
    copyFileSync('samples/deepear/deepear.safetensors', join(dir, 'deepear.safetensors'));
    const r = await sense('compress', join(dir, 'deepear.sense'), '--params', '25%', '--data', 'samples/data/deepear', '--json');
    expect(r.code, r.err).toBe(0);
    const plan = JSON.parse(r.out) as BudgetJson;
    expect(plan.paramsAfter).toBeLessThanOrEqual(plan.budget.params);
    expect(plan.error).toBeLessThan(plan.plainError!);
  }, 300_000);
});

describe('sense compress --params: hostile input', () => {
  const file = copyWatch();
  const empty = mkdtempSync(join(tmpdir(), 'sense-empty-'));
  const wrongKind = mkdtempSync(join(tmpdir(), 'sense-wav-'));
  mkdirSync(join(wrongKind, 'sub'));
  copyFileSync('samples/data/deepear/ambient/music/' + 'music-0000.wav', join(wrongKind, 'sub', 'a.wav'));
  const aFile = join(mkdtempSync(join(tmpdir(), 'sense-file-')), 'clips.csv');
  writeFileSync(aFile, 'x');
  it.each([
    [['--params', '50%', '--data', empty], `--data ${empty}: no .csv clips in it or its subfolders; pipeline WatchActivity reads inertial clips (.csv)`],
    [['--params', '50%', '--data', wrongKind], 'no .csv clips in it or its subfolders'],
    [['--params', '50%', '--data', aFile], `--data ${aFile} is a regular file, not a folder; give a folder of .csv clips`],
    [['--params', '50%', '--data', join(empty, 'nothing')], 'no such folder'],
    [['--params', '0%'], "--params needs a percentage above 0% and at most 100% of today's parameters (got '0%')"],
    [['--params', '150%'], "(got '150%')"],
    [['--params', 'abc'], "(got 'abc')"],
    [['--params', '50%', '--recover', '3'], '--recover EPOCHS fine-tunes on labelled clips: give them with --data DIR'],
    [['--params', '50%', '--data', 'samples/data/watch', '--recover', 'abc'], "--recover needs a whole number of epochs from 1 to 10000 (got 'abc')"],
    [['--params', '50%', '--data', 'samples/data/watch', '--recover', '0'], "(got '0')"],
    [['--fit', 'mcu', '--data', 'samples/data/watch'], '--data works with --params N%'],
    [['--fit', 'mcu', '--params', '50%'], 'give one target'],
  ])('%j is a usage error', async (args, message) => {
    const r = await sense('compress', file, ...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('--recover on a folder without labels says it needs HEAD/LABEL clips', async () => {
    const flat = mkdtempSync(join(tmpdir(), 'sense-flat-'));
    copyFileSync(CLIP, join(flat, 'a.csv'));
    const r = await sense('compress', file, '--params', '50%', '--data', flat, '--recover', '1');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--recover needs labelled clips');
  });
});
