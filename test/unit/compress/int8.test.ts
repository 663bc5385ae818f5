import { describe, expect, it } from 'vitest';
import { fromData, fromRows } from '../../../engine/compress/matrix';
import { dequantizeInt8, quantizeInt8 } from '../../../engine/compress/int8';
import { gaussianArray, mulberry32 } from '../../../engine/compress/random';
import { pythonHas, runPython } from '../../support/python';

describe('per-channel symmetric int8 quantization', () => {
  it('matches numpy doing the ONNX arithmetic', () => {
    expect(pythonHas('numpy')).toBe(true);
    const rng = mulberry32(21);
    const W = fromData(37, 53, gaussianArray(rng, 37 * 53));
    for (let j = 0; j < 53; j++) W.data[5 * 53 + j] = 0; // an all-zero channel
    for (let j = 0; j < 53; j++) W.data[6 * 53 + j] *= 1e-3; // a small-scale channel
    const ours = quantizeInt8(W);
    const ref = runPython<{ q: number[]; scales: number[]; relError: number }>(`
import sys, json, numpy as np
d = json.load(sys.stdin)
W = np.array(d['data']).reshape(d['rows'], d['cols'])
mx = np.abs(W).max(axis=1)
scale = np.where(mx == 0, 1.0, mx / 127).astype(np.float32)
q = np.clip(np.rint(W / scale.astype(np.float64)[:, None]), -127, 127).astype(np.int8)
deq = scale.astype(np.float64)[:, None] * q
print(json.dumps({'q': q.ravel().tolist(), 'scales': scale.astype(np.float64).tolist(),
                  'relError': float(np.linalg.norm(W - deq) / np.linalg.norm(W))}))
`, { rows: W.rows, cols: W.cols, data: Array.from(W.data) });
    expect(Array.from(ours.q)).toEqual(ref.q);
    expect(Array.from(ours.scales)).toEqual(ref.scales);
    expect(ours.relError).toBeCloseTo(ref.relError, 12);
    expect(ours.relError).toBeGreaterThan(0);
    const deq = dequantizeInt8(ours);
    expect(deq.data[0]).toBe(ours.scales[0] * ours.q[0]);
  });

  it('rounds ties to even and keeps the extremes at +-127', () => {
    // Row max 127 gives scale 1, so the values are their own quantization inputs.
    const r = quantizeInt8(fromRows([[127, 2.5, -2.5, 3.5, -127, 0.5]]));
    expect(Array.from(r.q)).toEqual([127, 2, -2, 4, -127, 0]);
    expect(r.scales[0]).toBe(1);
  });

  it('rejects non-finite weights', () => {
    expect(() => quantizeInt8(fromRows([[1, Infinity]]))).toThrow(/weight \(0, 1\) is Infinity/);
  });
});
