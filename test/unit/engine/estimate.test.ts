/**
 * The engine's figures checked against hand arithmetic on small pipelines and custom
 * devices written inline. Every expected number is computed here from the formulas in
 * DESIGN.md ("Cost model and device catalog"), not taken from the engine's output.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { estimatePipeline, engineEstimator, objective } from '../../../engine/estimate';
import { IssueCodes } from '../../../language/issue-codes';
import { specOf } from './spec-of';

const close = (actual: number, expected: number, rel = 1e-9): void => {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(expected)));
};

/** A 10 x 10 image every `period` through dense 50 relu and a dense 4 softmax head, on a device T of one processor and a 1000 mAh, 3.7 V battery. */
const twoDenseOn = (period: string, processor: string): string => `
  pipeline P {
    input image { size 10 x 10  channels 1  period ${period} }
    shared enc { flatten  dense 50 relu }
    head h from enc { dense 4 softmax }
    target T
  }
  device T {
    ${processor}
    battery 1000 mAh at 3.7 V
  }`;

describe('one processor', () => {
  it('is compute-bound without a bandwidth: latency = MACs / throughput, energy = power x time', async () => {
    const spec = await specOf(twoDenseOn('1 s', 'processor cpu { compute 1 GMAC/s  memory 64 MB  power 100 mW }'));
    const e = estimatePipeline(spec);
    // dense 50 relu on 100 inputs: 100*50 + 50 (relu) MACs; dense 4 softmax on 50: 50*4 + 4.
    const macs1 = 100 * 50 + 50;
    const macs2 = 50 * 4 + 4;
    const ms1 = (macs1 / 1e9) * 1000;
    const ms2 = (macs2 / 1e9) * 1000;
    close(e.layers.find((l) => l.layerId === 'enc.2')!.latencyMs, ms1);
    close(e.layers.find((l) => l.layerId === 'h.1')!.latencyMs, ms2);
    expect(e.layers.find((l) => l.layerId === 'enc.1')!.latencyMs).toBe(0);
    close(e.endToEndLatencyMs, ms1 + ms2);
    // 100 mW for t ms is 0.1 * t mJ.
    const energy = 100 * (ms1 + ms2) * 1e-3;
    close(e.energyPerInferenceMj, energy);
    // 1000 mAh x 3.7 V = 3700 mWh; one inference per second; no idle power.
    close(e.batteryLifeHours!, 3700 / ((energy * 3600) / 3600));
    expect(e.issues).toEqual([]);
  });

  it('is memory-bound with a slow bus: overhead + bytes / bandwidth, plus energy per byte and idle power', async () => {
    const spec = await specOf(twoDenseOn('0.5 s', 'processor cpu { compute 1 GMAC/s  memory 64 MB  bandwidth 1 MB/s  power 100 mW  idle 10 mW  overhead 0.5 ms  transfer 100 pJ/B }'));
    const e = estimatePipeline(spec);
    // dense 50: weights (100*50 + 50) x 4 B, input 100 x 4 B, output 50 x 4 B.
    const bytes1 = (100 * 50 + 50) * 4 + 400 + 200;
    const bytes2 = (50 * 4 + 4) * 4 + 200 + 16;
    const lat1 = 0.5 + (bytes1 / 1e6) * 1000;
    const lat2 = 0.5 + (bytes2 / 1e6) * 1000;
    const en1 = 100 * lat1 * 1e-3 + bytes1 * 100 * 1e-9;
    const en2 = 100 * lat2 * 1e-3 + bytes2 * 100 * 1e-9;
    close(e.layers.find((l) => l.layerId === 'enc.2')!.latencyMs, lat1);
    close(e.layers.find((l) => l.layerId === 'h.1')!.energyMj, en2);
    close(e.endToEndLatencyMs, lat1 + lat2);
    close(e.energyPerInferenceMj, en1 + en2);
    expect(e.inferencesPerHour).toBe(7200);
    // The cpu samples the input (it is the default processor and has no sampling figure), so it
    // stays awake at its 10 mW idle power whenever it is not busy in the 500 ms between images:
    // 3700 mWh / (E mJ x 7200 / 3600 mJ-per-mWh + 10 mW x (500 - busy) / 500).
    close(e.batteryLifeHours!, 3700 / (((en1 + en2) * 7200) / 3600 + (10 * (500 - lat1 - lat2)) / 500));
    const cpu = e.processors[0];
    // Memory: all weights + the largest input+output pair (dense 50: 400 + 200 B).
    expect(cpu.memoryBytes).toBe((100 * 50 + 50) * 4 + (50 * 4 + 4) * 4 + 600);
    expect(cpu.memoryLimitBytes).toBe(64 * 1024 * 1024);
  });
});

const TWO = `
  device T2 {
    processor cpu { compute 1 GMAC/s  memory 64 MB  power 100 mW }
    processor dsp { compute 2 GMAC/s  memory 1 KB   power 50 mW  transfer 10 pJ/B }
    link cpu <-> dsp { bandwidth 1 MB/s  latency 1 ms  power 20 mW }
  }`;

describe('two processors', () => {
  it('runs heads concurrently, pays the transfer, and warns on memory and budget', async () => {
    const spec = await specOf(`
      pipeline P {
        input image { size 1 x 100  channels 1  period 1 s }
        shared enc { flatten  dense 100 }
        head a from enc { dense 10 }
        head b from enc { dense 10 }
        target T2
        place a on dsp
        optimize latency 1 within 1 ms
      }
      ${TWO}`);
    const e = estimatePipeline(spec);
    const enc = (100 * 100) / 1e9 * 1000; // 0.01 ms on cpu
    const bCpu = (100 * 10 + 0) / 1e9 * 1000; // head b after enc on cpu
    const xferMs = (400 / 1e6) * 1000 + 1; // enc output 100 floats over the link
    const xferMj = 20 * xferMs * 1e-3 + 400 * (0 + 10) * 1e-9;
    const aDsp = (100 * 10) / 2e9 * 1000;
    const aBytes = (100 * 10 + 10) * 4 + 400 + 40;
    const aMj = 50 * aDsp * 1e-3 + aBytes * 10 * 1e-9;
    const encMj = 100 * enc * 1e-3;
    const bMj = 100 * bCpu * 1e-3;
    const heads = Object.fromEntries(e.heads.map((h) => [h.head, h]));
    close(heads.b.latencyMs, enc + bCpu);
    close(heads.a.latencyMs, enc + xferMs + aDsp);
    close(e.endToEndLatencyMs, enc + xferMs + aDsp);
    expect(heads.a.processors).toEqual(['dsp']);
    close(heads.a.energyMj, encMj + xferMj + aMj);
    close(heads.b.energyMj, encMj + bMj);
    close(e.transferEnergyMj, xferMj);
    close(e.energyPerInferenceMj, encMj + bMj + xferMj + aMj);
    // latency-only objective: 1 x latency.
    close(e.objective, enc + xferMs + aDsp);
    close(objective(e, { energyWeight: 2, latencyWeight: 3 }), 2 * e.energyPerInferenceMj + 3 * e.endToEndLatencyMs);
    const codes = e.issues.map((i) => i.code).sort();
    expect(codes).toEqual([IssueCodes.LatencyBudget, IssueCodes.MemoryLimit]);
    const dsp = e.processors.find((p) => p.name === 'dsp')!;
    expect(dsp.memoryBytes).toBe(aBytes); // weights + its input and output
    // The timeline has the dsp busy only after the transfer.
    const dspBars = e.timeline.filter((t) => t.resource === 'dsp');
    close(dspBars[0].startMs, enc + xferMs);
  });

  it('serialises ops on one processor and overlaps them across processors', async () => {
    const text = (place: string): string => `
      pipeline P {
        input image { size 1 x 1000  channels 1  period 1 s }
        shared enc { flatten }
        head a from enc { dense 1000 }
        head b from enc { dense 1000 }
        target T3
        ${place}
      }
      device T3 {
        processor cpu { compute 1 GMAC/s  memory 64 MB  power 100 mW }
        processor cpu2 { compute 1 GMAC/s  memory 64 MB  power 100 mW }
        link cpu <-> cpu2 { bandwidth 4 MB/s  latency 0.5 ms }
      }`;
    const serial = estimatePipeline(await specOf(text('')));
    const parallel = estimatePipeline(await specOf(text('place b on cpu2')));
    const head = (1000 * 1000) / 1e9 * 1000; // 1 ms each
    close(serial.endToEndLatencyMs, 2 * head);
    // b waits for its 4000-byte input: 4000 / 4e6 s + 0.5 ms = 1.5 ms, then 1 ms.
    close(parallel.endToEndLatencyMs, 1.5 + head);
  });

  it('routes through the default processor and brings a remote head output back', async () => {
    const spec = await specOf(`
      pipeline P {
        input image { size 1 x 100  channels 1  period 1 s }
        shared enc { flatten  dense 100 }
        head a from enc { dense 100  dense 10 }
        target Phone
        place enc on gpu
        place a on cloud
      }
      device Phone {
        processor cpu { compute 1 GMAC/s  memory 64 MB  power 100 mW }
        processor gpu { compute 10 GMAC/s  memory 64 MB  power 1000 mW }
        processor cloud { compute 100 GMAC/s  memory 1 GB  power 0 mW }
        link cpu <-> gpu { bandwidth 10 MB/s  latency 0.1 ms }
        link cpu <-> cloud { bandwidth 1 MB/s  rtt 40 ms  power 1000 mW }
        default cpu
      }`);
    const e = estimatePipeline(spec);
    // input window (400 B) cpu -> gpu; enc on gpu; 400 B gpu -> cpu -> cloud; head; 40 B cloud -> cpu.
    const inMs = (400 / 10e6) * 1000 + 0.1;
    const encMs = (100 * 100) / 10e9 * 1000;
    const toCpu = (400 / 10e6) * 1000 + 0.1;
    const toCloud = (400 / 1e6) * 1000 + 20;
    const headMs = (100 * 100 + 100 * 10) / 100e9 * 1000;
    const back = (40 / 1e6) * 1000 + 20;
    close(e.endToEndLatencyMs, inMs + encMs + toCpu + toCloud + headMs + back);
    close(e.heads[0].latencyMs, e.endToEndLatencyMs);
    // The radio draws 1000 mW during both cloud hops; on-chip hops draw nothing here.
    close(e.transferEnergyMj, 1000 * (toCloud + back) * 1e-3);
    expect(e.transfers.map((t) => `${t.from}->${t.to}:${t.hops.length}`)).toEqual(['cpu->gpu:1', 'gpu->cloud:2', 'cloud->cpu:1']);
    expect(e.issues).toEqual([]);
  });
});

describe('placement checks', () => {
  const text = `
    pipeline P {
      input inertial { rate 50 Hz  window 2 s  accelerometer [x, y, z] }
      features { stats mean, std }
      shared enc { dense 8 relu }
      head h from enc { dense 2 softmax }
      target T
    }
    device T {
      processor cpu { compute 1 GMAC/s  memory 64 MB  power 100 mW }
      processor npu { compute 10 GMAC/s  memory 64 MB  power 100 mW  supports dense, softmax }
      link cpu <-> npu { bandwidth 100 MB/s  latency 0.1 ms }
    }`;

  it('refuses an op on a processor that cannot run it, for any placement it is given', async () => {
    const spec = await specOf(text);
    expect(estimatePipeline(spec).issues).toEqual([]);
    const e = estimatePipeline(spec, { placement: { enc: 'npu', features: 'npu' } });
    const unsupported = e.issues.filter((i) => i.code === IssueCodes.UnsupportedOp);
    // enc.1 uses relu, which the npu does not list; the front end needs `features`.
    expect(unsupported.map((i) => i.layerId ?? 'features').sort()).toEqual(['enc.1', 'features']);
    expect(unsupported.every((i) => i.severity === 'error')).toBe(true);
    expect(e.layers.find((l) => l.layerId === 'enc.1')!.supported).toBe(false);
    expect(estimatePipeline(spec, { placement: { h: 'npu' } }).issues).toEqual([]);
  });

  it('reports an unknown processor and falls back to the default', async () => {
    const spec = await specOf(text);
    const e = estimatePipeline(spec, { placement: { 'h.1': 'gpu' } });
    expect(e.issues.map((i) => i.code)).toEqual([IssueCodes.UnresolvedProcessor]);
    expect(e.layers.find((l) => l.layerId === 'h.1')!.processor).toBe('cpu');
  });

  it('costs inertial statistics: 3 axes x 100 samples x (mean 1 + std 3) operations', async () => {
    const e = estimatePipeline(await specOf(text));
    expect(e.features!.macs).toBe(3 * 100 * (1 + 3));
  });
});

describe('feature front end', () => {
  it('costs DeepEar log-mel by the stated formulas', async () => {
    const spec = await specOf(readFileSync(join(__dirname, '../language/fixtures/design-example.sense'), 'utf8'), 'DeepEar');
    const ir = estimatePipeline(spec).ir;
    const macs = Object.fromEntries(ir.ops.filter((o) => o.block === 'features').map((o) => [o.kind, o.macs]));
    const frames = Math.floor((16000 - 400) / 160) + 1; // 98
    const n = 512; // 400-sample frames rounded up to a power of two
    expect(frames).toBe(98);
    expect(macs).toEqual({
      silence: 16000,
      frames: 400 * frames,
      fft: frames * (2.5 * n * Math.log2(n) + 2 * (n / 2 + 1)),
      mel: frames * 2 * (n / 2 + 1),
      log: 40 * frames,
      normalize: 2 * 40 * frames,
    });
  });

  it('costs MFCC with deltas: DCT as a matrix, 5 operations per element and order', async () => {
    const spec = await specOf(`
      pipeline P {
        input audio { rate 8 kHz  window 0.5 s }
        features { frames 32 ms hop 16 ms  mfcc 13 coeffs 26 bands deltas 2 }
        shared enc { flatten  dense 4 softmax }
        target host
      }`);
    const ops = estimatePipeline(spec).ir.ops.filter((o) => o.block === 'features');
    const frames = Math.floor((4000 - 256) / 128) + 1;
    expect(ops.map((o) => o.kind)).toEqual(['frames', 'fft', 'mel', 'log', 'dct', 'deltas']);
    expect(ops.find((o) => o.kind === 'dct')!.macs).toBe(13 * 26 * frames);
    expect(ops.find((o) => o.kind === 'deltas')!.macs).toBe(2 * 5 * 13 * frames);
    expect(ops[ops.length - 1].outputShape).toEqual([39, frames]);
    expect(ops.find((o) => o.kind === 'fft')!.macs).toBe(frames * (2.5 * 256 * 8 + 2 * 129));
  });
});

describe('samples and the design example', () => {
  const files = [join(__dirname, '../language/fixtures/design-example.sense')];
  const samples = join(__dirname, '../../../samples');
  if (existsSync(samples)) {
    for (const f of readdirSync(samples, { recursive: true }) as string[]) if (f.endsWith('.sense')) files.push(join(samples, f));
  }

  it.each(files)('%s estimates without error on its target', async (file) => {
    const text = readFileSync(file, 'utf8');
    const spec = await specOf(text);
    const e = estimatePipeline(spec);
    expect(e.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(e.endToEndLatencyMs).toBeGreaterThan(0);
    expect(e.energyPerInferenceMj).toBeGreaterThan(0);
    const summary = engineEstimator(spec);
    expect(summary.layers.length).toBe(spec.blocks.reduce((n, b) => n + b.layers.length, 0));
    expect(summary.heads.map((h) => h.head)).toEqual(spec.blocks.filter((b) => b.kind === 'head').map((b) => b.name));
  });
});
