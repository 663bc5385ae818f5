/**
 * `sense estimate` as a user reads it: the continuous-sensing power figures of the DeepEar
 * sample in --json and in the text, checked by hand arithmetic on the printed figures (the
 * causes add up to the average power; battery life and battery per day follow from the
 * catalog's 2300 mAh at 3.8 V), not by the engine's own formulas.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sense } from '../../support/sense-cli';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SAMPLE = join(ROOT, 'samples', 'deepear', 'deepear.sense');
/** snapdragon800's battery in language/builtin-devices.ts: 2300 mAh at 3.8 V. */
const BATTERY_MWH = 2300 * 3.8;


describe('sense estimate: average power by cause', () => {
  it('--json: causes in mW add up to the average power, and the battery figures follow from it', async () => {
    const r = await sense('estimate', SAMPLE, '--json');
    expect(r.code, r.err).toBe(0);
    const e = JSON.parse(r.out) as {
      averagePowerMw: number;
      addedPowerMw: number;
      batteryLifeHours: number;
      batteryPercentPerDay: number;
      averagePowerByCauseMw: Record<string, number>;
    };
    expect(Object.keys(e.averagePowerByCauseMw).sort()).toEqual(['baseline', 'compute', 'idle', 'sampling', 'sleep', 'transfers', 'wakeUps']);
    const sum = Object.values(e.averagePowerByCauseMw).reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(e.averagePowerMw, 9);
    expect(e.batteryLifeHours).toBeCloseTo(BATTERY_MWH / e.averagePowerMw, 6);
    expect(e.batteryPercentPerDay).toBeCloseTo((100 * 24 * e.addedPowerMw) / BATTERY_MWH, 6);
    // The sample runs its front end on the CPU, so the CPU samples the microphone: the largest cause.
    expect(Math.max(...Object.values(e.averagePowerByCauseMw))).toBe(e.averagePowerByCauseMw.sampling);
  });

  it('text: the average power line names each cause with the same figures', async () => {
    const r = await sense('estimate', SAMPLE);
    expect(r.code, r.err).toBe(0);
    const text = r.out;
    expect(text).toMatch(/^average power {10}[\d.]+ mW: sampling [\d.]+ \(cpu\), compute [\d.]+, transfers [\d.]+, wake-ups [\d.]+, idle [\d.]+, sleep [\d.]+, baseline 20$/m);
    expect(text).toMatch(/^battery per day {8}[\d.]+% \(what the pipeline adds: [\d.]+ mW\)$/m);
  });
});
