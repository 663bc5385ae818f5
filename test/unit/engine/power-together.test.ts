/**
 * Several pipelines on one device (engine/multi-estimate.ts): the combined power by hand
 * arithmetic on a small custom device (a sampler, a processor that sleeps and wakes once per
 * window of each pipeline, one whose tail keeps it awake), one pipeline alone equal to its own
 * estimate, refusals, and the property that pipelines together never last longer than any
 * one of them alone.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { estimatePipeline } from '../../../engine/estimate';
import { estimateTogether, TogetherError } from '../../../engine/multi-estimate';
import { close, specOf, WATCH_DEVICE } from './spec-of';

const pipeline = (name: string, windowS: number, width: number, place: string, device = 'Watch'): string => `
  pipeline ${name} {
    input inertial { rate 50 Hz  window ${windowS} s  accelerometer [x, y, z] }
    features { stats mean, std }
    shared enc { dense ${width} relu }
    head h from enc { dense 2 softmax }
    target ${device}
    ${place}
  }`;

describe('pipelines together by hand', () => {
  it('adds loads and wake-ups per processor: dsp samples for both, mcu sleeps and wakes for each window of each, app stays awake in its tail', async () => {
    const text = `${pipeline('A', 1, 16, 'place features on dsp\n place enc, h on mcu')}
      ${pipeline('B', 0.5, 32, 'place features on dsp\n place enc on mcu\n place h on app')}
      ${WATCH_DEVICE}`;
    const [a, b] = [await specOf(text, 'A'), await specOf(text, 'B')];
    const [ea, eb] = [estimatePipeline(a), estimatePipeline(b)];
    const busy = (e: typeof ea, name: string): number => e.processors.find((p) => p.name === name)!.latencyMs;
    const t = estimateTogether([a, b]);
    const c = t.combined;
    // Loads: busy ms per ms, with hops of 1000 and 500 ms.
    const uDsp = busy(ea, 'dsp') / 1000 + busy(eb, 'dsp') / 500;
    const uMcu = busy(ea, 'mcu') / 1000 + busy(eb, 'mcu') / 500;
    const uApp = busy(eb, 'app') / 500;
    expect(busy(ea, 'app')).toBe(0);
    const load = (name: string): number => c.processors.find((p) => p.name === name)!.load;
    close(load('dsp'), uDsp, 'dsp load');
    close(load('mcu'), uMcu, 'mcu load');
    close(load('app'), uApp, 'app load');
    // Compute and transfers: each pipeline's window energy over its hop (mJ/s = mW).
    close(c.averagePowerByCauseMw.compute, ea.computeEnergyMj / 1 + eb.computeEnergyMj / 0.5, 'compute');
    close(c.averagePowerByCauseMw.transfers, ea.transferEnergyMj / 1 + eb.transferEnergyMj / 0.5, 'transfers');
    // dsp samples (3 mW) whenever it is not busy.
    close(c.averagePowerByCauseMw.sampling, 3 * (1 - uDsp), 'sampling');
    // mcu: woken 1 + 2 = 3 times a second; gap (1 - u) / 3 per wake-up, about 333 ms, longer
    // than its 50 ms tail: per second 3 tails at 10 mW, the rest asleep at 0.5 mW, 3 wake-ups of 0.2 mJ.
    const wakesPerMs = 3 / 1000;
    const gapMs = (1 - uMcu) / wakesPerMs;
    const mcuTailMw = wakesPerMs * 10 * 50;
    const mcuSleepMw = wakesPerMs * 0.5 * (gapMs - 50);
    const mcuWakeMw = 3 * 0.2;
    expect(mcuTailMw + mcuSleepMw + mcuWakeMw).toBeLessThan(10 * (1 - uMcu));
    // app: B's 500 ms windows are shorter than its 2 s tail, so it stays awake at 10 mW.
    const appIdleMw = 10 * (1 - uApp);
    close(c.averagePowerByCauseMw.wakeUps, mcuWakeMw, 'wake-ups');
    close(c.averagePowerByCauseMw.idle, mcuTailMw + appIdleMw, 'idle');
    close(c.averagePowerByCauseMw.sleep, mcuSleepMw, 'sleep');
    close(c.averagePowerByCauseMw.baseline, 5, 'baseline');
    const totalMw = ea.computeEnergyMj + eb.computeEnergyMj / 0.5 + ea.transferEnergyMj + eb.transferEnergyMj / 0.5 + 3 * (1 - uDsp) + mcuTailMw + mcuSleepMw + mcuWakeMw + appIdleMw + 5;
    close(c.averagePowerMw, totalMw, 'average power');
    expect(c.processors.map((p) => `${p.name}:${p.state}:${p.wakeUpsPerS}`)).toEqual(['dsp:sampling:0', 'mcu:sleeps:3', 'app:awake:0']);
    close(c.restPowerMw, 5 + 0.1 + 0.5 + 0.5, 'rest');
    close(c.batteryLifeHours!, (300 * 3.8) / totalMw, 'battery life (300 mAh at 3.8 V)');
    close(c.batteryPercentPerDay!, (100 * (totalMw - 6.1) * 24) / (300 * 3.8), 'battery per day');
    // Contention: A waits at worst for B's whole window on dsp and mcu, the processors A uses.
    const [ta, tb] = t.pipelines;
    close(ta.worstLatencyMs, ea.endToEndLatencyMs + busy(eb, 'dsp') + busy(eb, 'mcu'), 'A worst latency');
    close(tb.worstLatencyMs, eb.endToEndLatencyMs + busy(ea, 'dsp') + busy(ea, 'mcu'), 'B worst latency');
    expect(ta.averagePowerMw).toBe(ea.averagePowerMw);
    expect(c.overloaded).toEqual([]);
  });

  it('one pipeline alone is its own estimate', async () => {
    for (const place of ['place features on dsp\n place enc, h on mcu', 'place features on dsp\n place enc on app', 'place features, enc, h on mcu']) {
      const spec = await specOf(`${pipeline('A', 1, 16, place)}\n${WATCH_DEVICE}`);
      const e = estimatePipeline(spec);
      const c = estimateTogether([spec]).combined;
      close(c.averagePowerMw, e.averagePowerMw, `average power (${place})`);
      for (const [k, v] of Object.entries(e.power.averagePowerByCauseMw)) close(c.averagePowerByCauseMw[k as keyof typeof c.averagePowerByCauseMw], v, k);
      close(c.batteryLifeHours!, e.batteryLifeHours!, 'battery life');
    }
  });

  it('says when the processors cannot keep up together', async () => {
    // Three dense 2000 layers (8 M MACs) take about 80 ms on the 0.1 GMAC/s dsp; each pipeline brings one every 100 ms.
    const heavy = (name: string): string => pipeline(name, 0.1, 2000, 'place features, enc, h on dsp').replace('relu }', 'relu  dense 2000 relu  dense 2000 relu }');
    const text = `${heavy('A')}\n${heavy('B')}\n${WATCH_DEVICE}`;
    const t = estimateTogether([await specOf(text, 'A'), await specOf(text, 'B')]);
    expect(t.combined.processors[0].load).toBeGreaterThan(1);
    expect(t.combined.overloaded[0]).toMatch(/^dsp would be busy \d+\.\d% of the time: the pipelines cannot keep up together/);
  });

  it('refuses pipelines on different devices, and one device name with different figures', async () => {
    const other = WATCH_DEVICE.replace('device Watch', 'device Band');
    const text = `${pipeline('A', 1, 16, '')}\n${pipeline('B', 1, 16, '', 'Band')}\n${WATCH_DEVICE}\n${other}`;
    const [a, b] = [await specOf(text, 'A'), await specOf(text, 'B')];
    expect(() => estimateTogether([a, b])).toThrow(TogetherError);
    expect(() => estimateTogether([a, b])).toThrow(/A targets Watch, B targets Band/);
    const changed = await specOf(`${pipeline('C', 1, 16, '')}\n${WATCH_DEVICE.replace('baseline 5 mW', 'baseline 6 mW')}`);
    expect(() => estimateTogether([a, changed])).toThrow(/both target 'Watch' but its figures differ/);
    expect(() => estimateTogether([])).toThrow(TogetherError);
  });
});

/** A Watch-like device with random figures (sleep <= idle <= sampling <= active). */
const deviceArb = fc.record({
  samplingMw: fc.double({ min: 0, max: 1, noNaN: true }),
  procs: fc.array(
    fc.record({ activeMw: fc.integer({ min: 20, max: 400 }), idleShare: fc.double({ min: 0, max: 1, noNaN: true }), sleepShare: fc.double({ min: 0, max: 1, noNaN: true }), wakeMj: fc.double({ min: 0, max: 2, noNaN: true }), tailMs: fc.integer({ min: 0, max: 3000 }), gmacs: fc.double({ min: 0.01, max: 2, noNaN: true }) }),
    { minLength: 3, maxLength: 3 },
  ),
});
const pipelineArb = fc.record({ windowS: fc.constantFrom(0.25, 0.5, 1, 2), width: fc.integer({ min: 2, max: 300 }), placement: fc.array(fc.constantFrom('dsp', 'mcu', 'app'), { minLength: 3, maxLength: 3 }) });

describe('pipelines together: property', () => {
  it('two pipelines together never last longer than either alone, nor draw less', async () => {
    await fc.assert(
      fc.asyncProperty(deviceArb, pipelineArb, pipelineArb, async (d, p, q) => {
        const names = ['dsp', 'mcu', 'app'];
        const processors = d.procs.map((x, i) => {
          const idle = x.activeMw * x.idleShare;
          const sampling = i === 0 ? ` sampling ${(idle + (x.activeMw - idle) * d.samplingMw).toFixed(6)} mW` : '';
          return `processor ${names[i]} { compute ${x.gmacs.toFixed(4)} GMAC/s  memory 8 MB  power ${x.activeMw} mW  idle ${idle.toFixed(6)} mW  sleep ${(idle * x.sleepShare).toFixed(6)} mW  wake ${x.wakeMj.toFixed(6)} mJ  tail ${x.tailMs} ms${sampling} }`;
        });
        const device = `device Rand { ${processors.join('\n')} link dsp <-> mcu { bandwidth 1 GB/s } link dsp <-> app { bandwidth 1 GB/s } link mcu <-> app { bandwidth 1 GB/s } baseline 3 mW battery 300 mAh at 3.8 V default mcu }`;
        const place = (x: typeof p): string => `place features on ${x.placement[0]}\n place enc on ${x.placement[1]}\n place h on ${x.placement[2]}`;
        const text = `${pipeline('A', p.windowS, p.width, place(p), 'Rand')}\n${pipeline('B', q.windowS, q.width, place(q), 'Rand')}\n${device}`;
        const [a, b] = [await specOf(text, 'A'), await specOf(text, 'B')];
        const t = estimateTogether([a, b]);
        for (const e of t.estimates) {
          expect(t.combined.averagePowerMw).toBeGreaterThanOrEqual(e.averagePowerMw * (1 - 1e-12));
          expect(t.combined.batteryLifeHours!).toBeLessThanOrEqual(e.batteryLifeHours! * (1 + 1e-12));
        }
      }),
      { numRuns: 40, seed: 15 },
    );
  });
});
