/**
 * RealFft against numpy: the power spectrum of a windowed, strided, zero-padded frame must
 * equal numpy's abs(rfft(frame, n)) ** 2 for every size from 2 to 2048 (odd and even
 * powers of two, so both the radix-4-only and the radix-4 + radix-2 pass plans run), and
 * for frames shorter than the transform, of odd length, and read with a stride.
 * Tolerance: 1e-12 of the largest bin (float64 throughout; measured 1e-13 when written).
 */
import { describe, expect, it } from 'vitest';
import { RealFft } from '../../../runtime/real-fft';
import { pythonHas, runPython } from '../../support/python';

interface Case {
  size: number;
  frameLen: number;
  offset: number;
  stride: number;
}

const cases: Case[] = [
  { size: 2, frameLen: 2, offset: 0, stride: 1 },
  { size: 2, frameLen: 1, offset: 1, stride: 1 },
  { size: 4, frameLen: 3, offset: 2, stride: 2 },
  { size: 8, frameLen: 8, offset: 0, stride: 1 },
  { size: 16, frameLen: 11, offset: 3, stride: 3 },
  { size: 32, frameLen: 32, offset: 5, stride: 1 },
  { size: 64, frameLen: 50, offset: 0, stride: 4 },
  { size: 128, frameLen: 127, offset: 7, stride: 1 },
  { size: 256, frameLen: 200, offset: 1, stride: 1 },
  { size: 512, frameLen: 400, offset: 160, stride: 1 },
  { size: 512, frameLen: 400, offset: 3, stride: 98 },
  { size: 1024, frameLen: 1024, offset: 0, stride: 1 },
  { size: 2048, frameLen: 1500, offset: 9, stride: 1 },
];

const PY = String.raw`
import sys, json
import numpy as np
out = []
for c in json.load(sys.stdin):
    src = np.array(c['src'], dtype=np.float64)
    w = np.array(c['window'], dtype=np.float64)
    frame = src[c['offset'] + c['stride'] * np.arange(len(w))] * w
    out.append((np.abs(np.fft.rfft(frame, c['size'])) ** 2).tolist())
print(json.dumps(out))
`;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

describe('RealFft.windowedPowerSpectrum', () => {
  it('has the Python reference module', () => {
    expect(pythonHas('numpy')).toBe(true);
  });

  it('matches numpy abs(rfft) ** 2 for sizes 2 to 2048, short, odd and strided frames', () => {
    const rand = lcg(7);
    const inputs = cases.map((c) => ({
      ...c,
      src: Array.from({ length: c.offset + c.stride * (c.frameLen - 1) + 1 }, rand),
      window: Array.from({ length: c.frameLen }, () => 0.5 + rand()),
    }));
    const ref = runPython<number[][]>(PY, inputs);
    expect(ref.length).toBe(cases.length);
    inputs.forEach((c, n) => {
      const fft = new RealFft(c.size);
      const power = new Float64Array(c.size / 2 + 1);
      // Run twice: the second call must not see state left by the first.
      fft.windowedPowerSpectrum(Float64Array.from(c.src), c.offset, c.stride, Float64Array.from(c.window), power);
      fft.windowedPowerSpectrum(Float64Array.from(c.src), c.offset, c.stride, Float64Array.from(c.window), power);
      expect(ref[n].length).toBe(power.length);
      const peak = Math.max(...ref[n]);
      let worst = 0;
      ref[n].forEach((r, k) => (worst = Math.max(worst, Math.abs(power[k] - r))));
      expect(worst / peak, `size ${c.size}, frame ${c.frameLen}, stride ${c.stride}`).toBeLessThan(1e-12);
    });
  });

  it('rejects sizes that are not powers of two and frames longer than the transform', () => {
    expect(() => new RealFft(12)).toThrow(/power of two of at least 2, got 12/);
    expect(() => new RealFft(1)).toThrow(/power of two of at least 2, got 1/);
    const fft = new RealFft(8);
    expect(() => fft.windowedPowerSpectrum(new Float64Array(9), 0, 1, new Float64Array(9), new Float64Array(5))).toThrow(/9-sample frame does not fit a 8-point transform/);
  });
});
