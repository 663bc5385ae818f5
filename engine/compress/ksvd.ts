/**
 * K-SVD sparse coding of a weight matrix (Aharon, Elad & Bruckstein, IEEE Trans. Signal
 * Process. 54(11), 2006), the "sparse separation" of SparseSep (Bhattacharya & Lane,
 * SenSys 2016), with codes found by Batch-OMP (Rubinstein, Zibulevsky & Elad, Technion
 * CS-2008-08, 2008: OMP on the precomputed atom Gram matrix with progressive Cholesky).
 *
 * Orientation: the signals are the ROWS of W (out x in), one per output neuron, so
 *   W ~ C D,   D (atoms x in, unit-norm rows), C (out x atoms, `sparsity` nonzeros per row).
 * As two layers: y = C (D x) — first a dense layer in -> atoms with weight D, then a sparse
 * layer atoms -> out with weight C. Cost atoms*in + out*sparsity MACs instead of out*in.
 */

import { type Matrix, frobeniusSq, gemmNT, gramRows } from './matrix';
import { type Rng, gaussianArray, mulberry32 } from './random';

/** A sparse matrix in compressed sparse row form. */
export interface CsrMatrix {
  /** Number of rows. */
  rows: number;
  /** Number of columns. */
  cols: number;
  /** rowPtr[i]..rowPtr[i+1] index the nonzeros of row i (length rows + 1). */
  rowPtr: Int32Array;
  /** Column index of each nonzero, ascending within a row. */
  colIdx: Int32Array;
  /** Value of each nonzero. */
  values: Float64Array;
}

/** Options of {@link ksvd}. */
export interface KsvdOptions {
  /** Number of dictionary atoms. */
  atoms: number;
  /** Nonzeros per code (per row of W). */
  sparsity: number;
  /** K-SVD iterations (default 10). */
  iterations?: number;
  /** Seed of the initial dictionary (default 1). */
  seed?: number;
}

/** Result of {@link ksvd}. */
export interface KsvdResult {
  /** The dictionary D, atoms x in, unit-norm rows. */
  dictionary: Matrix;
  /** The sparse codes C, out x atoms. */
  codes: CsrMatrix;
  /** ||W - C D||_F / ||W||_F of the returned factors. */
  relError: number;
  /** The relative error after each iteration (sparse coding + dictionary update). */
  errorHistory: number[];
}

/**
 * Orthogonal matching pursuit of every row of `Y` (signals x dim) over the unit-norm rows
 * of `D` (atoms x dim), `sparsity` atoms per signal, by Batch-OMP. Returns the codes as CSR
 * (signals x atoms). Stops early for a signal whose residual vanishes.
 */
export function omp(Y: Matrix, D: Matrix, sparsity: number): CsrMatrix {
  if (Y.cols !== D.cols) throw new Error(`omp: signals have length ${Y.cols} but atoms have length ${D.cols}`);
  const N = D.rows;
  if (!Number.isInteger(sparsity) || sparsity < 1 || sparsity > Math.min(N, D.cols)) {
    throw new Error(`omp: sparsity ${sparsity} must be an integer from 1 to min(atoms, signal length) = ${Math.min(N, D.cols)}`);
  }
  const G = gramRows(D).data; // N x N
  const alpha0All = new Float64Array(Y.rows * N);
  gemmNT(Y.data, D.data, alpha0All, Y.rows, N, Y.cols, false);
  const rowPtr = new Int32Array(Y.rows + 1);
  const colIdx: number[] = [];
  const values: number[] = [];
  const L = new Float64Array(sparsity * sparsity); // lower Cholesky factor of G_I
  const I = new Int32Array(sparsity);
  const used = new Uint8Array(N);
  const alpha = new Float64Array(N);
  const gamma = new Float64Array(sparsity);
  const tmp = new Float64Array(sparsity);
  for (let s = 0; s < Y.rows; s++) {
    const a0 = alpha0All.subarray(s * N, (s + 1) * N);
    alpha.set(a0);
    used.fill(0);
    let size = 0;
    let yy = 0;
    for (let c = 0; c < Y.cols; c++) yy += Y.data[s * Y.cols + c] ** 2;
    for (; size < sparsity; size++) {
      let best = -1, bestVal = 0;
      for (let a = 0; a < N; a++) {
        const v = Math.abs(alpha[a]);
        if (!used[a] && v > bestVal) {
          bestVal = v;
          best = a;
        }
      }
      if (best < 0 || bestVal <= 1e-12 * Math.sqrt(yy)) break;
      // Cholesky update: solve L w = G_{I, best}; new row [w^T, sqrt(1 - w^T w)].
      for (let i = 0; i < size; i++) {
        let v = G[I[i] * N + best];
        for (let j = 0; j < i; j++) v -= L[i * sparsity + j] * tmp[j];
        tmp[i] = v / L[i * sparsity + i];
      }
      let ww = 0;
      for (let i = 0; i < size; i++) ww += tmp[i] * tmp[i];
      const diag = G[best * N + best] - ww;
      if (diag <= 1e-12) break; // the atom is (numerically) in the span of those chosen
      for (let i = 0; i < size; i++) L[size * sparsity + i] = tmp[i];
      L[size * sparsity + size] = Math.sqrt(diag);
      I[size] = best;
      used[best] = 1;
      // gamma = G_I^{-1} alpha0_I by two triangular solves.
      const k = size + 1;
      for (let i = 0; i < k; i++) {
        let v = a0[I[i]];
        for (let j = 0; j < i; j++) v -= L[i * sparsity + j] * tmp[j];
        tmp[i] = v / L[i * sparsity + i];
      }
      for (let i = k - 1; i >= 0; i--) {
        let v = tmp[i];
        for (let j = i + 1; j < k; j++) v -= L[j * sparsity + i] * gamma[j];
        gamma[i] = v / L[i * sparsity + i];
      }
      // alpha = alpha0 - G_{:, I} gamma (the correlations of the new residual).
      for (let a = 0; a < N; a++) {
        let v = a0[a];
        for (let i = 0; i < k; i++) v -= G[a * N + I[i]] * gamma[i];
        alpha[a] = v;
      }
    }
    const order = Array.from(I.subarray(0, size).keys()).sort((x, y) => I[x] - I[y]);
    for (const i of order) {
      colIdx.push(I[i]);
      values.push(gamma[i]);
    }
    rowPtr[s + 1] = colIdx.length;
  }
  return { rows: Y.rows, cols: N, rowPtr, colIdx: Int32Array.from(colIdx), values: Float64Array.from(values) };
}

/** Dense product C D of CSR codes (out x atoms) and a dictionary (atoms x in). */
export function sparseTimesDense(C: CsrMatrix, D: Matrix): Matrix {
  if (C.cols !== D.rows) throw new Error(`sparseTimesDense: codes have ${C.cols} columns but the dictionary has ${D.rows} atoms`);
  const out = new Float64Array(C.rows * D.cols);
  for (let i = 0; i < C.rows; i++) {
    for (let p = C.rowPtr[i]; p < C.rowPtr[i + 1]; p++) {
      const v = C.values[p], o = C.colIdx[p] * D.cols;
      for (let j = 0; j < D.cols; j++) out[i * D.cols + j] += v * D.data[o + j];
    }
  }
  return { rows: C.rows, cols: D.cols, data: out };
}

/**
 * K-SVD of `W` (out x in): a dictionary of `atoms` unit-norm rows and codes with
 * `sparsity` nonzeros per row such that W ~ C D (see the module comment for the layer
 * orientation). Atom updates use the rank-1 SVD of the restricted residual, computed by
 * power iteration started from the current atom; an unused atom is replaced by the
 * worst-represented row of W. Deterministic for a given seed.
 */
export function ksvd(W: Matrix, opts: KsvdOptions): KsvdResult {
  const { atoms, sparsity } = opts;
  const iterations = opts.iterations ?? 10;
  const dim = W.cols;
  if (!Number.isInteger(atoms) || atoms < 1) throw new Error(`ksvd: atoms = ${atoms} must be a positive integer`);
  if (!Number.isInteger(sparsity) || sparsity < 1 || sparsity > Math.min(atoms, dim)) {
    throw new Error(`ksvd: sparsity ${sparsity} must be an integer from 1 to min(atoms, in) = ${Math.min(atoms, dim)}`);
  }
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`ksvd: iterations = ${iterations} must be a positive integer`);
  const total = frobeniusSq(W);
  const rng = mulberry32(opts.seed ?? 1);
  const D = initialDictionary(W, atoms, rng);
  const errorHistory: number[] = [];
  let codes = omp(W, D, sparsity);
  for (let it = 0; it < iterations; it++) {
    if (it > 0) codes = omp(W, D, sparsity);
    updateDictionary(W, D, codes, rng);
    errorHistory.push(relError(W, D, codes, total));
    // Replacements change the dictionary after the error was measured: not after the last iteration.
    if (it < iterations - 1) clearDictionary(W, D, codes);
  }
  return { dictionary: D, codes, relError: errorHistory[errorHistory.length - 1], errorHistory };
}

// Replaces near-duplicate atoms (|<d_a, d_b>| > 0.99) by the worst-represented rows of W,
// the "clear dictionary" step of Rubinstein's reference K-SVD code: without it two atoms
// can settle on one direction and the error stalls in a poor local minimum.
function clearDictionary(W: Matrix, D: Matrix, C: CsrMatrix): void {
  const dim = D.cols, N = D.rows;
  const R = sparseTimesDense(C, D);
  const err = new Float64Array(W.rows);
  for (let i = 0; i < W.rows; i++) {
    let e = 0;
    for (let j = 0; j < dim; j++) e += (W.data[i * dim + j] - R.data[i * dim + j]) ** 2;
    err[i] = e;
  }
  const G = gramRows(D).data;
  for (let a = 1; a < N; a++) {
    let dup = false;
    for (let b = 0; b < a && !dup; b++) dup = Math.abs(G[a * N + b]) > 0.99;
    if (!dup) continue;
    let worst = -1, worstErr = 0;
    for (let i = 0; i < W.rows; i++) {
      if (err[i] > worstErr) {
        worstErr = err[i];
        worst = i;
      }
    }
    if (worst < 0) return;
    for (let j = 0; j < dim; j++) D.data[a * dim + j] = W.data[worst * dim + j] - R.data[worst * dim + j];
    normalizeRow(D.data, a * dim, dim);
    err[worst] = 0;
    for (let b = 0; b < N; b++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += D.data[a * dim + j] * D.data[b * dim + j];
      G[a * N + b] = s;
      G[b * N + a] = s;
    }
  }
}

function relError(W: Matrix, D: Matrix, C: CsrMatrix, total: number): number {
  if (total === 0) return 0;
  const R = sparseTimesDense(C, D);
  let e = 0;
  for (let i = 0; i < R.data.length; i++) e += (W.data[i] - R.data[i]) ** 2;
  return Math.sqrt(e / total);
}

function normalizeRow(data: Float64Array, o: number, len: number): boolean {
  let s = 0;
  for (let j = 0; j < len; j++) s += data[o + j] ** 2;
  if (s === 0) return false;
  const inv = 1 / Math.sqrt(s);
  for (let j = 0; j < len; j++) data[o + j] *= inv;
  return true;
}

function initialDictionary(W: Matrix, atoms: number, rng: Rng): Matrix {
  const dim = W.cols;
  const D = { rows: atoms, cols: dim, data: gaussianArray(rng, atoms * dim) };
  // Start from distinct rows of W (a random permutation prefix) where there are enough.
  const perm = Array.from({ length: W.rows }, (_, i) => i);
  for (let i = perm.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  for (let a = 0; a < Math.min(atoms, W.rows); a++) {
    const src = W.data.subarray(perm[a] * dim, (perm[a] + 1) * dim);
    let nrm = 0;
    for (let j = 0; j < dim; j++) nrm += src[j] * src[j];
    if (nrm > 0) D.data.set(src, a * dim);
  }
  for (let a = 0; a < atoms; a++) normalizeRow(D.data, a * dim, dim);
  return D;
}

function updateDictionary(W: Matrix, D: Matrix, C: CsrMatrix, rng: Rng): void {
  const dim = W.cols, N = D.rows;
  // The residual R = W - C D, kept up to date as atoms change.
  const R = sparseTimesDense(C, D);
  for (let i = 0; i < R.data.length; i++) R.data[i] = W.data[i] - R.data[i];
  // Which (row, position-in-CSR) pairs use each atom.
  const users: number[][] = Array.from({ length: N }, () => []);
  const rowOf = new Int32Array(C.colIdx.length);
  for (let i = 0; i < C.rows; i++) {
    for (let p = C.rowPtr[i]; p < C.rowPtr[i + 1]; p++) {
      users[C.colIdx[p]].push(p);
      rowOf[p] = i;
    }
  }
  const E = new Float64Array(dim);
  const d = new Float64Array(dim);
  for (let a = 0; a < N; a++) {
    const ps = users[a];
    const atom = D.data.subarray(a * dim, (a + 1) * dim);
    if (ps.length === 0) {
      // Replace an unused atom by the row with the largest residual (normalised).
      let worst = 0, worstErr = -1;
      for (let i = 0; i < W.rows; i++) {
        let e = 0;
        for (let j = 0; j < dim; j++) e += R.data[i * dim + j] ** 2;
        if (e > worstErr) {
          worstErr = e;
          worst = i;
        }
      }
      if (worstErr > 0) atom.set(R.data.subarray(worst * dim, (worst + 1) * dim));
      else atom.set(gaussianArray(rng, dim));
      normalizeRow(D.data, a * dim, dim);
      continue;
    }
    // Restricted residual with atom a added back: E_i = R_i + c_i d_a for the rows using it.
    // Rank-1 SVD of E (|users| x dim) by power iteration from the current atom.
    d.set(atom);
    const g = new Float64Array(ps.length);
    for (let iter = 0; iter < 3; iter++) {
      for (let u = 0; u < ps.length; u++) {
        const p = ps[u], o = rowOf[p] * dim, c = C.values[p];
        let s = 0;
        for (let j = 0; j < dim; j++) s += (R.data[o + j] + c * atom[j]) * d[j];
        g[u] = s;
      }
      E.fill(0);
      for (let u = 0; u < ps.length; u++) {
        const p = ps[u], o = rowOf[p] * dim, c = C.values[p], gu = g[u];
        for (let j = 0; j < dim; j++) E[j] += (R.data[o + j] + c * atom[j]) * gu;
      }
      let nrm = 0;
      for (let j = 0; j < dim; j++) nrm += E[j] * E[j];
      if (nrm === 0) break;
      nrm = 1 / Math.sqrt(nrm);
      for (let j = 0; j < dim; j++) d[j] = E[j] * nrm;
    }
    // New codes g = E d, then the residual with the new atom and codes.
    for (let u = 0; u < ps.length; u++) {
      const p = ps[u], o = rowOf[p] * dim, c = C.values[p];
      let s = 0;
      for (let j = 0; j < dim; j++) s += (R.data[o + j] + c * atom[j]) * d[j];
      for (let j = 0; j < dim; j++) R.data[o + j] += c * atom[j] - s * d[j];
      C.values[p] = s;
    }
    atom.set(d);
  }
}
