/**
 * Dense row-major matrices in double precision and the few products the compression
 * code needs. Everything here runs in Node, in a browser worker and in the extension host
 * alike: large products go to the WebAssembly SIMD kernel of ./wasm/linalg-wasm when it is
 * available, and otherwise run on the TypeScript kernel below.
 *
 * The products are cache-blocked and register-blocked (4 x 4 accumulators held in local
 * variables, which V8 keeps in registers). Every product is reduced to the "A times B
 * transposed" form, whose inner loop reads two contiguous rows; the other forms pay an
 * explicit transpose, which costs O(rows x cols) and is negligible next to the product.
 */

import { wasmGemm } from './wasm/linalg-wasm';

/** A dense row-major matrix: element (i, j) is `data[i * cols + j]`. */
export interface Matrix {
  /** Number of rows. */
  rows: number;
  /** Number of columns. */
  cols: number;
  /** The `rows * cols` elements, row after row. */
  data: Float64Array;
}

/** Creates a zero matrix of the given shape. */
export function zeros(rows: number, cols: number): Matrix {
  checkShape(rows, cols, 'zeros');
  return { rows, cols, data: new Float64Array(rows * cols) };
}

/**
 * Wraps (or copies, for a plain array or Float32Array) row-major data as a matrix.
 * Throws when the length does not equal `rows * cols`.
 */
export function fromData(rows: number, cols: number, data: ArrayLike<number>): Matrix {
  checkShape(rows, cols, 'fromData');
  if (data.length !== rows * cols) {
    throw new Error(`matrix data has ${data.length} elements but the shape ${rows}x${cols} needs ${rows * cols}: pass row-major data of exactly rows*cols numbers`);
  }
  const copy = data instanceof Float64Array ? data : Float64Array.from(data);
  return { rows, cols, data: copy };
}

/** Builds a matrix from an array of equally long rows (convenient in tests). */
export function fromRows(rowsData: ArrayLike<number>[]): Matrix {
  const rows = rowsData.length;
  const cols = rows === 0 ? 0 : rowsData[0].length;
  const m = zeros(rows, cols);
  for (let i = 0; i < rows; i++) {
    if (rowsData[i].length !== cols) throw new Error(`fromRows: row ${i} has ${rowsData[i].length} numbers, row 0 has ${cols}: all rows must be equally long`);
    for (let j = 0; j < cols; j++) m.data[i * cols + j] = rowsData[i][j];
  }
  return m;
}

/** Returns the rows of `m` as plain arrays (convenient for JSON, e.g. to a Python reference). */
export function toRows(m: Matrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < m.rows; i++) out.push(Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
  return out;
}

/** Returns the transpose of `m` as a new matrix. */
export function transpose(m: Matrix): Matrix {
  const { rows, cols, data } = m;
  const out = new Float64Array(rows * cols);
  const B = 32;
  for (let i0 = 0; i0 < rows; i0 += B) {
    const i1 = Math.min(rows, i0 + B);
    for (let j0 = 0; j0 < cols; j0 += B) {
      const j1 = Math.min(cols, j0 + B);
      for (let i = i0; i < i1; i++) {
        const r = i * cols;
        for (let j = j0; j < j1; j++) out[j * rows + i] = data[r + j];
      }
    }
  }
  return { rows: cols, cols: rows, data: out };
}

/** Squared Frobenius norm, sum of the squares of all elements. */
export function frobeniusSq(m: Matrix): number {
  let s = 0;
  const d = m.data;
  for (let i = 0; i < d.length; i++) s += d[i] * d[i];
  return s;
}

/** Frobenius norm, sqrt of the sum of the squares of all elements. */
export function frobenius(m: Matrix): number {
  return Math.sqrt(frobeniusSq(m));
}

/** Elementwise difference `a - b`; throws when the shapes differ. */
export function subtract(a: Matrix, b: Matrix): Matrix {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new Error(`subtract: shapes ${a.rows}x${a.cols} and ${b.rows}x${b.cols} differ`);
  const out = new Float64Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i] - b.data[i];
  return { rows: a.rows, cols: a.cols, data: out };
}

/** `a * b^T` for `a` (m x p) and `b` (n x p): the product whose inner loop reads contiguous rows. */
export function matmulNT(a: Matrix, b: Matrix): Matrix {
  return runSync(matmulNTSteps(a, b));
}

/** `a * b` for `a` (m x p) and `b` (p x n). */
export function matmul(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw new Error(`matmul: inner dimensions differ (${a.rows}x${a.cols} times ${b.rows}x${b.cols})`);
  return matmulNT(a, transpose(b));
}

/** `a^T * b` for `a` (p x m) and `b` (p x n). */
export function matmulTN(a: Matrix, b: Matrix): Matrix {
  if (a.rows !== b.rows) throw new Error(`matmulTN: inner dimensions differ ((${a.rows}x${a.cols})^T times ${b.rows}x${b.cols})`);
  return matmulNT(transpose(a), transpose(b));
}

/** The Gram matrix `a * a^T` (m x m, symmetric); computes one triangle and mirrors it. */
export function gramRows(a: Matrix): Matrix {
  return runSync(gramRowsSteps(a));
}

// Cache blocking: a KC-long slice of NC rows of b (NC*KC*8 bytes = 256 KB) stays in L2
// while every 4-row slice of a streams past it from L1.
const KC = 256;
const NC = 128;

/**
 * c (m x n) += a (m x p) * b (n x p)^T on raw row-major arrays. With `lower`, only the
 * blocks on or below the diagonal are computed (callers mirror them): used for Gram
 * matrices, where it halves the work.
 */
export function gemmNT(a: Float64Array, b: Float64Array, c: Float64Array, m: number, n: number, p: number, lower: boolean): void {
  runGemm(gemmRequest(a, b, c, m, n, p, lower ? 'lower' : 'full'));
}

/**
 * Which part of a square product {@link gemmNTStrided} must compute: all of it, or only
 * the blocks touching the lower (j <= i) or upper (j >= i) triangle. The other triangle
 * may receive a few values near the diagonal; callers must not rely on it either way.
 */
export type Triangle = 'full' | 'lower' | 'upper';

/**
 * The BLAS-style general form: C += alpha * A * B^T where A is m x p starting at
 * `a[aOff]` with row stride `lda`, B is n x p at `b[bOff]` with row stride `ldb`, and C is
 * m x n at `c[cOff]` with row stride `ldc`. Used in place on sub-blocks (the trailing
 * matrix of the blocked tridiagonal reduction) without copies.
 */
export function gemmNTStrided(
  a: Float64Array, aOff: number, lda: number,
  b: Float64Array, bOff: number, ldb: number,
  c: Float64Array, cOff: number, ldc: number,
  m: number, n: number, p: number, tri: Triangle, alpha: number,
): void {
  const m4 = m - (m % 4);
  const lower = tri === 'lower', upper = tri === 'upper';
  for (let p0 = 0; p0 < p; p0 += KC) {
    const p1 = Math.min(p, p0 + KC);
    for (let j0 = 0; j0 < n; j0 += NC) {
      const j1 = Math.min(n, j0 + NC);
      const j4 = j0 + ((j1 - j0) - ((j1 - j0) % 4));
      // Lower triangle only: rows above this column block contribute nothing; upper: rows below it.
      const iEnd = upper ? Math.min(m4, j1) : m4;
      for (let i = lower ? j0 - (j0 % 4) : 0; i < iEnd; i += 4) {
        const a0 = aOff + i * lda + p0, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
        const jEnd = lower ? Math.min(j4, i + 4) : j4;
        let j = upper ? Math.max(j0, i) : j0;
        for (; j < jEnd; j += 4) {
          const b0 = bOff + j * ldb + p0, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
          let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
          let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
          let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
          let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
          const len = p1 - p0;
          for (let k = 0; k < len; k++) {
            const x0 = a[a0 + k], x1 = a[a1 + k], x2 = a[a2 + k], x3 = a[a3 + k];
            const y0 = b[b0 + k], y1 = b[b1 + k], y2 = b[b2 + k], y3 = b[b3 + k];
            c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
            c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
            c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
            c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
          }
          let r = cOff + i * ldc + j;
          c[r] += alpha * c00; c[r + 1] += alpha * c01; c[r + 2] += alpha * c02; c[r + 3] += alpha * c03; r += ldc;
          c[r] += alpha * c10; c[r + 1] += alpha * c11; c[r + 2] += alpha * c12; c[r + 3] += alpha * c13; r += ldc;
          c[r] += alpha * c20; c[r + 1] += alpha * c21; c[r + 2] += alpha * c22; c[r + 3] += alpha * c23; r += ldc;
          c[r] += alpha * c30; c[r + 1] += alpha * c31; c[r + 2] += alpha * c32; c[r + 3] += alpha * c33;
        }
        // Leftover columns of this block (fewer than 4), or the part past the diagonal band.
        const jTail = lower ? Math.min(j1, i + 4) : j1;
        for (; j < jTail; j++) {
          const bj = bOff + j * ldb + p0;
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          const len = p1 - p0;
          for (let k = 0; k < len; k++) {
            const y = b[bj + k];
            s0 += a[a0 + k] * y; s1 += a[a1 + k] * y; s2 += a[a2 + k] * y; s3 += a[a3 + k] * y;
          }
          const r = cOff + i * ldc + j;
          c[r] += alpha * s0; c[r + ldc] += alpha * s1; c[r + 2 * ldc] += alpha * s2; c[r + 3 * ldc] += alpha * s3;
        }
      }
      // Leftover rows (fewer than 4).
      for (let i = Math.max(m4, lower ? j0 : 0); i < m; i++) {
        const ai = aOff + i * lda;
        const jEnd = lower ? Math.min(j1, i + 1) : j1;
        for (let j = upper ? Math.max(j0, i) : j0; j < jEnd; j++) {
          const bj = bOff + j * ldb;
          let s = 0;
          for (let k = p0; k < p1; k++) s += a[ai + k] * b[bj + k];
          c[cOff + i * ldc + j] += alpha * s;
        }
      }
    }
  }
}

function checkShape(rows: number, cols: number, where: string): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new Error(`${where}: matrix shape ${rows}x${cols} is not a pair of non-negative integers`);
  }
}

/**
 * One matrix product C += alpha * A * B^T on strided row-major blocks, as the compression
 * algorithms request it. The algorithms are written as generators that yield these
 * requests, so one code path runs synchronously on {@link gemmNTStrided} (the pure path
 * for browsers and workers) or asynchronously on an accelerated provider (see ./accelerated).
 * The result is written into `c` in place.
 */
export interface GemmRequest {
  /** A (m x p) starts at `a[aOff]`, row stride `lda`. */
  a: Float64Array; aOff: number; lda: number;
  /** B (n x p) starts at `b[bOff]`, row stride `ldb`. */
  b: Float64Array; bOff: number; ldb: number;
  /** C (m x n) starts at `c[cOff]`, row stride `ldc`; it is updated in place. */
  c: Float64Array; cOff: number; ldc: number;
  /** The shape: C is m x n, the inner dimension is p. */
  m: number; n: number; p: number;
  /** The part of a square C that must be computed (see {@link Triangle}). */
  tri: Triangle;
  /** The scale of the product. */
  alpha: number;
}

/** A computation that yields product requests and returns a `T` (see {@link GemmRequest}). */
export type GemmSteps<T> = Generator<GemmRequest, T, void>;

/** The request for c (m x n) += a (m x p) * b (n x p)^T on whole contiguous arrays. */
export function gemmRequest(a: Float64Array, b: Float64Array, c: Float64Array, m: number, n: number, p: number, tri: Triangle = 'full'): GemmRequest {
  return { a, aOff: 0, lda: p, b, bOff: 0, ldb: p, c, cOff: 0, ldc: n, m, n, p, tri, alpha: 1 };
}

/**
 * Products with fewer multiply-adds than this run in TypeScript even when the WebAssembly
 * kernel is in use: below it, copying the operands costs more than the product saves.
 */
const WASM_MIN_MULTIPLY_ADDS = 1 << 15;

/**
 * Performs one request on this thread: with the WebAssembly SIMD kernel (./wasm/linalg-wasm)
 * when it is in use and the product is big enough, else with {@link gemmNTStrided}.
 */
export function runGemm(r: GemmRequest): void {
  if (r.m * r.n * r.p >= WASM_MIN_MULTIPLY_ADDS && wasmGemm(r)) return;
  gemmNTStrided(r.a, r.aOff, r.lda, r.b, r.bOff, r.ldb, r.c, r.cOff, r.ldc, r.m, r.n, r.p, r.tri, r.alpha);
}

/** Drives a generator of product requests to completion synchronously with {@link runGemm}. */
export function runSync<T>(steps: GemmSteps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    runGemm(next.value);
  }
}

/** Yields the request for the product `a * b^T` (see {@link matmulNT}) and returns it. */
export function* matmulNTSteps(a: Matrix, b: Matrix): GemmSteps<Matrix> {
  if (a.cols !== b.cols) throw new Error(`matmulNT: inner dimensions differ (${a.rows}x${a.cols} times (${b.rows}x${b.cols})^T)`);
  const c = new Float64Array(a.rows * b.rows);
  yield gemmRequest(a.data, b.data, c, a.rows, b.rows, a.cols);
  return { rows: a.rows, cols: b.rows, data: c };
}

/** Yields the request for the Gram matrix `a * a^T` (see {@link gramRows}) and returns it. */
export function* gramRowsSteps(a: Matrix): GemmSteps<Matrix> {
  const m = a.rows;
  const c = new Float64Array(m * m);
  yield gemmRequest(a.data, a.data, c, m, m, a.cols, 'lower');
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) c[i * m + j] = c[j * m + i];
  }
  return { rows: m, cols: m, data: c };
}

/** Something that performs product requests, possibly asynchronously. */
export interface ProductProvider {
  /** A short name for reports, e.g. `onnxruntime`. */
  readonly name: string;
  /** Performs `C += alpha * A * B^T` of the request in place. */
  gemm(request: GemmRequest): Promise<void> | void;
  /** Frees native resources (sessions); the provider must not be used afterwards. */
  release(): Promise<void>;
}

/** The in-thread kernels ({@link runGemm}) as a provider (synchronous; the default). */
export const pureProvider: ProductProvider = {
  name: 'in-thread',
  gemm: runGemm,
  release: async () => {},
};

/** Drives a generator of product requests to completion on `provider`. */
export async function runWith<T>(steps: GemmSteps<T>, provider: ProductProvider): Promise<T> {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    await provider.gemm(next.value);
  }
}
