/**
 * The samples' plans as golden data (test/unit/partition/golden/samples.json, written by
 * make-golden.mts and reviewed by hand): the partitioner must reproduce each plan and its
 * figures, the figures must be estimatePipeline's for that placement, and the plan must
 * respect memory, op support and pins. Also: an infeasible budget is reported.
 */
import '../../../language/polyfills';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../../cli/load';
import { estimatePipeline } from '../../../engine/estimate';
import { partitionPipeline } from '../../../engine/partition/partition';
import { GOLDEN_CASES, GOLDEN_PATH } from './golden-cases';

interface GoldenPlan {
  objective: number;
  endToEndLatencyMs: number;
  energyPerInferenceMj: number;
  feasible: boolean;
  violations: string[];
  placement: Record<string, string>;
}

const golden = JSON.parse(readFileSync(GOLDEN_PATH, 'utf8')) as Record<string, GoldenPlan>;
const close = (a: number, b: number): void => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-9 * Math.abs(b));

describe('sample plans (golden)', () => {
  it.each(GOLDEN_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { spec } = await loadPipeline(c.file);
    const r = partitionPipeline(spec, { ...(c.optimize ? { optimize: c.optimize } : {}), ...(c.keepPins ? { keepPins: true } : {}) });
    const g = golden[c.name];
    expect(r.exact).toBe(true);
    expect(r.placement).toEqual(g.placement);
    close(r.objective, g.objective);
    close(r.endToEndLatencyMs, g.endToEndLatencyMs);
    close(r.energyPerInferenceMj, g.energyPerInferenceMj);
    expect(r.feasible).toBe(g.feasible);
    expect(r.violations).toEqual(g.violations);
    const e = estimatePipeline({ ...spec, optimize: r.optimize }, { placement: r.placement });
    expect(e.objective).toBe(r.objective);
    expect(e.issues.filter((i) => i.severity === 'error')).toEqual([]);
    for (const p of e.processors) expect(p.memoryBytes).toBeLessThanOrEqual(p.memoryLimitBytes);
    if (c.keepPins) for (const [layer, proc] of Object.entries(spec.placement)) expect(r.placement[layer]).toBe(proc);
  });

  it('beats or equals the sample files own placement', async () => {
    for (const file of ['samples/deepear/deepear.sense', 'samples/deepx/alexnet.sense', 'samples/watch/activity.sense']) {
      const { spec } = await loadPipeline(file);
      expect(partitionPipeline(spec).objective).toBeLessThanOrEqual(estimatePipeline(spec).objective);
    }
  });

  it('reports an infeasible budget and returns the best plan that fits memory', async () => {
    const { spec } = await loadPipeline('samples/deepear/deepear.sense');
    const r = partitionPipeline(spec, { optimize: { budgetMs: 0.5 } });
    expect(r.feasible).toBe(false);
    expect(r.violations).toEqual(['budget']);
    expect(r.messages[0]).toMatch(/No placement meets the 0.5 ms budget/);
    expect(r.objective).toBe(partitionPipeline(spec, { optimize: { budgetMs: undefined } }).objective);
  });

  it('keeps the DSP within its memory on DeepEar when the unconstrained optimum would not fit', async () => {
    // The paper-sized DeepEar of DESIGN.md (1024-wide encoder, uncompressed): too big for the DSP as a whole.
    const dir = mkdtempSync(join(tmpdir(), 'sense-golden-'));
    const file = join(dir, 'deepear-1024.sense');
    writeFileSync(file, readFileSync('test/unit/language/fixtures/design-example.sense', 'utf8').replace(/^ *compress .*$/m, ''));
    const { spec } = await loadPipeline(file);
    // Energy only: every layer prefers the DSP, whose memory cannot hold them all.
    const allDsp = Object.fromEntries(Object.keys(partitionPipeline(spec).placement).map((k) => [k, 'dsp']));
    const over = estimatePipeline(spec, { placement: allDsp }).processors.find((p) => p.name === 'dsp')!;
    expect(over.memoryBytes).toBeGreaterThan(over.memoryLimitBytes);
    const r = partitionPipeline(spec, { optimize: { energyWeight: 1, latencyWeight: 0 } });
    const e = estimatePipeline(spec, { placement: r.placement });
    const dsp = e.processors.find((p) => p.name === 'dsp')!;
    expect(dsp.memoryBytes).toBeLessThanOrEqual(dsp.memoryLimitBytes);
    expect(Object.values(r.placement).filter((p) => p !== 'dsp').length).toBeGreaterThan(0);
  });
});
