/**
 * Resampling against scipy.signal.resample_poly (whose filter design runtime/resample.ts
 * reproduces) for the rate pairs clips arrive in, and mono mixdown against numpy's mean.
 * Tolerance: max abs difference < 2e-6 on signals of amplitude up to 0.9 (float32 output
 * rounding plus float32 input); measured about 1e-7 when written.
 */
import { describe, expect, it } from 'vitest';
import { mixdown, resample, toMonoAt } from '../../../runtime/resample';
import { pythonHas, runPython } from '../../support/python';

const REFERENCE = String.raw`
import sys, json, math
import numpy as np, scipy.signal
inp = json.load(sys.stdin)
out = []
for case in inp:
    x = np.array(case['x'], dtype=np.float32).astype(np.float64)
    g = math.gcd(case['from'], case['to'])
    y = scipy.signal.resample_poly(x, case['to'] // g, case['from'] // g)
    out.append(y.tolist())
print(json.dumps(out))
`;

function testSignal(n: number, rateHz: number, seed: number): Float32Array {
  let s = seed;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const t = i / rateHz;
    x[i] = 0.5 * Math.sin(2 * Math.PI * 440 * t) + 0.2 * Math.sin(2 * Math.PI * 0.4 * rateHz * t) + 0.2 * (s / 2 ** 32 - 0.5);
  }
  return x;
}

describe('resample', () => {
  it('has the Python reference modules', () => {
    expect(pythonHas('numpy', 'scipy')).toBe(true);
  });

  it('matches scipy.signal.resample_poly', () => {
    const pairs: [number, number, number][] = [
      [44100, 16000, 4410],
      [48000, 16000, 4801],
      [22050, 16000, 2205],
      [8000, 16000, 803],
      [16000, 8000, 1601],
      [11025, 16000, 1103],
      [16000, 44100, 400],
      [16000, 16000, 100],
      // Coprime rates whose filter (2 097 381 taps) is too long to tabulate: taps are evaluated one by one.
      [16000, 104869, 100],
    ];
    const cases = pairs.map(([from, to, n], i) => ({ from, to, x: Array.from(testSignal(n, from, i + 1)) }));
    const ref = runPython<number[][]>(REFERENCE, cases);
    cases.forEach((c, i) => {
      const ours = resample(Float32Array.from(c.x), c.from, c.to);
      expect(ours.length, `${c.from} -> ${c.to}`).toBe(ref[i].length);
      let maxDiff = 0;
      ours.forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - ref[i][k]))));
      expect(maxDiff, `${c.from} -> ${c.to}`).toBeLessThan(2e-6);
    });
  });

  it('rejects rates that are not positive whole numbers of Hz', () => {
    const x = new Float32Array(10);
    expect(() => resample(x, 0, 16000)).toThrow(/source rate must be a whole number/);
    expect(() => resample(x, 16000, 22050.5)).toThrow(/target rate must be a whole number/);
  });

  it('mixes channels down to their mean and resamples with toMonoAt', () => {
    const a = testSignal(500, 8000, 5);
    const b = testSignal(500, 8000, 9);
    const c = testSignal(500, 8000, 13);
    const ref = runPython<{ mean: number[]; res: number[] }>(
      String.raw`
import sys, json, numpy as np, scipy.signal
a = np.array(json.load(sys.stdin), dtype=np.float32).astype(np.float64)
m = a.mean(0)
print(json.dumps({'mean': m.tolist(), 'res': scipy.signal.resample_poly(m.astype(np.float32).astype(np.float64), 2, 1).tolist()}))`,
      [Array.from(a), Array.from(b), Array.from(c)],
    );
    const m = mixdown([a, b, c]);
    m.forEach((v, i) => expect(Math.abs(v - ref.mean[i])).toBeLessThan(1e-7));
    const r = toMonoAt({ sampleRateHz: 8000, channels: [a, b, c] }, 16000);
    expect(r.length).toBe(ref.res.length);
    r.forEach((v, i) => expect(Math.abs(v - ref.res[i])).toBeLessThan(2e-6));
    expect(mixdown([a])).toBe(a);
    expect(() => mixdown([])).toThrow(/no channel/);
    expect(() => mixdown([a, new Float32Array(3)])).toThrow(/differ in length/);
  });
});
