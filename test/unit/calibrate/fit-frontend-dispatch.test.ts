/**
 * The calibration fits beyond the roofline: the front end's own throughput, the fixed
 * cost of a partition run, and the whole fit of node-calibrate.ts on synthetic
 * measurements made from known figures (they must come back), plus the profile that
 * carries them (schema 2, schema 1 still read) changing an estimate by the hand-computed
 * amount.
 */
import { describe, expect, it } from 'vitest';
import { fitDispatchMs, fitFrontendThroughput, fitRoofline, predictMs, type FitSample, type RooflineParams } from '../../../engine/calibrate/fit';
import { fitMeasurements, type CalibrationMeasurements } from '../../../engine/calibrate/node-calibrate';
import { applyProfile, profileSettingsText } from '../../../engine/calibrate/profile';
import { parseDeviceProfile, formatDeviceProfile, PROFILE_KIND, PROFILE_SCHEMA_VERSION, type DeviceProfile } from '../../../runtime/device-profile';
import { mulberry32 } from '../../../engine/compress/random';
import { opBytes } from '../../../engine/cost-model';
import { estimatePipeline } from '../../../engine/estimate';
import { ONE_PROCESSOR, specOf } from '../engine/spec-of';

const PARAMS: RooflineParams = { computeMacsPerS: 3e9, bandwidthBytesPerS: 5e9, overheadMs: 0.01 };

function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}

/** Front-end-like ops: a compute-bound FFT, a memory-bound framing copy, small element-wise steps. */
const FRONT_PARTS = [
  { macs: 39200, bytes: 313600 },
  { macs: 1105000, bytes: 360000 },
  { macs: 50000, bytes: 232000 },
  { macs: 3920, bytes: 31360 },
  { macs: 7840, bytes: 31680 },
];

describe('fitFrontendThroughput', () => {
  it('recovers a known front-end throughput exactly from one measurement', () => {
    for (const frontend of [2e8, 7e8, 2.5e9]) {
      const measuredMs = predictMs({ ...PARAMS, computeMacsPerS: frontend }, { macs: 0, bytes: 0, parts: FRONT_PARTS });
      const fit = fitFrontendThroughput([{ macs: 0, bytes: 0, parts: FRONT_PARTS, measuredMs }], PARAMS);
      expect(fit.identified).toBe(true);
      expect(relErr(fit.frontendMacsPerS, frontend)).toBeLessThan(1e-9);
      expect(Math.abs(fit.residuals[0])).toBeLessThan(1e-9);
    }
  });

  it('takes the median over noisy measurements with descheduled runs', () => {
    const rng = mulberry32(3);
    const truth = 6e8;
    const exact = predictMs({ ...PARAMS, computeMacsPerS: truth }, { macs: 0, bytes: 0, parts: FRONT_PARTS });
    const samples: FitSample[] = Array.from({ length: 31 }, (_, i) => ({ macs: 0, bytes: 0, parts: FRONT_PARTS, measuredMs: exact * (1 + 0.04 * (2 * rng() - 1)) * (i % 7 === 0 ? 8 : 1) }));
    const fit = fitFrontendThroughput(samples, PARAMS);
    expect(relErr(fit.frontendMacsPerS, truth)).toBeLessThan(0.05);
  });

  it('flags a front end that memory and overhead already explain, with a bound that over-predicts nothing less', () => {
    const floorMs = FRONT_PARTS.reduce((a, p) => a + PARAMS.overheadMs + (p.bytes / PARAMS.bandwidthBytesPerS) * 1000, 0);
    const fit = fitFrontendThroughput([{ macs: 0, bytes: 0, parts: FRONT_PARTS, measuredMs: floorMs * 0.9 }], PARAMS);
    expect(fit.identified).toBe(false);
    expect(fit.residuals[0]).toBeGreaterThan(0);
    // Every part is memory-bound at the bound: the prediction is the floor itself.
    expect(relErr(predictMs({ ...PARAMS, computeMacsPerS: fit.frontendMacsPerS }, { macs: 0, bytes: 0, parts: FRONT_PARTS }), floorMs)).toBeLessThan(1e-9);
  });

  it('gives clear errors for bad input', () => {
    expect(() => fitFrontendThroughput([], PARAMS)).toThrow(/no front-end measurement/);
    expect(() => fitFrontendThroughput([{ macs: 10, bytes: 10, measuredMs: 0 }], PARAMS)).toThrow(/positive number of milliseconds/);
    expect(() => fitFrontendThroughput([{ macs: 0, bytes: 10, measuredMs: 1 }], PARAMS)).toThrow(/no MACs/);
  });
});

describe('fitDispatchMs', () => {
  it('recovers a known cost per partition run, robust to descheduled windows', () => {
    const rng = mulberry32(5);
    const windows = Array.from({ length: 41 }, (_, i) => {
      const opsMs = 2 + rng();
      const partitions = 1 + (i % 3);
      const slow = i % 9 === 4 ? 6 : 0;
      return { measuredMs: opsMs + 0.35 * partitions + slow, opsMs, partitions };
    });
    const fit = fitDispatchMs(windows);
    expect(fit.dispatchMs).toBeCloseTo(0.35, 12);
    expect(fit.perSampleMs.length).toBe(41);
    const noisy = fitDispatchMs(windows.map((w) => ({ ...w, measuredMs: w.measuredMs + 0.02 * (2 * rng() - 1) })));
    expect(Math.abs(noisy.dispatchMs - 0.35)).toBeLessThan(0.02);
  });

  it('clamps at zero and refuses bad input', () => {
    expect(fitDispatchMs([{ measuredMs: 1, opsMs: 1.2, partitions: 1 }]).dispatchMs).toBe(0);
    expect(() => fitDispatchMs([])).toThrow(/no whole-window measurement/);
    expect(() => fitDispatchMs([{ measuredMs: Number.NaN, opsMs: 1, partitions: 1 }])).toThrow(/window 0 .* finite and non-negative/);
    expect(() => fitDispatchMs([{ measuredMs: 1, opsMs: 1, partitions: 0 }])).toThrow(/positive integer/);
  });
});

describe('fitRoofline weighting', () => {
  it('recovers exact parameters with time weighting too, and follows the big op when one op breaks the roofline', () => {
    const rng = mulberry32(9);
    const ops = Array.from({ length: 12 }, (_, i) => {
      const bytes = 2000 + Math.round(100000 * rng());
      return { macs: i % 2 ? bytes * 4 : Math.round(bytes / 4), bytes };
    });
    const exact = ops.map((o) => ({ ...o, measuredMs: predictMs(PARAMS, o) }));
    const fit = fitRoofline(exact, { weighting: 'time' });
    expect(relErr(fit.computeMacsPerS, PARAMS.computeMacsPerS)).toBeLessThan(1e-6);
    expect(relErr(fit.bandwidthBytesPerS, PARAMS.bandwidthBytesPerS)).toBeLessThan(1e-6);
    expect(relErr(fit.overheadMs, PARAMS.overheadMs)).toBeLessThan(1e-6);
    // A memory-bound op 50x larger, whose weights stream from DRAM at half the cached rate.
    const big = { macs: 1.25e6, bytes: 5e6 };
    const samples = [...exact, { ...big, measuredMs: PARAMS.overheadMs + (2 * big.bytes * 1000) / PARAMS.bandwidthBytesPerS }];
    const total = samples.reduce((a, s) => a + s.measuredMs, 0);
    const sumError = (f: RooflineParams): number => Math.abs(samples.reduce((a, s) => a + predictMs(f, s), 0) - total) / total;
    expect(sumError(fitRoofline(samples, { weighting: 'time' }))).toBeLessThan(sumError(fitRoofline(samples)) / 2);
  });
});

/** A pipeline on one host-like processor, with compute-bound convolutions and memory-bound dense layers. */
const PIPELINE = `
  pipeline Synth {
    input audio { rate 16 kHz  window 1 s }
    features { frames 25 ms hop 10 ms  logmel 40 bands  normalize }
    shared enc { conv1d 32 kernel 5 relu  conv1d 32 kernel 3 relu  flatten  dense 64 relu }
    head a from enc { dense 32 relu  dense 4 softmax }
    head b from enc { dense 16 relu  dense 3 softmax }
    target Box
  }
  device Box {
    processor cpu { compute 1 GMAC/s  memory 1 GB  bandwidth 1 GB/s  power 1000 mW  overhead 0.001 ms }
  }`;

describe('fitMeasurements on synthetic measurements', () => {
  const FRONTEND = 4e8;
  const DISPATCH_MS = 0.45;

  /** Measurements made by the cost model itself from known figures, with descheduled windows. */
  async function synthetic(): Promise<{ spec: Awaited<ReturnType<typeof specOf>>; m: CalibrationMeasurements; windowMs: number }> {
    const spec = await specOf(PIPELINE);
    const ir = estimatePipeline(spec).ir;
    const opMs = (o: (typeof ir.ops)[number], compute: number): number => (o.noop ? 0 : predictMs({ ...PARAMS, computeMacsPerS: compute }, { macs: o.macs, bytes: opBytes(o) }));
    const frontMs = ir.ops.filter((o) => o.block === 'features').reduce((a, o) => a + opMs(o, FRONTEND), 0);
    const runs = 21;
    const layerMs: Record<string, number[]> = {};
    let kernelsMs = 0;
    for (const [id, ids] of Object.entries(ir.layerOps)) {
      const ms = ids.reduce((a, opId) => a + opMs(ir.ops.find((o) => o.id === opId)!, PARAMS.computeMacsPerS), 0);
      kernelsMs += ms;
      // One descheduled run per layer, at different windows: medians ignore them.
      layerMs[id] = Array.from({ length: runs }, (_, i) => (i === id.length % runs ? ms * 20 : ms));
    }
    const windowMs = frontMs + kernelsMs + DISPATCH_MS;
    const m: CalibrationMeasurements = {
      pipeline: spec.name,
      device: spec.target.name,
      processor: 'cpu',
      runtime: 'synthetic',
      runs,
      partitions: 1,
      ranks: {},
      featuresCpuMs: Array.from({ length: runs }, (_, i) => (i === 3 ? frontMs * 5 : frontMs)),
      windowCpuMs: Array.from({ length: runs }, (_, i) => (i === 3 ? windowMs + 4 * frontMs : i === 7 ? windowMs * 3 : windowMs)),
      windowWallMs: Array.from({ length: runs }, () => windowMs),
      sessionRunMs: Array.from({ length: runs }, () => kernelsMs + 0.1),
      layerMs,
    };
    return { spec, m, windowMs };
  }

  it('recovers compute, bandwidth, overhead, the front-end throughput and the dispatch cost', async () => {
    const { spec, m, windowMs } = await synthetic();
    const r = fitMeasurements(spec, m);
    const p = r.profile;
    expect([r.fit.computeIdentified, r.fit.bandwidthIdentified, r.frontendFit?.identified]).toEqual([true, true, true]);
    expect(r.outliers).toEqual([]);
    expect(relErr(p.computeMacsPerS, PARAMS.computeMacsPerS)).toBeLessThan(1e-6);
    expect(relErr(p.bandwidthBytesPerS, PARAMS.bandwidthBytesPerS)).toBeLessThan(1e-6);
    expect(relErr(p.overheadMs, PARAMS.overheadMs)).toBeLessThan(1e-6);
    expect(relErr(p.frontendMacsPerS!, FRONTEND)).toBeLessThan(1e-6);
    expect(Math.abs(p.dispatchMs! - DISPATCH_MS)).toBeLessThan(1e-9);
    expect(p.schemaVersion).toBe(PROFILE_SCHEMA_VERSION);
    // The estimate with the fitted profile reproduces the (median) window.
    expect(relErr(r.endToEnd.afterMs, windowMs)).toBeLessThan(1e-6);
    expect(relErr(r.endToEnd.measuredMs, windowMs)).toBeLessThan(1e-12);
    expect(r.rows.find((x) => x.id === 'dispatch')!.afterMs).toBeCloseTo(DISPATCH_MS, 9);
    // Fitting on a subset of windows works the same; bad subsets are refused.
    expect(Math.abs(fitMeasurements(spec, m, { windows: [0, 2, 4, 6, 8] }).profile.dispatchMs! - DISPATCH_MS)).toBeLessThan(1e-9);
    expect(() => fitMeasurements(spec, m, { windows: [0, 99] })).toThrow(/indices from 0 to 20/);
    expect(() => fitMeasurements({ ...spec, name: 'Other' }, m)).toThrow(/measurements are of pipeline Synth, not Other/);
  });
});

describe('profiles with the new figures', () => {
  const base: DeviceProfile = {
    schemaVersion: 2,
    kind: PROFILE_KIND,
    device: 'T',
    processor: 'cpu',
    measuredAt: '2026-01-01T00:00:00.000Z',
    machine: { cpu: 'test', runtime: 'test' },
    fitted: true,
    computeMacsPerS: 1e9,
    bandwidthBytesPerS: 1e12,
    overheadMs: 0,
    samples: [],
  };
  const TEXT = ONE_PROCESSOR;

  it('change the estimate by the hand-computed amount', async () => {
    const spec = await specOf(TEXT);
    // Front end 4 x 300 + 2 x 6 = 1212 MACs; layers 56 + 18 = 74 MACs. Bandwidth 1 TB/s: bytes cost < 1e-5 ms, below compute.
    const v1 = estimatePipeline(applyProfile(spec, base));
    const v2 = estimatePipeline(applyProfile(spec, { ...base, frontendMacsPerS: 1e7, dispatchMs: 0.2 }));
    expect(v1.endToEndLatencyMs).toBeCloseTo(((1212 + 74) / 1e9) * 1000, 12);
    expect(v2.endToEndLatencyMs).toBeCloseTo((1212 / 1e7) * 1000 + (74 / 1e9) * 1000 + 0.2, 12);
    expect(v2.endToEndLatencyMs - v1.endToEndLatencyMs).toBeCloseTo(0.1212 - 0.001212 + 0.2, 12);
    expect(v2.energyPerInferenceMj - v1.energyPerInferenceMj).toBeCloseTo(100 * (0.1212 - 0.001212 + 0.2) * 1e-3, 12);
  });

  it('written as .sense settings, estimate as the profile does', async () => {
    const fitted = { ...base, computeMacsPerS: 1.5e9, bandwidthBytesPerS: 8e9, overheadMs: 0.0025, frontendMacsPerS: 1e7, dispatchMs: 0.2 };
    const settings = profileSettingsText(fitted);
    expect(settings).toBe('compute 1.500 GMAC/s  bandwidth 8.000 GB/s  overhead 2.50 us  frontend 0.010 GMAC/s  dispatch 200.0 us');
    const written = await specOf(TEXT.replace('compute 1 GMAC/s', settings));
    const viaProfile = estimatePipeline(applyProfile(await specOf(TEXT), fitted));
    const viaText = estimatePipeline(written);
    expect(viaText.endToEndLatencyMs).toBeCloseTo(viaProfile.endToEndLatencyMs, 12);
    expect(viaText.energyPerInferenceMj).toBeCloseTo(viaProfile.energyPerInferenceMj, 12);
    expect(profileSettingsText(base)).toBe('compute 1.000 GMAC/s  bandwidth 1000.000 GB/s  overhead 0.00 us');
  });

  it('round-trip through JSON; schema 1 files still read and apply without them', async () => {
    const withFields = { ...base, frontendMacsPerS: 1e7, dispatchMs: 0.2 };
    expect(parseDeviceProfile(formatDeviceProfile(withFields), 'p.json')).toEqual(withFields);
    const v1 = parseDeviceProfile(JSON.stringify({ ...base, schemaVersion: 1 }), 'old.json');
    expect(v1.frontendMacsPerS).toBeUndefined();
    expect(v1.dispatchMs).toBeUndefined();
    const spec = await specOf(TEXT);
    // A schema 1 profile replaces the processor's figures as one fit: no front-end figure, no dispatch left over.
    const tuned = { ...spec, target: { ...spec.target, processors: spec.target.processors.map((p) => ({ ...p, frontendMacsPerS: 1, dispatchMs: 9 })) } };
    const cpu = applyProfile(tuned, v1).target.processors[0];
    expect(cpu.frontendMacsPerS).toBeUndefined();
    expect(cpu.dispatchMs).toBeUndefined();
    expect(() => parseDeviceProfile(JSON.stringify({ ...base, frontendMacsPerS: 0 }), 'bad.json')).toThrow(/bad\.json: frontendMacsPerS must be positive/);
    expect(() => parseDeviceProfile(JSON.stringify({ ...base, dispatchMs: -1 }), 'bad.json')).toThrow(/bad\.json: dispatchMs must be non-negative/);
  });
});
