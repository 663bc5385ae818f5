import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrtProvider } from '../../../engine/compress/accelerated';
import type { OrtModuleLike } from '../../../runtime/runner';
import { frobenius, gemmNTStrided, type Matrix, type ProductProvider, subtract } from '../../../engine/compress/matrix';
import { gaussianArray, mulberry32 } from '../../../engine/compress/random';
import { reconstruct, truncatedSvd, truncatedSvdAsync } from '../../../engine/compress/svd';
import { gaussian, lowRankPlusNoise, numpySvals } from './helpers';


let provider: ProductProvider;

beforeAll(async () => {
  const mod = (await import('onnxruntime-node')) as unknown as OrtModuleLike & { default?: OrtModuleLike };
  // Threshold 0: every product, however small, goes through ONNX Runtime.
  provider = await createOrtProvider(mod.default ?? mod, { minMultiplyAdds: 0 });
});

afterAll(async () => {
  await provider?.release();
});

describe('truncatedSvdAsync on ONNX Runtime (float64) against numpy (Eckart–Young)', () => {
  const cases: { name: string; W: () => Matrix; ks: number[] }[] = [
    { name: 'Gaussian 160x120', W: () => gaussian(160, 120, 21), ks: [8, 60] },
    { name: 'Gaussian 90x140 (wide)', W: () => gaussian(90, 140, 22), ks: [30] },
    { name: 'low rank + noise 200x150', W: () => lowRankPlusNoise(200, 150, 12, 0.01, 23), ks: [12] },
  ];
  for (const c of cases) {
    it(`${c.name}: error within 0.1 % of the optimum on every route`, async () => {
      const W = c.W();
      const ref = numpySvals(W);
      const total = ref.reduce((s, x) => s + x * x, 0);
      for (const k of c.ks) {
        const optimum = Math.sqrt(ref.slice(k).reduce((s, x) => s + x * x, 0) / total);
        for (const method of ['auto', 'exact', 'randomized'] as const) {
          const svd = await truncatedSvdAsync(W, k, { method, provider });
          const err = frobenius(subtract(W, reconstruct(svd))) / Math.sqrt(total);
          expect(err / optimum - 1, `${method} k=${k}`).toBeLessThan(1e-3);
          // The randomized route converges on the error, not on each value (k=8 of a flat
          // 160x120 spectrum leaves s_7 about 1.4e-3 off, as the pure path does too).
          if (svd.method === 'exact') for (let i = 0; i < Math.min(k, 8); i++) expect(Math.abs(svd.S[i] - ref[i]) / ref[i]).toBeLessThan(1e-6);
        }
        // The exact route is the same algorithm as the pure path: only rounding differs.
        const accel = await truncatedSvdAsync(W, k, { method: 'exact', provider });
        const pure = truncatedSvd(W, k, { method: 'exact' });
        for (let i = 0; i < k; i++) expect(Math.abs(accel.S[i] - pure.S[i]) / ref[0]).toBeLessThan(1e-9);
      }
    });
  }

  it('runs on the pure kernel when no provider is given', async () => {
    const W = gaussian(60, 50, 24);
    const a = await truncatedSvdAsync(W, 10, { method: 'exact' });
    const b = truncatedSvd(W, 10, { method: 'exact' });
    expect(Array.from(a.S)).toEqual(Array.from(b.S));
  });

  it('rejects a bad thread count and bad ranks with a clear message', async () => {
    const mod = (await import('onnxruntime-node')) as unknown as OrtModuleLike & { default?: OrtModuleLike };
    await expect(createOrtProvider(mod.default ?? mod, { threads: 0 })).rejects.toThrow(/threads = 0 must be a positive integer/);
    await expect(truncatedSvdAsync(gaussian(5, 4, 1), 5, { provider })).rejects.toThrow(/rank 5 is out of range/);
  });
});

describe('strided product kernel', () => {
  it('updates only the requested triangle of a sub-block, matching a naive product', () => {
    const rng = mulberry32(31);
    const ld = 13, m = 9, p = 6;
    const a = gaussianArray(rng, m * p), b = gaussianArray(rng, m * p);
    for (const tri of ['full', 'upper', 'lower'] as const) {
      const c = gaussianArray(mulberry32(32), ld * ld);
      const before = Float64Array.from(c);
      const off = 2 * ld + 3;
      gemmNTStrided(a, 0, p, b, 0, p, c, off, ld, m, m, p, tri, -1);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < m; j++) {
          if ((tri === 'upper' && j < i) || (tri === 'lower' && j > i)) continue;
          let s = 0;
          for (let t = 0; t < p; t++) s += a[i * p + t] * b[j * p + t];
          expect(c[off + i * ld + j]).toBeCloseTo(before[off + i * ld + j] - s, 12);
        }
      }
      // Outside the block nothing changes.
      for (let x = 0; x < ld * ld; x++) {
        const r = Math.floor(x / ld) - 2, col = (x % ld) - 3;
        if (r < 0 || r >= m || col < 0 || col >= m) expect(c[x]).toBe(before[x]);
      }
    }
  });
});
