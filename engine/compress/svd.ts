/**
 * Truncated SVD and rank selection for DeepX-style runtime layer compression
 * (Lane et al., "DeepX", IPSN 2016): a weight matrix W (out x in) becomes
 * U_k S_k V_k^T, i.e. two layers in -> k -> out.
 *
 * Two routes, chosen per call:
 * - exact: the eigen-decomposition of the smaller Gram matrix (W W^T or W^T W), see
 *   ./symmetric-eigen. Its cost does not depend on the spectrum, and it also yields the
 *   full spectrum.
 * - randomized: subspace iteration with oversampling (Halko, Martinsson & Tropp, SIAM
 *   Review 53(2), 2011, Alg. 4.4 + 5.1). Cheap when k is small and the spectrum decays;
 *   slow to converge on flat spectra (random Gaussian matrices), where `auto` switches to
 *   the exact route once the projected cost of more power iterations exceeds it.
 * Pure TypeScript: runs in Node, in a browser worker and in the extension host.
 */

import { type GemmSteps, type Matrix, type ProductProvider, pureProvider, runWith, frobeniusSq, gemmRequest, gramRows, gramRowsSteps, matmulNT, matmulNTSteps, runSync, transpose } from './matrix';
import { mulberry32, gaussianArray } from './random';
import { symmetricEigenSteps, tridiagonalEigenvalues, tridiagonalize } from './symmetric-eigen';
import { linalgBackend } from './wasm/linalg-wasm';

/** A rank-k factorisation W ~ U diag(S) Vt. */
export interface TruncatedSvd {
  /** Left singular vectors, rows x k, orthonormal columns. */
  U: Matrix;
  /** The k singular values, descending. */
  S: Float64Array;
  /** Right singular vectors, k x cols, orthonormal rows. */
  Vt: Matrix;
  /** Which route produced the result. */
  method: 'exact' | 'randomized';
  /** Power iterations the randomized route ran (0 for the exact route). */
  powerIterations: number;
}

/** Options of {@link truncatedSvd}. */
export interface SvdOptions {
  /** `auto` (default) picks by cost and convergence; `exact` and `randomized` force a route. */
  method?: 'auto' | 'exact' | 'randomized';
  /** Seed of the random sketch (default 1); the same seed gives the same result. */
  seed?: number;
  /** Extra sketch columns beyond k (default max(10, ceil(k / 4))). */
  oversampling?: number;
  /** Upper bound on power iterations of the randomized route (default 40). */
  maxPowerIterations?: number;
  /**
   * Target relative excess of the squared reconstruction error over the Eckart–Young
   * optimum (default 2e-4, i.e. about 1e-4 on the error norm).
   */
  tolerance?: number;
  /**
   * The full singular spectrum of W when already known (e.g. from {@link singularValues}
   * for the spectrum plot): lets the randomized route stop on a certified error.
   */
  spectrum?: Float64Array;
}

/**
 * Rank-k truncated SVD of `W` (rows x cols). The reconstruction error
 * ||W - U S Vt||_F is within `tolerance` (relative, squared) of the Eckart–Young optimum
 * sqrt(sum_{i>k} s_i^2) on the exact route, and on the randomized route as far as the
 * convergence test can tell (certified when `opts.spectrum` is given).
 */
export function truncatedSvd(W: Matrix, k: number, opts: SvdOptions = {}): TruncatedSvd {
  return runSync(truncatedSvdSteps(W, k, opts, 1));
}

/** Options of {@link truncatedSvdAsync}: those of {@link truncatedSvd} plus the provider. */
export interface AsyncSvdOptions extends SvdOptions {
  /**
   * Runs the large matrix products, e.g. `await createOrtProvider(ort)` from ./accelerated
   * (ONNX Runtime, float64); default the pure TypeScript kernel.
   */
  provider?: ProductProvider;
  /**
   * How many times faster the provider's products are than the in-thread kernel (default 1
   * for the in-thread provider; otherwise 2.5 against the WebAssembly kernel and 10 against
   * the TypeScript one, ONNX Runtime's float64 Gemm as measured by test/bench/svd.bench.ts):
   * weighs the routes in `auto`.
   */
  providerSpeedup?: number;
}

/**
 * {@link truncatedSvd} with the large matrix products on `opts.provider` (for instance
 * ONNX Runtime in float64 via `createOrtProvider`): the same algorithm, the same accuracy
 * guarantees and, for the same seed, the same result up to rounding. The synchronous
 * {@link truncatedSvd} stays the pure path for browsers and workers.
 */
export async function truncatedSvdAsync(W: Matrix, k: number, opts: AsyncSvdOptions = {}): Promise<TruncatedSvd> {
  const provider = opts.provider ?? pureProvider;
  const speedup = opts.providerSpeedup ?? (provider === pureProvider ? 1 : linalgBackend() === 'wasm' ? 2.5 : 10);
  return runWith(truncatedSvdSteps(W, k, opts, speedup), provider);
}

function* truncatedSvdSteps(W: Matrix, k: number, opts: SvdOptions, speedup: number): GemmSteps<TruncatedSvd> {
  checkMatrix(W, 'truncatedSvd');
  const r = Math.min(W.rows, W.cols);
  if (!Number.isInteger(k) || k < 1 || k > r) {
    throw new Error(`truncatedSvd: rank ${k} is out of range for a ${W.rows}x${W.cols} matrix: choose an integer from 1 to ${r}`);
  }
  const method = opts.method ?? 'auto';
  if (method === 'exact') return yield* exactSvdSteps(W, k);
  const p = opts.oversampling ?? Math.max(10, Math.ceil(k / 4));
  const l = Math.min(r, k + p);
  const m = W.rows, n = W.cols;
  const exactCost = exactRouteCost(m, n, k, speedup);
  const iterCost = (4 * m * n * l + 4 * (m + n) * l * l) / speedup + 2 * (m + n) * l;
  // A randomized run that pays off needs the sketch plus a few power iterations (flat
  // spectra need many more, and the first sketch detects them): try it only when four
  // iterations cost less than the exact route, so a failed try wastes at most a quarter.
  if (method === 'auto' && iterCost * 4 >= exactCost) return yield* exactSvdSteps(W, k);
  const budget = method === 'auto' ? Math.floor(exactCost / iterCost) - 1 : Infinity;
  const res = yield* randomizedSvdSteps(W, k, l, opts, budget);
  return res ?? (yield* exactSvdSteps(W, k));
}

/**
 * All min(rows, cols) singular values of `W`, descending: square roots of the
 * eigenvalues of the smaller Gram matrix. Relative accuracy is about
 * 1e-16 * (s_1 / s_i)^2, ample for the spectrum plot and the retained energy.
 */
export function singularValues(W: Matrix): Float64Array {
  checkMatrix(W, 'singularValues');
  const G = W.rows <= W.cols ? gramRows(W) : gramRows(transpose(W));
  const tri = tridiagonalize(G.data, G.rows);
  const lambda = tridiagonalEigenvalues(tri.d, tri.e);
  return lambda.map((x) => Math.sqrt(Math.max(0, x)));
}

/** Fraction of the energy sum s_i^2 kept by the top `k` singular values (1 when the sum is 0). */
export function retainedEnergy(S: ArrayLike<number>, k: number): number {
  let total = 0, kept = 0;
  for (let i = 0; i < S.length; i++) {
    const e = S[i] * S[i];
    total += e;
    if (i < k) kept += e;
  }
  return total === 0 ? 1 : kept / total;
}

/** Relative reconstruction error sqrt(sum_{i>k} s_i^2 / sum s_i^2) of the best rank-k approximation. */
export function relativeErrorAtRank(S: ArrayLike<number>, k: number): number {
  return Math.sqrt(Math.max(0, 1 - retainedEnergy(S, k)));
}

/** Smallest rank whose retained energy is at least `fraction` (0..1) of the total. */
export function rankForEnergy(S: ArrayLike<number>, fraction: number): number {
  if (!(fraction >= 0 && fraction <= 1)) throw new Error(`rankForEnergy: energy fraction ${fraction} must be between 0 and 1 (e.g. 0.95 for 95 %)`);
  let total = 0;
  for (let i = 0; i < S.length; i++) total += S[i] * S[i];
  if (total === 0) return Math.min(1, S.length);
  let kept = 0;
  for (let i = 0; i < S.length; i++) {
    kept += S[i] * S[i];
    if (kept >= fraction * total * (1 - 1e-15)) return i + 1;
  }
  return S.length;
}

/** Smallest rank whose best-approximation relative Frobenius error is at most `relError`. */
export function rankForError(S: ArrayLike<number>, relError: number): number {
  if (!(relError >= 0)) throw new Error(`rankForError: relative error ${relError} must be a non-negative number (e.g. 0.05 for 5 %)`);
  let total = 0;
  for (let i = 0; i < S.length; i++) total += S[i] * S[i];
  if (total === 0) return Math.min(1, S.length);
  let tail = total;
  for (let k = 1; k <= S.length; k++) {
    tail -= S[k - 1] * S[k - 1];
    if (Math.sqrt(Math.max(0, tail) / total) <= relError) return k;
  }
  return S.length;
}

/**
 * Suggests a rank from the spectrum alone (redundancy estimation without data) by the
 * optimal hard threshold for unknown noise of Gavish & Donoho ("The optimal hard threshold
 * for singular values is 4/sqrt(3)", IEEE Trans. Inf. Theory 60(8), 2014, eq. (5)):
 * keep the singular values above omega(beta) * median(s), with beta = min/max of the
 * matrix shape and omega(beta) ~ 0.56 beta^3 - 0.95 beta^2 + 1.82 beta + 1.43.
 * `rows` and `cols` give the shape; when omitted, a square matrix is assumed. Returns at least 1.
 */
export function suggestRank(S: ArrayLike<number>, rows?: number, cols?: number): number {
  if (S.length === 0) return 0;
  const beta = rows && cols ? Math.min(rows, cols) / Math.max(rows, cols) : 1;
  const omega = 0.56 * beta ** 3 - 0.95 * beta ** 2 + 1.82 * beta + 1.43;
  const sorted = Array.from(S).sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
  const tau = omega * median;
  let k = 0;
  for (let i = 0; i < S.length; i++) if (S[i] > tau) k++;
  return Math.max(1, k);
}

/** Result of {@link suggestRankFromActivations}. */
export interface ActivationRank {
  /** The smallest rank meeting the target. */
  rank: number;
  /** ||(W - W_k) X||_F / ||W X||_F at that rank. */
  relOutputError: number;
  /** The output error at every rank 1..min(rows, cols) (index k-1 for rank k). */
  errorByRank: Float64Array;
}

/**
 * Smallest rank k whose output error ||(W - W_k) X||_F / ||W X||_F on sample activations
 * is at most `maxRelOutputError`, where W_k is the rank-k truncated SVD of W. `W` is
 * out x in and `X` is in x samples (one sample activation per column), so W X is the
 * layer's pre-activation output. Exact: with W = sum u_i s_i v_i^T, the error at rank k is
 * sqrt(sum_{i>k} ||u_i^T W X||^2) / ||W X||.
 */
export function suggestRankFromActivations(W: Matrix, X: Matrix, maxRelOutputError: number): ActivationRank {
  checkMatrix(W, 'suggestRankFromActivations');
  if (X.rows !== W.cols) {
    throw new Error(`suggestRankFromActivations: activations have ${X.rows} rows but the weight has ${W.cols} inputs: pass X as (inputs x samples)`);
  }
  if (!(maxRelOutputError >= 0)) throw new Error(`suggestRankFromActivations: target ${maxRelOutputError} must be a non-negative relative error`);
  const r = Math.min(W.rows, W.cols);
  const P = matmulNT(W, transpose(X)); // out x samples
  const total = frobeniusSq(P);
  const errorByRank = new Float64Array(r);
  if (total === 0) return { rank: 1, relOutputError: 0, errorByRank };
  const { U } = exactSvd(W, r);
  const proj = matmulNT(transpose(U), transpose(P)); // r x samples: row i is u_i^T W X
  const c = new Float64Array(r);
  for (let i = 0; i < r; i++) {
    let s = 0;
    for (let j = 0; j < proj.cols; j++) s += proj.data[i * proj.cols + j] ** 2;
    c[i] = s;
  }
  let tail = 0;
  for (let i = r - 1; i >= 0; i--) {
    errorByRank[i] = Math.sqrt(tail / total);
    tail += c[i];
  }
  let rank = r;
  for (let k = 1; k <= r; k++) {
    if (errorByRank[k - 1] <= maxRelOutputError) {
      rank = k;
      break;
    }
  }
  return { rank, relOutputError: errorByRank[rank - 1], errorByRank };
}

/**
 * Views a convolution kernel stored (out, in, kh, kw) row-major (the ONNX and PyTorch
 * layout) as the (out, in*kh*kw) matrix whose SVD gives the DeepX factorisation: the
 * first factor becomes a k x in x kh x kw convolution, the second a 1x1 convolution.
 */
export function reshapeConvKernel(data: ArrayLike<number>, out: number, inChannels: number, kh: number, kw: number): Matrix {
  for (const [name, v] of [['out', out], ['in', inChannels], ['kh', kh], ['kw', kw]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`reshapeConvKernel: ${name} = ${v} must be a positive integer`);
  }
  const cols = inChannels * kh * kw;
  if (data.length !== out * cols) {
    throw new Error(`reshapeConvKernel: kernel has ${data.length} weights but (${out}, ${inChannels}, ${kh}, ${kw}) needs ${out * cols}: check the layer's shape`);
  }
  return { rows: out, cols, data: Float64Array.from(data) };
}

/** Reconstructs U diag(S) Vt as a dense matrix (rows x cols). */
export function reconstruct(svd: Pick<TruncatedSvd, 'U' | 'S' | 'Vt'>): Matrix {
  const { U, S, Vt } = svd;
  const k = S.length;
  const us = new Float64Array(U.rows * k);
  for (let i = 0; i < U.rows; i++) for (let j = 0; j < k; j++) us[i * k + j] = U.data[i * U.cols + j] * S[j];
  return matmulNT({ rows: U.rows, cols: k, data: us }, transpose(Vt));
}

// Flop-equivalents of the exact route at the in-thread product kernel's speed. Half of the
// tridiagonal reduction (the matrix-vector products, 2/3 s^3) always runs in-thread, about
// 1.3x slower per flop than the blocked products on the WebAssembly kernels and 3x on the
// TypeScript ones (test/bench/svd.bench.ts); the rest are products, `speedup` times faster
// on an accelerated provider.
function exactRouteCost(m: number, n: number, k: number, speedup: number): number {
  const s = Math.min(m, n), b = Math.max(m, n);
  const matVecFactor = linalgBackend() === 'wasm' ? 1.3 : 3;
  return matVecFactor * (2 / 3) * s * s * s + (s * s * b + (2 / 3) * s * s * s + 2 * s * s * k + 2 * m * n * k) / speedup;
}

function exactSvd(W: Matrix, k: number): TruncatedSvd {
  return runSync(exactSvdSteps(W, k));
}

function* exactSvdSteps(W: Matrix, k: number): GemmSteps<TruncatedSvd> {
  const m = W.rows, n = W.cols;
  const wide = m <= n;
  // A is the orientation with fewer rows; its Gram matrix A A^T is the small one.
  const A = wide ? W : transpose(W);
  const At = wide ? transpose(W) : W;
  const s = A.rows;
  const G = yield* gramRowsSteps(A);
  const { vectors } = yield* symmetricEigenSteps(G.data, s, k);
  const Y = { rows: k, cols: s, data: vectors }; // rows: left singular vectors of A
  const B = yield* matmulNTSteps(Y, At); // k x A.cols: row i is u_i^T A = s_i v_i^T
  const S = new Float64Array(k);
  normalizeRows(B, S);
  return wide
    ? { U: transpose(Y), S, Vt: B, method: 'exact', powerIterations: 0 }
    : { U: transpose(B), S, Vt: Y, method: 'exact', powerIterations: 0 };
}

// Divides each row by its norm and stores the norms in `norms`; zero rows stay zero.
function normalizeRows(B: Matrix, norms: Float64Array): void {
  for (let i = 0; i < B.rows; i++) {
    let s = 0;
    const o = i * B.cols;
    for (let j = 0; j < B.cols; j++) s += B.data[o + j] * B.data[o + j];
    const nrm = Math.sqrt(s);
    norms[i] = nrm;
    if (nrm > 0) for (let j = 0; j < B.cols; j++) B.data[o + j] /= nrm;
  }
}

// Orthonormalises the rows of Q in place by modified Gram–Schmidt, twice ("twice is
// enough", Giraud et al., Numer. Math. 101, 2005); a row that vanishes (rank-deficient
// sketch) is replaced by a fresh random direction so the basis keeps its size.
function orthonormalizeRows(Q: Matrix, rng: () => number): void {
  const { rows, cols, data } = Q;
  for (let i = 0; i < rows; i++) {
    const oi = i * cols;
    let before = 0;
    for (let c = 0; c < cols; c++) before += data[oi + c] * data[oi + c];
    for (let attempt = 0; attempt < 3; attempt++) {
      for (let pass = 0; pass < 2; pass++) {
        for (let j = 0; j < i; j++) {
          const oj = j * cols;
          let dot = 0;
          for (let c = 0; c < cols; c++) dot += data[oj + c] * data[oi + c];
          for (let c = 0; c < cols; c++) data[oi + c] -= dot * data[oj + c];
        }
      }
      let nrm = 0;
      for (let c = 0; c < cols; c++) nrm += data[oi + c] * data[oi + c];
      if (nrm > 1e-24 * before && nrm > 0) {
        const inv = 1 / Math.sqrt(nrm);
        for (let c = 0; c < cols; c++) data[oi + c] *= inv;
        break;
      }
      const fresh = gaussianArray(rng, cols);
      data.set(fresh, oi);
      before = 0;
      for (let c = 0; c < cols; c++) before += fresh[c] * fresh[c];
    }
  }
}

// Orthonormalises the rows of Q (l x c) in place by Cholesky-QR2 (Fukaya et al., "CholeskyQR2",
// ScalA 2014): G = Q Q^T = L L^T, Q <- L^{-1} Q, twice; both steps are matrix products.
// It needs cond(Q) below about 1e8; when the Cholesky factorisation breaks down (a
// rank-deficient sketch), modified Gram–Schmidt with fresh directions takes over.
function* orthonormalizeRowsSteps(Q: Matrix, rng: () => number): GemmSteps<void> {
  const l = Q.rows;
  for (let pass = 0; pass < 2; pass++) {
    const G = yield* gramRowsSteps(Q);
    const Linv = choleskyInverse(G.data, l);
    if (!Linv) {
      orthonormalizeRows(Q, rng);
      return;
    }
    const out = new Float64Array(l * Q.cols);
    yield gemmRequest(Linv, transpose(Q).data, out, l, Q.cols, l);
    Q.data.set(out);
  }
}

// L^{-1} for the Cholesky factor L of the symmetric l x l `g` (row-major), or null when a pivot
// is not safely positive (relative to the largest diagonal), i.e. the rows are nearly dependent.
function choleskyInverse(g: Float64Array, l: number): Float64Array | null {
  const L = new Float64Array(l * l);
  let maxDiag = 0;
  for (let i = 0; i < l; i++) maxDiag = Math.max(maxDiag, g[i * l + i]);
  if (!(maxDiag > 0)) return null;
  for (let i = 0; i < l; i++) {
    for (let j = 0; j <= i; j++) {
      let s = g[i * l + j];
      for (let t = 0; t < j; t++) s -= L[i * l + t] * L[j * l + t];
      if (i === j) {
        if (!(s > 1e-13 * maxDiag)) return null;
        L[i * l + i] = Math.sqrt(s);
      } else {
        L[i * l + j] = s / L[j * l + j];
      }
    }
  }
  // Forward substitution, one column of the identity at a time; the inverse is lower triangular.
  const inv = new Float64Array(l * l);
  for (let c = 0; c < l; c++) {
    for (let i = c; i < l; i++) {
      let s = i === c ? 1 : 0;
      for (let t = c; t < i; t++) s -= L[i * l + t] * inv[t * l + c];
      inv[i * l + c] = s / L[i * l + i];
    }
  }
  return inv;
}

// Eigen-decomposition of B B^T for the l x n sketch B: the top-k left singular vectors
// (rows of the returned k x l array) and all squared singular values.
function* smallSvdSteps(B: Matrix, k: number): GemmSteps<{ values: Float64Array; vectors: Float64Array }> {
  const G = yield* gramRowsSteps(B);
  return yield* symmetricEigenSteps(G.data, B.rows, k);
}

function* randomizedSvdSteps(W: Matrix, k: number, l: number, opts: SvdOptions, budget: number): GemmSteps<TruncatedSvd | null> {
  const m = W.rows, n = W.cols;
  const rng = mulberry32(opts.seed ?? 1);
  const maxIter = Math.min(opts.maxPowerIterations ?? 40, budget);
  const tol = opts.tolerance ?? 2e-4;
  const WT = transpose(W);
  const total = frobeniusSq(W);
  let optimumTail: number | null = null;
  if (opts.spectrum) {
    let t = 0;
    for (let i = k; i < opts.spectrum.length; i++) t += opts.spectrum[i] ** 2;
    optimumTail = t;
  }
  // Qt (l x m): its rows are an orthonormal basis of the sketch of W's column space.
  const omega = { rows: l, cols: n, data: gaussianArray(rng, l * n) };
  const Qt = yield* matmulNTSteps(omega, W);
  yield* orthonormalizeRowsSteps(Qt, rng);
  let prevTail = Infinity, prevDelta = Infinity, prevRho = Infinity;
  for (let q = 0; ; q++) {
    // B = Q^T W (l x n) and its small SVD give the current rank-k approximation.
    const B = { rows: l, cols: n, data: new Float64Array(l * n) };
    yield gemmRequest(Qt.data, WT.data, B.data, l, n, m);
    const { values, vectors } = yield* smallSvdSteps(B, k);
    let kept = 0;
    for (let i = 0; i < k; i++) kept += Math.max(0, values[i]);
    const tail = Math.max(0, total - kept);
    const delta = prevTail - tail;
    let converged = false;
    if (optimumTail !== null) converged = tail <= optimumTail * (1 + tol) + 1e-15 * total;
    else if (tail <= 1e-14 * total) converged = true;
    if (q === 0 && opts.method !== 'randomized' && optimumTail === null && !converged) {
      // A priori: subspace iteration shrinks the error about like (s_l / s_k)^(4q+2)
      // (Halko et al. 2011, Cor. 10.10); the sketch's own values estimate that ratio. On a flat
      // spectrum the predicted count exceeds the budget, so the exact route starts at once
      // instead of after a budget of wasted iterations.
      const ratio = Math.sqrt(Math.max(0, values[l - 1]) / Math.max(values[k - 1], 1e-300));
      const predicted = ratio > 0 ? (Math.log(tol) / Math.log(ratio) - 2) / 4 : 0;
      if (ratio >= 1 || predicted > maxIter) return null;
    }
    let rhoNow = Infinity;
    if (Number.isFinite(delta) && Number.isFinite(prevDelta) && delta >= 0) {
      rhoNow = prevDelta > 0 ? delta / prevDelta : 0;
      // Geometric extrapolation of the remaining decrease (Aitken): delta * rho / (1 - rho).
      // Two successive ratios must agree: a sketch first captures the strong directions
      // (a big drop), then crawls along a flat tail, which one ratio alone mistakes for convergence.
      const rho = Math.max(rhoNow, prevRho);
      if (optimumTail !== null || tail <= 1e-14 * total) {
        // Decided above.
      } else if (rho < 0.95) converged = (delta * rho) / (1 - rho) <= tol * tail;
      else if (rho < 1 && opts.method !== 'randomized' && q + Math.log(tol * tail / Math.max(delta, 1e-300)) / Math.log(rho) > maxIter) return null;
    }
    if (converged || q >= maxIter) {
      if (!converged && opts.method !== 'randomized') return null;
      const Y = { rows: k, cols: l, data: vectors };
      const Ut = yield* matmulNTSteps(Y, transpose(Qt)); // k x m
      const Vt = yield* matmulNTSteps(Y, transpose(B)); // k x n
      const S = new Float64Array(k);
      normalizeRows(Vt, S);
      return { U: transpose(Ut), S, Vt, method: 'randomized', powerIterations: q };
    }
    prevRho = rhoNow;
    prevDelta = delta;
    prevTail = tail;
    // One power iteration: Z = W^T Q, then Q = orth(W Z).
    yield* orthonormalizeRowsSteps(B, rng);
    const next = yield* matmulNTSteps(B, W);
    yield* orthonormalizeRowsSteps(next, rng);
    Qt.data.set(next.data);
  }
}

/** Throws, naming `where`, unless `W` is a non-empty matrix of finite numbers with consistent shape. */
export function checkMatrix(W: Matrix, where: string): void {
  if (!W || !Number.isInteger(W.rows) || !Number.isInteger(W.cols) || W.rows < 1 || W.cols < 1 || W.data.length !== W.rows * W.cols) {
    throw new Error(`${where}: expected a non-empty Matrix {rows, cols, data} with data.length = rows*cols, got ${W ? `${W.rows}x${W.cols} with ${W.data?.length} numbers` : String(W)}`);
  }
  for (let i = 0; i < W.data.length; i++) {
    if (!Number.isFinite(W.data[i])) {
      throw new Error(`${where}: element (${Math.floor(i / W.cols)}, ${i % W.cols}) is ${W.data[i]}: the weights must be finite numbers`);
    }
  }
}
