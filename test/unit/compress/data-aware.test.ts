/**
 * Data-aware compression under a parameter budget (issue 14 item 2): the rank choice is the
 * least-error one (brute force over every rank combination), the input covariances the network's
 * capture hook collects equal X^T X / n computed by hand from the clips, and on the data the
 * data-aware plan's output error, measured independently as tr(E C E^T) with E = W - A B, is never
 * above the plain SVD's at the same parameter budget, whose parameters `sense estimate` confirms.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { budgetCandidates, collectInputCovariances, normalizationOf, planRanks } from '../../../engine/compress/data-aware';
import { fromData, matmul, transpose, type Matrix } from '../../../engine/compress/matrix';
import { gaussianArray, mulberry32 } from '../../../engine/compress/random';
import { chooseRanksForBudget, factorisedParams, type RankCandidate } from '../../../engine/compress/rank-budget';
import { reconstruct, relativeErrorAtRank, singularValues, truncatedSvd } from '../../../engine/compress/svd';
import { withCompressions } from '../../../engine/auto-compress';
import { estimatePipeline } from '../../../engine/estimate';
import { clipFilesUnder, clipWindows } from '../../../engine/train/node-data';
import { initWeights } from '../../../engine/weights/init';
import { loadPipelineWeights } from '../../../engine/weights/node-weights';
import type { WeightSet } from '../../../engine/weights/weights';
import { loadPipeline } from '../../../cli/load';
import type { PipelineSpec } from '../../../language/pipeline-model';
import { computeFeatures } from '../../../runtime/features';
import { svdBreakEvenRank } from '../../../language/layer-shapes';
import { useBackend } from '../train/helpers';

const WATCH = 'samples/watch/activity.sense';

function randomCandidates(seed: number, layers: number): RankCandidate[] {
  const rng = mulberry32(seed);
  return Array.from({ length: layers }, (_, i) => {
    const rows = 3 + Math.floor(rng() * 8), cols = 3 + Math.floor(rng() * 10);
    const spectrum = Array.from({ length: Math.min(rows, cols) }, () => 10 * rng() ** 3).sort((a, b) => b - a);
    return { layerId: `l${i}`, rows, cols, spectrum };
  });
}

// The least summed squared error within the budget over every rank combination, or Infinity.
function bruteForce(cands: RankCandidate[], budget: number): number {
  let best = Infinity;
  const walk = (i: number, params: number, errorSq: number): void => {
    if (params > budget) return;
    if (i === cands.length) {
      best = Math.min(best, errorSq);
      return;
    }
    const c = cands[i];
    walk(i + 1, params + factorisedParams(c.rows, c.cols, undefined), errorSq);
    for (let k = 1; k < svdBreakEvenRank(c.rows, c.cols); k++) walk(i + 1, params + factorisedParams(c.rows, c.cols, k), errorSq + relativeErrorAtRank(c.spectrum, k) ** 2);
  };
  walk(0, 0, 0);
  return best;
}

describe('ranks under a parameter budget', () => {
  it('equal the brute-force least error on 150 random problems, within the budget', () => {
    let feasible = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const cands = randomCandidates(seed, 3);
      const dense = cands.reduce((a, c) => a + factorisedParams(c.rows, c.cols, undefined), 0);
      const budget = Math.floor(dense * (0.2 + 0.7 * mulberry32(seed + 1000)()));
      const best = bruteForce(cands, budget);
      if (best === Infinity) {
        expect(() => chooseRanksForBudget(cands, budget)).toThrow(/at least \d+ parameters/);
        continue;
      }
      feasible++;
      const plan = chooseRanksForBudget(cands, budget);
      expect(plan.params).toBeLessThanOrEqual(budget);
      expect(plan.errorSq).toBeCloseTo(best, 12);
    }
    expect(feasible).toBeGreaterThan(100);
  });

  it('falls back to a greedy walk that stays within the budget and is never better than the optimum', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const cands = randomCandidates(seed, 4);
      const dense = cands.reduce((a, c) => a + factorisedParams(c.rows, c.cols, undefined), 0);
      const budget = Math.floor(dense * 0.6);
      const exact = chooseRanksForBudget(cands, budget);
      const greedy = chooseRanksForBudget(cands, budget, [], 0);
      expect(greedy.params).toBeLessThanOrEqual(budget);
      expect(greedy.errorSq).toBeGreaterThanOrEqual(exact.errorSq - 1e-12);
    }
  });

  it('keeps a plan it is asked to consider when that one is better on the spectra', () => {
    const cands = randomCandidates(7, 3);
    const budget = cands.reduce((a, c) => a + factorisedParams(c.rows, c.cols, 1), 0);
    const all1 = new Map(cands.map((c) => [c.layerId, 1]));
    const plan = chooseRanksForBudget(cands, budget, [all1], 0);
    expect([...plan.ranks.values()]).toEqual([1, 1, 1]);
  });
});

/** Loads the watch sample and its trained weights. */
async function watch(): Promise<{ spec: PipelineSpec; weights: WeightSet }> {
  const { spec } = await loadPipeline(WATCH);
  return { spec, weights: loadPipelineWeights(spec, WATCH).weights };
}

// y = relu(W x + b) of a dense layer, in float64, for the hand reference.
function denseRelu(x: Float64Array, W: Float32Array, b: Float32Array, out: number): Float64Array {
  const inWidth = x.length;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = b[o];
    for (let i = 0; i < inWidth; i++) s += W[o * inWidth + i] * x[i];
    y[o] = Math.max(0, s);
  }
  return y;
}

describe('input covariances from clips', () => {
  beforeAll(() => useBackend('wasm'));

  it("equal X^T X / n of the watch sample's encoder inputs computed by hand from its clips", async () => {
    const { spec, weights } = await watch();
    const files = clipFilesUnder('samples/data/watch', '.csv');
    expect(files.length).toBe(44);
    const windows = files.flatMap((f) => clipWindows(spec, f));
    const layers = budgetCandidates(spec, true).filter((l) => l.block === 'encoder');
    expect(layers.map((l) => l.id)).toEqual(['encoder.1', 'encoder.2']);
    const got = collectInputCovariances(spec, weights, windows, layers, 7);
    expect(got.windows).toBe(windows.length);
    const stats = normalizationOf(weights)!;
    const sums = [new Float64Array(60 * 60), new Float64Array(64 * 64)];
    for (const w of windows) {
      const x0 = Float64Array.from(computeFeatures(spec.input, spec.features, w, { normalization: stats }).data);
      const x1 = denseRelu(x0, weights.get('encoder.1.weight')!.data, weights.get('encoder.1.bias')!.data, 64);
      [x0, x1].forEach((x, k) => {
        for (let i = 0; i < x.length; i++) for (let j = 0; j < x.length; j++) sums[k][i * x.length + j] += x[i] * x[j];
      });
    }
    layers.forEach((l, k) => {
      const C = got.covariances.get(l.id)!;
      const ref = sums[k].map((v) => v / windows.length);
      const scale = Math.max(...ref.map(Math.abs));
      let worst = 0;
      for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(C.data[i] - ref[i]));
      expect(worst / scale, l.id).toBeLessThan(1e-5);
    });
  });

  it('refuses data whose every window is silent or absent', async () => {
    const { spec, weights } = await watch();
    expect(() => collectInputCovariances(spec, weights, [], budgetCandidates(spec, true))).toThrow(/no windows/);
  });
});

// tr(E C E^T) for E = W - P, by plain loops (independent of whitened-svd's relOutputError).
function outputErrorSq(W: Matrix, P: Matrix, C: Matrix): number {
  const n = W.cols;
  let t = 0;
  for (let o = 0; o < W.rows; o++) {
    for (let i = 0; i < n; i++) {
      const ei = W.data[o * n + i] - P.data[o * n + i];
      if (ei === 0) continue;
      for (let j = 0; j < n; j++) t += ei * C.data[i * n + j] * (W.data[o * n + j] - P.data[o * n + j]);
    }
  }
  return t;
}

function traceWCW(W: Matrix, C: Matrix): number {
  return outputErrorSq(W, fromData(W.rows, W.cols, new Float64Array(W.data.length)), C);
}

// An anisotropic second moment: `samples` non-negative (post-relu-like) vectors through a random mix.
function randomSecondMoment(inputs: number, samples: number, rng: () => number): Matrix {
  const X = fromData(samples, inputs, gaussianArray(rng, samples * inputs).map((v, i) => Math.max(0, v) * (1 + 5 * ((i % inputs) % 3 === 0 ? 1 : 0))));
  const G = matmul(transpose(X), X);
  return fromData(inputs, inputs, G.data.map((v) => v / samples));
}

describe('data-aware ranks against plain SVD at the same budget', () => {
  it('never give a larger output error on the data (tr(E C E^T) by hand), 20 seeds, and their parameters are what sense estimate counts', async () => {
    const { spec } = await loadPipeline(WATCH);
    const est = estimatePipeline(spec);
    const perLayer = new Map<string, number>();
    for (const l of est.layers) perLayer.set(l.layerId, (perLayer.get(l.layerId) ?? 0) + l.params);
    const total = [...perLayer.values()].reduce((a, b) => a + b, 0);
    let strictlyBetter = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const rng = mulberry32(seed);
      const weights = initWeights(spec, seed);
      const layers = budgetCandidates(spec, true);
      const covariances = new Map(layers.map((l) => [l.id, randomSecondMoment(l.inputShape[0], 5 + Math.floor(rng() * 80), rng)]));
      const fraction = 0.3 + 0.6 * rng();
      const plan = planRanks(spec, weights, fraction, total, perLayer, covariances);
      // Plain SVD at the same budget: ranks from the weight spectra, factors by truncated SVD.
      const Ws = new Map(layers.map((l) => [l.id, fromData(l.units!, l.inputShape[0], weights.get(`${l.id}.weight`)!.data)]));
      const fixed = total - layers.reduce((a, l) => a + perLayer.get(l.id)!, 0);
      const plain = chooseRanksForBudget(layers.map((l) => ({ layerId: l.id, rows: Ws.get(l.id)!.rows, cols: Ws.get(l.id)!.cols, spectrum: singularValues(Ws.get(l.id)!) })), Math.floor(fraction * total) - fixed);
      let dataSq = 0, plainSq = 0;
      for (const l of layers) {
        const W = Ws.get(l.id)!, C = covariances.get(l.id)!;
        const p = plan.layers.find((x) => x.layer.id === l.id)!;
        const total2 = traceWCW(W, C);
        if (p.rank !== undefined) {
          const A = fromData(W.rows, p.rank, p.factors!.A.data), B = fromData(p.rank, W.cols, p.factors!.B.data);
          const e = outputErrorSq(W, matmul(A, B), C) / total2;
          expect(Math.sqrt(e)).toBeCloseTo(p.relError, 3);
          dataSq += e;
        }
        const k = plain.ranks.get(l.id);
        if (k !== undefined) plainSq += outputErrorSq(W, reconstruct(truncatedSvd(W, k, { method: 'exact' })), C) / total2;
      }
      expect(Math.sqrt(dataSq), `seed ${seed}`).toBeLessThanOrEqual(Math.sqrt(plainSq) + 1e-6);
      expect(plan.plainError).toBeCloseTo(Math.sqrt(plainSq), 6);
      if (Math.sqrt(dataSq) < Math.sqrt(plainSq) - 1e-3) strictlyBetter++;
      // The budget holds as sense estimate counts parameters.
      const planned = withCompressions(spec, new Map(plan.layers.map((p) => [p.layer.id, p.rank !== undefined ? { kind: 'svd' as const, criterion: 'rank' as const, rank: p.rank } : undefined])));
      const after = estimatePipeline(planned).layers.reduce((a, l) => a + l.params, 0);
      expect(after).toBe(plan.paramsAfter);
      expect(after).toBeLessThanOrEqual(Math.floor(fraction * total));
    }
    expect(strictlyBetter).toBeGreaterThan(10);
  });

  it('says how far the budget can go when it is too small', async () => {
    const { spec, weights } = await watch();
    const est = estimatePipeline(spec);
    const perLayer = new Map(est.layers.map((l) => [l.layerId, l.params]));
    const total = est.layers.reduce((a, l) => a + l.params, 0);
    expect(() => planRanks(spec, weights, 0.01, total, perLayer)).toThrow(/least reachable is \d+ parameters, [0-9.]+% of 6347/);
  });
});
