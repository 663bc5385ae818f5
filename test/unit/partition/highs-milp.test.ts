/**
 * The partitioner against an independent MILP solved by HiGHS (test/unit/partition/milp.ts)
 * on seeded random CHAIN pipelines of 12-40 units over 2-4 processors, too many for
 * brute force (4^40 placements): memory limits that bind on many of them, dispatch
 * costs, and latency budgets, some of which no placement meets.
 *
 * First the formulation itself: for random placements, the MILP's linear energy,
 * latency and objective equal estimatePipeline's to 1e-9 relative, and the placement
 * breaks a MILP row or bound exactly when the engine reports it unsupported, over memory
 * or over budget. Then the optima: HiGHS's optimum equals partitionPipeline's objective
 * (proven exact) to 1e-6 relative, and HiGHS's placement re-estimated by estimatePipeline
 * gives that objective too. When no placement meets the budget, the partitioner returns
 * the best memory-feasible placement flagged `budget`: the MILP without its budget row
 * must give the same optimum.
 */
import loadHighs, { type Highs } from 'highs';
import { beforeAll, describe, expect, it } from 'vitest';
import { estimatePipeline, type Estimate } from '../../../engine/estimate';
import { partitionPipeline } from '../../../engine/partition/partition';
import { IssueCodes } from '../../../language/issue-codes';
import type { PipelineSpec } from '../../../language/pipeline-model';
import { specOf } from '../engine/spec-of';
import { chainMilp, columnValues, evaluate, randomChainText, solveChainMilp, tightenChain, type ChainMilp } from './milp';
import { rng } from './random-pipelines';

let highs: Highs;
beforeAll(async () => {
  // No fallback: a HiGHS that fails to load fails every test below.
  highs = await loadHighs();
});

const close = (actual: number, expected: number, rel: number, what: string): void => {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(rel * Math.max(Math.abs(expected), 1e-12));
};

/** Whether the engine accepts a placement: no unsupported op or missing route, memory and budget met. */
function engineFeasible(spec: PipelineSpec, e: Estimate): boolean {
  const broken = e.issues.some((i) => i.severity === 'error' && (i.code === IssueCodes.UnsupportedOp || i.code === IssueCodes.InvalidLink || i.code === IssueCodes.UnresolvedProcessor));
  const memory = e.processors.every((p) => p.memoryBytes <= p.memoryLimitBytes);
  const budget = spec.optimize.budgetMs === undefined || e.endToEndLatencyMs <= spec.optimize.budgetMs;
  return !broken && memory && budget;
}

/** A proven MILP optimum, with the MILP it solves. */
interface Solved {
  objective: number;
  placement: Record<string, string>;
  values: Float64Array;
  milp: ChainMilp;
}

function solveFeasible(m: ChainMilp, what: string): Solved {
  const res = solveChainMilp(highs, m);
  if (res.status !== 'optimal') throw new Error(`${what}: the MILP is infeasible`);
  return { ...res, milp: m };
}

/**
 * The chain instance of `seed`: memory and dispatch tightened, sometimes a budget between
 * the least latency and the optimum's; and the MILP optimum without a budget.
 */
async function instance(seed: number): Promise<{ spec: PipelineSpec; text: string; free: Solved; limited: string[] }> {
  const text = randomChainText(seed);
  const base = await specOf(text);
  let free: Solved | undefined;
  const { spec, tightening } = tightenChain(base, seed, (unbudgeted) => {
    free = solveFeasible(chainMilp(unbudgeted), `seed ${seed}`);
    const optimumMs = estimatePipeline(unbudgeted, { placement: free.placement }).endToEndLatencyMs;
    const fastest = solveFeasible({ ...free.milp, colCost: free.milp.colLatencyMs, constantCost: 0 }, `seed ${seed} fastest`);
    return { leastMs: fastest.objective, optimumMs };
  });
  // Without a budget the instance's own MILP is the budget-free one.
  free ??= solveFeasible(chainMilp(spec), `seed ${seed}`);
  return { spec, text, free, limited: tightening.limited };
}

describe('the chain MILP prices every placement as estimatePipeline does', () => {
  let infeasiblePlacements = 0;
  let feasiblePlacements = 0;
  it.each(Array.from({ length: 10 }, (_, i) => 7000 + i))('random placements, seed %i', async (seed) => {
    const { spec } = await instance(seed);
    const m = chainMilp(spec);
    const r = rng(seed * 13);
    for (let k = 0; k < 25; k++) {
      const placement: Record<string, string> = {};
      // Sticky choices, so that runs (partitions) of several units occur; every other
      // placement only among the processors that support each unit.
      const supported = k % 2 === 0;
      let p = 0;
      m.units.forEach((u, i) => {
        const choices = m.processors.map((_, q) => q).filter((q) => !supported || m.colUpper[m.x(i, q)] === 1);
        if (i === 0 || r() < 0.4 || !choices.includes(p)) p = choices[Math.floor(r() * choices.length)];
        placement[u] = m.processors[p];
      });
      const e = estimatePipeline(spec, { placement });
      const lin = evaluate(m, columnValues(m, placement));
      close(lin.energyMj, e.windowEnergyMj, 1e-9, `seed ${seed} energy`);
      close(lin.latencyMs, e.endToEndLatencyMs, 1e-9, `seed ${seed} latency`);
      close(lin.objective, e.objective, 1e-9, `seed ${seed} objective`);
      const feasible = engineFeasible(spec, e);
      expect(lin.broken.length === 0, `seed ${seed}: MILP breaks ${lin.broken.join(', ')}`).toBe(feasible);
      if (feasible) feasiblePlacements++;
      else infeasiblePlacements++;
    }
  });

  it('met feasible and infeasible placements', () => {
    expect(feasiblePlacements).toBeGreaterThanOrEqual(20);
    expect(infeasiblePlacements).toBeGreaterThanOrEqual(20);
  });
});

describe('partition equals the HiGHS optimum on chains of 12-40 units', () => {
  const counts = { memoryBinds: 0, budgetBinds: 0, budgetInfeasible: 0, dispatch: 0, units: [] as number[], processors: new Set<number>() };
  it.each(Array.from({ length: 40 }, (_, i) => 8000 + i))('chain, seed %i', async (seed) => {
    const { spec, text, free, limited } = await instance(seed);
    const m = chainMilp(spec);
    counts.units.push(m.units.length);
    counts.processors.add(m.processors.length);
    if (spec.target.processors.some((p) => (p.dispatchMs ?? 0) > 0)) counts.dispatch++;
    const result = partitionPipeline(spec);
    expect(result.exact, `seed ${seed}\n${text}`).toBe(true);
    const budgeted = spec.optimize.budgetMs !== undefined;
    const res = budgeted ? solveChainMilp(highs, m) : ({ status: 'optimal', ...free } as const);
    let best: Solved;
    if (res.status === 'optimal') {
      expect(result.feasible, `seed ${seed}`).toBe(true);
      best = { ...res, milp: m };
      if (res.objective > free.objective * (1 + 1e-9)) counts.budgetBinds++;
    } else {
      // No placement meets the budget (the default processor is roomy, so memory can be met):
      // the partitioner's answer is then the best memory-feasible placement, the MILP's without the budget row.
      counts.budgetInfeasible++;
      expect(result.feasible).toBe(false);
      expect(result.violations).toEqual(['budget']);
      best = free;
    }
    close(best.objective, result.objective, 1e-6, `seed ${seed} optimum`);
    const e = estimatePipeline(spec, { placement: best.placement });
    if (res.status === 'optimal') expect(engineFeasible(spec, e), `seed ${seed}: HiGHS placement infeasible for the engine`).toBe(true);
    close(e.objective, result.objective, 1e-6, `seed ${seed} HiGHS placement re-estimated`);
    close(evaluate(best.milp, best.values).objective, e.objective, 1e-9, `seed ${seed} HiGHS placement priced linearly`);
    if (limited.length > 0) {
      const roomy: PipelineSpec = { ...spec, target: { ...spec.target, processors: spec.target.processors.map((p) => ({ ...p, memoryBytes: Infinity })) }, optimize: { ...spec.optimize, budgetMs: undefined } };
      if (free.objective > solveFeasible(chainMilp(roomy), `seed ${seed} roomy`).objective * (1 + 1e-9)) counts.memoryBinds++;
    }
  });

  it('covered long chains, binding memory and budgets, infeasible budgets and dispatch costs', () => {
    expect(Math.min(...counts.units)).toBeGreaterThanOrEqual(12);
    expect(Math.max(...counts.units)).toBeGreaterThanOrEqual(30);
    expect([...counts.processors].sort()).toEqual([2, 3, 4]);
    expect(counts.memoryBinds).toBeGreaterThanOrEqual(8);
    expect(counts.budgetBinds).toBeGreaterThanOrEqual(3);
    expect(counts.budgetInfeasible).toBeGreaterThanOrEqual(2);
    expect(counts.dispatch).toBeGreaterThanOrEqual(10);
  });
});
