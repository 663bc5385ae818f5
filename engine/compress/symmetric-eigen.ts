/**
 * Eigenvalues and selected eigenvectors of a dense symmetric matrix, the engine of the
 * exact SVD route (the eigen-decomposition of the smaller Gram matrix W W^T or W^T W).
 *
 * The method is the LAPACK one for "all eigenvalues, some eigenvectors"
 * (dsytrd + dsterf + dstein + dormtr, Anderson et al., LAPACK Users' Guide, 3rd ed., 1999):
 * 1. Householder reduction to tridiagonal form T = Q^T A Q (Golub & Van Loan, Matrix
 *    Computations, 4th ed., Alg. 8.3.1), blocked as LAPACK dsytrd/dlatrd do so that half
 *    of the work is one matrix product per panel of reflectors.
 * 2. All eigenvalues of T by the implicit QL algorithm with Wilkinson shifts
 *    (Bowdler, Martin, Reinsch & Wilkinson, Numer. Math. 11, 1968; tql1).
 * 3. The wanted eigenvectors of T by inverse iteration with tridiagonal LU and partial
 *    pivoting, reorthogonalised inside clusters of close eigenvalues as dstein does.
 * 4. Back-transformation by the stored Householder reflectors.
 */

import { type GemmSteps, gemmRequest, runSync, transpose } from './matrix';
import { createWorkspace, type TridiagonalKernels } from './wasm/linalg-wasm';
import { mulberry32, gaussian } from './random';

/** A symmetric tridiagonal matrix with its Householder reflectors. */
export interface Tridiagonal {
  /** Order of the matrix. */
  n: number;
  /** The diagonal (length n). */
  d: Float64Array;
  /** The off-diagonal (length n - 1): e[j] is element (j, j+1). */
  e: Float64Array;
  /** Row j, columns j+1.. of this n x n array hold the reflector v_j (v_j[j+1] = 1). */
  reflectors: Float64Array;
  /** The reflector coefficients: H_j = I - tau[j] v_j v_j^T. */
  tau: Float64Array;
}

/**
 * Reduces the symmetric matrix `a` (n x n row-major, only the upper triangle is read)
 * to tridiagonal form. `a` is overwritten by the reflectors.
 */
export function tridiagonalize(a: Float64Array, n: number): Tridiagonal {
  return runSync(tridiagonalizeSteps(a, n));
}

/** Panel width of the blocked reduction: reflectors accumulated before one trailing update. */
const PANEL = 32;

/**
 * The blocked reduction of {@link tridiagonalize} (LAPACK dsytrd with dlatrd, lower
 * variant, here on rows of the upper triangle): a panel of PANEL reflectors is built with
 * matrix-vector products against the not-yet-updated trailing matrix, corrected by the
 * panel's own V and W, and the trailing matrix then takes one symmetric rank-2*PANEL
 * update A -= V W^T + W V^T, yielded as a matrix product. Half of the 4/3 n^3 flops thus
 * move from memory-bound rank-2 updates into a matrix product.
 */
export function* tridiagonalizeSteps(input: Float64Array, n: number): GemmSteps<Tridiagonal> {
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  const tau = new Float64Array(Math.max(0, n - 1));
  // With the WebAssembly kernels, the matrix, the panel and the trailing update's operands
  // live in one workspace: the n matrix-vector products and the trailing updates then run
  // in place, without copies. Row t of vt / wt holds the panel's reflector v_t / vector w_t
  // over global indices; left / right are the trailing update's factors.
  const sizes = [n * n, PANEL * n, PANEL * n, n, n * 2 * PANEL, n * 2 * PANEL, 2 * PANEL];
  const ws = n >= 2 * PANEL ? createWorkspace(sizes) : null;
  const [a, vt, wt, p, leftAll, rightAll, dots] = ws ? ws.views : sizes.map((len, i) => (i === 0 ? input : new Float64Array(len)));
  if (ws) a.set(input.subarray(0, n * n));
  const kernels = ws ? ws.kernels : typescriptKernels;
  const panel: Panel = { a, n, d, e, tau, vt, wt, p, dots, kernels };
  for (let j0 = 0; j0 < n; j0 += PANEL) {
    const nb = Math.min(PANEL, n - j0);
    reducePanel(panel, j0, nb);
    const j1 = j0 + nb;
    if (j1 >= n) break;
    // Trailing update A -= [V W] [W V]^T on the upper triangle, one matrix product.
    const mm = n - j1;
    const left = leftAll.subarray(0, mm * 2 * nb);
    const right = rightAll.subarray(0, mm * 2 * nb);
    packTrailingFactors(vt, wt, n, j1, nb, left, right);
    yield { a: left, aOff: 0, lda: 2 * nb, b: right, bOff: 0, ldb: 2 * nb, c: a, cOff: j1 * n + j1, ldc: n, m: mm, n: mm, p: 2 * nb, tri: 'upper', alpha: -1 };
  }
  if (ws) input.set(a);
  return { n, d, e, reflectors: input, tau };
}

// The state of the reduction that the panel steps work on (see tridiagonalizeSteps).
interface Panel {
  a: Float64Array; n: number;
  d: Float64Array; e: Float64Array; tau: Float64Array;
  vt: Float64Array; wt: Float64Array; p: Float64Array; dots: Float64Array;
  kernels: TridiagonalKernels;
}

// Reduces rows j0..j0+nb-1 (LAPACK dlatrd): builds the panel's reflectors v_t and vectors
// w_t against the trailing matrix as it was at the panel's start. A plain function, not part
// of the generator, so V8 optimises its loops from the first call on (generators are not
// optimised mid-loop).
function reducePanel(s: Panel, j0: number, nb: number): void {
  const { a, n, d, e, tau, vt, wt, p, dots, kernels } = s;
  vt.fill(0);
  wt.fill(0);
  for (let i = 0; i < nb; i++) {
    const c = j0 + i;
    const row = c * n;
    // Bring row c up to date with the panel's earlier reflectors.
    kernels.panelRowUpdate(a, n, c, vt, wt, i);
    d[c] = a[row + c];
    if (c === n - 1) break;
    // Householder reflector annihilating row c beyond column c+1.
    const alpha = a[row + c + 1];
    let xnorm2 = 0;
    for (let x = c + 2; x < n; x++) xnorm2 += a[row + x] * a[row + x];
    const vo = i * n;
    if (xnorm2 === 0) {
      e[c] = alpha;
      tau[c] = 0;
      a[row + c + 1] = 1;
      vt[vo + c + 1] = 1;
      continue;
    }
    const beta = -Math.sign(alpha || 1) * Math.sqrt(alpha * alpha + xnorm2);
    const t0 = (beta - alpha) / beta;
    const scale = 1 / (alpha - beta);
    a[row + c + 1] = 1;
    vt[vo + c + 1] = 1;
    for (let x = c + 2; x < n; x++) {
      a[row + x] *= scale;
      vt[vo + x] = a[row + x];
    }
    e[c] = beta;
    tau[c] = t0;
    // w = tau (A v - V (W^T v) - W (V^T v)) - (tau^2 / 2)(v^T (...)) v, A the trailing matrix at panel start.
    kernels.symvUpper(a, n, c + 1, vt, vo, p);
    kernels.panelDots(vt, wt, n, i, c + 1, vt, vo, dots);
    kernels.panelCorrect(p, vt, wt, n, i, c + 1, dots);
    let pv = 0;
    for (let x = c + 1; x < n; x++) {
      p[x] *= t0;
      pv += p[x] * vt[vo + x];
    }
    const K = -0.5 * t0 * pv;
    for (let x = c + 1; x < n; x++) wt[vo + x] = p[x] + K * vt[vo + x];
  }
}

// left = [V W] and right = [W V] over rows j1..n-1 (mm x 2nb each), the factors of the trailing update.
function packTrailingFactors(vt: Float64Array, wt: Float64Array, n: number, j1: number, nb: number, left: Float64Array, right: Float64Array): void {
  const mm = n - j1;
  for (let r = 0; r < mm; r++) {
    const o = r * 2 * nb;
    for (let t = 0; t < nb; t++) {
      const v = vt[t * n + j1 + r], w = wt[t * n + j1 + r];
      left[o + t] = v;
      left[o + nb + t] = w;
      right[o + t] = w;
      right[o + nb + t] = v;
    }
  }
}

// out[from..n) = A[from.., from..] * vec[vo + from..], reading the upper triangle of the
// row-major n x n `a`, four rows at a time so `out` and `vec` are streamed once per four rows.
function symvUpper(a: Float64Array, n: number, from: number, vec: Float64Array, vo: number, out: Float64Array): void {
  out.fill(0, from, n);
  let r = from;
  for (; r + 3 < n; r += 4) {
    const row0 = r * n, row1 = row0 + n, row2 = row1 + n, row3 = row2 + n;
    const v0 = vec[vo + r], v1 = vec[vo + r + 1], v2 = vec[vo + r + 2], v3 = vec[vo + r + 3];
    // The 4 x 4 diagonal block, symmetric, from its upper triangle.
    const a01 = a[row0 + r + 1], a02 = a[row0 + r + 2], a03 = a[row0 + r + 3];
    const a12 = a[row1 + r + 2], a13 = a[row1 + r + 3], a23 = a[row2 + r + 3];
    let s0 = a[row0 + r] * v0 + a01 * v1 + a02 * v2 + a03 * v3;
    let s1 = a01 * v0 + a[row1 + r + 1] * v1 + a12 * v2 + a13 * v3;
    let s2 = a02 * v0 + a12 * v1 + a[row2 + r + 2] * v2 + a23 * v3;
    let s3 = a03 * v0 + a13 * v1 + a23 * v2 + a[row3 + r + 3] * v3;
    for (let c = r + 4; c < n; c++) {
      const x0 = a[row0 + c], x1 = a[row1 + c], x2 = a[row2 + c], x3 = a[row3 + c];
      const vc = vec[vo + c];
      s0 += x0 * vc;
      s1 += x1 * vc;
      s2 += x2 * vc;
      s3 += x3 * vc;
      out[c] += x0 * v0 + x1 * v1 + x2 * v2 + x3 * v3;
    }
    out[r] += s0;
    out[r + 1] += s1;
    out[r + 2] += s2;
    out[r + 3] += s3;
  }
  for (; r < n; r++) {
    const row = r * n;
    const vr = vec[vo + r];
    let s = a[row + r] * vr;
    for (let c = r + 1; c < n; c++) {
      const x = a[row + c];
      s += x * vec[vo + c];
      out[c] += x * vr;
    }
    out[r] += s;
  }
}

// The TypeScript implementation of the reduction's steps, used where WebAssembly is not.
const typescriptKernels: TridiagonalKernels = {
  symvUpper,
  panelRowUpdate(a, n, c, vt, wt, count) {
    const row = c * n;
    for (let t = 0; t < count; t++) {
      const o = t * n;
      const vc = vt[o + c], wc = wt[o + c];
      for (let x = c; x < n; x++) a[row + x] -= vc * wt[o + x] + wc * vt[o + x];
    }
  },
  panelDots(vt, wt, n, count, from, y, yOff, dots) {
    for (let t = 0; t < count; t++) {
      const o = t * n;
      let dw = 0, dv = 0;
      for (let x = from; x < n; x++) {
        dw += wt[o + x] * y[yOff + x];
        dv += vt[o + x] * y[yOff + x];
      }
      dots[2 * t] = dw;
      dots[2 * t + 1] = dv;
    }
  },
  panelCorrect(x, vt, wt, n, count, from, dots) {
    for (let t = 0; t < count; t++) {
      const o = t * n;
      const dw = dots[2 * t], dv = dots[2 * t + 1];
      for (let k = from; k < n; k++) x[k] -= vt[o + k] * dw + wt[o + k] * dv;
    }
  },
};

/**
 * All eigenvalues of the symmetric tridiagonal matrix (d, e), sorted in descending order,
 * by the implicit QL algorithm with Wilkinson shifts. Inputs are not modified.
 */
export function tridiagonalEigenvalues(d: Float64Array, e: Float64Array): Float64Array {
  const n = d.length;
  const dd = Float64Array.from(d);
  const ee = new Float64Array(n);
  for (let i = 0; i < n - 1; i++) ee[i] = e[i];
  // An off-diagonal element below rounding of the whole matrix also splits it: in a cluster of
  // eigenvalues at zero (a rank-deficient Gram matrix, e.g. W C W^T with fewer samples than
  // inputs) the diagonal itself is rounding noise, the relative test alone never passes there,
  // and setting such an element to zero moves every eigenvalue by at most eps ||T||.
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(dd[i]) + Math.abs(ee[i]) + (i > 0 ? Math.abs(ee[i - 1]) : 0));
  const floor = Number.EPSILON * norm;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd2 = Math.abs(dd[m]) + Math.abs(dd[m + 1]);
        if (Math.abs(ee[m]) <= Number.EPSILON * dd2 || Math.abs(ee[m]) <= floor) break;
      }
      if (m === l) break;
      if (++iter > 60) throw new Error(`tridiagonalEigenvalues: QL did not converge for eigenvalue ${l} of ${n}; the matrix has NaN or infinite entries`);
      let g = (dd[l + 1] - dd[l]) / (2 * ee[l]);
      let r = hypot(g, 1);
      g = dd[m] - dd[l] + ee[l] / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
      let s = 1, c = 1, pp = 0;
      let i = m - 1;
      let underflow = false;
      for (; i >= l; i--) {
        const f = s * ee[i];
        const b = c * ee[i];
        r = hypot(f, g);
        ee[i + 1] = r;
        if (r === 0) {
          dd[i + 1] -= pp;
          ee[m] = 0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = dd[i + 1] - pp;
        r = (dd[i] - g) * s + 2 * c * b;
        pp = s * r;
        dd[i + 1] = g + pp;
        g = c * r - b;
      }
      if (underflow) continue;
      dd[l] -= pp;
      ee[l] = g;
      ee[m] = 0;
    }
  }
  dd.sort();
  dd.reverse();
  return dd;
}

// sqrt(x^2 + y^2) without Math.hypot, which V8 runs several times slower; rescaled only
// when the squares would overflow or underflow.
function hypot(x: number, y: number): number {
  const s = x * x + y * y;
  if (s > 1e-290 && s < 1e290) return Math.sqrt(s);
  return Math.hypot(x, y);
}

/**
 * Eigenvectors of the symmetric tridiagonal (d, e) for the given eigenvalues (sorted in
 * descending order), by inverse iteration. Returns a k x n row-major array: row i is the
 * unit eigenvector of `lambdas[i]`.
 */
export function tridiagonalEigenvectors(d: Float64Array, e: Float64Array, lambdas: Float64Array, seed = 0x5eed): Float64Array {
  const n = d.length;
  const k = lambdas.length;
  const out = new Float64Array(k * n);
  if (n === 0 || k === 0) return out;
  let tnorm = 0;
  for (let i = 0; i < n; i++) {
    const row = Math.abs(d[i]) + (i > 0 ? Math.abs(e[i - 1]) : 0) + (i < n - 1 ? Math.abs(e[i]) : 0);
    tnorm = Math.max(tnorm, row);
  }
  if (tnorm === 0) tnorm = 1;
  const eps = Number.EPSILON;
  // dstein's cluster tolerance: vectors of eigenvalues closer than this are reorthogonalised.
  const ortol = 1e-3 * tnorm;
  const pertol = 10 * eps * tnorm;
  const rng = mulberry32(seed);
  // LU of (T - lambda I) with partial pivoting: U has three diagonals (u0, u1, u2), L is unit lower bidiagonal (lm) with row swaps (swap).
  const u0 = new Float64Array(n), u1 = new Float64Array(n), u2 = new Float64Array(n);
  const lm = new Float64Array(n);
  const swap = new Uint8Array(n);
  const x = new Float64Array(n);
  let clusterStart = 0;
  let prevLambda = Infinity;
  for (let q = 0; q < k; q++) {
    let lambda = lambdas[q];
    if (q > 0 && prevLambda - lambda >= ortol) clusterStart = q;
    // Separate equal eigenvalues slightly so inverse iteration finds distinct vectors (as dstein does).
    if (q > 0 && lambda >= prevLambda - pertol) lambda = prevLambda - pertol;
    prevLambda = lambda;
    // Factor T - lambda I.
    for (let i = 0; i < n; i++) {
      u0[i] = d[i] - lambda;
      u1[i] = i < n - 1 ? e[i] : 0;
      u2[i] = 0;
    }
    for (let i = 0; i < n - 1; i++) {
      const sub = e[i];
      if (Math.abs(u0[i]) >= Math.abs(sub)) {
        swap[i] = 0;
        if (u0[i] === 0) u0[i] = pertol;
        const mult = sub / u0[i];
        lm[i] = mult;
        u0[i + 1] -= mult * u1[i];
      } else {
        swap[i] = 1;
        const mult = u0[i] / sub;
        lm[i] = mult;
        // Row i+1 becomes the pivot row: [sub, d(i+1)-lambda, e(i+1)].
        const a1 = u0[i + 1], a2 = u1[i + 1];
        u0[i] = sub;
        const oldU1 = u1[i];
        u1[i] = a1;
        u2[i] = a2;
        u0[i + 1] = oldU1 - mult * a1;
        u1[i + 1] = -mult * a2;
      }
    }
    if (u0[n - 1] === 0) u0[n - 1] = pertol;
    for (let i = 0; i < n; i++) x[i] = gaussian(rng);
    const row = q * n;
    for (let it = 0; it < 4; it++) {
      // Solve L U x = P b in place: forward with the row swaps, then back substitution.
      for (let i = 0; i < n - 1; i++) {
        if (swap[i]) {
          const t = x[i];
          x[i] = x[i + 1];
          x[i + 1] = t - lm[i] * x[i];
        } else {
          x[i + 1] -= lm[i] * x[i];
        }
      }
      // Scale to avoid overflow before the (possibly nearly singular) back substitution.
      let mx = 0;
      for (let i = 0; i < n; i++) mx = Math.max(mx, Math.abs(x[i]));
      if (mx > 0) for (let i = 0; i < n; i++) x[i] /= mx;
      x[n - 1] /= u0[n - 1];
      if (n > 1) x[n - 2] = (x[n - 2] - u1[n - 2] * x[n - 1]) / u0[n - 2];
      for (let i = n - 3; i >= 0; i--) x[i] = (x[i] - u1[i] * x[i + 1] - u2[i] * x[i + 2]) / u0[i];
      // Reorthogonalise against the earlier vectors of this cluster (twice is enough, Kahan).
      for (let pass = 0; pass < (q > clusterStart ? 2 : 0); pass++) {
        for (let j = clusterStart; j < q; j++) {
          const o = j * n;
          let dot = 0;
          for (let i = 0; i < n; i++) dot += out[o + i] * x[i];
          for (let i = 0; i < n; i++) x[i] -= dot * out[o + i];
        }
      }
      let nrm = 0;
      for (let i = 0; i < n; i++) nrm += x[i] * x[i];
      nrm = Math.sqrt(nrm);
      if (nrm === 0 || !Number.isFinite(nrm)) {
        for (let i = 0; i < n; i++) x[i] = gaussian(rng);
        continue;
      }
      for (let i = 0; i < n; i++) x[i] /= nrm;
    }
    out.set(x, row);
  }
  return out;
}

/**
 * Applies the reflectors of `tri` to the k x n rows of `y` (each row a vector of length n):
 * row i becomes Q * y_i, turning eigenvectors of T into eigenvectors of the original matrix.
 */
export function backTransform(tri: Tridiagonal, y: Float64Array, k: number): void {
  runSync(backTransformSteps(tri, y, k));
}

/** {@link backTransform} as product requests (see GemmRequest in ./matrix). */
export function* backTransformSteps(tri: Tridiagonal, y: Float64Array, k: number): GemmSteps<void> {
  const { n, reflectors: a, tau } = tri;
  // Blocks of NB reflectors applied at once in the compact WY form
  // H_j0 ... H_j1 = I - V T V^T (Schreiber & Van Loan, SIAM J. Sci. Stat. Comput. 10, 1989),
  // so the work is two matrix products instead of one rank-1 update per reflector.
  const NB = 32;
  const last = n - 3;
  for (let hi = last; hi >= 0; hi -= NB) {
    const lo = Math.max(0, hi - NB + 1);
    const nb = hi - lo + 1;
    const start = lo + 1;
    const len = n - start;
    // Vt (nb x len): row b is reflector lo+b restricted to columns start..n-1.
    const vt = reflectorRows(a, n, lo, nb, start);
    // Upper triangular T with H_lo ... H_hi = I - V T V^T (LAPACK dlarft, forward), from the
    // inner products of the block's reflectors, V^T V (lower triangle), in one product.
    const vtv = new Float64Array(nb * nb);
    yield gemmRequest(vt, vt, vtv, nb, nb, len, 'lower');
    const T = blockReflectorFactor(vtv, tau, lo, nb);
    // y_row <- (I - V T V^T) y_row for each of the k rows: Yb = Y V (k x nb), M = Yb T^T, Y -= M V^T,
    // both products on the rows' columns start..n-1 in place (row stride n).
    const yb = new Float64Array(k * nb);
    yield { a: y, aOff: start, lda: n, b: vt, bOff: 0, ldb: len, c: yb, cOff: 0, ldc: nb, m: k, n: nb, p: len, tri: 'full', alpha: 1 };
    const mt = timesTransposedNegated(yb, T, k, nb);
    const v = transpose({ rows: nb, cols: len, data: vt }).data;
    yield { a: mt, aOff: 0, lda: nb, b: v, bOff: 0, ldb: nb, c: y, cOff: start, ldc: n, m: k, n: len, p: nb, tri: 'full', alpha: 1 };
  }
}

// The loops of the back-transformation live in plain functions, outside the generator, so
// V8 optimises them from the first call on.

// nb x len: row b is reflector lo+b (stored in row lo+b of `a`) over columns start..n-1.
function reflectorRows(a: Float64Array, n: number, lo: number, nb: number, start: number): Float64Array {
  const len = n - start;
  const vt = new Float64Array(nb * len);
  for (let b = 0; b < nb; b++) {
    const j = lo + b;
    const r = j * n;
    for (let c = j + 1; c < n; c++) vt[b * len + (c - start)] = a[r + c];
  }
  return vt;
}

// The upper triangular T of the compact WY form from V^T V (lower triangle) and the taus.
function blockReflectorFactor(vtv: Float64Array, tau: Float64Array, lo: number, nb: number): Float64Array {
  const T = new Float64Array(nb * nb);
  for (let b = 0; b < nb; b++) {
    const t = tau[lo + b];
    T[b * nb + b] = t;
    if (t === 0) continue;
    // T(0:b, b) = -t * T(0:b, 0:b) * (V(:, 0:b)^T v_b)
    for (let i = 0; i < b; i++) {
      let s = 0;
      for (let q = i; q < b; q++) s += T[i * nb + q] * vtv[b * nb + q];
      T[i * nb + b] = -t * s;
    }
  }
  return T;
}

// -(Yb T^T) for the k x nb `yb` and the upper triangular nb x nb `T`.
function timesTransposedNegated(yb: Float64Array, T: Float64Array, k: number, nb: number): Float64Array {
  const mt = new Float64Array(k * nb);
  for (let q = 0; q < k; q++) {
    for (let b = 0; b < nb; b++) {
      let s = 0;
      for (let i = b; i < nb; i++) s += yb[q * nb + i] * T[b * nb + i];
      mt[q * nb + b] = -s;
    }
  }
  return mt;
}

/**
 * Eigenvalues (descending) of the symmetric n x n matrix `a` and the unit eigenvectors of
 * the largest `k` of them (k x n, row i for eigenvalue i). `a` is overwritten.
 */
export function symmetricEigen(a: Float64Array, n: number, k: number): { values: Float64Array; vectors: Float64Array } {
  return runSync(symmetricEigenSteps(a, n, k));
}

/** {@link symmetricEigen} as product requests (see GemmRequest in ./matrix). */
export function* symmetricEigenSteps(a: Float64Array, n: number, k: number): GemmSteps<{ values: Float64Array; vectors: Float64Array }> {
  const tri = yield* tridiagonalizeSteps(a, n);
  const values = tridiagonalEigenvalues(tri.d, tri.e);
  const vectors = tridiagonalEigenvectors(tri.d, tri.e, values.subarray(0, k));
  yield* backTransformSteps(tri, vectors, k);
  return { values, vectors };
}
