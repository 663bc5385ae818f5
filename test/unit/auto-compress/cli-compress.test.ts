/**
 * `sense compress` end to end: --write changes only compress lines (comments and every
 * other byte kept), the written file checks clean and `sense estimate` of it meets the
 * target with the figures --json reported; existing compress lines of re-decided layers
 * are replaced; without weights the output says the error is data-free; an infeasible
 * target exits 1 and writes nothing; bad options are usage errors.
 */
import '../../../language/polyfills';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sense, withoutLines } from '../../support/sense-cli';

/** A copy of `sample` and, when it has one, its weights file, in a fresh folder. */
function copySample(sample: string, weights?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sense-compress-'));
  const file = join(dir, sample.split('/').pop()!);
  copyFileSync(sample, file);
  if (weights) copyFileSync(weights, join(dir, weights.split('/').pop()!));
  return file;
}

interface Plan {
  feasible: boolean;
  limit: number;
  estimatedError: number;
  errorSource: string;
  before: { metric: number; endToEndLatencyMs: number; energyPerInferenceMj: number; params: number };
  after: { metric: number; endToEndLatencyMs: number; energyPerInferenceMj: number; params: number };
  layers: { layerId: string; rank?: number; relError: number; changed: boolean }[];
  lines: string[];
  written: boolean;
}

describe('sense compress', () => {
  it.each([
    ['--within', 'endToEndLatencyMs', 0.75],
    ['--energy', 'energyPerInferenceMj', 0.7],
  ] as const)('DeepEar %s: the written file checks clean and its estimate meets the target', async (flag, field, factor) => {
    const file = copySample('samples/deepear/deepear.sense', 'samples/deepear/deepear.safetensors');
    const before = readFileSync(file, 'utf8');
    const e0 = JSON.parse((await sense('estimate', file, '--json')).out) as Record<string, number>;
    const limit = e0[field] * factor;
    const r = await sense('compress', file, flag, String(limit), '--json', '--write');
    expect(r.code, r.err).toBe(0);
    const plan = JSON.parse(r.out) as Plan;
    expect(plan.feasible && plan.written).toBe(true);
    expect(plan.errorSource).toBe('weights');
    expect(plan.lines.length).toBeGreaterThan(0);
    expect(plan.after.params).toBeLessThan(plan.before.params);
    const after = readFileSync(file, 'utf8');
    expect(withoutLines(after, 'compress')).toBe(withoutLines(before, 'compress'));
    for (const line of plan.lines) expect(after).toContain(`  ${line}\n`);
    expect((await sense('check', file)).code).toBe(0);
    const e1 = JSON.parse((await sense('estimate', file, '--json')).out) as Record<string, number>;
    expect(e1[field]).toBeLessThanOrEqual(limit);
    expect(e1[field]).toBe(plan.after.metric);
    expect(e1.endToEndLatencyMs).toBe(plan.after.endToEndLatencyMs);
    expect(e1.energyPerInferenceMj).toBe(plan.after.energyPerInferenceMj);
    // Running again re-decides the same layers and finds the same plan: nothing changes.
    const again = await sense('compress', file, flag, String(limit), '--write');
    expect(again.code, again.err).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(after);
  });

  it('AlexNet without weights: data-free errors, its own compress lines replaced, comments kept', async () => {
    const file = copySample('samples/deepx/alexnet.sense');
    const before = readFileSync(file, 'utf8');
    const r = await sense('compress', file, '--energy', '60', 'mJ', '--write');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/data-free random-matrix estimate/);
    expect(r.out).toMatch(/root-sum-square/);
    const after = readFileSync(file, 'utf8');
    expect(after).toContain('  // DeepX compresses the dense layers, which hold 94% of AlexNet');
    expect(withoutLines(after, 'compress')).toBe(withoutLines(before, 'compress'));
    // Each layer has at most one compress line, and the file still checks clean.
    const refs = after.split('\n').filter((l) => /^\s*compress\b/.test(l)).map((l) => l.trim().split(/\s+/)[1]);
    expect(new Set(refs).size).toBe(refs.length);
    expect((await sense('check', file)).code).toBe(0);
    const e = JSON.parse((await sense('estimate', file, '--json')).out) as { energyPerInferenceMj: number };
    expect(e.energyPerInferenceMj).toBeLessThanOrEqual(60);
  });

  it('an infeasible target exits 1, shows the closest plan and writes nothing', async () => {
    const file = copySample('samples/watch/activity.sense', 'samples/watch/activity.safetensors');
    const before = readFileSync(file, 'utf8');
    const r = await sense('compress', file, '--within', '0.01ms', '--write');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/infeasible: no plan on the rank grid meets end-to-end latency <= 0.01 ms/);
    expect(r.out).toMatch(/nothing written/);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('--fit on a processor that already fits changes nothing', async () => {
    const r = await sense('compress', 'samples/deepear/deepear.sense', '--fit', 'dsp', '--json');
    expect(r.code, r.err).toBe(0);
    const plan = JSON.parse(r.out) as Plan;
    expect(plan.lines).toEqual([]);
    expect(plan.after.metric).toBe(plan.before.metric);
  });

  it.each([
    [['samples/deepear/deepear.sense'], /give a target/],
    [['samples/deepear/deepear.sense', '--within', '5', '--energy', '1'], /give one target/],
    [['samples/deepear/deepear.sense', '--within', 'fast'], /--within needs a positive number/],
    [['samples/deepear/deepear.sense', '--energy', '2', 'kWh'], /unknown option 'kWh'|one file at a time/],
    [['samples/deepear/deepear.sense', '--fit', 'tpu'], /no processor 'tpu'.*cpu, gpu, dsp/],
    [['samples/deepear/deepear.sense', '--within', '5', '--bogus'], /unknown option '--bogus'/],
  ])('usage error %j', async (argv, message) => {
    const r = await sense('compress', ...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });
});
