/**
 * The kernel predictor (engine/calibrate/kernel-predictor.ts) on synthetic kernels whose
 * true latency is known: a roofline with a cache cliff the correction must learn, the
 * held-out error it records, monotonicity in MACs, coverage, the cost model pricing ops
 * with it (hand arithmetic), and profiles that carry one: good ones apply to their device
 * only, bad ones get clear errors naming the file and field.
 */
import { describe, expect, it } from 'vitest';
import { fitKernelKind, fitKernelPredictor, kernelKindOf, predictKernelMs, predictOp, predictorNotes, withKernelPredictor, heldOutText, type KernelSample } from '../../../engine/calibrate/kernel-predictor';
import { opCost } from '../../../engine/cost-model';
import { applyProfileToDevice } from '../../../engine/calibrate/profile';
import { formatDeviceProfile, KERNEL_PREDICTOR_VERSION, parseDeviceProfile, PROFILE_KIND, PROFILE_SCHEMA_VERSION, type DeviceProfile, type KernelKindModel, type KernelPredictorData } from '../../../runtime/device-profile';
import type { DeviceSpec, ProcessorSpec } from '../../../language/pipeline-model';
import { mulberry32 } from '../../../engine/compress/random';

const PRIOR = { computeMacsPerS: 1e9, bandwidthBytesPerS: 1e10, overheadMs: 0.01 };

/** True latency: 5 us + max(MACs at 4 GMAC/s, bytes at 20 GB/s), and 1.6x slower once the bytes leave a 1 MiB cache. */
function truthMs(macs: number, bytes: number): number {
  const roof = 0.005 + Math.max(macs / 4e6, bytes / 2e7);
  return bytes > 1 << 20 ? roof * 1.6 : roof;
}

/** Dense-like kernels over a grid of widths, with +-3 % multiplicative noise. */
function denseKernels(seed: number): KernelSample[] {
  const rng = mulberry32(seed);
  const widths = [16, 48, 128, 300, 512, 900, 1536, 2048];
  const out: KernelSample[] = [];
  for (const a of widths)
    for (const b of widths) {
      const macs = a * b;
      const bytes = 4 * (a * b + a + b);
      out.push({ kind: 'dense', id: `${a}x${b}`, parts: [{ macs, bytes }], measuredMs: truthMs(macs, bytes) * (1 + 0.06 * (rng() - 0.5)) });
    }
  return out;
}

describe('fitting one kernel kind', () => {
  const samples = denseKernels(7);
  const model = fitKernelKind('dense', samples, { prior: PRIOR });

  it('learns the cache cliff the roofline alone misses, on kernels it never saw', () => {
    const fresh = denseKernels(99).filter((_, i) => i % 5 === 2).map((s) => ({ ...s, parts: s.parts.map((p) => ({ macs: p.macs * 1.3, bytes: p.bytes * 1.3 })) }));
    const err = (m: KernelKindModel): number[] => fresh.map((s) => Math.abs(predictKernelMs(m, s.parts[0].macs, s.parts[0].bytes) - truthMs(s.parts[0].macs, s.parts[0].bytes)) / truthMs(s.parts[0].macs, s.parts[0].bytes));
    const plain = { ...model, correctionLog2Bytes: [], correctionLogFactor: [] };
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    // Measured: 2 % with the correction, 20 % without (one bandwidth for cached and uncached bytes).
    expect(median(err(model))).toBeLessThan(0.05);
    expect(median(err(plain))).toBeGreaterThan(0.1);
  });

  it('has finite coefficients and never predicts less for more MACs', () => {
    for (const v of [model.overheadMs, model.msPerMac, model.msPerByte, ...model.correctionLog2Bytes, ...model.correctionLogFactor]) expect(Number.isFinite(v)).toBe(true);
    for (const bytes of [1e3, 1e5, 1e6, 4e6, 3e7]) {
      let last = 0;
      for (let macs = 0; macs <= 1e8; macs = macs * 2 + 100) {
        const ms = predictKernelMs(model, macs, bytes);
        expect(ms).toBeGreaterThanOrEqual(last);
        last = ms;
      }
    }
  });

  it('records its coverage and refuses too few kernels', () => {
    expect(model.minMacs).toBe(16 * 16);
    expect(model.maxBytes).toBe(4 * (2048 * 2048 + 4096));
    expect(() => fitKernelKind('gru', samples.slice(0, 2), { prior: PRIOR })).toThrow(/kernel kind gru has 2 measured kernels; at least 3/);
    // A front-end step is measured whole but priced op by op: its coverage is of the ops.
    const steps = [1, 2, 4].map((f) => ({ kind: 'features/spectral', id: `s${f}`, parts: [{ macs: 1000 * f, bytes: 4000 * f }, { macs: 10 * f, bytes: 400 * f }], measuredMs: 0.01 * f }));
    const spectral = fitKernelKind('features/spectral', steps, { prior: PRIOR });
    expect([spectral.minMacs, spectral.maxMacs, spectral.minBytes, spectral.maxBytes]).toEqual([10, 4000, 400, 16000]);
  });
});

describe('the whole predictor', () => {
  const conv = denseKernels(3).map((s) => ({ ...s, kind: 'conv1d', measuredMs: s.measuredMs * 0.5 }));
  const tiny = [0, 1].map((i) => ({ kind: 'lstm', id: `l${i}`, parts: [{ macs: 100, bytes: 100 }], measuredMs: 0.01 }));
  const predictor = fitKernelPredictor([...denseKernels(5), ...conv, ...tiny], { prior: PRIOR });

  it('fits each kind with enough kernels and records the held-out error', () => {
    expect(Object.keys(predictor.kinds).sort()).toEqual(['conv1d', 'dense']);
    // A quarter of 2 x 64 kernels held out.
    expect(predictor.heldOut.kernels).toBe(32);
    expect(predictor.heldOut.medianAbsErrorPct).toBeGreaterThan(0);
    expect(predictor.heldOut.medianAbsErrorPct).toBeLessThan(10);
    expect(predictor.heldOut.p90AbsErrorPct).toBeGreaterThanOrEqual(predictor.heldOut.medianAbsErrorPct);
    expect(heldOutText(predictor)).toMatch(/^±\d+\.\d% on held-out kernels \(median of 32; 90% within ±\d+\.\d%; \d+% within ±10%\)$/);
    // The same kernels at half the time: the conv1d model predicts half the dense one.
    expect(predictKernelMs(predictor.kinds.conv1d, 1e6, 4e6) / predictKernelMs(predictor.kinds.dense, 1e6, 4e6)).toBeCloseTo(0.5, 1);
  });

  it('names kernel kinds as the suite measures them', () => {
    expect(kernelKindOf({ kind: 'fft', placementKey: 'features' })).toBe('features/spectral');
    expect(kernelKindOf({ kind: 'dct', placementKey: 'features' })).toBe('features/spectral');
    expect(kernelKindOf({ kind: 'stats', placementKey: 'features' })).toBe('features/stats');
    expect(kernelKindOf({ kind: 'svd-in', placementKey: 'enc.1', supportKinds: ['dense'] })).toBe('dense');
    expect(kernelKindOf({ kind: 'svd-out', placementKey: 'enc.1', supportKinds: ['conv1d', 'relu'] })).toBe('conv1d');
    expect(kernelKindOf({ kind: 'gru', placementKey: 'enc.2' })).toBe('gru');
  });

  it('says when an op lies outside what the suite measured', () => {
    expect(predictOp(predictor, { kind: 'dense' }, 1e5, 4e5)?.covered).toBe(true);
    expect(predictOp(predictor, { kind: 'dense' }, 1e10, 4e10)?.covered).toBe(false);
    expect(predictOp(predictor, { kind: 'lstm' }, 1e5, 4e5)).toBeUndefined();
    const cpu = withKernelPredictor(processor(), predictor);
    const notes = predictorNotes([cpu], [
      { id: 'a.1', kind: 'dense', macs: 1e5, bytes: 4e5, processor: 'cpu' },
      { id: 'a.2', kind: 'dense', macs: 1e10, bytes: 4e10, processor: 'cpu' },
      { id: 'a.3', kind: 'lstm', macs: 1e5, bytes: 4e5, processor: 'cpu' },
    ]);
    expect(notes.accuracy).toEqual([`cpu: kernel predictor ${heldOutText(predictor)}`]);
    expect(notes.outside).toHaveLength(2);
    expect(notes.outside[0]).toMatch(/^a\.2 \(dense\) on cpu: .* outside the suite's dense kernels/);
    expect(notes.outside[1]).toMatch(/^a\.3 \(lstm\) on cpu: the kernel suite measured no lstm kernel/);
  });
});

function processor(): ProcessorSpec {
  return { name: 'cpu', computeMacsPerS: 1e9, memoryBytes: 1e9, bandwidthBytesPerS: 1e10, activePowerMw: 1000, idlePowerMw: 0, sleepPowerMw: 0, wakeEnergyMj: 0, wakeLatencyMs: 0, tailMs: 0, overheadMs: 0.002, transferPjPerByte: 0, remote: false, sources: [] };
}

const HAND: KernelPredictorData = {
  version: KERNEL_PREDICTOR_VERSION,
  kinds: {
    dense: { overheadMs: 0.01, msPerMac: 1e-6, msPerByte: 1e-7, correctionLog2Bytes: [10, 20], correctionLogFactor: [0, Math.log(2)], minMacs: 10, maxMacs: 1e7, minBytes: 100, maxBytes: 1e8, samples: 12, heldOutMedianAbsErrorPct: 4 },
  },
  heldOut: { kernels: 3, medianAbsErrorPct: 4, p90AbsErrorPct: 9, within10: 1 },
};

describe('the cost model with a calibrated processor', () => {
  it('prices an op of a modelled kind by its model, others by the roofline', () => {
    const p = withKernelPredictor(processor(), HAND);
    // 1000 MACs, 1024 bytes (log2 = 10, factor 1): 0.01 + max(0.001, 0.0001024) = 0.011 ms.
    const dense = { kind: 'dense' as const, macs: 1000, weightBytes: 1000, inputBytes: 16, activationBytes: 8, placementKey: 'a.1' };
    expect(opCost(dense, p).latencyMs).toBeCloseTo(0.011, 12);
    // 2^15 bytes: half way between the knots, factor 2^0.5; max(0.001, 0.0032768) = 0.0032768.
    const big = { ...dense, weightBytes: 32768 - 24 };
    expect(opCost(big, p).latencyMs).toBeCloseTo((0.01 + 0.0032768) * Math.SQRT2, 12);
    // A gru op: the processor's roofline, 0.002 + 1000 / 1e9 s.
    expect(opCost({ ...dense, kind: 'gru' }, p).latencyMs).toBeCloseTo(0.002 + 0.001, 12);
    expect(opCost(dense, processor()).latencyMs).toBeCloseTo(0.002 + 0.001, 12);
  });

  it('adds the output term and an unfused activation as their models price them', () => {
    const act: KernelKindModel = { ...HAND.kinds.dense, overheadMs: 0.002, msPerMac: 1e-6, msPerByte: 0, correctionLog2Bytes: [], correctionLogFactor: [] };
    const p = withKernelPredictor(processor(), { ...HAND, kinds: { ...HAND.kinds, activation: act }, outputMsPerByte: 1e-6 });
    const dense = { kind: 'dense' as const, macs: 1000, weightBytes: 1000, inputBytes: 16, activationBytes: 8, placementKey: 'a.1' };
    // 0.011 as above, plus 8 output bytes x 1e-6 ms.
    expect(opCost(dense, p).latencyMs).toBeCloseTo(0.011 + 8e-6, 12);
    // relu is fused into the Gemm: nothing more; softmax runs as a node: 0.002 + 2 elements x 1e-6 ms.
    expect(opCost({ ...dense, supportKinds: ['dense', 'relu'] }, p).latencyMs).toBeCloseTo(0.011 + 8e-6, 12);
    expect(opCost({ ...dense, supportKinds: ['dense', 'softmax'] }, p).latencyMs).toBeCloseTo(0.011 + 8e-6 + 0.002 + 2e-6, 12);
  });
});

const PROFILE: DeviceProfile = {
  schemaVersion: PROFILE_SCHEMA_VERSION,
  kind: PROFILE_KIND,
  device: 'host',
  processor: 'cpu',
  measuredAt: '2026-01-01T00:00:00.000Z',
  machine: { cpu: 'Test CPU', runtime: 'onnxruntime-node 1.30.0' },
  fitted: true,
  computeMacsPerS: 3e9,
  bandwidthBytesPerS: 1e10,
  overheadMs: 0.01,
  samples: [],
  kernelPredictor: HAND,
};

describe('profiles with a kernel predictor', () => {
  const device = (name: string): DeviceSpec => ({ name, processors: [processor()], links: [], defaultProcessor: 'cpu', sources: [] }) as unknown as DeviceSpec;

  it('round-trip, and apply to their own device only', () => {
    expect(parseDeviceProfile(formatDeviceProfile(PROFILE), 'p.json')).toEqual(PROFILE);
    const applied = applyProfileToDevice(device('host'), PROFILE, 'p.json').processors[0];
    expect(opCost({ kind: 'dense', macs: 1000, weightBytes: 1000, inputBytes: 16, activationBytes: 8, placementKey: 'a.1' }, applied).latencyMs).toBeCloseTo(0.011, 12);
    expect(() => applyProfileToDevice(device('snapdragon800'), PROFILE, 'p.json')).toThrow(/p\.json: the profile's kernel predictor was measured on device host, not snapdragon800/);
    // A plain roofline profile re-applied over a calibrated processor removes the predictor.
    const { kernelPredictor: _k, ...plain } = PROFILE;
    const again = applyProfileToDevice({ ...device('host'), processors: [applied] }, plain, 'q.json').processors[0];
    expect(opCost({ kind: 'dense', macs: 3000, weightBytes: 0, inputBytes: 0, activationBytes: 0 }, again).latencyMs).toBeCloseTo(0.01 + 0.001, 12);
  });

  const k = (patch: Record<string, unknown>): string => JSON.stringify({ ...PROFILE, kernelPredictor: { ...HAND, ...patch } });
  const kind = (patch: Record<string, unknown>): string => k({ kinds: { dense: { ...HAND.kinds.dense, ...patch } } });
  const bad: [string, string, RegExp][] = [
    ['another predictor version', k({ version: 2 }), /kernelPredictor\.version 2 is not the version this Sense Studio reads \(1\); calibrate again/],
    ['a NaN figure', kind({ msPerMac: 'NaN' }), /kernelPredictor\.kinds\.dense\.msPerMac must be a number, got "NaN"/],
    ['an infinite figure', kind({ overheadMs: 12345.5 }).replace('12345.5', '1e999'), /kernelPredictor\.kinds\.dense\.overheadMs must be finite/],
    ['a null knot', kind({ correctionLogFactor: [0, null] }), /correctionLogFactor\[1\] must be a finite number, got null/],
    ['knots of two lengths', kind({ correctionLog2Bytes: [10] }), /must have the same length/],
    ['falling knots', kind({ correctionLog2Bytes: [20, 10] }), /correctionLog2Bytes must increase/],
    ['a model of nothing', kind({ overheadMs: 0, msPerMac: 0, msPerByte: 0 }), /predicts 0 ms for every kernel/],
    ['no kinds', k({ kinds: {} }), /kernelPredictor\.kinds is empty/],
    ['a share above 1', k({ heldOut: { ...HAND.heldOut, within10: 3 } }), /heldOut\.within10 must be a share from 0 to 1/],
    ['no held-out figures', k({ heldOut: undefined }), /kernelPredictor\.heldOut must be an object/],
    ['an unfitted profile with a predictor', JSON.stringify({ ...PROFILE, fitted: false }), /a profile with a kernelPredictor must be fitted/],
    ['a newer schema', JSON.stringify({ ...PROFILE, schemaVersion: PROFILE_SCHEMA_VERSION + 1 }), /newer than this Sense Studio reads/],
  ];
  for (const [what, text, message] of bad) {
    it(`refuses ${what} with a clear error naming the file`, () => {
      expect(() => parseDeviceProfile(text, 'bad.json')).toThrow(message);
      expect(() => parseDeviceProfile(text, 'bad.json')).toThrow(/^bad\.json: /);
    });
  }
});
