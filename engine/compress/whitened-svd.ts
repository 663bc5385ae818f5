/**
 * Data-aware (whitened) truncated SVD: the rank-r factorisation W ~ A B of a layer's weight
 * W (out x in) that minimises the layer's output error on its inputs,
 *   E ||W x - A B x||^2 = tr((W - A B) C (W - A B)^T),   C = E[x x^T] (in x in),
 * instead of the weight error ||W - A B||_F that plain truncated SVD (./svd) minimises.
 * Writing the error as ||(W - A B) C^1/2||_F^2, its minimum over rank-r products is the
 * Eckart–Young tail of W C^1/2 = U S V^T: the sum of s_i^2 for i > r (Zhang et al.,
 * "Accelerating very deep convolutional networks", TPAMI 38(10), 2016, sec. 3.2;
 * Wang et al., "SVD-LLM", ICLR 2025). The factors returned reach it:
 *   A = U_r S_r,  B = S_r^-1 U_r^T W,
 * which on the span of the data equals the textbook B = V_r^T C^-1/2 (U_r S_r V_r^T C^-1/2 =
 * U_r U_r^T W C^1/2 C^-1/2). Written this way B needs no inverse square root of C: nothing is
 * amplified by 1 / sqrt of a small eigenvalue of an ill-conditioned C, and when C is singular
 * (fewer samples than inputs, dead units) B keeps W's action on the directions the data never
 * visited, projected on U_r, where a pseudo-inverse C^+1/2 would silently zero it. The
 * product A B = U_r U_r^T W is the projection of W on the r output directions the data uses
 * most.
 *
 * U_r and S are the eigen-decomposition of W C W^T = (W C^1/2)(W C^1/2)^T, computed from the
 * smaller side as the exact route of ./svd does: the out x out matrix W C W^T directly when
 * out <= in; otherwise the in x in Gram matrix of W L, where C = L L^T with L = Q diag(sqrt
 * lambda) from the eigen-decomposition C = Q diag(lambda) Q^T (W L and W C^1/2 = W L Q^T have
 * the same U and S). Eigenvalues of C that rounding made negative are clamped to zero there.
 */

import { type Matrix, gramRows, matmul, matmulNT, subtract, transpose } from './matrix';
import { checkMatrix, relativeErrorAtRank, singularValues, truncatedSvd } from './svd';
import { symmetricEigen } from './symmetric-eigen';

/** The result of {@link whitenedSvd}: W ~ A B, best for the inputs whose covariance was given. */
export interface WhitenedSvd {
  /** out x r: U_r S_r, the second layer of the factorisation (A B x = A (B x)). */
  A: Matrix;
  /** r x in: S_r^-1 U_r^T W, the first layer. */
  B: Matrix;
  /**
   * All min(out, in) singular values of W C^1/2, descending: the spectrum of the layer's
   * output on the data. `relativeErrorAtRank(S, k)`, `rankForError(S, e)` and
   * `rankForEnergy(S, f)` of ./svd read it as they read a weight spectrum, giving output errors.
   */
  S: Float64Array;
  /**
   * The relative output error sqrt(tr((W - A_k B_k) C (W - A_k B_k)^T) / tr(W C W^T)) =
   * sqrt(sum_{i>k} s_i^2 / sum s_i^2) at every rank k = 1..min(out, in) (index k-1), the
   * measured effect each rank would have on the layer's output; 0 everywhere when W C W^T = 0.
   */
  relOutputErrorByRank: Float64Array;
}

/**
 * Rank-`rank` whitened SVD of `W` (out x in) for inputs with second-moment matrix `C`
 * (in x in, symmetric positive semi-definite, e.g. from {@link CovarianceAccumulator}):
 * factors A (out x rank) and B (rank x in) minimising tr((W - A B) C (W - A B)^T). With
 * C = I it is plain truncated SVD. Throws with the offending shape, element or rank on bad input.
 */
export function whitenedSvd(W: Matrix, C: Matrix, rank: number): WhitenedSvd {
  checkMatrix(W, 'whitenedSvd');
  const Cs = checkedCovariance(C, W.cols, 'whitenedSvd');
  const r = Math.min(W.rows, W.cols);
  if (!Number.isInteger(rank) || rank < 1 || rank > r) {
    throw new Error(`whitenedSvd: rank ${rank} is out of range for a ${W.rows}x${W.cols} matrix: choose an integer from 1 to ${r}`);
  }
  const side = W.rows <= W.cols ? outputSide(W, Cs, rank) : inputSide(W, Cs, rank);
  const S = side.S;
  // Singular values at rounding level (s_i^2 <= max(out, in) * eps * s_1^2, numpy's
  // matrix_rank rule, applied to the eigenvalues of W C W^T the Gram route computes) mark
  // output directions the data does not excite: fewer independent samples than the rank, dead
  // inputs. Their vectors from the eigen-solver are arbitrary (on the tall route not even
  // orthogonal), so those columns of U are replaced by the best weight-error directions of what
  // the data-driven ones leave of W: any orthonormal completion has the same output error on
  // the data, and this one keeps most of W for inputs the data did not show.
  const floor = Math.max(W.rows, W.cols) * Number.EPSILON * S[0] * S[0];
  let seen = 0;
  while (seen < rank && S[seen] * S[seen] > floor) seen++;
  const A = seen < rank ? completedBasis(W, side.U, seen, rank) : side.U;
  const B = matmul(transpose(A), W); // rank x in: row i is u_i^T W
  for (let i = 0; i < seen; i++) {
    const s = S[i];
    for (let o = 0; o < A.rows; o++) A.data[o * rank + i] *= s;
    for (let j = 0; j < B.cols; j++) B.data[i * B.cols + j] /= s;
  }
  const relOutputErrorByRank = new Float64Array(S.length);
  for (let k = 1; k <= S.length; k++) relOutputErrorByRank[k - 1] = relativeErrorAtRank(S, k);
  return { A, B, S, relOutputErrorByRank };
}

/**
 * The relative output error sqrt(tr(D C D^T) / tr(W C W^T)), D = W - `approx`, of replacing
 * the layer weight `W` by `approx` (same shape) on inputs with second-moment matrix `C`: how
 * plain and whitened factorisations are compared on the same data. 0 when tr(W C W^T) = 0.
 */
export function relOutputError(W: Matrix, approx: Matrix, C: Matrix): number {
  checkMatrix(W, 'relOutputError');
  const Cs = checkedCovariance(C, W.cols, 'relOutputError');
  const D = subtract(W, approx);
  const total = traceProduct(W, Cs);
  return total > 0 ? Math.sqrt(Math.max(0, traceProduct(D, Cs)) / total) : 0;
}

/**
 * Accumulates the uncentred second moment C = E[x x^T] of a layer's input vectors, batch by
 * batch, so a folder of clips need not be held in memory. Uncentred because the output error
 * E||(W - A B) x||^2 includes the mean of x (the bias b is kept exactly and cancels).
 */
export class CovarianceAccumulator {
  private readonly sum: Float64Array;
  private count = 0;

  /** `dim` is the layer's input width (W's column count). */
  constructor(readonly dim: number) {
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`CovarianceAccumulator: input width ${dim} must be a positive integer`);
    this.sum = new Float64Array(dim * dim);
  }

  /** Adds a batch of input vectors, one per row (samples x dim). */
  add(batch: Matrix): void {
    checkMatrix(batch, 'CovarianceAccumulator.add');
    if (batch.cols !== this.dim) {
      throw new Error(`CovarianceAccumulator.add: the batch has ${batch.cols} columns but the layer has ${this.dim} inputs: pass one input vector per row`);
    }
    const G = gramRows(transpose(batch));
    for (let i = 0; i < G.data.length; i++) this.sum[i] += G.data[i];
    this.count += batch.rows;
  }

  /** How many input vectors have been added. */
  get samples(): number {
    return this.count;
  }

  /** The mean of x x^T over the vectors added; throws when none were. */
  covariance(): Matrix {
    if (this.count === 0) throw new Error('CovarianceAccumulator: no input vectors were added: the data folder gave no activations for this layer');
    const data = new Float64Array(this.sum.length);
    for (let i = 0; i < data.length; i++) data[i] = this.sum[i] / this.count;
    return { rows: this.dim, cols: this.dim, data };
  }
}

// U_r (out x rank) and all singular values of W C^1/2 from the eigen-decomposition of the
// out x out matrix W C W^T.
function outputSide(W: Matrix, C: Matrix, rank: number): { U: Matrix; S: Float64Array } {
  const WC = matmul(W, C); // out x in
  const M = matmulNT(WC, W); // out x out
  const { values, vectors } = symmetricEigen(symmetrised(M).data, M.rows, rank);
  return { U: transpose({ rows: rank, cols: M.rows, data: vectors }), S: values.map((v) => Math.sqrt(Math.max(0, v))) };
}

// U_r and all singular values of W L, C = L L^T, through ./svd's exact route (the in x in Gram
// matrix of W L, the smaller side when out > in).
function inputSide(W: Matrix, C: Matrix, rank: number): { U: Matrix; S: Float64Array } {
  const n = C.rows;
  const { values, vectors } = symmetricEigen(Float64Array.from(C.data), n, n);
  const WL = matmulNT(W, { rows: n, cols: n, data: vectors }); // column i is W q_i
  for (let i = 0; i < n; i++) {
    const root = Math.sqrt(Math.max(0, values[i]));
    for (let o = 0; o < WL.rows; o++) WL.data[o * n + i] *= root;
  }
  return { U: truncatedSvd(WL, rank, { method: 'exact' }).U, S: singularValues(WL) };
}

// U's first `seen` columns, then orthonormal columns up to `rank` from the truncated SVD of the
// residual W - U_seen U_seen^T W (orthogonalised again against the accepted ones, twice, so
// rounding in a rank-deficient residual cannot leak back); a candidate with nothing left after
// that becomes a zero column, which drops it from the product.
function completedBasis(W: Matrix, U: Matrix, seen: number, rank: number): Matrix {
  const out = W.rows;
  const basis = new Float64Array(out * rank);
  for (let o = 0; o < out; o++) for (let i = 0; i < seen; i++) basis[o * rank + i] = U.data[o * U.cols + i];
  const kept = { rows: out, cols: seen, data: new Float64Array(out * seen) };
  for (let o = 0; o < out; o++) for (let i = 0; i < seen; i++) kept.data[o * seen + i] = basis[o * rank + i];
  const residual = seen > 0 ? subtract(W, matmul(kept, matmul(transpose(kept), W))) : W;
  const candidates = truncatedSvd(residual, rank - seen, { method: 'exact' }).U;
  const v = new Float64Array(out);
  for (let c = 0; c < rank - seen; c++) {
    for (let o = 0; o < out; o++) v[o] = candidates.data[o * candidates.cols + c];
    const before = norm(v);
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < seen + c; j++) {
        let dot = 0;
        for (let o = 0; o < out; o++) dot += basis[o * rank + j] * v[o];
        for (let o = 0; o < out; o++) v[o] -= dot * basis[o * rank + j];
      }
    }
    const after = norm(v);
    if (!(after > 1e-6 * before)) continue;
    for (let o = 0; o < out; o++) basis[o * rank + seen + c] = v[o] / after;
  }
  return { rows: out, cols: rank, data: basis };
}

function norm(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

// tr(X C X^T) for X (out x in).
function traceProduct(X: Matrix, C: Matrix): number {
  const XC = matmul(X, C);
  let t = 0;
  for (let i = 0; i < XC.data.length; i++) t += XC.data[i] * X.data[i];
  return t;
}

// (M + M^T) / 2, so that rounding in an accumulated or computed matrix cannot make it asymmetric.
function symmetrised(M: Matrix): Matrix {
  const n = M.rows;
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[i * n + j] = 0.5 * (M.data[i * n + j] + M.data[j * n + i]);
  return { rows: n, cols: n, data };
}

// Checks that C is a finite in x in matrix, symmetric up to rounding with a non-negative
// diagonal (a second-moment matrix), and returns its symmetric part.
function checkedCovariance(C: Matrix, inputs: number, where: string): Matrix {
  checkMatrix(C, `${where} (covariance)`);
  if (C.rows !== inputs || C.cols !== inputs) {
    throw new Error(`${where}: the covariance is ${C.rows}x${C.cols} but the weight has ${inputs} inputs: it must be ${inputs}x${inputs}`);
  }
  let maxDiag = 0;
  for (let i = 0; i < inputs; i++) {
    const d = C.data[i * inputs + i];
    if (d < 0) throw new Error(`${where}: covariance diagonal element (${i}, ${i}) is ${d}: a second moment E[x x^T] has a non-negative diagonal`);
    maxDiag = Math.max(maxDiag, d);
  }
  for (let i = 0; i < inputs; i++) {
    for (let j = i + 1; j < inputs; j++) {
      const a = C.data[i * inputs + j], b = C.data[j * inputs + i];
      if (Math.abs(a - b) > 1e-9 * Math.max(maxDiag, Math.abs(a), Math.abs(b))) {
        throw new Error(`${where}: the covariance is not symmetric: element (${i}, ${j}) is ${a} but (${j}, ${i}) is ${b}`);
      }
    }
  }
  return symmetrised(C);
}

