/**
 * `sense partition` end to end: --json figures equal `sense estimate` of the written file,
 * --write keeps every other byte (comments included) and the file re-checks clean, the
 * exit code reports an infeasible budget, and bad options are usage errors.
 */
import '../../../language/polyfills';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sense, withoutLines } from '../../support/sense-cli';
import { loadPipeline } from '../../../cli/load';
import { largePipeline } from './random-pipelines';

describe('sense partition', () => {
  it.each(['samples/deepear/deepear.sense', 'samples/deepx/alexnet.sense', 'samples/watch/activity.sense'])('--write round trip of %s', async (sample) => {
    const dir = mkdtempSync(join(tmpdir(), 'sense-partition-'));
    const file = join(dir, 'p.sense');
    copyFileSync(sample, file);
    const before = readFileSync(file, 'utf8');
    const plan = await sense('partition', file, '--json', '--write');
    expect(plan.code, plan.err).toBe(0);
    const json = JSON.parse(plan.out) as { objective: number; endToEndLatencyMs: number; energyPerInferenceMj: number; placement: Record<string, string>; feasible: boolean; place: string[] };
    expect(json.feasible).toBe(true);
    const after = readFileSync(file, 'utf8');
    // Only place lines changed; comments and every other line are byte-identical.
    expect(withoutLines(after, 'place')).toBe(withoutLines(before, 'place'));
    for (const line of json.place) expect(after).toContain(`  ${line}\n`);
    // The rewritten file checks clean and estimates to the same objective.
    const { spec } = await loadPipeline(file);
    for (const [layer, proc] of Object.entries(json.placement)) expect(spec.placement[layer]).toBe(proc);
    const est = await sense('estimate', file, '--json');
    const e = JSON.parse(est.out) as { objective: number; endToEndLatencyMs: number; energyPerInferenceMj: number };
    expect(e.objective).toBe(json.objective);
    expect(e.endToEndLatencyMs).toBe(json.endToEndLatencyMs);
    expect(e.energyPerInferenceMj).toBe(json.energyPerInferenceMj);
    // A second run finds the same plan and writes the same text.
    expect((await sense('partition', file, '--write', '--json')).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(after);
  });

  it('inserts place lines before optimize when the file has none, and keeps trailing comments', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sense-partition-'));
    const file = join(dir, 'p.sense');
    const text = readFileSync('samples/deepear/deepear.sense', 'utf8').replace(/  place encoder, ambient, stress on dsp\n/, '').replace('  place emotion, speaker on cpu', '  place emotion, speaker on cpu // was here');
    writeFileSync(file, text);
    const r = await sense('partition', file, '--write');
    expect(r.code, r.err).toBe(0);
    const after = readFileSync(file, 'utf8');
    expect(after).toContain('  // was here\n');
    expect(after).toMatch(/( {2}place [^\n]+ on (cpu|dsp|gpu)\n)+ {2}\/\/ was here\n {2}optimize/);
    const none = readFileSync('samples/watch/activity.sense', 'utf8');
    writeFileSync(file, none);
    expect((await sense('partition', file, '--write')).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(/\n {2}place encoder, activity, transport, place on mcu\n {2}optimize energy/);
  });

  it('writes place features when the optimum moves the front end, and the written file estimates to the plan', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sense-partition-'));
    const file = join(dir, 'p.sense');
    copyFileSync('samples/deepear/deepear.sense', file);
    // Energy only: the DSP runs everything cheaper, the front end included (golden case deepear-energy).
    const r = await sense('partition', file, '--alpha', '1', '--beta', '0', '--json', '--write');
    expect(r.code, r.err).toBe(0);
    const json = JSON.parse(r.out) as { featuresProcessor: string; place: string[]; endToEndLatencyMs: number; energyPerInferenceMj: number };
    expect(json.featuresProcessor).toBe('dsp');
    expect(json.place[0]).toMatch(/^place features, encoder, .* on dsp$/);
    const after = readFileSync(file, 'utf8');
    expect(after).toContain(`  ${json.place[0]}\n`);
    expect((await sense('check', file)).code).toBe(0);
    const { spec } = await loadPipeline(file);
    expect(spec.placement.features).toBe('dsp');
    const e = JSON.parse((await sense('estimate', file, '--json')).out) as { endToEndLatencyMs: number; energyPerInferenceMj: number; features: { processor: string } };
    expect(e.features.processor).toBe('dsp');
    expect(e.endToEndLatencyMs).toBe(json.endToEndLatencyMs);
    expect(e.energyPerInferenceMj).toBe(json.energyPerInferenceMj);
    // Latency only: the front end returns to the default cpu and its place line goes. (The file's own
    // objective keeps it on the dsp: the microphone stream there lets the cpu sleep, engine/power-model.ts.)
    const back = await sense('partition', file, '--alpha', '0', '--beta', '1', '--write', '--json');
    expect(back.code, back.err).toBe(0);
    expect(JSON.parse(back.out).featuresProcessor).toBe('cpu');
    expect(readFileSync(file, 'utf8')).not.toMatch(/place features/);
  });

  it('exits 1 and says so when the budget cannot be met', async () => {
    const r = await sense('partition', 'samples/deepear/deepear.sense', '--within', '0.5', '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).feasible).toBe(false);
    const t = await sense('partition', 'samples/deepear/deepear.sense', '--within', '0.5');
    expect(t.out).toMatch(/infeasible: No placement meets the 0.5 ms budget/);
  });

  it('--time-limit-ms stops a hard search and says the plan is not proven optimal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sense-partition-'));
    const file = join(dir, 'big.sense');
    // The benchmark's weak case: memory binds on a 177-unit trunk; not proven within the node limit.
    writeFileSync(file, largePipeline(176, 4, 6, 16));
    const j = await sense('partition', file, '--time-limit-ms', '0', '--json');
    const json = JSON.parse(j.out) as { exact: boolean; stoppedBy?: string; placement: Record<string, string>; objective: number };
    expect(json.exact).toBe(false);
    expect(json.stoppedBy).toBe('time-limit');
    const { spec } = await loadPipeline(file);
    expect(Object.keys(json.placement).length).toBe(spec.blocks.reduce((s, b) => s + b.layers.length, 0));
    const t = await sense('partition', file, '--time-limit-ms', '1');
    expect(t.out).toMatch(/note: the search stopped at its 1 ms time limit \(--time-limit-ms\); this plan is the best found, not proven optimal/);
    // A sample proves its optimum well within a generous limit: exact, no note.
    const s = await sense('partition', 'samples/deepear/deepear.sense', '--time-limit-ms', '60000', '--json');
    expect(s.code, s.err).toBe(0);
    expect(JSON.parse(s.out).exact).toBe(true);
    expect(JSON.parse(s.out).stoppedBy).toBeUndefined();
    const bad = await sense('partition', 'samples/deepear/deepear.sense', '--time-limit-ms', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--time-limit-ms needs a non-negative number/);
    expect((await sense('partition', 'samples/deepear/deepear.sense', '--time-limit-ms')).code).toBe(2);
  });

  it('takes --alpha and --beta and rejects bad options', async () => {
    const r = await sense('partition', 'samples/deepear/deepear.sense', '--alpha', '0', '--beta', '1', '--json');
    const j = JSON.parse(r.out);
    expect(j.objective).toBe(j.endToEndLatencyMs);
    expect((await sense('partition', 'samples/deepear/deepear.sense', '--alpha', 'x')).code).toBe(2);
    expect((await sense('partition', 'samples/deepear/deepear.sense', '--bogus')).code).toBe(2);
    expect((await sense('partition')).code).toBe(2);
  });
});
