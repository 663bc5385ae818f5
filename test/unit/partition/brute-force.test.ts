/**
 * The partitioner against brute force: on seeded random trunk-and-heads pipelines and
 * devices, every assignment of units to processors is estimated with estimatePipeline,
 * the constraints are checked from that estimate (support and routes: no error issue;
 * memory: every processor within its limit; budget: makespan within it), and the least
 * objective must equal the partitioner's to 1e-9 relative. Also with a partition-run cost
 * (dispatchMs, from a measured profile) on most processors, and with memory that binds
 * along a long shared trunk.
 */
import { describe, expect, it } from 'vitest';
import { estimatePipeline } from '../../../engine/estimate';
import { partitionPipeline, placementUnits } from '../../../engine/partition/partition';
import { IssueCodes } from '../../../language/issue-codes';
import type { PipelineSpec } from '../../../language/pipeline-model';
import { specOf } from '../engine/spec-of';
import { randomPipeline, rng, withDispatch, type RandomPipelineOptions } from './random-pipelines';

interface Brute {
  feasible: number;
  memoryOnly: number;
  any: number;
}

function bruteForce(spec: PipelineSpec, pins: Record<string, string> = {}): Brute {
  const units = placementUnits(spec);
  const names = spec.target.processors.map((p) => p.name);
  const best: Brute = { feasible: Infinity, memoryOnly: Infinity, any: Infinity };
  const digits = new Array(units.length).fill(0);
  const total = names.length ** units.length;
  for (let a = 0; a < total; a++) {
    let x = a;
    for (let i = 0; i < units.length; i++) {
      digits[i] = x % names.length;
      x = Math.floor(x / names.length);
    }
    const placement: Record<string, string> = {};
    units.forEach((u, i) => (placement[u] = names[digits[i]]));
    if (Object.entries(pins).some(([u, p]) => placement[u] !== p)) continue;
    const e = estimatePipeline(spec, { placement });
    const broken = e.issues.some((i) => i.severity === 'error' && (i.code === IssueCodes.UnsupportedOp || i.code === IssueCodes.InvalidLink || i.code === IssueCodes.UnresolvedProcessor));
    if (broken) continue;
    const memory = e.processors.every((p) => p.memoryBytes <= p.memoryLimitBytes);
    const budget = spec.optimize.budgetMs === undefined || e.endToEndLatencyMs <= spec.optimize.budgetMs;
    best.any = Math.min(best.any, e.objective);
    if (memory) best.memoryOnly = Math.min(best.memoryOnly, e.objective);
    if (memory && budget) best.feasible = Math.min(best.feasible, e.objective);
  }
  return best;
}

const close = (actual: number, expected: number): void => {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-9 * Math.max(Math.abs(expected), 1e-12));
};

describe('partition equals brute force', () => {
  const seeds = Array.from({ length: 120 }, (_, i) => 1000 + i);
  let constrainedCases = 0;
  let infeasibleCases = 0;
  it.each(seeds)('random pipeline, seed %i', async (seed) => {
    const { text } = randomPipeline(seed);
    const spec = await specOf(text);
    let brute: Brute;
    try {
      brute = bruteForce(spec);
    } catch (e) {
      throw new Error(`seed ${seed}: ${(e as Error).message}\n${text}`);
    }
    if (!Number.isFinite(brute.any)) {
      expect(() => partitionPipeline(spec)).toThrow(/partition of 'Rand'/);
      return;
    }
    const result = partitionPipeline(spec);
    expect(result.exact).toBe(true);
    // The reported figures are those of estimatePipeline for the returned placement.
    const again = estimatePipeline(spec, { placement: result.placement });
    expect(result.objective).toBe(again.objective);
    if (Number.isFinite(brute.feasible)) {
      expect(result.feasible, text).toBe(true);
      close(result.objective, brute.feasible);
      if (brute.feasible > brute.any * (1 + 1e-9)) constrainedCases++;
    } else if (Number.isFinite(brute.memoryOnly)) {
      infeasibleCases++;
      expect(result.feasible).toBe(false);
      expect(result.violations).toEqual(['budget']);
      close(result.objective, brute.memoryOnly);
    } else {
      infeasibleCases++;
      expect(result.feasible).toBe(false);
      expect(result.violations).toContain('memory');
      close(result.objective, brute.any);
    }
  });

  it('covered binding constraints and infeasible cases', () => {
    // The generator must exercise the constrained search, not only the relaxation.
    expect(constrainedCases).toBeGreaterThanOrEqual(5);
    expect(infeasibleCases).toBeGreaterThanOrEqual(3);
  });

  it.each([7, 8, 9, 10, 11, 12, 13, 14, 15, 16])('keeps pins when asked, seed %i', async (seed) => {
    const { text } = randomPipeline(seed * 31, { maxAssignments: 1000 });
    const spec = await specOf(text);
    const units = placementUnits(spec);
    const r = rng(seed);
    const pins: Record<string, string> = {};
    for (const u of units) if (u !== 'features' && r() < 0.4) pins[u] = spec.target.processors[Math.floor(r() * spec.target.processors.length)].name;
    const pinned: PipelineSpec = { ...spec, placement: pins };
    const brute = bruteForce(pinned, pins);
    if (!Number.isFinite(brute.any)) {
      expect(() => partitionPipeline(pinned, { keepPins: true })).toThrow();
      return;
    }
    const result = partitionPipeline(pinned, { keepPins: true });
    for (const [u, p] of Object.entries(pins)) expect(result.placement[u]).toBe(p);
    const expected = Number.isFinite(brute.feasible) ? brute.feasible : Number.isFinite(brute.memoryOnly) ? brute.memoryOnly : brute.any;
    close(result.objective, expected);
  });
});

/** Checks the partitioner against brute force on one spec; returns whether a constraint bound. */
function checkAgainstBrute(spec: PipelineSpec, text: string): { constrained: boolean } {
  const brute = bruteForce(spec);
  if (!Number.isFinite(brute.any)) {
    expect(() => partitionPipeline(spec)).toThrow(/partition of 'Rand'/);
    return { constrained: false };
  }
  const result = partitionPipeline(spec);
  expect(result.exact).toBe(true);
  expect(result.objective).toBe(estimatePipeline(spec, { placement: result.placement }).objective);
  const expected = Number.isFinite(brute.feasible) ? brute.feasible : Number.isFinite(brute.memoryOnly) ? brute.memoryOnly : brute.any;
  expect(result.feasible, text).toBe(Number.isFinite(brute.feasible));
  close(result.objective, expected);
  return { constrained: Number.isFinite(brute.feasible) && brute.feasible > brute.any * (1 + 1e-9) };
}

describe('partition equals brute force with partition-run costs (dispatchMs)', () => {
  let charged = 0;
  const cases: [number, RandomPipelineOptions][] = [
    ...Array.from({ length: 60 }, (_, i): [number, RandomPipelineOptions] => [3000 + i, {}]),
    ...Array.from({ length: 20 }, (_, i): [number, RandomPipelineOptions] => [3100 + i, { processors: 2, trunkLayers: 5, maxAssignments: 1024 }]),
  ];
  it.each(cases)('random pipeline with dispatch, seed %i %j', async (seed, opts) => {
    const { text } = randomPipeline(seed, opts);
    const spec = withDispatch(await specOf(text), seed * 7);
    if (spec.target.processors.some((p) => (p.dispatchMs ?? 0) > 0)) charged++;
    checkAgainstBrute(spec, text);
  });

  it('charged a dispatch in most cases', () => {
    expect(charged).toBeGreaterThanOrEqual(60);
  });
});

describe('partition equals brute force when memory binds along the trunk', () => {
  let constrainedCases = 0;
  const seeds = Array.from({ length: 40 }, (_, i) => 4000 + i);
  it.each(seeds)('long trunk, tight memory, seed %i', async (seed) => {
    const opts: RandomPipelineOptions = { processors: 2 + (seed % 2), trunkLayers: seed % 2 === 0 ? 6 : 4, tightMemory: true, maxAssignments: 2048 };
    const { text } = randomPipeline(seed, opts);
    const base = await specOf(text);
    const spec = seed % 3 === 0 ? withDispatch(base, seed) : base;
    if (checkAgainstBrute(spec, text).constrained) constrainedCases++;
  });

  it('bound memory in a good share of them', () => {
    expect(constrainedCases).toBeGreaterThanOrEqual(10);
  });
});

/**
 * The branch unit is a no-op (a flatten) that starts a partition: its dispatch stays
 * pending until a head on its processor reaches a real op (then only that head waits for
 * it) or, when no head joins, is charged at the flatten itself. Charging it at once (the
 * prefix ending dispatchMs later for every head) overestimates the prefix, and the
 * partitioner then misses these optima; brute force pins them.
 */
describe('partition equals brute force when the branch unit is a no-op with a pending dispatch', () => {
  const pipeline = (input: string, optimize: string, cpu: string, dsp: string, link: string): string => `pipeline T {
  ${input}
  shared trunk { flatten }
  head a from trunk { dense 16 relu  dense 3 softmax }
  head b from trunk { dense 4 softmax }
  target D
  optimize ${optimize}
}
device D {
  processor cpu { ${cpu}  memory 4 MB  idle 1 mW  transfer 10 pJ/B }
  processor dsp { ${dsp}  memory 4 MB  idle 1 mW  transfer 10 pJ/B }
  link cpu <-> dsp { ${link} }
  battery 1000 mAh at 3.7 V
  default cpu
}`;
  const image = 'input image { size 6 x 6  channels 1  period 1 s }';
  const inertial = 'input inertial { rate 50 Hz  window 2.56 s  accelerometer [x, y, z] }\n  features { stats mean, std  normalize }';
  const cases: { name: string; text: string; dispatchMs: Record<string, number> }[] = [
    {
      name: 'slow dsp, cheap cpu dispatch',
      text: pipeline(image, 'energy 0.04 latency 0.74', 'compute 0.367 GMAC/s  bandwidth 312 MB/s  power 177 mW  overhead 0.081 ms', 'compute 0.044 GMAC/s  bandwidth 173 MB/s  power 59 mW  overhead 0.167 ms', 'bandwidth 1998 MB/s  latency 0.051 ms'),
      dispatchMs: { cpu: 0.394, dsp: 0.069 },
    },
    {
      name: 'efficient dsp',
      text: pipeline(image, 'energy 0.04 latency 0.92', 'compute 0.438 GMAC/s  bandwidth 486 MB/s  power 897 mW  overhead 0.182 ms', 'compute 0.262 GMAC/s  bandwidth 445 MB/s  power 122 mW  overhead 0.135 ms', 'bandwidth 1176 MB/s  latency 0.098 ms'),
      dispatchMs: { cpu: 0.272, dsp: 0.085 },
    },
    {
      name: 'after the feature front end',
      text: pipeline(inertial, 'energy 0.04 latency 0.74', 'compute 0.367 GMAC/s  bandwidth 312 MB/s  power 177 mW  overhead 0.081 ms', 'compute 0.044 GMAC/s  bandwidth 173 MB/s  power 59 mW  overhead 0.167 ms', 'bandwidth 1998 MB/s  latency 0.051 ms'),
      dispatchMs: { cpu: 0.394, dsp: 0.069 },
    },
  ];
  it.each(cases)('$name', async ({ text, dispatchMs }) => {
    const base = await specOf(text);
    // As a measured profile sets it (engine/calibrate/profile.ts applyProfileToDevice): only dispatchMs changes.
    const spec: PipelineSpec = { ...base, target: { ...base.target, processors: base.target.processors.map((p) => ({ ...p, dispatchMs: dispatchMs[p.name] })) } };
    expect(spec.blocks.find((b) => b.name === 'trunk')!.layers.map((l) => l.kind)).toEqual(['flatten']);
    checkAgainstBrute(spec, text);
  });
});

/**
 * The label DP over the prefix chain (engine/partition/partition.ts prefixLabels) on
 * chains of 7-9 units over 2-3 processors whose memory binds, with and without dispatch
 * costs; and cases where the peak activation, not the weights, is what binds: the
 * limit of a processor the unconstrained optimum uses is set between that plan's weight
 * bytes and its weights + peak activations, so the plan breaks only by its peak.
 */
describe('partition equals brute force when memory binds along a chain of 7+ units', () => {
  let constrainedCases = 0;
  const cases = Array.from({ length: 24 }, (_, i) => 5000 + i);
  it.each(cases)('chain, tight memory, seed %i', async (seed) => {
    const processors = 2 + (seed % 2);
    const opts: RandomPipelineOptions = { processors, trunkLayers: processors === 2 ? 7 : 6, tightMemory: true, maxAssignments: processors === 2 ? 1024 : 6561 };
    const { text } = randomPipeline(seed, opts);
    const base = await specOf(text);
    const spec = seed % 4 < 2 ? withDispatch(base, seed) : base;
    if (checkAgainstBrute(spec, text).constrained) constrainedCases++;
  });

  it('bound memory in most of them', () => {
    expect(constrainedCases).toBeGreaterThanOrEqual(6);
  });

  let peakCases = 0;
  it.each(Array.from({ length: 16 }, (_, i) => 5100 + i))('peak activation binds, seed %i', async (seed) => {
    const { text } = randomPipeline(seed, { processors: 2 + (seed % 2), trunkLayers: 6, maxAssignments: 6561 });
    const base = await specOf(text);
    const spec0 = seed % 3 === 0 ? withDispatch(base, seed) : base;
    const roomy: PipelineSpec = { ...spec0, target: { ...spec0.target, processors: spec0.target.processors.map((p) => ({ ...p, memoryBytes: Infinity })) } };
    const free = partitionPipeline(roomy);
    const used = estimatePipeline(roomy, { placement: free.placement }).processors.find((p) => p.weightBytes > 0 && p.peakActivationBytes > 0 && Object.values(free.placement).includes(p.name));
    if (!used) return;
    const limit = used.weightBytes + Math.floor(used.peakActivationBytes / 2);
    const spec: PipelineSpec = { ...roomy, target: { ...roomy.target, processors: roomy.target.processors.map((p) => ({ ...p, memoryBytes: p.name === used.name ? limit : Infinity })) } };
    const { constrained } = checkAgainstBrute(spec, text);
    if (constrained) peakCases++;
  });

  it('made the peak bind in several of them', () => {
    expect(peakCases).toBeGreaterThanOrEqual(5);
  });
});
