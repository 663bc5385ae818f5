/**
 * Behaviour of computeFeatures beyond the torchaudio numbers: the silence flag and level,
 * normalize, stack layout, windowing of clips, and clear errors for inconsistent specs.
 * Expected values are worked out by hand from the documented definitions.
 */
import { describe, expect, it } from 'vitest';
import { featureOutputShape } from '../../../language/feature-shapes';
import type { FeatureStep, InputSpec } from '../../../language/pipeline-model';
import { appendDeltas, audioWindows, computeFeatures } from '../../../runtime/features';

const input: Extract<InputSpec, { kind: 'audio' }> = { kind: 'audio', rateHz: 16000, windowS: 1, hopS: 0.5, channels: 1 };

function sine(amp: number, n = 16000, hz = 440): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / 16000));
}

function spec(steps: FeatureStep[], inp: InputSpec = input) {
  return { steps, outputShape: featureOutputShape(inp, steps) };
}

const logmel: FeatureStep[] = [{ kind: 'silence', thresholdDb: -50 }, { kind: 'frames', lengthS: 0.025, hopS: 0.01 }, { kind: 'logmel', bands: 40, fminHz: 0 }];

describe('computeFeatures', () => {
  it('gives 98 frames of 40 bands for 1 s at 16 kHz and reports the level', () => {
    const r = computeFeatures(input, spec(logmel), sine(0.01));
    expect(r.shape).toEqual([40, 98]);
    expect(r.data.length).toBe(40 * 98);
    // A sine of amplitude A has RMS A / sqrt(2): 20 log10(0.01 / sqrt 2) = -43.01 dBFS.
    expect(r.levelDbfs).toBeCloseTo(-43.01, 2);
    expect(r.silent).toBe(false);
  });

  it('flags a window below the silence threshold, and digital silence', () => {
    const quiet = computeFeatures(input, spec(logmel), sine(0.001));
    expect(quiet.levelDbfs).toBeCloseTo(-63.01, 2);
    expect(quiet.silent).toBe(true);
    const zero = computeFeatures(input, spec(logmel), new Float32Array(16000));
    expect(zero.silent).toBe(true);
    expect(zero.levelDbfs).toBe(-Infinity);
    // ln(0 + 1e-6) everywhere: the floor, never -Infinity.
    for (const v of zero.data) expect(v).toBeCloseTo(Math.log(1e-6), 5);
  });

  it('is not silent without a silence step', () => {
    expect(computeFeatures(input, spec(logmel.slice(1)), new Float32Array(16000)).silent).toBe(false);
  });

  it('normalizes per row with the given stats, and is the identity without them', () => {
    const steps: FeatureStep[] = [...logmel.slice(1), { kind: 'normalize' }];
    const x = sine(0.3);
    const plain = computeFeatures(input, spec(logmel.slice(1)), x);
    expect(computeFeatures(input, spec(steps), x).data).toEqual(plain.data);
    const mean = Array.from({ length: 40 }, (_, i) => -i);
    const std = Array.from({ length: 40 }, (_, i) => 1 + i / 10);
    const n = computeFeatures(input, spec(steps), x, { normalization: { mean, std } });
    for (const [b, t] of [[0, 0], [7, 50], [39, 97]]) expect(n.data[b * 98 + t]).toBeCloseTo((plain.data[b * 98 + t] - mean[b]) / std[b], 4);
    expect(() => computeFeatures(input, spec(steps), x, { normalization: { mean: [0], std: [1] } })).toThrow(/1 means and 1 deviations, but the features have 40 rows/);
    expect(() => computeFeatures(input, spec(steps), x, { normalization: { mean, std: std.map(() => 0) } })).toThrow(/row 0 has mean 0 and std 0; the std must be positive/);
  });

  it('lays out raw frames as [frameLen, frames] and reads them back the same way', () => {
    const x = sine(0.2, 16000, 300).map((v, i) => v + i / 1e5);
    const f = computeFeatures(input, spec([logmel[1]]), x);
    expect(f.shape).toEqual([400, 98]);
    for (const [i, t] of [[0, 0], [399, 0], [17, 50], [399, 97]]) expect(f.data[i * 98 + t]).toBe(x[t * 160 + i]);
    // normalize (identity without stats) between frames and logmel forces the materialised path.
    const direct = computeFeatures(input, spec(logmel.slice(1)), x);
    const viaMatrix = computeFeatures(input, spec([logmel[1], { kind: 'normalize' }, logmel[2]]), x);
    expect(viaMatrix.data).toEqual(direct.data);
  });

  it('stacks consecutive frames: row j*F + f at time t is x[f, t + j]', () => {
    const steps: FeatureStep[] = [...logmel.slice(1), { kind: 'stack', frames: 3 }];
    const x = sine(0.2, 16000, 1000).map((v, i) => v * (1 + i / 16000));
    const base = computeFeatures(input, spec(logmel.slice(1)), x);
    const s = computeFeatures(input, spec(steps), x);
    expect(s.shape).toEqual([120, 96]);
    for (const [j, f, t] of [[0, 0, 0], [1, 5, 10], [2, 39, 95], [2, 0, 0]]) expect(s.data[(j * 40 + f) * 96 + t]).toBe(base.data[f * 98 + t + j]);
  });

  it('computes deltas as compute_deltas(win_length=5) with repeated edges', () => {
    // x = [0, 1, 4, 9, 16], padded [0, 0 | 0, 1, 4, 9, 16 | 16, 16]: d[t] = ((x[t+1] - x[t-1]) + 2 (x[t+2] - x[t-2])) / 10,
    // so d = [(1 + 8) / 10, (4 + 18) / 10, (8 + 32) / 10, (12 + 30) / 10, (7 + 24) / 10].
    const d = appendDeltas({ shape: [1, 5], data: new Float32Array([0, 1, 4, 9, 16]) }, 1);
    expect(d.shape).toEqual([2, 5]);
    expect(Array.from(d.data.subarray(5)).map((v) => +v.toFixed(5))).toEqual([0.9, 2.2, 4, 4.2, 3.1]);
  });

  it('rejects an outputShape that disagrees with the steps, and a wrong window length', () => {
    expect(() => computeFeatures(input, { steps: logmel, outputShape: [40, 97] }, sine(0.1))).toThrow(/declares output shape \[40,97\] but its steps give \[40,98\]/);
    expect(() => computeFeatures(input, spec(logmel), sine(0.1, 15999))).toThrow(/15999 samples but one window at 16000 Hz x 1 s holds 16000/);
    expect(() => computeFeatures(input, { steps: [{ kind: 'logmel', bands: 40, fminHz: 0 }], outputShape: [40, 98] }, sine(0.1))).toThrow(/needs framed audio/);
  });
});

describe('audioWindows', () => {
  it('drops windows that do not fit and pads a clip shorter than one window', () => {
    const clip = new Float32Array(40000).map((_, i) => i);
    expect(audioWindows(clip, input).map((x) => x[0])).toEqual([0, 8000, 16000, 24000]);
    const w = audioWindows(clip.subarray(0, 39999), input);
    expect(w.map((x) => x[0])).toEqual([0, 8000, 16000]);
    expect(w.every((x) => x.length === 16000)).toBe(true);
    const short = audioWindows(new Float32Array(100).fill(1), input);
    expect(short.length).toBe(1);
    expect(short[0].length).toBe(16000);
    expect(short[0][99]).toBe(1);
    expect(short[0][100]).toBe(0);
  });
});
