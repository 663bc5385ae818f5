/**
 * Properties of the cost model and schedule, with fast-check: more work never lowers
 * latency, moving a head to an idle identical processor costs at most the transfer,
 * energy totals are the sum of their parts, and battery life follows its formula.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { opCost, transferCost } from '../../../engine/cost-model';
import { batteryLifeHours, estimatePipeline } from '../../../engine/estimate';
import type { ProcessorSpec } from '../../../language/pipeline-model';
import { specOf } from './spec-of';

const processorArb: fc.Arbitrary<ProcessorSpec> = fc.record({
  name: fc.constant('p'),
  computeMacsPerS: fc.double({ min: 1e6, max: 1e13, noNaN: true }),
  memoryBytes: fc.constant(1e9),
  bandwidthBytesPerS: fc.oneof(fc.double({ min: 1e5, max: 1e12, noNaN: true }), fc.constant(Number.POSITIVE_INFINITY)),
  activePowerMw: fc.double({ min: 0, max: 1e4, noNaN: true }),
  idlePowerMw: fc.constant(0),
  sleepPowerMw: fc.constant(0),
  wakeEnergyMj: fc.constant(0),
  wakeLatencyMs: fc.constant(0),
  tailMs: fc.constant(0),
  overheadMs: fc.double({ min: 0, max: 5, noNaN: true }),
  transferPjPerByte: fc.double({ min: 0, max: 1000, noNaN: true }),
  remote: fc.constant(false),
  sources: fc.constant([]),
});

const opArb = fc.record({
  macs: fc.integer({ min: 0, max: 1e9 }),
  weightBytes: fc.integer({ min: 0, max: 1e8 }),
  inputBytes: fc.integer({ min: 0, max: 1e7 }),
  activationBytes: fc.integer({ min: 0, max: 1e7 }),
});

const DEVICE = `
  device Twin {
    processor cpu  { compute 2 GMAC/s  memory 64 MB  bandwidth 4 GB/s  power 300 mW  idle 3 mW  overhead 0.02 ms  transfer 100 pJ/B }
    processor cpu2 { compute 2 GMAC/s  memory 64 MB  bandwidth 4 GB/s  power 300 mW  idle 3 mW  overhead 0.02 ms  transfer 100 pJ/B }
    processor dsp  { compute 0.5 GMAC/s  memory 8 MB  bandwidth 1 GB/s  power 60 mW  idle 1 mW  overhead 0.1 ms  transfer 50 pJ/B }
    link cpu <-> cpu2 { bandwidth 500 MB/s  latency 0.05 ms  power 10 mW }
    link cpu <-> dsp  { bandwidth 200 MB/s  latency 0.2 ms  power 5 mW }
    battery 500 mAh at 3.8 V
    default cpu
  }`;

/** A pipeline with a shared encoder and 1-4 heads of random widths, all on the default cpu. */
const pipelineArb = fc.record({
  encoder: fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 3 }),
  heads: fc.array(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }),
});

function pipelineText(p: { encoder: number[]; heads: number[][] }, extra = ''): string {
  return `
    pipeline P {
      input inertial { rate 50 Hz  window 2 s  hop 1 s  accelerometer [x, y, z] }
      features { stats mean, std, max }
      shared enc { ${p.encoder.map((w) => `dense ${w} relu`).join('  ')} }
      ${p.heads.map((h, i) => `head h${i} from enc { ${h.map((w) => `dense ${w}`).join('  ')} }`).join('\n')}
      target Twin
      ${extra}
    }
    ${DEVICE}`;
}

describe('cost model properties', () => {
  it('more MACs never lower an op latency or energy', () => {
    fc.assert(
      fc.property(processorArb, opArb, fc.integer({ min: 0, max: 1e9 }), (p, op, more) => {
        const a = opCost(op, p);
        const b = opCost({ ...op, macs: op.macs + more }, p);
        return b.latencyMs >= a.latencyMs && b.energyMj >= a.energyMj;
      }),
      { numRuns: 500 },
    );
  });

  it('wider layers never lower the end-to-end latency', async () => {
    await fc.assert(
      fc.asyncProperty(pipelineArb, fc.nat({ max: 5 }), fc.integer({ min: 1, max: 500 }), async (p, which, extra) => {
        const wider = { encoder: [...p.encoder], heads: p.heads.map((h) => [...h]) };
        const flat = [wider.encoder, ...wider.heads];
        const layer = flat[which % flat.length];
        layer[0] += extra;
        const a = estimatePipeline(await specOf(pipelineText(p)));
        const b = estimatePipeline(await specOf(pipelineText(wider)));
        expect(b.endToEndLatencyMs).toBeGreaterThanOrEqual(a.endToEndLatencyMs);
      }),
      { numRuns: 25 },
    );
  });

  it('moving a head to an idle identical processor never raises the makespan beyond the transfer cost', async () => {
    await fc.assert(
      fc.asyncProperty(pipelineArb, fc.nat(), async (p, pick) => {
        const head = `h${pick % p.heads.length}`;
        const before = estimatePipeline(await specOf(pipelineText(p)));
        const after = estimatePipeline(await specOf(pipelineText(p, `place ${head} on cpu2`)));
        const spec = await specOf(pipelineText(p));
        const encOut = spec.blocks.find((b) => b.name === 'enc')!.layers.at(-1)!.activationBytes;
        const move = transferCost(spec.target, 'cpu', 'cpu2', encOut)!;
        expect(after.endToEndLatencyMs).toBeLessThanOrEqual(before.endToEndLatencyMs + move.latencyMs + 1e-9);
      }),
      { numRuns: 25 },
    );
  });

  it('energy per inference is the sum of its parts under any placement', async () => {
    const spec = await specOf(pipelineText({ encoder: [64, 32], heads: [[16, 4], [8], [30, 2]] }));
    const units = ['features', 'enc', 'h0', 'h1', 'h2', 'enc.1', 'h2.2'];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('cpu', 'cpu2', 'dsp'), { minLength: units.length, maxLength: units.length }), async (procs) => {
        const placement = Object.fromEntries(units.map((u, i) => [u, procs[i]]));
        const e = estimatePipeline(spec, { placement });
        const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
        const byParts = (e.features?.energyMj ?? 0) + sum(e.layers.map((l) => l.energyMj)) + sum(e.transfers.map((t) => t.energyMj));
        const byProcessors = sum(e.processors.map((p) => p.energyMj)) + sum(e.transfers.map((t) => t.energyMj));
        const byHops = sum(e.transfers.flatMap((t) => t.hops.map((h) => h.energyMj)));
        expect(Math.abs(byParts - e.energyPerInferenceMj)).toBeLessThan(1e-9);
        expect(Math.abs(byProcessors - e.energyPerInferenceMj)).toBeLessThan(1e-9);
        expect(Math.abs(byHops - e.transferEnergyMj)).toBeLessThan(1e-12);
        // The makespan bounds every processor's busy time and every head's ready time.
        for (const p of e.processors) expect(p.latencyMs).toBeLessThanOrEqual(e.endToEndLatencyMs + 1e-9);
        for (const h of e.heads) expect(h.latencyMs).toBeLessThanOrEqual(e.endToEndLatencyMs + 1e-9);
      }),
      { numRuns: 60 },
    );
  });

  it('battery life = battery mWh / (energy per inference x inferences per hour / 3600 + idle mW)', async () => {
    const e = estimatePipeline(await specOf(pipelineText({ encoder: [64], heads: [[4]] })));
    // 500 mAh at 3.8 V; hop 1 s. The cpu samples and is idle (3 mW) when not busy; cpu2 and the dsp
    // have no work and no sleep figure, so they draw their idle 3 and 1 mW all the time.
    expect(e.inferencesPerHour).toBe(3600);
    const busyMs = e.processors.find((p) => p.name === 'cpu')!.latencyMs;
    expect(Math.abs(e.idlePowerMw - (3 * (1000 - busyMs)) / 1000 - 3 - 1)).toBeLessThan(1e-12);
    expect(Math.abs(e.batteryLifeHours! - 1900 / ((e.energyPerInferenceMj * 3600) / 3600 + e.idlePowerMw))).toBeLessThan(1e-9);
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 1e5, noNaN: true }),
        fc.double({ min: 0, max: 1e3, noNaN: true }),
        fc.double({ min: 1, max: 1e5, noNaN: true }),
        fc.double({ min: 0.001, max: 1e3, noNaN: true }),
        (mwh, mj, perHour, idle) => {
          const h = batteryLifeHours(mwh, mj, perHour, idle);
          // Life x hourly draw gives back the battery; more energy per inference never lengthens it.
          expect(Math.abs(h * ((mj * perHour) / 3600 + idle) - mwh)).toBeLessThan(1e-9 * mwh);
          expect(batteryLifeHours(mwh, mj * 2, perHour, idle)).toBeLessThanOrEqual(h);
        },
      ),
    );
  });
});
