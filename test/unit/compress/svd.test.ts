import { describe, expect, it } from 'vitest';
import { frobenius, subtract, type Matrix } from '../../../engine/compress/matrix';
import {
  rankForEnergy, rankForError, reconstruct, reshapeConvKernel, retainedEnergy, singularValues,
  suggestRank, suggestRankFromActivations, truncatedSvd,
} from '../../../engine/compress/svd';
import { linalgBackend, setLinalgBackend } from '../../../engine/compress/wasm/linalg-wasm';
import { gaussian, lowRankPlusNoise, numpySvals } from './helpers';
import { pythonHas, runPython } from '../../support/python';

describe('truncated SVD against numpy (Eckart–Young)', () => {
  it('has numpy available', () => {
    expect(pythonHas('numpy')).toBe(true);
  });

  const cases: { name: string; W: () => Matrix; ks: number[] }[] = [
    { name: 'Gaussian 64x48', W: () => gaussian(64, 48, 1), ks: [16] },
    { name: 'Gaussian 200x300', W: () => gaussian(200, 300, 2), ks: [16, 64] },
    { name: 'Gaussian 300x200 (tall)', W: () => gaussian(300, 200, 3), ks: [64] },
    { name: 'Gaussian 512x512', W: () => gaussian(512, 512, 4), ks: [16, 64, 256] },
    { name: 'low rank + noise 400x300', W: () => lowRankPlusNoise(400, 300, 12, 0.01, 5), ks: [8, 12, 20] },
    { name: 'low rank + noise 256x512', W: () => lowRankPlusNoise(256, 512, 30, 0.1, 6), ks: [16, 64] },
  ];
  for (const c of cases) {
    it(`${c.name}: error within 0.1 % of the optimum, singular values match`, () => checkAgainstNumpy(c));
  }
  // The TypeScript kernels, which run where WebAssembly is unavailable, on a subset.
  for (const c of [cases[1], cases[3], cases[4]]) {
    it(`${c.name} on the TypeScript kernels: error within 0.1 % of the optimum`, () => {
      setLinalgBackend('typescript');
      try {
        expect(linalgBackend()).toBe('typescript');
        checkAgainstNumpy(c);
      } finally {
        setLinalgBackend('wasm');
      }
    });
  }

  function checkAgainstNumpy(c: { W: () => Matrix; ks: number[] }): void {
    const W = c.W();
    const ref = numpySvals(W);
    const total = ref.reduce((s, x) => s + x * x, 0);
    const ours = singularValues(W);
    expect(ours.length).toBe(ref.length);
    for (let i = 0; i < Math.min(ref.length, 16); i++) expect(Math.abs(ours[i] - ref[i]) / ref[i]).toBeLessThan(1e-6);
    // The whole spectrum, relative to the largest value (the bottom loses relative accuracy via the Gram matrix).
    for (let i = 0; i < ref.length; i++) expect(Math.abs(ours[i] - ref[i]) / ref[0]).toBeLessThan(1e-7);
    for (const k of c.ks) {
      const optimum = Math.sqrt(ref.slice(k).reduce((s, x) => s + x * x, 0) / total);
      for (const method of ['auto', 'exact', 'randomized'] as const) {
        const svd = truncatedSvd(W, k, { method });
        expect(svd.U.rows).toBe(W.rows);
        expect(svd.U.cols).toBe(k);
        expect(svd.Vt.rows).toBe(k);
        expect(svd.Vt.cols).toBe(W.cols);
        const err = frobenius(subtract(W, reconstruct(svd))) / Math.sqrt(total);
        expect(err / optimum - 1, `${method} k=${k}`).toBeLessThan(1e-3);
        // The exact route matches numpy's singular values; the randomized one converges on the error, not on each value.
        const tol = svd.method === 'exact' ? 1e-6 : 1e-3;
        for (let i = 0; i < Math.min(k, 8); i++) expect(Math.abs(svd.S[i] - ref[i]) / ref[i]).toBeLessThan(tol);
      }
    }
  }

  it('gives orthonormal factors', () => {
    const W = gaussian(120, 90, 7);
    for (const method of ['exact', 'randomized'] as const) {
      const { U, Vt } = truncatedSvd(W, 20, { method });
      for (let a = 0; a < 20; a++) {
        for (let b = 0; b < 20; b++) {
          let su = 0, sv = 0;
          for (let i = 0; i < U.rows; i++) su += U.data[i * 20 + a] * U.data[i * 20 + b];
          for (let j = 0; j < Vt.cols; j++) sv += Vt.data[a * Vt.cols + j] * Vt.data[b * Vt.cols + j];
          expect(Math.abs(su - (a === b ? 1 : 0))).toBeLessThan(1e-9);
          expect(Math.abs(sv - (a === b ? 1 : 0))).toBeLessThan(1e-9);
        }
      }
    }
  });

  it('rejects bad ranks and non-finite weights with a clear message', () => {
    const W = gaussian(5, 4, 8);
    expect(() => truncatedSvd(W, 0)).toThrow(/rank 0 is out of range.*1 to 4/);
    expect(() => truncatedSvd(W, 5)).toThrow(/out of range/);
    const bad = gaussian(3, 3, 9);
    bad.data[4] = NaN;
    expect(() => singularValues(bad)).toThrow(/element \(1, 1\) is NaN/);
  });
});

describe('rank selection', () => {
  const S = Float64Array.from([4, 3, 2, 1]); // energies 16, 9, 4, 1 of 30

  it('computes the retained energy exactly', () => {
    expect(retainedEnergy(S, 0)).toBe(0);
    expect(retainedEnergy(S, 1)).toBeCloseTo(16 / 30, 15);
    expect(retainedEnergy(S, 2)).toBeCloseTo(25 / 30, 15);
    expect(retainedEnergy(S, 4)).toBe(1);
  });

  it('finds the smallest rank for an energy or an error target', () => {
    expect(rankForEnergy(S, 0.5)).toBe(1);
    expect(rankForEnergy(S, 25 / 30)).toBe(2);
    expect(rankForEnergy(S, 0.84)).toBe(3);
    expect(rankForEnergy(S, 1)).toBe(4);
    expect(rankForError(S, Math.sqrt(5 / 30))).toBe(2);
    expect(rankForError(S, Math.sqrt(5 / 30) - 1e-9)).toBe(3);
    expect(rankForError(S, 0)).toBe(4);
    expect(() => rankForEnergy(S, 1.5)).toThrow(/between 0 and 1/);
  });

  it('suggests the signal rank of a low-rank-plus-noise matrix (Gavish–Donoho)', () => {
    const W = lowRankPlusNoise(300, 200, 10, 0.5, 11);
    const ref = numpySvals(W);
    expect(suggestRank(Float64Array.from(ref), 300, 200)).toBe(10);
    expect(suggestRank(singularValues(W), 300, 200)).toBe(10);
  });

  it('picks the smallest rank meeting an output-error target on activations (numpy reference)', () => {
    const W = lowRankPlusNoise(60, 40, 8, 0.2, 12);
    const X = gaussian(40, 100, 13);
    const res = suggestRankFromActivations(W, X, 0.05);
    const ref = runPython<number[]>(`
import sys, json, numpy as np
d = json.load(sys.stdin)
W = np.array(d['W']).reshape(60, 40); X = np.array(d['X']).reshape(40, 100)
U, s, Vt = np.linalg.svd(W, full_matrices=False)
P = W @ X
out = []
for k in range(1, 41):
    Wk = (U[:, :k] * s[:k]) @ Vt[:k]
    out.append(float(np.linalg.norm((W - Wk) @ X) / np.linalg.norm(P)))
print(json.dumps(out))
`, { W: Array.from(W.data), X: Array.from(X.data) });
    for (let k = 1; k <= 40; k++) expect(res.errorByRank[k - 1]).toBeCloseTo(ref[k - 1], 9);
    const expected = ref.findIndex((e) => e <= 0.05) + 1;
    expect(res.rank).toBe(expected);
    expect(res.relOutputError).toBeLessThanOrEqual(0.05);
    expect(() => suggestRankFromActivations(W, gaussian(41, 5, 1), 0.1)).toThrow(/pass X as \(inputs x samples\)/);
  });

  it('reshapes a conv kernel to (out, in*kh*kw)', () => {
    const data = Float32Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i);
    const M = reshapeConvKernel(data, 2, 3, 2, 2);
    expect([M.rows, M.cols]).toEqual([2, 12]);
    expect(M.data[12]).toBe(12);
    expect(() => reshapeConvKernel(data, 2, 3, 3, 2)).toThrow(/needs 36/);
  });
});
