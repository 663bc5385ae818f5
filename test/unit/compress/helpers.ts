/** Test matrices and numpy's singular values for the SVD tests. */
import { fromData, matmul, type Matrix } from '../../../engine/compress/matrix';
import { gaussianArray, mulberry32 } from '../../../engine/compress/random';
import { runPython } from '../../support/python';

const NUMPY_SVALS = `
import sys, json, numpy as np
d = json.load(sys.stdin)
W = np.array(d['data'], dtype=np.float64).reshape(d['rows'], d['cols'])
print(json.dumps(np.linalg.svd(W, compute_uv=False).tolist()))
`;

/** A seeded Gaussian matrix: a flat spectrum, the worst case for randomized SVD. */
export function gaussian(rows: number, cols: number, seed: number): Matrix {
  return fromData(rows, cols, gaussianArray(mulberry32(seed), rows * cols));
}

/** A rank-r signal with decaying strengths plus small Gaussian noise. */
export function lowRankPlusNoise(rows: number, cols: number, r: number, noise: number, seed: number): Matrix {
  const rng = mulberry32(seed);
  const A = fromData(rows, r, gaussianArray(rng, rows * r));
  const B = fromData(r, cols, gaussianArray(rng, r * cols));
  for (let i = 0; i < rows; i++) for (let t = 0; t < r; t++) A.data[i * r + t] *= 10 / (1 + t);
  const W = matmul(A, B);
  const e = gaussianArray(rng, W.data.length);
  for (let i = 0; i < W.data.length; i++) W.data[i] += noise * e[i];
  return W;
}

/** numpy's singular values of W (descending), the independent reference. */
export function numpySvals(W: Matrix): number[] {
  return runPython<number[]>(NUMPY_SVALS, { rows: W.rows, cols: W.cols, data: Array.from(W.data) });
}
