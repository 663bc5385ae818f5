/**
 * The continuous-sensing power model (engine/power-model.ts) by hand arithmetic on a small
 * custom device, the partitioner minimising it (brute force over every placement), and the
 * property that more work never lowers a window's energy.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { estimatePipeline } from '../../../engine/estimate';
import { partitionPipeline, placementUnits } from '../../../engine/partition/partition';
import { standbyEnergyMj, standbyPieces } from '../../../engine/power-model';
import type { ProcessorSpec } from '../../../language/pipeline-model';
import { close, specOf, WATCH_DEVICE } from './spec-of';

const DEVICE = WATCH_DEVICE;

const PIPELINE = (place: string, device = DEVICE): string => `
  pipeline P {
    input inertial { rate 50 Hz  window 1 s  accelerometer [x, y, z] }
    features { stats mean, std }
    shared enc { dense 16 relu }
    head h from enc { dense 2 softmax }
    target Watch
    ${place}
  }
  ${device}`;

describe('power states by hand', () => {
  it('a sampler that stays awake, a processor that sleeps with one wake-up per window, one kept awake by its tail', async () => {
    const spec = await specOf(PIPELINE('place features on dsp\n    place enc on mcu\n    place h on app'));
    const e = estimatePipeline(spec);
    const busy = (name: string): number => e.processors.find((p) => p.name === name)!.latencyMs;
    const hopMs = 1000;
    const [dsp, mcu, app] = [busy('dsp'), busy('mcu'), busy('app')];
    expect(dsp).toBeGreaterThan(0);
    expect(mcu).toBeGreaterThan(0);
    expect(app).toBeGreaterThan(0);
    // dsp samples: 3 mW for the rest of the second.
    const samplingMj = 3 * (hopMs - dsp) * 1e-3;
    // mcu: awake would cost 10 mW x gap (about 10 mJ); sleeping costs the 50 ms tail at 10 mW, then
    // 0.5 mW, plus one 0.2 mJ wake-up (about 1.2 mJ): it sleeps.
    const mcuGap = hopMs - mcu;
    const mcuTailMj = 10 * 50 * 1e-3;
    const mcuSleepMj = 0.5 * (mcuGap - 50) * 1e-3;
    // app: its 2 s tail is longer than the gap, so it never sleeps: 10 mW x gap.
    const appIdleMj = 10 * (hopMs - app) * 1e-3;
    const baselineMj = 5 * hopMs * 1e-3;
    const p = e.power;
    expect(p.sampler).toBe('dsp');
    expect(p.processors.map((x) => `${x.name}:${x.state}`)).toEqual(['dsp:sampling', 'mcu:sleeps', 'app:awake']);
    close(p.byCause.samplingMj, samplingMj, 'sampling');
    close(p.byCause.wakeUpsMj, 0.2, 'wake-ups');
    close(p.byCause.idleMj, mcuTailMj + appIdleMj, 'idle');
    close(p.byCause.sleepMj, mcuSleepMj, 'sleep');
    close(p.byCause.baselineMj, baselineMj, 'baseline');
    close(p.byCause.computeMj, e.energyPerInferenceMj - e.transferEnergyMj, 'compute');
    const windowMj = e.energyPerInferenceMj + samplingMj + 0.2 + mcuTailMj + appIdleMj + mcuSleepMj + baselineMj;
    close(e.windowEnergyMj, windowMj, 'window');
    close(e.averagePowerMw, windowMj / 1, 'average power (hop 1 s)');
    expect(p.wakeLatencyMs).toBe(2);
    // The device at rest: baseline + every processor asleep (0.1 + 0.5 + 0.5 mW).
    close(p.restPowerMw, 5 + 1.1, 'rest');
    close(e.batteryLifeHours!, (300 * 3.8) / (windowMj / 1), 'battery life');
    close(e.batteryPercentPerDay!, (100 * (windowMj - 6.1) * 24) / (300 * 3.8), 'battery per day');
  });

  it('keeps the microphone on the sampler: a front end on a processor that cannot sample leaves it to the default processor', async () => {
    const onMcu = estimatePipeline(await specOf(PIPELINE('place features, enc, h on mcu')));
    // mcu has no sampling figure, so the default dsp samples (awake at 3 mW) and the mcu sleeps.
    expect(onMcu.power.sampler).toBe('dsp');
    close(onMcu.power.byCause.samplingMj, 3 * 1000 * 1e-3, 'dsp sampling with no work of its own');
    expect(onMcu.power.processors.find((x) => x.name === 'app')!.state).toBe('asleep');
    close(onMcu.power.processors.find((x) => x.name === 'app')!.standbyMj, 0.5 * 1000 * 1e-3, 'app asleep all window');
  });

  it('pieces: the least piece is the standby energy for every busy time within the hop', () => {
    const p: ProcessorSpec = {
      name: 'x', computeMacsPerS: 1e9, memoryBytes: 1e9, bandwidthBytesPerS: Infinity, activePowerMw: 100, idlePowerMw: 10, sleepPowerMw: 0.5,
      wakeEnergyMj: 0.2, wakeLatencyMs: 1, tailMs: 50, overheadMs: 0, transferPjPerByte: 0, remote: false, sources: [],
    };
    for (const busyMs of [0.001, 1, 100, 900, 949, 950, 951, 999, 1000]) {
      const least = Math.min(...standbyPieces(p, 1000, false).map((x) => x.constantMj - x.rateMw * busyMs * 1e-3));
      close(least, standbyEnergyMj(p, busyMs, 1000).energyMj, `busy ${busyMs} ms`);
    }
    // Without a sleep figure (sleep = idle) sleeping never pays: one piece.
    expect(standbyPieces({ ...p, sleepPowerMw: 10 }, 1000, false).map((x) => x.state)).toEqual(['awake']);
  });
});

describe('the partitioner minimises the power model', () => {
  it('equals the best of every placement by estimatePipeline', async () => {
    const spec = await specOf(PIPELINE('optimize energy 1 latency 0.01'));
    const units = placementUnits(spec);
    const names = ['dsp', 'mcu', 'app'];
    let best = Infinity;
    for (let code = 0; code < names.length ** units.length; code++) {
      const placement: Record<string, string> = {};
      units.forEach((u, i) => (placement[u] = names[Math.floor(code / names.length ** i) % names.length]));
      best = Math.min(best, estimatePipeline(spec, { placement }).objective);
    }
    const r = partitionPipeline(spec);
    expect(r.exact).toBe(true);
    close(r.objective, best, 'partition optimum');
    close(r.windowEnergyMj, estimatePipeline(spec, { placement: r.placement }).windowEnergyMj, 'window energy');
  });
});

describe('more work never lowers the energy of a window', () => {
  it('adding a layer or widening one, on any placement', async () => {
    const units = ['features', 'enc.1', 'h.1'];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 400 }),
        fc.array(fc.constantFrom('dsp', 'mcu', 'app'), { minLength: 3, maxLength: 3 }),
        fc.constantFrom('dsp', 'mcu', 'app'),
        async (width, extra, where, extraOn) => {
          const text = (enc: string, place: string, head = 'dense 2 softmax'): string => `
            pipeline P {
              input inertial { rate 50 Hz  window 1 s  accelerometer [x, y, z] }
              features { stats mean, std }
              shared enc { ${enc} }
              head h from enc { ${head} }
              target Watch
              ${place}
            }
            ${DEVICE}`;
          const place = units.map((u, i) => `place ${u} on ${where[i]}`).join('\n');
          const before = estimatePipeline(await specOf(text(`dense ${width} relu`, place)));
          const wider = estimatePipeline(await specOf(text(`dense ${width + extra} relu`, place)));
          // A layer appended to the head adds its work (and maybe a transfer) and changes nothing before it.
          const deeper = estimatePipeline(await specOf(text(`dense ${width} relu`, `${place}\nplace h.2 on ${extraOn}`, `dense 2 softmax  dense ${extra}`)));
          expect(wider.windowEnergyMj).toBeGreaterThanOrEqual(before.windowEnergyMj - 1e-12);
          expect(deeper.windowEnergyMj).toBeGreaterThanOrEqual(before.windowEnergyMj - 1e-12);
        },
      ),
      { numRuns: 40, seed: 15 },
    );
  });
});

describe('the window starts at its sampler (engine/schedule.ts)', () => {
  // The watch device with the app processor (no `sampling` figure) as the default.
  const appDefault = DEVICE.replace('default dsp', 'default app');

  it('a front end on the sampling dsp reads the window without a transfer', async () => {
    const e = estimatePipeline(await specOf(PIPELINE('place features, enc, h on dsp', appDefault)));
    expect(e.power.sampler).toBe('dsp');
    expect(e.transfers.filter((t) => t.tensor === 'input')).toEqual([]);
    expect(e.transferEnergyMj).toBe(0);
  });

  it('a front end on the mcu, which cannot sample, gets the raw window from the default app processor', async () => {
    const e = estimatePipeline(await specOf(PIPELINE('place features, enc, h on mcu', appDefault)));
    expect(e.power.sampler).toBe('app');
    const raw = e.transfers.filter((t) => t.tensor === 'input');
    // 50 samples x 3 axes x 4 bytes, from app to mcu through the dsp (the only links are dsp <-> mcu and dsp <-> app).
    expect(raw.map((t) => [t.from, t.to, t.bytes, t.hops.map((h) => `${h.from}>${h.to}`).join(' ')])).toEqual([['app', 'mcu', 600, 'app>dsp dsp>mcu']]);
    // Each hop at 1 GB/s moves 600 B in 0.0006 ms; these links state no latency of their own.
    expect(raw[0].latencyMs).toBeCloseTo(((2 * 600) / 1e9) * 1e3, 12);
  });
});
