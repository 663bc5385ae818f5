/**
 * Gated heads in the estimate (engine/gate-scenarios.ts, engine/estimate.ts): expected energy
 * and latency by hand arithmetic on a small pipeline, the dependency in the schedule, the
 * partitions, and the properties that a gate that never opens never raises a window's energy
 * and a gate that always opens costs what no gate does.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { estimatePipeline } from '../../../engine/estimate';
import { gateScenarios, MAX_GATE_SCENARIOS } from '../../../engine/gate-scenarios';
import { buildIr } from '../../../engine/ir';
import { partitionOps, resolvePlacement } from '../../../engine/schedule';
import type { BlockSpec, PipelineSpec } from '../../../language/pipeline-model';
import { close, specOf, WATCH_DEVICE } from './spec-of';

const DEVICE = WATCH_DEVICE;

const PIPELINE = (gate: string, lines: string): string => `
  pipeline P {
    input inertial { rate 50 Hz  window 1 s  accelerometer [x, y, z] }
    features { stats mean, std }
    shared enc { dense 16 relu }
    head g from enc ${gate} { dense 4 softmax  labels [s1, s2, s3, s4] }
    head a from enc { dense 2 softmax  labels [yes, no] }
    target Watch
    ${lines}
  }
  ${DEVICE}`;

/** `spec` with head `name`'s gate set (or removed with undefined), every other block kept. */
function withGate(spec: PipelineSpec, name: string, gate: BlockSpec['gate']): PipelineSpec {
  return { ...spec, blocks: spec.blocks.map((b) => (b.name !== name ? b : gate ? { ...b, gate } : { ...b, gate: undefined })) };
}

describe('gated heads by hand', () => {
  it('expected energy: the gated head and the mcu it wakes count on 25% of windows, the mcu sleeps through the rest', async () => {
    // The gated head g is declared before the head a it waits for: the IR and the schedule reorder them.
    const spec = await specOf(PIPELINE('when a is yes', 'place features, enc, a on dsp\n    place g on mcu\n    expect a yes 25%'));
    expect(spec.blocks.find((b) => b.name === 'g')!.gate).toEqual({ head: 'a', label: 'yes', fraction: 0.25 });
    const e = estimatePipeline(spec);
    const layer = (id: string) => e.layers.find((l) => l.layerId === id)!;
    const g1 = layer('g.1');
    const a1 = layer('a.1');
    expect(g1.processor).toBe('mcu');
    expect(g1.firingProbability).toBe(0.25);
    expect(a1.firingProbability).toBe(1);
    // The dependency: g starts once a's output exists, though it reads enc's.
    expect(g1.startMs).toBeGreaterThanOrEqual(a1.endMs);
    const hopMs = 1000;
    // Everything but g runs on dsp on every window; g's dense 16 -> 4 (64 MACs) and its softmax
    // (one per element, 4) cost 100 mW on mcu for 68 / 1e9 s per run.
    const gMs = (68 / 1e9) * 1000;
    close(g1.latencyMs, gMs, 'g latency per run');
    close(g1.energyMj, 100 * gMs * 1e-3, 'g energy per run');
    const dspOps = e.schedule.ops.filter((o) => o.processor === 'dsp');
    const dspBusyMs = dspOps.reduce((s, o) => s + o.latencyMs, 0);
    const dspMj = dspOps.reduce((s, o) => s + o.energyMj, 0);
    // Links draw no power and the processors name no transfer energy, so transfers cost nothing.
    close(e.transferEnergyMj, 0, 'transfers');
    close(e.computeEnergyMj, dspMj + 0.25 * g1.energyMj, 'expected compute');
    // Open (25%): mcu works gMs, then its 50 ms tail at 10 mW, sleeps at 0.5 mW, wakes once (0.2 mJ).
    // Closed (75%): mcu sleeps the whole second at 0.5 mW. app does nothing: 0.5 mW asleep.
    const mcuOpenMj = 10 * 50 * 1e-3 + 0.5 * (hopMs - gMs - 50) * 1e-3 + 0.2;
    const mcuClosedMj = 0.5 * hopMs * 1e-3;
    const samplingMj = 3 * (hopMs - dspBusyMs) * 1e-3;
    const windowMj = dspMj + samplingMj + 0.5 * hopMs * 1e-3 + 5 * hopMs * 1e-3 + 0.25 * (g1.energyMj + mcuOpenMj) + 0.75 * mcuClosedMj;
    close(e.windowEnergyMj, windowMj, 'expected window energy');
    close(e.power.byCause.wakeUpsMj, 0.25 * 0.2, 'expected wake-ups');
    close(e.averagePowerMw, windowMj, 'average power (hop 1 s)');
    close(e.batteryLifeHours!, (300 * 3.8) / windowMj, 'battery life');
    expect(e.power.processors.find((p) => p.name === 'mcu')!.state).toBe('sleeps');
    // Latency: every gate open is the makespan (g last); expected is 25% of g's ready time and 75% of a's.
    const ready = e.schedule.blockReadyMs;
    close(e.endToEndLatencyMs, ready.g, 'makespan');
    close(e.expectedLatencyMs, 0.25 * ready.g + 0.75 * ready.a, 'expected latency');
    expect(e.heads.find((h) => h.head === 'g')!.firingProbability).toBe(0.25);
  });

  it('chains multiply, labels of one head exclude each other, and every outcome is costed once', async () => {
    const blocks = [
      { name: 'a', kind: 'head' },
      { name: 'b', kind: 'head', gate: { head: 'a', label: 'yes', fraction: 0.4 } },
      { name: 'c', kind: 'head', gate: { head: 'b', label: 'p', fraction: 0.5 } },
      { name: 'd', kind: 'head', gate: { head: 'a', label: 'no', fraction: 0.3 } },
    ] as unknown as BlockSpec[];
    const scenarios = gateScenarios(blocks, new Set(['b', 'c', 'd']))!;
    const total = scenarios.reduce((s, x) => s + x.probability, 0);
    close(total, 1, 'probabilities add up');
    const p = (name: string) => scenarios.filter((s) => s.runs.has(name)).reduce((s, x) => s + x.probability, 0);
    close(p('a'), 1, 'a');
    close(p('b'), 0.4, 'b');
    close(p('c'), 0.2, 'c = 0.4 x 0.5');
    close(p('d'), 0.3, 'd');
    // 'yes' and 'no' are both labels of a: b and d never run together.
    expect(scenarios.some((s) => s.runs.has('b') && s.runs.has('d'))).toBe(false);
  });

  it('a gated head gets partitions of its own, so the runtime can skip it', async () => {
    const plain = await specOf(PIPELINE('', 'place features, enc, a, g on dsp'));
    const gated = withGate(plain, 'g', { head: 'a', label: 'yes', fraction: 0.5 });
    const parts = (spec: PipelineSpec) => {
      const ir = buildIr(spec);
      const { partitionOf } = partitionOps(ir, resolvePlacement(spec, ir).byOp);
      return new Set(ir.ops.filter((o) => o.layerId?.startsWith('g.')).map((o) => partitionOf[ir.ops.indexOf(o)])).size === 1 &&
        ir.ops.filter((o) => o.layerId && !o.layerId.startsWith('g.')).every((o) => partitionOf[ir.ops.indexOf(o)] !== partitionOf[ir.ops.findIndex((x) => x.layerId === 'g.1')]);
    };
    expect(parts(plain)).toBe(false);
    expect(parts(gated)).toBe(true);
  });
});

describe('gate properties', () => {
  it('a gate that never opens never raises the energy of a window; one that always opens costs what no gate does', async () => {
    const base = await specOf(PIPELINE('', ''));
    await fc.assert(
      fc.property(
        fc.array(fc.constantFrom('dsp', 'mcu', 'app'), { minLength: 4, maxLength: 4 }),
        fc.constantFrom('yes', 'no'),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (where, label, fraction) => {
          const placement = { features: where[0], 'enc.1': where[1], 'a.1': where[2], 'g.1': where[3] };
          const spec: PipelineSpec = { ...base, placement };
          const none = estimatePipeline(spec);
          const never = estimatePipeline(withGate(spec, 'g', { head: 'a', label, fraction: 0 }));
          const always = estimatePipeline(withGate(spec, 'g', { head: 'a', label, fraction: 1 }));
          const some = estimatePipeline(withGate(spec, 'g', { head: 'a', label, fraction }));
          expect(never.windowEnergyMj).toBeLessThanOrEqual(none.windowEnergyMj + 1e-12);
          close(always.windowEnergyMj, none.windowEnergyMj, 'always open');
          close(always.energyPerInferenceMj, none.energyPerInferenceMj, 'always open, per inference');
          // Linear in the fraction between the two.
          close(some.windowEnergyMj, fraction * always.windowEnergyMj + (1 - fraction) * never.windowEnergyMj, 'in between');
          expect(some.expectedLatencyMs).toBeLessThanOrEqual(some.endToEndLatencyMs + 1e-12);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('many gates', () => {
  it('beyond MAX_GATE_SCENARIOS outcomes, weighs each op by its head probability', async () => {
    const n = Math.ceil(Math.log2(MAX_GATE_SCENARIOS)) + 1;
    const heads = Array.from({ length: n }, (_, i) => `head g${i} from enc { dense 2 softmax  labels [hi, lo] }\n    head h${i} from enc when g${i} is hi { dense 3 softmax }\n    expect g${i} hi ${10 * (i + 1) - 5}%`).join('\n    ');
    const spec = await specOf(`pipeline M {\n    input inertial { rate 50 Hz  window 1 s  accelerometer [x, y, z] }\n    features { stats mean, std }\n    shared enc { dense 16 relu }\n    ${heads}\n    target Watch\n  }\n  ${WATCH_DEVICE}`);
    const gated = new Set(spec.blocks.filter((b) => b.gate).map((b) => b.name));
    expect(gateScenarios(spec.blocks, gated)).toBeUndefined();
    const e = estimatePipeline(spec);
    const p = (block: string) => (block.startsWith('h') ? (10 * (Number(block.slice(1)) + 1) - 5) / 100 : 1);
    close(e.computeEnergyMj, e.schedule.ops.reduce((s, o) => s + p(o.block) * o.energyMj, 0), 'compute weighted by probability');
    close(e.expectedLatencyMs, e.endToEndLatencyMs, 'expected latency falls back to the makespan');
  });
});
