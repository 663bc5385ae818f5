import { describe, expect, it } from 'vitest';
import { fromData, fromRows, type Matrix } from '../../../engine/compress/matrix';
import { ksvd, omp, sparseTimesDense } from '../../../engine/compress/ksvd';
import { gaussianArray, mulberry32 } from '../../../engine/compress/random';

function unitRows(rows: number, cols: number, seed: number): Matrix {
  const D = fromData(rows, cols, gaussianArray(mulberry32(seed), rows * cols));
  for (let a = 0; a < rows; a++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += D.data[a * cols + j] ** 2;
    for (let j = 0; j < cols; j++) D.data[a * cols + j] /= Math.sqrt(s);
  }
  return D;
}

/** Least-squares residual of y on the atoms `set` (normal equations, tiny sizes only). */
function lsResidual(y: number[], D: Matrix, set: number[]): number {
  const k = set.length;
  const A = set.map((a) => set.map((b) => dot(row(D, a), row(D, b))));
  const rhs = set.map((a) => dot(row(D, a), y));
  // Gaussian elimination with partial pivoting.
  for (let i = 0; i < k; i++) {
    let p = i;
    for (let r = i + 1; r < k; r++) if (Math.abs(A[r][i]) > Math.abs(A[p][i])) p = r;
    [A[i], A[p]] = [A[p], A[i]];
    [rhs[i], rhs[p]] = [rhs[p], rhs[i]];
    for (let r = i + 1; r < k; r++) {
      const f = A[r][i] / A[i][i];
      for (let c = i; c < k; c++) A[r][c] -= f * A[i][c];
      rhs[r] -= f * rhs[i];
    }
  }
  const x = new Array<number>(k).fill(0);
  for (let i = k - 1; i >= 0; i--) {
    let s = rhs[i];
    for (let c = i + 1; c < k; c++) s -= A[i][c] * x[c];
    x[i] = s / A[i][i];
  }
  const r = y.slice();
  set.forEach((a, i) => row(D, a).forEach((v, j) => (r[j] -= x[i] * v)));
  return Math.sqrt(dot(r, r));
}
const row = (M: Matrix, i: number) => Array.from(M.data.subarray(i * M.cols, (i + 1) * M.cols));
const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);

describe('OMP', () => {
  it('recovers a synthetic S-sparse signal exactly (support and coefficients)', () => {
    const D = unitRows(12, 40, 31);
    const support = [2, 7, 10];
    const coef = [1.5, -2, 0.75];
    const y = new Array<number>(40).fill(0);
    support.forEach((a, i) => row(D, a).forEach((v, j) => (y[j] += coef[i] * v)));
    const codes = omp(fromRows([y]), D, 3);
    expect(Array.from(codes.colIdx)).toEqual(support);
    Array.from(codes.values).forEach((v, i) => expect(v).toBeCloseTo(coef[i], 10));
  });

  it('reaches the brute-force best support on tiny recoverable cases', () => {
    const rng = mulberry32(32);
    for (let trial = 0; trial < 20; trial++) {
      const D = unitRows(10, 16, 100 + trial);
      // Two atoms with random coefficients and a little noise: OMP should find the optimal pair.
      const a = Math.floor(rng() * 10);
      const b = (a + 1 + Math.floor(rng() * 9)) % 10;
      const y = row(D, a).map((v, j) => 2 * v - 1.3 * D.data[b * 16 + j] + 0.001 * (rng() - 0.5));
      const codes = omp(fromRows([y]), D, 2);
      const got = Array.from(codes.colIdx);
      let best = Infinity;
      for (let i = 0; i < 10; i++) for (let j = i + 1; j < 10; j++) best = Math.min(best, lsResidual(y, D, [i, j]));
      expect(lsResidual(y, D, got)).toBeCloseTo(best, 9);
      // The reconstruction from the returned codes is the least-squares fit on that support.
      const rec = row(sparseTimesDense(codes, D), 0);
      const res = Math.sqrt(y.reduce((s, v, j) => s + (v - rec[j]) ** 2, 0));
      expect(res).toBeCloseTo(lsResidual(y, D, got), 9);
    }
  });

  it('rejects a sparsity larger than the dictionary', () => {
    expect(() => omp(fromRows([[1, 2]]), unitRows(3, 2, 1), 3)).toThrow(/sparsity 3/);
  });
});

describe('K-SVD', () => {
  it('reduces the error over iterations on rows built from a planted dictionary', () => {
    const truth = unitRows(20, 32, 41);
    const rng = mulberry32(42);
    // 300 rows, each a combination of 3 true atoms.
    const out = 300;
    const W = fromData(out, 32, new Float64Array(out * 32));
    for (let i = 0; i < out; i++) {
      for (let s = 0; s < 3; s++) {
        const a = Math.floor(rng() * 20);
        const c = (rng() < 0.5 ? -1 : 1) * (0.5 + rng());
        for (let j = 0; j < 32; j++) W.data[i * 32 + j] += c * truth.data[a * 32 + j];
      }
    }
    const res = ksvd(W, { atoms: 20, sparsity: 3, iterations: 25, seed: 7 });
    const h = res.errorHistory;
    expect(h.length).toBe(25);
    expect(h[h.length - 1]).toBeLessThan(h[0] * 0.5);
    // Each sweep (OMP codes, then atom updates) must not increase the error noticeably.
    for (let i = 1; i < h.length; i++) expect(h[i]).toBeLessThanOrEqual(h[i - 1] * (1 + 1e-3));
    expect(res.codes.rowPtr[out]).toBeLessThanOrEqual(out * 3);
    for (let i = 0; i < out; i++) expect(res.codes.rowPtr[i + 1] - res.codes.rowPtr[i]).toBeLessThanOrEqual(3);
    // The reported error is the error of the returned factors.
    const R = sparseTimesDense(res.codes, res.dictionary);
    let e = 0, t = 0;
    for (let i = 0; i < W.data.length; i++) {
      e += (W.data[i] - R.data[i]) ** 2;
      t += W.data[i] ** 2;
    }
    expect(Math.sqrt(e / t)).toBeCloseTo(res.relError, 12);
    // Same seed, same result.
    expect(ksvd(W, { atoms: 20, sparsity: 3, iterations: 25, seed: 7 }).relError).toBe(res.relError);
  });

  it('names the bad option', () => {
    const W = unitRows(5, 4, 1);
    expect(() => ksvd(W, { atoms: 0, sparsity: 1 })).toThrow(/atoms = 0/);
    expect(() => ksvd(W, { atoms: 3, sparsity: 5 })).toThrow(/sparsity 5/);
  });
});
