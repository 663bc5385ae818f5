/**
 * Per-output-channel symmetric int8 weight quantization, in the convention of ONNX
 * DequantizeLinear with zero point 0 and `axis` = the output channel: w ~ scale[row] * q,
 * scale[row] = max_j |w[row, j]| / 127, q = round(w / scale) clamped to [-127, 127]
 * (the symmetric range; -128 is never produced). Rounding is half to even, as ONNX
 * QuantizeLinear and numpy.rint do.
 */

import type { Matrix } from './matrix';

/** The quantized weights of one layer. */
export interface Int8Quantized {
  /** Quantized weights, rows x cols row-major. */
  q: Int8Array;
  /** One scale per output channel (row); 1 for an all-zero row, so dequantizing stays defined. */
  scales: Float32Array;
  /** Number of rows (output channels). */
  rows: number;
  /** Number of columns. */
  cols: number;
  /** ||W - dequantize(q)||_F / ||W||_F (0 for an all-zero W). */
  relError: number;
}

/**
 * Quantizes `W` (out x in, or a conv kernel reshaped to (out, in*kh*kw)) per row.
 * Scales are stored as float32, as the ONNX initializer will hold them, and the
 * quantization uses that float32 scale so the model and this estimate agree.
 */
export function quantizeInt8(W: Matrix): Int8Quantized {
  const { rows, cols, data } = W;
  if (data.length !== rows * cols) throw new Error(`quantizeInt8: data has ${data.length} numbers but the shape ${rows}x${cols} needs ${rows * cols}`);
  const q = new Int8Array(rows * cols);
  const scales = new Float32Array(rows);
  let errSq = 0, totalSq = 0;
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let mx = 0;
    for (let j = 0; j < cols; j++) {
      const v = data[o + j];
      if (!Number.isFinite(v)) throw new Error(`quantizeInt8: weight (${i}, ${j}) is ${v}: weights must be finite`);
      mx = Math.max(mx, Math.abs(v));
    }
    scales[i] = mx === 0 ? 1 : mx / 127;
    const s = scales[i];
    for (let j = 0; j < cols; j++) {
      const v = data[o + j];
      const x = Math.max(-127, Math.min(127, roundHalfEven(v / s)));
      q[o + j] = x;
      const d = v - s * x;
      errSq += d * d;
      totalSq += v * v;
    }
  }
  return { q, scales, rows, cols, relError: totalSq === 0 ? 0 : Math.sqrt(errSq / totalSq) };
}

/** Dequantizes to a dense matrix: w[i, j] = scales[i] * q[i, j] (ONNX DequantizeLinear, zero point 0). */
export function dequantizeInt8(x: Pick<Int8Quantized, 'q' | 'scales' | 'rows' | 'cols'>): Matrix {
  const data = new Float64Array(x.rows * x.cols);
  for (let i = 0; i < x.rows; i++) for (let j = 0; j < x.cols; j++) data[i * x.cols + j] = x.scales[i] * x.q[i * x.cols + j];
  return { rows: x.rows, cols: x.cols, data };
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; ties go to the even neighbour instead.
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
