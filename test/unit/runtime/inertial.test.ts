/**
 * Inertial front end against numpy/scipy: a CSV with jittered timestamps is parsed,
 * interpolated onto the pipeline's rate (np.interp), windowed, and reduced to every
 * statistic (numpy / scipy.stats definitions) or kept raw. Tolerance: 1e-5 relative to
 * max(1, |reference|) (our output is float32). Malformed CSV must throw an Error naming
 * the line; a few thousand random mutations must never throw anything else.
 */
import { describe, expect, it } from 'vitest';
import { featureOutputShape } from '../../../language/feature-shapes';
import type { InputSpec, StatName } from '../../../language/pipeline-model';
import { computeFeatures, computeStat } from '../../../runtime/features';
import { inertialChannels, inertialWindows, parseInertialCsv } from '../../../runtime/inertial';
import { pythonHas, runPython } from '../../support/python';

const ALL_STATS: StatName[] = ['mean', 'std', 'min', 'max', 'median', 'rms', 'energy', 'range', 'skew', 'kurtosis', 'zcr'];

const REFERENCE = String.raw`
import sys, json, io
import numpy as np, scipy.stats
inp = json.load(sys.stdin)
lines = [l for l in inp['csv'].splitlines() if l.strip() and not l.startswith('#')]
head = [h.strip().lower() for h in lines[0].split(',')]
arr = np.array([[float(v) for v, h in zip(l.split(','), head) if h != 'label'] for l in lines[1:]])
cols = {h: arr[:, i] for i, h in enumerate([h for h in head if h != 'label'])}
rate = inp['rate']
t = cols['t']
n = int(np.floor((t[-1] - t[0]) * rate + 1e-9)) + 1
grid = t[0] + np.arange(n) / rate
c = {k: np.interp(grid, t, v) for k, v in cols.items()}
rows = [c['ax'], c['ay'], c['az'], np.sqrt(c['ax']**2 + c['ay']**2 + c['az']**2), c['gz'], c['p']]
rows = [r.astype(np.float32).astype(np.float64) for r in rows]
L = int(round(rate * inp['windowS'])); H = int(round(rate * inp['hopS']))
def stat(name, x):
    if name == 'mean': return x.mean()
    if name == 'std': return x.std()
    if name == 'min': return x.min()
    if name == 'max': return x.max()
    if name == 'median': return np.median(x)
    if name == 'rms': return np.sqrt(np.mean(x * x))
    if name == 'energy': return np.mean(x * x)
    if name == 'range': return np.ptp(x)
    if name == 'skew': return scipy.stats.skew(x)
    if name == 'kurtosis': return scipy.stats.kurtosis(x)
    if name == 'zcr': return np.mean((x[1:] < 0) != (x[:-1] < 0))
out = {'raw': [], 'stats': []}
s = 0
while s + L <= n:
    w = [r[s:s + L] for r in rows]
    out['raw'].append([v for r in w for v in r.tolist()])
    # scipy gives NaN skew/kurtosis for a constant row; runtime/features.ts defines them as 0 there.
    out['stats'].append([0.0 if np.isnan(v) else float(v) for r in w for v in (stat(n_, r) for n_ in inp['stats'])])
    s += H
print(json.dumps(out))
`;

function makeCsv(seconds: number, rateHz: number): string {
  let s = 99;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const lines = ['# phone IMU log, units m/s^2, rad/s, uT, hPa', 'T, ax,ay,az,gx,gy,gz,mx,my,mz,p,label'];
  const n = Math.round(seconds * rateHz);
  let t = 0.013;
  for (let i = 0; i < n; i++) {
    const w = 2 * Math.PI * 1.7 * t;
    const row = [0.3 * Math.sin(w) + 0.2 * (rnd() - 0.5), 0.1 * Math.cos(3 * w) + 0.2 * (rnd() - 0.5), 9.81 + 0.5 * Math.sin(w / 2), rnd(), rnd(), rnd() - 0.5, 20, -5, 40, 1013.25];
    lines.push([t.toFixed(5), ...row.map((v) => v.toFixed(6)), i % 50 < 25 ? 'walk' : 'run'].join(','));
    // Sensor clocks jitter: the interval varies by +-20%.
    t += (1 / rateHz) * (0.8 + 0.4 * rnd());
  }
  return lines.join('\r\n') + '\r\n';
}

const input: Extract<InputSpec, { kind: 'inertial' }> = {
  kind: 'inertial',
  rateHz: 50,
  windowS: 2,
  hopS: 1,
  sensors: [
    { kind: 'accelerometer', axes: ['x', 'y', 'z', 'magnitude'] },
    { kind: 'gyroscope', axes: ['z'] },
    { kind: 'barometer', axes: ['x'] },
  ],
};

describe('inertial front end', () => {
  it('has the Python reference modules', () => {
    expect(pythonHas('numpy', 'scipy')).toBe(true);
  });

  it('computes raw windows and every statistic like numpy/scipy', () => {
    const csv = makeCsv(7, 50);
    const ref = runPython<{ raw: number[][]; stats: number[][] }>(REFERENCE, { csv, rate: 50, windowS: 2, hopS: 1, stats: ALL_STATS });
    const rec = parseInertialCsv(new TextEncoder().encode(csv), 'imu.csv');
    const windows = inertialWindows(rec, input);
    expect(windows.length).toBe(ref.stats.length);
    expect(windows.length).toBeGreaterThanOrEqual(4);
    const statsSteps = [{ kind: 'stats' as const, stats: ALL_STATS }];
    const rawSteps = [{ kind: 'raw' as const }];
    const statsSpec = { steps: statsSteps, outputShape: featureOutputShape(input, statsSteps) };
    const rawSpec = { steps: rawSteps, outputShape: featureOutputShape(input, rawSteps) };
    expect(statsSpec.outputShape).toEqual([6 * 11]);
    expect(rawSpec.outputShape).toEqual([6, 100]);
    const close = (ours: Float32Array, theirs: number[], what: string) => {
      expect(ours.length, what).toBe(theirs.length);
      theirs.forEach((r, i) => expect(Math.abs(ours[i] - r), `${what}[${i}] ours ${ours[i]} numpy ${r}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(r))));
    };
    windows.forEach((w, k) => {
      close(computeFeatures(input, statsSpec, w).data, ref.stats[k], `stats window ${k}`);
      close(computeFeatures(input, rawSpec, w).data, ref.raw[k], `raw window ${k}`);
    });
  });

  it('reads rows as sampled at the pipeline rate when there is no time column', () => {
    const rec = parseInertialCsv('ax,ay,az\n1,2,2\n0,3,4\n', 'x.csv');
    expect(rec.timeS).toBeUndefined();
    const [x, mag] = inertialChannels(rec, { ...input, sensors: [{ kind: 'accelerometer', axes: ['x', 'magnitude'] }] });
    expect(Array.from(x)).toEqual([1, 0]);
    expect(Array.from(mag)).toEqual([3, 5]);
  });

  it('computes zcr and constant-row skew as documented', () => {
    expect(computeStat('zcr', [1, -1, 0, -2, 3])).toBe(1);
    expect(computeStat('zcr', [0, 1, 2])).toBe(0);
    expect(computeStat('skew', [2, 2, 2])).toBe(0);
    expect(computeStat('kurtosis', [7])).toBe(0);
    expect(computeStat('median', [3, 1, 2, 10])).toBe(2.5);
  });

  const bad: [string, string, RegExp][] = [
    ['no header', '', /no header row/],
    ['no known column', 'time,foo\n1,2\n', /line 1: the header names no sensor column/],
    ['duplicate column', 'ax,AX\n1,2\n', /line 1: column 'ax' appears twice/],
    ['no data', '# c\nax,ay\n\n', /no data rows/],
    ['short row', 'ax,ay\n1,2\n3\n', /line 3: 1 fields, but the header has 2/],
    ['not a number', 't,ax\n0,1\n0.1,abc\n', /line 3: column 'ax' holds 'abc', not a finite number/],
    ['empty value', 't,ax\n0,1\n0.1,\n', /line 3: column 'ax' holds '', not a finite number/],
    ['time goes back', 't,ax\n0,1\n0.1,2\n0.05,3\n', /line 4: time 0.05 s does not increase/],
    ['infinite', 'ax\n1e999\n', /line 2: column 'ax' holds '1e999'/],
  ];
  for (const [what, csv, message] of bad) {
    it(`rejects malformed CSV: ${what}`, () => {
      expect(() => parseInertialCsv(csv, 'imu.csv')).toThrow(message);
      expect(() => parseInertialCsv(csv, 'imu.csv')).toThrow(/^imu\.csv/);
    });
  }

  it('names a missing column and a too-short recording', () => {
    const rec = parseInertialCsv('t,ax,ay,az\n0,1,2,3\n0.02,1,2,3\n', 'imu.csv');
    expect(() => inertialChannels(rec, input)).toThrow(/reads the gyroscope z axis but the CSV has no 'gz' column/);
    const acc = { ...input, sensors: [{ kind: 'accelerometer' as const, axes: ['x' as const] }] };
    expect(() => inertialWindows(rec, acc)).toThrow(/2 samples at 50 Hz \(0.040 s\) is shorter than one 2 s window \(100 samples\)/);
    expect(() => inertialChannels(rec, { ...input, sensors: [{ kind: 'barometer', axes: ['y'] }] })).toThrow(/barometer has no y axis/);
  });

  it('survives thousands of random mutations of a valid CSV', () => {
    const full = makeCsv(2.5, 50);
    const seed = full.slice(0, full.indexOf('\n', 3000) + 1);
    let s = 4242;
    const rnd = (n: number) => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s % n;
    };
    const junk = [',', '\n', '\r', '-', 'e', '.', 'nan', '"', '#', ' ', '9', 'Infinity', '\u0000', '1e400'];
    let ok = 0;
    let rejected = 0;
    for (let iter = 0; iter < 3000; iter++) {
      let text = seed;
      const edits = 1 + rnd(5);
      for (let e = 0; e < edits; e++) {
        const at = rnd(text.length + 1);
        const op = rnd(4);
        if (op === 0) text = text.slice(0, at);
        else if (op === 1) text = text.slice(0, at) + junk[rnd(junk.length)] + text.slice(at);
        else if (op === 2) text = text.slice(0, at) + text.slice(at + 1 + rnd(20));
        else text = text.slice(0, at) + String.fromCharCode(rnd(128)) + text.slice(at + 1);
      }
      try {
        const rec = parseInertialCsv(text, 'fuzz.csv');
        const windows = inertialWindows(rec, { ...input, windowS: 0.5, hopS: 0.5 });
        const spec = [{ kind: 'stats' as const, stats: ALL_STATS }];
        const shape = featureOutputShape({ ...input, windowS: 0.5 }, spec);
        for (const w of windows) {
          const f = computeFeatures({ ...input, windowS: 0.5, hopS: 0.5 }, { steps: spec, outputShape: shape }, w);
          // NaN may only come from inf - inf style overflow; the parser admits finite numbers only.
          for (const v of f.data) if (Number.isNaN(v)) throw new Error('NaN feature from finite input');
        }
        ok++;
      } catch (e) {
        expect(e).toBeInstanceOf(Error);
        expect((e as Error).message).toMatch(/^fuzz\.csv/);
        rejected++;
      }
    }
    expect(ok).toBeGreaterThan(50);
    expect(rejected).toBeGreaterThan(50);
  });
});
