/**
 * `sense estimate A.sense B.sense`: the DeepEar sample (front end on the CPU, so the CPU samples)
 * beside a copy of it that runs wholly on the DSP (the DSP samples). The combined figures are
 * checked by hand from each pipeline's own `sense estimate --json` and the catalog's figures
 * (language/builtin-devices.ts: sampling 76 mW on the CPU and 7.6 mW on the DSP, GPU asleep at
 * 0.5 mW, baseline 20 mW, 2300 mAh at 3.8 V), and pipelines on different devices are refused.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sense } from '../../support/sense-cli';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SAMPLE = join(ROOT, 'samples', 'deepear', 'deepear.sense');
const WATCH = join(ROOT, 'samples', 'watch', 'activity.sense');
const BATTERY_MWH = 2300 * 3.8;

function allOnDsp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sense-together-'));
  const text = readFileSync(SAMPLE, 'utf8')
    .replace(/pipeline DeepEar/, 'pipeline DeepEarDsp')
    .replace(/\n\s*place [^\n]*/g, '')
    .replace(/\n\s*optimize/, '\n  place features, encoder, ambient, emotion, stress, speaker on dsp\n  optimize');
  const path = join(dir, 'deepear-dsp.sense');
  writeFileSync(path, text);
  return path;
}

interface Single {
  computeEnergyMj: number;
  transferEnergyMj: number;
  averagePowerMw: number;
  sampler: string;
  powerStates: { name: string; busyMs: number }[];
}

describe('sense estimate with several pipelines', () => {
  it('--json: per pipeline and combined, the combined power by hand from each pipeline alone', async () => {
    const dsp = allOnDsp();
    const [a, b] = [await sense('estimate', SAMPLE, '--json'), await sense('estimate', dsp, '--json')];
    expect(a.code, a.err).toBe(0);
    expect(b.code, b.err).toBe(0);
    const [ea, eb] = [JSON.parse(a.out) as Single, JSON.parse(b.out) as Single];
    expect([ea.sampler, eb.sampler]).toEqual(['cpu', 'dsp']);
    const r = await sense('estimate', SAMPLE, dsp, '--json');
    expect(r.code, r.err).toBe(0);
    const t = JSON.parse(r.out) as {
      pipelines: { pipeline: string; file: string; averagePowerMw: number; sampler: string }[];
      combined: { averagePowerMw: number; batteryLifeHours: number; averagePowerByCauseMw: Record<string, number>; processors: { name: string; load: number; state: string }[] };
    };
    expect(t.pipelines.map((p) => [p.pipeline, p.sampler])).toEqual([['DeepEar', 'cpu'], ['DeepEarDsp', 'dsp']]);
    expect(t.pipelines[0].averagePowerMw).toBeCloseTo(ea.averagePowerMw, 9);
    // Both hops are 1 s, so a load is the busy ms of both windows over 1000 ms.
    const busy = (e: Single, name: string): number => e.powerStates.find((p) => p.name === name)!.busyMs;
    const uCpu = (busy(ea, 'cpu') + busy(eb, 'cpu')) / 1000;
    const uDsp = (busy(ea, 'dsp') + busy(eb, 'dsp')) / 1000;
    const c = t.combined;
    expect(c.processors.map((p) => p.state)).toEqual(['sampling', 'asleep', 'sampling']);
    expect(c.processors[0].load).toBeCloseTo(uCpu, 12);
    expect(c.processors[2].load).toBeCloseTo(uDsp, 12);
    const byHand = ea.computeEnergyMj + eb.computeEnergyMj + ea.transferEnergyMj + eb.transferEnergyMj + 76 * (1 - uCpu) + 7.6 * (1 - uDsp) + 0.5 + 20;
    expect(c.averagePowerMw).toBeCloseTo(byHand, 9);
    expect(Object.values(c.averagePowerByCauseMw).reduce((x, y) => x + y, 0)).toBeCloseTo(c.averagePowerMw, 9);
    expect(c.batteryLifeHours).toBeCloseTo(BATTERY_MWH / byHand, 6);
    expect(c.averagePowerMw).toBeGreaterThan(Math.max(ea.averagePowerMw, eb.averagePowerMw));
  });

  it('text: the pipelines, the processors with their load, and the combined battery', async () => {
    const r = await sense('estimate', SAMPLE, allOnDsp());
    expect(r.code, r.err).toBe(0);
    expect(r.outLines[0]).toBe('DeepEar + DeepEarDsp together on snapdragon800');
    expect(r.out).toMatch(/^cpu\s+\d+\.\d\d\s+sampling\s+0\.00\s+DeepEar$/m);
    expect(r.out).toMatch(/^dsp\s+\d+\.\d\d\s+sampling\s+0\.00\s+DeepEar, DeepEarDsp$/m);
    expect(r.out).toMatch(/^battery life {11}\d/m);
    expect(r.out).toMatch(/^battery per day {8}\d/m);
  });

  it('--target puts every pipeline on one device, so the watch pipeline can join DeepEar', async () => {
    const r = await sense('estimate', SAMPLE, WATCH, '--target', 'snapdragon800', '--json');
    expect(r.code, r.err).toBe(0);
    const t = JSON.parse(r.out) as { pipelines: { hopMs: number }[]; combined: { target: string; processors: { name: string; pipelines: string[] }[] } };
    expect(t.combined.target).toBe('snapdragon800');
    expect(t.pipelines.map((p) => p.hopMs)).toEqual([1000, 1280]);
    expect(t.combined.processors.find((p) => p.name === 'cpu')!.pipelines).toHaveLength(2);
  });

  it('refuses pipelines on different devices, naming both', async () => {
    const r = await sense('estimate', SAMPLE, WATCH);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/pipelines on different devices cannot share processors: DeepEar targets snapdragon800, \w+ targets nrf52840/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});
