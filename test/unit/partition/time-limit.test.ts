/**
 * PartitionOptions.timeLimitMs: on the benchmark's weak case (a 202-unit trunk with heads
 * whose DSP memory binds on the trunk, not proven within the node limit) a tiny time limit
 * stops the search with `exact: false` and `stoppedBy: 'time-limit'`, and the returned
 * placement is still a valid one: every unit on a processor that supports it, every
 * tensor on an existing route (estimatePipeline reports no such error), with the
 * figures estimatePipeline gives for it. No wall-clock time is asserted.
 */
import '../../../language/polyfills';
import { describe, expect, it } from 'vitest';
import { estimatePipeline } from '../../../engine/estimate';
import { partitionPipeline, placementUnits } from '../../../engine/partition/partition';
import { IssueCodes } from '../../../language/issue-codes';
import type { PipelineSpec } from '../../../language/pipeline-model';
import { specOf } from '../engine/spec-of';
import { largePipeline } from './random-pipelines';

function expectValid(spec: PipelineSpec, placement: Record<string, string>): void {
  expect(Object.keys(placement).sort()).toEqual(placementUnits(spec).sort());
  const names = spec.target.processors.map((p) => p.name);
  for (const proc of Object.values(placement)) expect(names).toContain(proc);
  const e = estimatePipeline(spec, { placement });
  const broken = e.issues.filter((i) => i.severity === 'error' && (i.code === IssueCodes.UnsupportedOp || i.code === IssueCodes.InvalidLink || i.code === IssueCodes.UnresolvedProcessor));
  expect(broken.map((i) => i.message)).toEqual([]);
}

describe('partition time limit', () => {
  it('stops the weak benchmark case with exact false and a valid placement', async () => {
    const spec = await specOf(largePipeline(176, 4, 6, 16));
    for (const timeLimitMs of [0, 1]) {
      const r = partitionPipeline(spec, { timeLimitMs });
      expect(r.exact).toBe(false);
      expect(r.stoppedBy).toBe('time-limit');
      expectValid(spec, r.placement);
      const again = estimatePipeline(spec, { placement: r.placement });
      expect(r.objective).toBe(again.objective);
      expect(r.endToEndLatencyMs).toBe(again.endToEndLatencyMs);
      // An infeasible verdict from a cut search says it is not proven.
      for (const m of r.messages) expect(m).toMatch(/stopped at its \d+ ms time limit/);
    }
  });

  it('leaves a search that completes within the limit exact', async () => {
    const spec = await specOf(largePipeline(20, 2, 3));
    const r = partitionPipeline(spec, { timeLimitMs: 60_000 });
    expect(r.exact).toBe(true);
    expect(r.stoppedBy).toBeUndefined();
    expect(r.objective).toBe(partitionPipeline(spec).objective);
  });

  it('reports the node limit as what stopped a search cut by maxNodes', async () => {
    const spec = await specOf(largePipeline(176, 4, 6, 16));
    const r = partitionPipeline(spec, { maxNodes: 2000 });
    expect(r.exact).toBe(false);
    expect(r.stoppedBy).toBe('node-limit');
    expectValid(spec, r.placement);
  });

  it('rejects a negative or non-numeric limit with a clear message', async () => {
    const spec = await specOf(largePipeline(4, 2, 2));
    expect(() => partitionPipeline(spec, { timeLimitMs: -1 })).toThrow(/time limit must be a non-negative number/);
    expect(() => partitionPipeline(spec, { timeLimitMs: Number.NaN })).toThrow(/time limit must be a non-negative number/);
  });
});
