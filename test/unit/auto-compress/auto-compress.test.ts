/**
 * Auto-compress: on a tiny two-processor pipeline the plan equals a brute-force search over
 * every combination of candidate ranks (for the documented root-sum-square error), for all
 * three targets at several levels; the data-free spectrum follows numpy's singular values
 * of random Gaussian matrices; spectra are cached by the weights' bytes.
 */
import '../../../language/polyfills';
import { describe, expect, it } from 'vitest';
import { autoCompress, combinedError, layerSpectrum, randomMatrixSpectrum, rankGrid, targetMetric, withCompressions, type CompressTarget } from '../../../engine/auto-compress';
import { relativeErrorAtRank } from '../../../engine/compress/svd';
import { estimatePipeline } from '../../../engine/estimate';
import type { CompressionSpec, PipelineSpec } from '../../../language/pipeline-model';
import type { WeightSet } from '../../../engine/weights/weights';
import { specOf } from '../engine/spec-of';
import { runPython } from '../../support/python';

const TINY = `
pipeline Tiny {
  input inertial { rate 50 Hz  window 2 s  accelerometer [x, y, z] }
  features { stats mean, std, min, max }
  shared trunk { dense 48 relu  dense 40 relu }
  head a from trunk { dense 16 relu  dense 3 softmax }
  head b from trunk { dense 32 relu  dense 4 softmax }
  target Duo
  place b on npu
}
device Duo {
  processor cpu { compute 0.2 GMAC/s  memory 64 KB  power 100 mW  idle 1 mW  overhead 0.001 ms }
  processor npu { compute 0.5 GMAC/s  memory 4 KB  power 40 mW  overhead 0.002 ms }
  link cpu <-> npu { bandwidth 100 MB/s  latency 0.01 ms }
}
`;

/** A seeded decaying spectrum of length n (what a trained layer's weights look like). */
function decayingSpectrum(n: number, seed: number): Float64Array {
  let s = seed;
  const rnd = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Float64Array.from({ length: n }, (_, i) => Math.exp(-0.35 * i) * (0.8 + 0.4 * rnd())).sort((a, b) => b - a);
}

interface Brute {
  error: number;
  feasible: boolean;
}

function bruteForce(spec: PipelineSpec, target: CompressTarget, ranks: Record<string, number[]>, spectra: Map<string, Float64Array>): Brute {
  const ids = Object.keys(ranks);
  const options = ids.map((id) => [undefined, ...ranks[id]]);
  let best = Infinity;
  const choice = new Array<number | undefined>(ids.length);
  const visit = (i: number): void => {
    if (i === ids.length) {
      const m = new Map<string, CompressionSpec | undefined>();
      const errors: number[] = [];
      ids.forEach((id, j) => {
        const k = choice[j];
        m.set(id, k === undefined ? undefined : { kind: 'svd', criterion: 'rank', rank: k });
        errors.push(k === undefined ? 0 : relativeErrorAtRank(spectra.get(id)!, k));
      });
      const s = withCompressions(spec, m);
      const e = estimatePipeline(s);
      const { metric, limit } = targetMetric(e, target, s);
      if (metric <= limit) best = Math.min(best, combinedError(errors));
      return;
    }
    for (const k of options[i]) {
      choice[i] = k;
      visit(i + 1);
    }
  };
  visit(0);
  return { error: best, feasible: Number.isFinite(best) };
}

describe('autoCompress', () => {
  it('equals brute force over small rank grids for every target kind and level', async () => {
    const spec = await specOf(TINY);
    const layers = spec.blocks.flatMap((b) => b.layers).filter((l) => l.kind === 'dense');
    const ranks: Record<string, number[]> = {};
    const spectra = new Map<string, Float64Array>();
    layers.forEach((l, i) => {
      const rows = l.units!, cols = l.inputShape[l.inputShape.length - 1];
      ranks[l.id] = [1, 3, 6].filter((k) => k < Math.min(rows, cols));
      spectra.set(l.id, decayingSpectrum(Math.min(rows, cols), 7 + i));
    });
    const full = estimatePipeline(spec);
    const cheapest = estimatePipeline(withCompressions(spec, new Map(layers.map((l) => [l.id, { kind: 'svd', criterion: 'rank', rank: 1 } as CompressionSpec]))));
    const npu = (e: typeof full): number => e.processors.find((p) => p.name === 'npu')!.memoryBytes;
    const targets: CompressTarget[] = [];
    for (const f of [1.2, 0.9, 0.6, 0.3, 0.0, -0.2]) {
      targets.push({ kind: 'energy', energyMj: cheapest.energyPerInferenceMj + f * (full.energyPerInferenceMj - cheapest.energyPerInferenceMj) });
      targets.push({ kind: 'within', latencyMs: cheapest.endToEndLatencyMs + f * (full.endToEndLatencyMs - cheapest.endToEndLatencyMs) });
    }
    targets.push({ kind: 'fit', processor: 'npu' });
    // The npu's 4 KB limit: the uncompressed head b needs more (checked below), so fit has work to do.
    expect(npu(full)).toBeGreaterThan(4 * 1024);
    let feasibleCount = 0, infeasibleCount = 0;
    for (const target of targets) {
      if ((target.kind === 'energy' && target.energyMj <= 0) || (target.kind === 'within' && target.latencyMs <= 0)) continue;
      const brute = bruteForce(spec, target, ranks, spectra);
      const r = autoCompress(spec, target, { ranks, spectra });
      expect(r.exact).toBe(true);
      expect(r.feasible, JSON.stringify(target)).toBe(brute.feasible);
      if (brute.feasible) {
        feasibleCount++;
        expect(r.estimatedError, JSON.stringify(target)).toBeCloseTo(brute.error, 12);
        // The plan's figures are estimatePipeline's, and they meet the target.
        const e = estimatePipeline(r.spec);
        expect(targetMetric(e, target, r.spec).metric).toBeLessThanOrEqual(r.limit);
        expect(r.after.metric).toBe(targetMetric(e, target, r.spec).metric);
        expect(r.estimatedError).toBeCloseTo(combinedError(r.layers.map((l) => (l.rank ? relativeErrorAtRank(spectra.get(l.layerId)!, l.rank) : 0))), 14);
      } else infeasibleCount++;
    }
    expect(feasibleCount).toBeGreaterThan(5);
    expect(infeasibleCount).toBeGreaterThan(0);
  });

  it('fit only compresses layers on the processor and reports the closest plan when nothing fits', async () => {
    const spec = await specOf(TINY.replace('memory 4 KB', 'memory 0.2 KB'));
    const r = autoCompress(spec, { kind: 'fit', processor: 'npu' });
    expect(r.feasible).toBe(false);
    expect(r.layers.map((l) => l.layerId).sort()).toEqual(['b.1', 'b.2']);
    expect(r.after.metric).toBeLessThan(r.before.metric);
    expect(() => autoCompress(spec, { kind: 'fit', processor: 'gpu' })).toThrow(/no processor 'gpu'.*cpu, npu/);
  });

  it('the default rank grid saves parameters at every rank', () => {
    for (const [m, n] of [[256, 3920], [4, 128], [24, 12], [1000, 4096]]) {
      const g = rankGrid(m, n);
      expect(g[0]).toBe(1);
      for (const k of g) expect(k * (m + n) + m).toBeLessThan(m * n + m);
    }
  });

  it('the data-free spectrum matches numpy singular values of random Gaussian matrices', () => {
    const shapes = [[200, 300], [128, 512], [256, 256]];
    const ref = runPython<number[][]>(
      `import json, sys, numpy as np
shapes = json.load(sys.stdin)
rng = np.random.default_rng(3)
out = []
for m, n in shapes:
    s = np.zeros(min(m, n))
    for _ in range(4):
        s += np.linalg.svd(rng.standard_normal((m, n)), compute_uv=False) ** 2
    out.append(np.sqrt(s / 4).tolist())
print(json.dumps(out))`,
      shapes,
    );
    shapes.forEach(([m, n], i) => {
      const ours = randomMatrixSpectrum(m, n);
      const theirs = Float64Array.from(ref[i]);
      for (const frac of [0.1, 0.25, 0.5, 0.75]) {
        const k = Math.round(frac * Math.min(m, n));
        expect(Math.abs(relativeErrorAtRank(ours, k) - relativeErrorAtRank(theirs, k))).toBeLessThan(0.02);
      }
    });
  });

  it('caches spectra by the weights bytes', async () => {
    const spec = await specOf(TINY);
    const layer = spec.blocks[0].layers[0];
    const rows = layer.units!, cols = layer.inputShape[0];
    const data = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 1.7) + (i % 5));
    const w: WeightSet = new Map([[`${layer.id}.weight`, { shape: [rows, cols], data }]]);
    const a = layerSpectrum(layer, w)!;
    expect(layerSpectrum(layer, new Map([[`${layer.id}.weight`, { shape: [rows, cols], data: data.slice() }]]))).toBe(a);
    const changed = data.slice();
    changed[3] += 1;
    expect(layerSpectrum(layer, new Map([[`${layer.id}.weight`, { shape: [rows, cols], data: changed }]]))).not.toBe(a);
    expect(layerSpectrum(layer, new Map())).toBeUndefined();
  });
});
