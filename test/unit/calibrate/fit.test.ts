/**
 * The roofline fit on synthetic data with known parameters: exact data gives them back,
 * noisy data comes close, outliers are rejected, unidentifiable parameters are flagged,
 * and bad samples get clear errors.
 */
import { describe, expect, it } from 'vitest';
import { fitRoofline, predictMs, type FitSample, type RooflineParams } from '../../../engine/calibrate/fit';
import { mulberry32 } from '../../../engine/compress/random';

const TRUE: RooflineParams = { computeMacsPerS: 8e9, bandwidthBytesPerS: 12e9, overheadMs: 0.004 };

/** Ops like a small DNN's: GEMVs (memory-bound), convolutions and FFTs (compute-bound), tiny element-wise ops. */
function syntheticOps(n: number, seed: number): { macs: number; bytes: number }[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => {
    const size = 10 ** (2 + 5 * rng());
    // Intensity from 0.05 to 50 MACs per byte: both sides of the ridge (8e9 / 12e9 = 0.67).
    const intensity = 10 ** (-1.3 + 3 * ((i * 0.618 + rng() * 0.1) % 1));
    return { macs: Math.round(size * intensity), bytes: Math.round(size) };
  });
}

function measure(ops: { macs: number; bytes: number }[], params: RooflineParams, noise: number, seed: number): FitSample[] {
  const rng = mulberry32(seed);
  return ops.map((o) => ({ ...o, measuredMs: predictMs(params, o) * (1 + noise * (2 * rng() - 1)) }));
}

function relErr(a: number, b: number): number {
  return Math.abs(a - b) / b;
}

describe('fitRoofline', () => {
  it('recovers the parameters from exact measurements', () => {
    const fit = fitRoofline(measure(syntheticOps(40, 1), TRUE, 0, 2));
    expect(relErr(fit.computeMacsPerS, TRUE.computeMacsPerS)).toBeLessThan(1e-6);
    expect(relErr(fit.bandwidthBytesPerS, TRUE.bandwidthBytesPerS)).toBeLessThan(1e-6);
    expect(relErr(fit.overheadMs, TRUE.overheadMs)).toBeLessThan(1e-6);
    expect(fit.outliers).toEqual([]);
    expect(fit.computeIdentified && fit.bandwidthIdentified).toBe(true);
    expect(fit.medianAbsRelError).toBeLessThan(1e-9);
  });

  it('recovers other parameters too (overhead-dominated small ops, slow compute)', () => {
    const params = { computeMacsPerS: 4e8, bandwidthBytesPerS: 3e9, overheadMs: 0.05 };
    const fit = fitRoofline(measure(syntheticOps(30, 5), params, 0, 6));
    expect(relErr(fit.computeMacsPerS, params.computeMacsPerS)).toBeLessThan(1e-6);
    expect(relErr(fit.bandwidthBytesPerS, params.bandwidthBytesPerS)).toBeLessThan(1e-6);
    expect(relErr(fit.overheadMs, params.overheadMs)).toBeLessThan(1e-6);
  });

  it('comes within a few percent under 5 % measurement noise', () => {
    const fit = fitRoofline(measure(syntheticOps(60, 3), TRUE, 0.05, 4));
    expect(relErr(fit.computeMacsPerS, TRUE.computeMacsPerS)).toBeLessThan(0.05);
    expect(relErr(fit.bandwidthBytesPerS, TRUE.bandwidthBytesPerS)).toBeLessThan(0.05);
    expect(Math.abs(fit.overheadMs - TRUE.overheadMs)).toBeLessThan(0.002);
  });

  it('rejects outliers (a descheduled run 5-20x slower) and still recovers the parameters', () => {
    const samples = measure(syntheticOps(50, 7), TRUE, 0.02, 8);
    const bad = [3, 11, 19, 27, 35, 44];
    bad.forEach((i, k) => (samples[i] = { ...samples[i], measuredMs: samples[i].measuredMs * (5 + 3 * k) }));
    const fit = fitRoofline(samples);
    expect(relErr(fit.computeMacsPerS, TRUE.computeMacsPerS)).toBeLessThan(0.05);
    expect(relErr(fit.bandwidthBytesPerS, TRUE.bandwidthBytesPerS)).toBeLessThan(0.05);
    expect(fit.outliers).toEqual(bad);
    // The plain least-squares fit (no reweighting) of the same data is further off: the rejection matters.
    const plain = fitRoofline(samples, { iterations: 0 });
    const worst = (f: RooflineParams): number => Math.max(relErr(f.computeMacsPerS, TRUE.computeMacsPerS), relErr(f.bandwidthBytesPerS, TRUE.bandwidthBytesPerS));
    expect(worst(fit)).toBeLessThan(worst(plain) / 2);
    expect(plain.outliers).toEqual([]);
  });

  it('fits samples that cover several ops (a layer of two factors, a partition)', () => {
    const ops = syntheticOps(60, 9);
    const samples: FitSample[] = [];
    for (let i = 0; i < ops.length; i += 3) {
      const parts = ops.slice(i, i + (i % 2 ? 3 : 1));
      samples.push({ macs: parts.reduce((s, p) => s + p.macs, 0), bytes: parts.reduce((s, p) => s + p.bytes, 0), parts, measuredMs: parts.reduce((s, p) => s + predictMs(TRUE, p), 0) });
    }
    const fit = fitRoofline(samples);
    expect(relErr(fit.computeMacsPerS, TRUE.computeMacsPerS)).toBeLessThan(1e-3);
    expect(relErr(fit.bandwidthBytesPerS, TRUE.bandwidthBytesPerS)).toBeLessThan(1e-3);
  });

  it('flags compute as not identified when every op is memory-bound, with a bound that fits the data', () => {
    const ops = syntheticOps(30, 11).map((o) => ({ macs: Math.round(o.bytes * 0.1), bytes: o.bytes }));
    const samples = measure(ops, TRUE, 0, 1);
    const fit = fitRoofline(samples);
    expect(fit.computeIdentified).toBe(false);
    expect(fit.bandwidthIdentified).toBe(true);
    expect(relErr(fit.bandwidthBytesPerS, TRUE.bandwidthBytesPerS)).toBeLessThan(1e-6);
    expect(fit.computeMacsPerS).toBeLessThanOrEqual(TRUE.computeMacsPerS);
    for (const s of samples) expect(relErr(predictMs(fit, s), s.measuredMs)).toBeLessThan(1e-6);
  });

  it('gives clear errors for bad samples and never returns NaN', () => {
    const good = measure(syntheticOps(5, 1), TRUE, 0, 1);
    expect(() => fitRoofline(good.slice(0, 2))).toThrow(/at least 3 measured samples/);
    expect(() => fitRoofline([...good, { macs: 1, bytes: 1, measuredMs: Number.NaN }], { names: ['a', 'b', 'c', 'd', 'e', 'layer x.1'] })).toThrow(/layer x\.1 has measured latency NaN/);
    expect(() => fitRoofline([...good, { macs: 1, bytes: 1, measuredMs: 0 }])).toThrow(/must be a positive number/);
    expect(() => fitRoofline([...good, { macs: -5, bytes: 1, measuredMs: 1 }])).toThrow(/finite and non-negative/);
    expect(() => fitRoofline([...good, { macs: Number.POSITIVE_INFINITY, bytes: 1, measuredMs: 1 }])).toThrow(/finite and non-negative/);
    expect(() => fitRoofline([0, 1, 2].map(() => ({ macs: 0, bytes: 0, measuredMs: 1 })))).toThrow(/timings only/);
    // Latency that does not grow with the work: only the overhead is determined, and the error says what to do.
    expect(() => fitRoofline([1, 2, 3, 4].map((k) => ({ macs: 1000 * k, bytes: 4000 * k, measuredMs: 1 })))).toThrow(/overhead alone; profile larger ops/);
    // With the catalog figures as a prior, the same data fit the overhead and keep the prior's compute and bandwidth.
    const prior = { computeMacsPerS: 1e10, bandwidthBytesPerS: 2e10, overheadMs: 0 };
    const flatFit = fitRoofline([1, 2, 3, 4].map((k) => ({ macs: 1000 * k, bytes: 4000 * k, measuredMs: 1 })), { prior });
    expect([flatFit.computeMacsPerS, flatFit.bandwidthBytesPerS, flatFit.computeIdentified, flatFit.bandwidthIdentified]).toEqual([1e10, 2e10, false, false]);
    expect(flatFit.overheadMs).toBeGreaterThan(0.99);
    expect(flatFit.overheadMs).toBeLessThan(1);
    const noisy = fitRoofline([1, 2, 3, 4, 5].map((k) => ({ macs: 1000 * k, bytes: 4000 * k, measuredMs: 1 + 0.01 * k })));
    for (const v of [noisy.computeMacsPerS, noisy.bandwidthBytesPerS, noisy.overheadMs, ...noisy.residuals]) expect(Number.isFinite(v)).toBe(true);
  });
});
