/**
 * Device profiles: bad files get clear errors (never a crash), ONNX Runtime profiles are
 * attributed to layers, and the CLI round trip works: `sense calibrate` on the watch sample
 * writes a profile that `sense estimate --profile` applies, and a bundle's timings-only
 * profile is fitted with `sense calibrate --from`.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main';
import { layerOfNode, parseOrtProfile } from '../../../engine/calibrate/ort-profile';
import { applyProfileToDevice, profileSettingsText } from '../../../engine/calibrate/profile';
import { formatDeviceProfile, parseDeviceProfile, PROFILE_KIND, PROFILE_SCHEMA_VERSION, type DeviceProfile } from '../../../runtime/device-profile';
import type { DeviceSpec } from '../../../language/pipeline-model';

const root = resolve(import.meta.dirname, '../../..');
let work: string;
let sense: string;

const GOOD: DeviceProfile = {
  schemaVersion: 1,
  kind: PROFILE_KIND,
  device: 'host',
  processor: 'cpu',
  measuredAt: '2026-01-01T00:00:00.000Z',
  machine: { cpu: 'Test CPU', runtime: 'onnxruntime-node 1.30.0' },
  computeMacsPerS: 3e9,
  bandwidthBytesPerS: 1e10,
  overheadMs: 0.01,
  samples: [{ op: 'enc.1', macs: 100, bytes: 400, measuredMs: 0.02 }],
};

async function sense_(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sense-calibrate-'));
  copyFileSync(join(root, 'samples/watch/activity.safetensors'), join(work, 'activity.safetensors'));
  // As samples/watch/WEIGHTS.md: the runtime names the barometer axis x.
  let text = readFileSync(join(root, 'samples/watch/activity.sense'), 'utf8').replace('barometer [pressure]', 'barometer [x]');
  // The sample may lack a weights line: add one naming the copied file.
  if (!/^\s*weights /m.test(text)) text = text.replace(/^(\s*)target /m, '$1weights "activity.safetensors"\n$1target ');
  sense = join(work, 'activity.sense');
  writeFileSync(sense, text);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('parseDeviceProfile', () => {
  it('accepts a good profile and round-trips it', () => {
    expect(parseDeviceProfile(formatDeviceProfile(GOOD), 'good.json')).toEqual({ ...GOOD, fitted: true });
  });

  const bad: [string, string, RegExp][] = [
    ['not JSON', '{"kind": ', /bad\.json: not valid JSON/],
    ['an array', '[]', /top level must be an object/],
    ['another kind', JSON.stringify({ ...GOOD, kind: 'sense-bundle' }), /kind must be 'sense-device-profile'/],
    ['a newer schema', JSON.stringify({ ...GOOD, schemaVersion: 9 }), /schema version 9 is newer .* update Sense Studio/],
    ['zero compute', JSON.stringify({ ...GOOD, computeMacsPerS: 0 }), /computeMacsPerS must be positive/],
    ['negative overhead', JSON.stringify({ ...GOOD, overheadMs: -1 }), /overheadMs must be non-negative/],
    ['a string bandwidth', JSON.stringify({ ...GOOD, bandwidthBytesPerS: '10 GB/s' }), /bandwidthBytesPerS must be a number/],
    ['huge numbers', JSON.stringify(GOOD).replace('3000000000', '1e999'), /computeMacsPerS must be finite/],
    ['no machine', JSON.stringify({ ...GOOD, machine: null }), /machine must be an object/],
    ['bad samples', JSON.stringify({ ...GOOD, samples: [{ op: 'x', macs: 1, bytes: 1 }] }), /samples\[0\]\.measuredMs must be a number/],
    ['bad parts', JSON.stringify({ ...GOOD, samples: [{ op: 'x', macs: 1, bytes: 1, measuredMs: 1, parts: [] }] }), /samples\[0\]\.parts must be a non-empty array/],
    ['null', 'null', /top level must be an object/],
  ];
  for (const [what, text, message] of bad) {
    it(`refuses ${what} with a clear error naming the file`, () => {
      expect(() => parseDeviceProfile(text, 'bad.json')).toThrow(message);
      expect(() => parseDeviceProfile(text, 'bad.json')).toThrow(/bad\.json/);
    });
  }

  it('applies to the named processor only, and refuses an unfitted profile or a missing processor', () => {
    const device: DeviceSpec = {
      name: 'host',
      processors: [{ name: 'cpu', computeMacsPerS: 1, memoryBytes: 1, bandwidthBytesPerS: 1, activePowerMw: 5, idlePowerMw: 1, overheadMs: 1, transferPjPerByte: 1, remote: false, sources: [] }],
      links: [],
      defaultProcessor: 'cpu',
      sources: [],
    } as unknown as DeviceSpec;
    const p = applyProfileToDevice(device, GOOD).processors[0];
    expect([p.computeMacsPerS, p.bandwidthBytesPerS, p.overheadMs, p.activePowerMw]).toEqual([3e9, 1e10, 0.01, 5]);
    expect(() => applyProfileToDevice(device, { ...GOOD, processor: 'dsp' }, 'p.json')).toThrow(/p\.json: device host has no processor 'dsp' \(it has cpu\)/);
    expect(() => applyProfileToDevice(device, { ...GOOD, fitted: false }, 'p.json')).toThrow(/timings only; fit it first/);
  });
});

describe('ONNX Runtime profile', () => {
  const ids = new Set(['encoder.1', 'encoder.2', 'head.1']);
  it('maps node names to layers as the exporter and the optimizer name them', () => {
    expect(layerOfNode('Flatten_encoder.1_kernel_time', ids)).toBe('encoder.1');
    expect(layerOfNode('fused Gemm_encoder.2/pre_kernel_time', ids)).toBe('encoder.2');
    expect(layerOfNode('MatMul_encoder.2/svd_hidden_3_kernel_time', ids)).toBe('encoder.2');
    expect(layerOfNode('Softmax_head.1_2_kernel_time', ids)).toBe('head.1');
    expect(layerOfNode('Cast_something_kernel_time', ids)).toBeUndefined();
    // Names ONNX Runtime 1.23 gives the NCHWc nodes of a conv2d and a maxpool on x86 (profile of a 16 x 16 image pipeline).
    expect(layerOfNode('encoder.1_nchwc_kernel_time', ids)).toBe('encoder.1');
    expect(layerOfNode('encoder.2/pre_nchwc_kernel_time', ids)).toBe('encoder.2');
    expect(layerOfNode('ReorderOutput_kernel_time', ids)).toBeUndefined();
  });

  it('sums kernel times per layer and run, and refuses what is not a profile', () => {
    const events = [
      { cat: 'Session', name: 'model_run', ts: 100, dur: 50 },
      { cat: 'Node', name: 'fused Gemm_encoder.2/pre_kernel_time', ts: 110, dur: 20 },
      { cat: 'Node', name: 'Relu_encoder.2_kernel_time', ts: 131, dur: 4 },
      { cat: 'Session', name: 'model_run', ts: 200, dur: 40 },
      { cat: 'Node', name: 'fused Gemm_encoder.2/pre_kernel_time', ts: 205, dur: 30 },
      { cat: 'Node', name: 'Cast_x_kernel_time', ts: 236, dur: 2 },
      { cat: 'Node', name: 'fused Gemm_encoder.2/pre_kernel_time', ts: 500, dur: 99 },
    ];
    const p = parseOrtProfile(JSON.stringify(events), ids, 'p.json');
    expect(p.runs).toBe(2);
    expect(p.runMs).toEqual([0.05, 0.04]);
    expect(p.layers.get('encoder.2')).toEqual([0.024, 0.03]);
    expect(p.layers.get('other')).toEqual([0, 0.002]);
    expect(() => parseOrtProfile('{', ids, 'p.json')).toThrow(/p\.json: not valid JSON/);
    expect(() => parseOrtProfile('{}', ids, 'p.json')).toThrow(/JSON array of trace events/);
  });
});

describe('sense calibrate and sense estimate --profile', () => {
  it('calibrates the watch sample on host, writes a profile that estimate applies', async () => {
    const out = join(work, 'host.json');
    const r = await sense_(['calibrate', sense, '--runs', '5', '--out', out]);
    expect(r.err).not.toMatch(/internal error/);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/end to end \(one window\)\s+measured [\d.]+ ms\s+before [\d.]+ ms \([-+][\d.]+%\)\s+after/);
    for (const layer of ['encoder.1', 'activity.1', 'place.1']) expect(r.out).toMatch(new RegExp(`^${layer.replace('.', '\\.')}\\s+dense`, 'm'));
    const profile = parseDeviceProfile(readFileSync(out, 'utf8'), out);
    // The fitted figures as pasteable .sense settings, the same numbers as the profile file.
    expect(r.out).toContain(`as .sense settings of processor cpu: ${profileSettingsText(profile)}`);
    expect(profile.device).toBe('host');
    expect(profile.processor).toBe('cpu');
    expect(profile.machine.runtime).toMatch(/^onnxruntime-node \d/);
    expect(profile.samples.map((s) => s.op)).toEqual(['features', 'encoder.1', 'encoder.2', 'activity.1', 'transport.1', 'place.1']);

    const plain = JSON.parse((await sense_(['estimate', sense, '--target', 'host', '--json'])).out) as { layers: { layer: string; latencyMs: number }[] };
    const est = await sense_(['estimate', sense, '--target', 'host', '--profile', out, '--json']);
    expect(est.code).toBe(0);
    const calibrated = JSON.parse(est.out) as typeof plain;
    const l = calibrated.layers.find((x) => x.layer === 'encoder.1')!;
    const s = profile.samples.find((x) => x.op === 'encoder.1')!;
    // encoder.1 is the first layer of the one partition, so it also carries the partition's dispatch.
    expect(profile.schemaVersion).toBe(PROFILE_SCHEMA_VERSION);
    // Measured on this machine with 5 runs: under load the medians of the parts can exceed the
    // median window, and the fit then clamps the dispatch cost at 0 (the fit itself is checked
    // on synthetic timings in fit-frontend-dispatch.test.ts), so only its presence is certain here.
    expect(profile.dispatchMs).toBeGreaterThanOrEqual(0);
    expect(l.latencyMs).toBeCloseTo(profile.dispatchMs! + profile.overheadMs + Math.max(s.macs / profile.computeMacsPerS, s.bytes / profile.bandwidthBytesPerS) * 1000, 9);
    const later = calibrated.layers.find((x) => x.layer === 'encoder.2')!;
    const s2 = profile.samples.find((x) => x.op === 'encoder.2')!;
    expect(later.latencyMs).toBeCloseTo(profile.overheadMs + Math.max(s2.macs / profile.computeMacsPerS, s2.bytes / profile.bandwidthBytesPerS) * 1000, 9);
    expect(l.latencyMs).not.toBeCloseTo(plain.layers.find((x) => x.layer === 'encoder.1')!.latencyMs, 9);
  });

  it('gives clear errors for bad profiles and options, never an internal error', async () => {
    const bad = join(work, 'bad.json');
    writeFileSync(bad, '{"kind": "sense-device-profile", "schemaVersion": 1');
    for (const args of [
      ['estimate', sense, '--profile', bad],
      ['estimate', sense, '--profile', join(work, 'missing.json')],
      ['estimate', sense, '--profile'],
      ['estimate', sense, '--profile', join(root, 'package.json')],
      ['calibrate', sense, '--runs', '1'],
      ['calibrate', sense, '--bogus'],
      ['calibrate', sense, '--from', bad],
    ]) {
      const r = await sense_(args);
      expect(r.code, args.join(' ')).toBeGreaterThan(0);
      expect(r.err, args.join(' ')).not.toMatch(/internal error/);
      expect(r.err, args.join(' ')).toMatch(/^sense (estimate|calibrate): /);
    }
    const applied = await sense_(['estimate', sense, '--profile', join(root, 'package.json')]);
    expect(applied.err).toMatch(/kind must be 'sense-device-profile'/);
  });

  it('fits a timings-only profile of a bundle (sense calibrate --from)', async () => {
    const timings: DeviceProfile = {
      schemaVersion: 1,
      kind: PROFILE_KIND,
      device: 'host',
      processor: 'cpu',
      measuredAt: '2026-01-01T00:00:00.000Z',
      machine: { cpu: 'Mozilla/5.0 (Linux; Android 14)', runtime: 'onnxruntime-web 1.23.0 (wasm)' },
      fitted: false,
      computeMacsPerS: 0,
      bandwidthBytesPerS: 0,
      overheadMs: 0,
      runs: 20,
      samples: [
        { op: 'features', macs: 0, bytes: 0, layers: [], measuredMs: 0.2 },
        { op: 'p0', macs: 0, bytes: 0, layers: ['encoder.1', 'encoder.2'], measuredMs: 0.05 },
        { op: 'p1', macs: 0, bytes: 0, layers: ['activity.1', 'transport.1'], measuredMs: 0.03 },
        { op: 'p2', macs: 0, bytes: 0, layers: ['place.1'], measuredMs: 0.02 },
      ],
      endToEnd: { pipeline: 'WatchActivity', measuredMs: 0.4 },
    };
    const from = join(work, 'timings.json');
    writeFileSync(from, formatDeviceProfile(timings));
    const out = join(work, 'fitted.json');
    const r = await sense_(['calibrate', sense, '--from', from, '--out', out]);
    expect(r.err).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    const fitted = parseDeviceProfile(readFileSync(out, 'utf8'), out);
    expect(fitted.fitted).toBe(true);
    expect(fitted.samples.find((s) => s.op === 'p0')!.macs).toBe(60 * 64 + 64 + 64 * 32 + 32);
    expect(fitted.machine.runtime).toBe('onnxruntime-web 1.23.0 (wasm)');
    // The window's 0.4 ms minus the front end (0.2) and the three session.run (0.1) is the runner's glue, per partition run.
    expect(fitted.dispatchMs).toBeCloseTo(0.1 / 3, 12);
    // Three partitions fit the roofline; the front end gets its own throughput.
    expect(fitted.frontendMacsPerS).toBeGreaterThan(0);
    writeFileSync(from, formatDeviceProfile({ ...timings, samples: [{ op: 'p0', macs: 0, bytes: 0, layers: ['nope.1'], measuredMs: 1 }, ...timings.samples] }));
    const wrong = await sense_(['calibrate', sense, '--from', from]);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/names layer nope\.1, which pipeline WatchActivity does not have/);
  });
});
