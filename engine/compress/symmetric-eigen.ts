/**
 * Eigenvalues and selected eigenvectors of a dense symmetric matrix, the engine of the
 * exact SVD route (the eigen-decomposition of the smaller Gram matrix W W^T or W^T W).
 *
 * The method is the LAPACK one for "all eigenvalues, some eigenvectors"
 * (dsytrd + dsterf + dstein + dormtr, Anderson et al., LAPACK Users' Guide, 3rd ed., 1999):
 * 1. Householder reduction to tridiagonal form T = Q^T A Q, one symmetric rank-2 update
 *    per column (Golub & Van Loan, Matrix Computations, 4th ed., Alg. 8.3.1), with the
 *    update of step j fused with the matrix-vector product of step j+1 so the trailing
 *    matrix is read once per step.
 * 2. All eigenvalues of T by the implicit QL algorithm with Wilkinson shifts
 *    (Bowdler, Martin, Reinsch & Wilkinson, Numer. Math. 11, 1968; tql1).
 * 3. The wanted eigenvectors of T by inverse iteration with tridiagonal LU and partial
 *    pivoting, reorthogonalised inside clusters of close eigenvalues as dstein does.
 * 4. Back-transformation by the stored Householder reflectors.
 */

import { gemmNT } from './matrix';
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
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  const tau = new Float64Array(Math.max(0, n - 1));
  if (n === 0) return { n, d, e, reflectors: a, tau };
  const v = new Float64Array(n);
  const w = new Float64Array(n);
  const vn = new Float64Array(n);
  const p = new Float64Array(n);

  // Reflector of row j from the (already updated) row j; writes v into `out` and row j.
  const reflect = (j: number, out: Float64Array): number => {
    const r = j * n;
    const alpha = a[r + j + 1];
    let xnorm2 = 0;
    for (let c = j + 2; c < n; c++) xnorm2 += a[r + c] * a[r + c];
    out.fill(0);
    out[j + 1] = 1;
    if (xnorm2 === 0) {
      e[j] = alpha;
      tau[j] = 0;
      a[r + j + 1] = 1;
      return 0;
    }
    const beta = -Math.sign(alpha || 1) * Math.sqrt(alpha * alpha + xnorm2);
    const t = (beta - alpha) / beta;
    const scale = 1 / (alpha - beta);
    for (let c = j + 2; c < n; c++) {
      a[r + c] *= scale;
      out[c] = a[r + c];
    }
    a[r + j + 1] = 1;
    e[j] = beta;
    tau[j] = t;
    return t;
  };

  // symv over rows/cols from..n-1 (upper triangle): p = A v.
  const symv = (from: number, vec: Float64Array, out: Float64Array): void => {
    out.fill(0);
    for (let r = from; r < n; r++) {
      const row = r * n;
      const vr = vec[r];
      let s = a[row + r] * vr;
      for (let c = r + 1; c < n; c++) {
        const x = a[row + c];
        s += x * vec[c];
        out[c] += x * vr;
      }
      out[r] += s;
    }
  };

  d[0] = a[0];
  if (n === 1) return { n, d, e, reflectors: a, tau };
  if (n === 2) {
    e[0] = a[1];
    d[1] = a[3];
    return { n, d, e, reflectors: a, tau };
  }
  let t = reflect(0, v);
  if (t !== 0) symv(1, v, p);
  for (let j = 0; j <= n - 3; j++) {
    t = tau[j];
    const lastStep = j === n - 3;
    if (t !== 0) {
      let pv = 0;
      for (let c = j + 1; c < n; c++) {
        p[c] *= t;
        pv += p[c] * v[c];
      }
      const K = -0.5 * t * pv;
      for (let c = j + 1; c < n; c++) w[c] = p[c] + K * v[c];
      // Update row j+1 first: the next reflector is built from it.
      const r1 = (j + 1) * n;
      const v1 = v[j + 1], w1 = w[j + 1];
      for (let c = j + 1; c < n; c++) a[r1 + c] -= v1 * w[c] + w1 * v[c];
    }
    d[j + 1] = a[(j + 1) * n + j + 1];
    if (lastStep) {
      if (t !== 0) {
        const r = (n - 1) * n;
        a[r + n - 1] -= 2 * v[n - 1] * w[n - 1];
      }
      e[n - 2] = a[(n - 2) * n + n - 1];
      d[n - 1] = a[(n - 1) * n + n - 1];
      tau[n - 2] = 0;
      break;
    }
    const tn = reflect(j + 1, vn);
    // Fused: finish the rank-2 update of rows j+2.. and accumulate p = A_new * vn.
    p.fill(0);
    let r = j + 2;
    if (t !== 0) {
      // Two rows at a time: w, v, vn and p are loaded once for both rows.
      for (; r + 1 < n; r += 2) {
        const row0 = r * n, row1 = row0 + n;
        const v0 = v[r], w0 = w[r], vn0 = vn[r];
        const v1 = v[r + 1], w1 = w[r + 1], vn1 = vn[r + 1];
        const d0 = a[row0 + r] - 2 * v0 * w0;
        a[row0 + r] = d0;
        const x01 = a[row0 + r + 1] - (v0 * w1 + w0 * v1);
        a[row0 + r + 1] = x01;
        const d1 = a[row1 + r + 1] - 2 * v1 * w1;
        a[row1 + r + 1] = d1;
        let s0 = d0 * vn0 + x01 * vn1;
        let s1 = d1 * vn1;
        p[r + 1] += x01 * vn0;
        for (let c = r + 2; c < n; c++) {
          const wc = w[c], vc = v[c], vnc = vn[c];
          const x0 = a[row0 + c] - (v0 * wc + w0 * vc);
          const x1 = a[row1 + c] - (v1 * wc + w1 * vc);
          a[row0 + c] = x0;
          a[row1 + c] = x1;
          s0 += x0 * vnc;
          s1 += x1 * vnc;
          p[c] += x0 * vn0 + x1 * vn1;
        }
        p[r] += s0;
        p[r + 1] += s1;
      }
    }
    for (; r < n; r++) {
      const row = r * n;
      const vr = v[r], wr = w[r], vnr = vn[r];
      let diag = a[row + r];
      if (t !== 0) {
        diag -= 2 * vr * wr;
        a[row + r] = diag;
      }
      let s = diag * vnr;
      if (t !== 0) {
        for (let c = r + 1; c < n; c++) {
          const x = a[row + c] - (vr * w[c] + wr * v[c]);
          a[row + c] = x;
          s += x * vn[c];
          p[c] += x * vnr;
        }
      } else if (tn !== 0) {
        for (let c = r + 1; c < n; c++) {
          const x = a[row + c];
          s += x * vn[c];
          p[c] += x * vnr;
        }
      }
      p[r] += s;
    }
    v.set(vn);
  }
  return { n, d, e, reflectors: a, tau };
}

/**
 * All eigenvalues of the symmetric tridiagonal matrix (d, e), sorted in descending order,
 * by the implicit QL algorithm with Wilkinson shifts. Inputs are not modified.
 */
export function tridiagonalEigenvalues(d: Float64Array, e: Float64Array): Float64Array {
  const n = d.length;
  const dd = Float64Array.from(d);
  const ee = new Float64Array(n);
  for (let i = 0; i < n - 1; i++) ee[i] = e[i];
  for (let l = 0; l < n; l++) {
    let iter = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd2 = Math.abs(dd[m]) + Math.abs(dd[m + 1]);
        if (Math.abs(ee[m]) <= Number.EPSILON * dd2) break;
      }
      if (m === l) break;
      if (++iter > 60) throw new Error(`tridiagonalEigenvalues: QL did not converge for eigenvalue ${l} of ${n}; the matrix has NaN or infinite entries`);
      let g = (dd[l + 1] - dd[l]) / (2 * ee[l]);
      let r = Math.hypot(g, 1);
      g = dd[m] - dd[l] + ee[l] / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
      let s = 1, c = 1, pp = 0;
      let i = m - 1;
      let underflow = false;
      for (; i >= l; i--) {
        const f = s * ee[i];
        const b = c * ee[i];
        r = Math.hypot(f, g);
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
    const vt = new Float64Array(nb * len);
    for (let b = 0; b < nb; b++) {
      const j = lo + b;
      const r = j * n;
      for (let c = j + 1; c < n; c++) vt[b * len + (c - start)] = a[r + c];
    }
    // Upper triangular T with H_lo ... H_hi = I - V T V^T (LAPACK dlarft, forward).
    const T = new Float64Array(nb * nb);
    for (let b = 0; b < nb; b++) {
      const t = tau[lo + b];
      T[b * nb + b] = t;
      if (t === 0) continue;
      // T(0:b, b) = -t * T(0:b, 0:b) * (V(:, 0:b)^T v_b)
      const z = new Float64Array(b);
      for (let i = 0; i < b; i++) {
        let s = 0;
        for (let c = 0; c < len; c++) s += vt[i * len + c] * vt[b * len + c];
        z[i] = s;
      }
      for (let i = 0; i < b; i++) {
        let s = 0;
        for (let q = i; q < b; q++) s += T[i * nb + q] * z[q];
        T[i * nb + b] = -t * s;
      }
    }
    // y_row <- (I - V T V^T) y_row for each of the k rows: Yb = Y V (k x nb), M = Yb T^T, Y -= M V^T.
    const ysub = new Float64Array(k * len);
    for (let q = 0; q < k; q++) ysub.set(y.subarray(q * n + start, (q + 1) * n), q * len);
    const yb = new Float64Array(k * nb);
    gemmNT(ysub, vt, yb, k, nb, len, false);
    const mt = new Float64Array(k * nb);
    for (let q = 0; q < k; q++) {
      for (let b = 0; b < nb; b++) {
        let s = 0;
        for (let i = b; i < nb; i++) s += yb[q * nb + i] * T[b * nb + i];
        mt[q * nb + b] = -s;
      }
    }
    const v = new Float64Array(len * nb);
    for (let b = 0; b < nb; b++) for (let c = 0; c < len; c++) v[c * nb + b] = vt[b * len + c];
    gemmNT(mt, v, ysub, k, len, nb, false);
    for (let q = 0; q < k; q++) y.set(ysub.subarray(q * len, (q + 1) * len), q * n + start);
  }
}

/**
 * Eigenvalues (descending) of the symmetric n x n matrix `a` and the unit eigenvectors of
 * the largest `k` of them (k x n, row i for eigenvalue i). `a` is overwritten.
 */
export function symmetricEigen(a: Float64Array, n: number, k: number): { values: Float64Array; vectors: Float64Array } {
  const tri = tridiagonalize(a, n);
  const values = tridiagonalEigenvalues(tri.d, tri.e);
  const vectors = tridiagonalEigenvectors(tri.d, tri.e, values.subarray(0, k));
  backTransform(tri, vectors, k);
  return { values, vectors };
}
