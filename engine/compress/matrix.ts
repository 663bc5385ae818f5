/**
 * Dense row-major matrices in double precision and the few products the compression
 * code needs. Everything here is plain TypeScript over Float64Array so it runs in Node,
 * in a browser worker and in the extension host alike.
 *
 * The products are cache-blocked and register-blocked (4 x 4 accumulators held in local
 * variables, which V8 keeps in registers). Every product is reduced to the "A times B
 * transposed" form, whose inner loop reads two contiguous rows; the other forms pay an
 * explicit transpose, which costs O(rows x cols) and is negligible next to the product.
 */

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
  if (a.cols !== b.cols) throw new Error(`matmulNT: inner dimensions differ (${a.rows}x${a.cols} times (${b.rows}x${b.cols})^T)`);
  const c = new Float64Array(a.rows * b.rows);
  gemmNT(a.data, b.data, c, a.rows, b.rows, a.cols, false);
  return { rows: a.rows, cols: b.rows, data: c };
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
  const m = a.rows;
  const c = new Float64Array(m * m);
  gemmNT(a.data, a.data, c, m, m, a.cols, true);
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) c[i * m + j] = c[j * m + i];
  }
  return { rows: m, cols: m, data: c };
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
  const m4 = m - (m % 4);
  for (let p0 = 0; p0 < p; p0 += KC) {
    const p1 = Math.min(p, p0 + KC);
    for (let j0 = 0; j0 < n; j0 += NC) {
      const j1 = Math.min(n, j0 + NC);
      const j4 = j0 + ((j1 - j0) - ((j1 - j0) % 4));
      // Lower triangle only: rows above this column block contribute nothing.
      for (let i = lower ? j0 : 0; i < m4; i += 4) {
        const a0 = i * p, a1 = a0 + p, a2 = a1 + p, a3 = a2 + p;
        const jEnd = lower ? Math.min(j4, i + 4) : j4;
        let j = j0;
        for (; j < jEnd; j += 4) {
          const b0 = j * p, b1 = b0 + p, b2 = b1 + p, b3 = b2 + p;
          let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
          let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
          let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
          let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
          for (let k = p0; k < p1; k++) {
            const x0 = a[a0 + k], x1 = a[a1 + k], x2 = a[a2 + k], x3 = a[a3 + k];
            const y0 = b[b0 + k], y1 = b[b1 + k], y2 = b[b2 + k], y3 = b[b3 + k];
            c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
            c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
            c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
            c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
          }
          let r = i * n + j;
          c[r] += c00; c[r + 1] += c01; c[r + 2] += c02; c[r + 3] += c03; r += n;
          c[r] += c10; c[r + 1] += c11; c[r + 2] += c12; c[r + 3] += c13; r += n;
          c[r] += c20; c[r + 1] += c21; c[r + 2] += c22; c[r + 3] += c23; r += n;
          c[r] += c30; c[r + 1] += c31; c[r + 2] += c32; c[r + 3] += c33;
        }
        // Leftover columns of this block (fewer than 4), or the part past the diagonal band.
        const jTail = lower ? Math.min(j1, i + 4) : j1;
        for (; j < jTail; j++) {
          const bj = j * p;
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          for (let k = p0; k < p1; k++) {
            const y = b[bj + k];
            s0 += a[a0 + k] * y; s1 += a[a1 + k] * y; s2 += a[a2 + k] * y; s3 += a[a3 + k] * y;
          }
          c[i * n + j] += s0; c[(i + 1) * n + j] += s1; c[(i + 2) * n + j] += s2; c[(i + 3) * n + j] += s3;
        }
      }
      // Leftover rows (fewer than 4).
      for (let i = Math.max(m4, lower ? j0 : 0); i < m; i++) {
        const ai = i * p;
        const jEnd = lower ? Math.min(j1, i + 1) : j1;
        for (let j = j0; j < jEnd; j++) {
          const bj = j * p;
          let s = 0;
          for (let k = p0; k < p1; k++) s += a[ai + k] * b[bj + k];
          c[i * n + j] += s;
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
