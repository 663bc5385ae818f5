/**
 * The partitioner against brute force: on seeded random trunk-and-heads pipelines and
 * devices, every assignment of units to processors is estimated with estimatePipeline,
 * the constraints are checked from that estimate (support and routes: no error issue;
 * memory: every processor within its limit; budget: makespan within it), and the least
 * objective must equal the partitioner's to 1e-9 relative.
 */
import { describe, expect, it } from 'vitest';
import { estimatePipeline } from '../../../engine/estimate';
import { partitionPipeline, placementUnits } from '../../../engine/partition/partition';
import { IssueCodes } from '../../../language/issue-codes';
import type { PipelineSpec } from '../../../language/pipeline-model';
import { specOf } from '../engine/spec-of';
import { randomPipeline, rng } from './random-pipelines';

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
