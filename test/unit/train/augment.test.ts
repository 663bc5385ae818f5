/**
 * Training augmentation (engine/train/augment.ts) against independent references: gain and
 * shift by hand, convolution by numpy.convolve, speed by the length ratio and the pitch of a
 * sine measured with numpy's FFT; determinism by seed; and in the trainer, that only training
 * windows are augmented, never the held-out split.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTrainArgs } from '../../../cli/commands/train';
import { main } from '../../../cli/main';
import { encodeWav16 } from '../../../runtime/wav';
import { mulberry32 } from '../../../engine/compress/random';
import { applyGain, augmentWindow, changeSpeed, convolveSame, fitLength, parseAugmentations, reverberate, syntheticRoomImpulse, timeShift } from '../../../engine/train/augment';
import { rms } from '../../../engine/train/signal';
import { stratifiedSplit, trainPipeline } from '../../../engine/train/trainer';
import { encodeSafetensors } from '../../../engine/weights/safetensors';
import { pythonHas, runPython } from '../../support/python';
import { SINE_PIPELINE, pipelineFromText, sineClip, sineExamples, tempDir, useBackend } from './helpers';

const RATE_HZ = 16000;

function sine(freqHz: number, samples: number, rateHz = RATE_HZ): Float32Array {
  return Float32Array.from({ length: samples }, (_, i) => 0.5 * Math.sin((2 * Math.PI * freqHz * i) / rateHz));
}

describe('gain and shift (hand arithmetic)', () => {
  it('6 dB multiplies every sample by 10^(6/20) = 1.99526, -20 dB by 0.1', () => {
    const x = Float32Array.from([0.25, -0.5, 0.125, 0]);
    expect([...applyGain(x, 6)]).toEqual([...x].map((v) => Math.fround(v * 1.9952623149688795)));
    expect([...applyGain(x, -20)]).toEqual([...x].map((v) => Math.fround(v * 0.1)));
  });

  it('a delay fills silence at the start, an advance at the end, the length stays', () => {
    const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...timeShift(x, 3)]).toEqual([0, 0, 0, 1, 2, 3, 4, 5]);
    expect([...timeShift(x, -2)]).toEqual([3, 4, 5, 6, 7, 8, 0, 0]);
    expect([...timeShift(x, 0)]).toEqual([...x]);
    expect([...timeShift(x, 20)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(() => timeShift(x, 1.5)).toThrow(/whole number/);
  });

  it('fitLength centres and cuts or pads', () => {
    expect([...fitLength(Float32Array.from([1, 2, 3, 4, 5, 6]), 4)]).toEqual([2, 3, 4, 5]);
    expect([...fitLength(Float32Array.from([1, 2]), 4)]).toEqual([0, 1, 2, 0]);
  });
});

describe('against numpy', () => {
  it('has numpy', () => {
    expect(pythonHas('numpy')).toBe(true);
  });

  it('reverberation is numpy.convolve(x, h)[:len(x)], and the impulse decays 60 dB in RT60', () => {
    const rng = mulberry32(3);
    const x = Float32Array.from({ length: 3000 }, () => 2 * rng() - 1);
    const h = syntheticRoomImpulse(0.1, 8000, mulberry32(4));
    expect(h.length).toBe(960);
    expect(h[0]).toBe(1);
    expect([...h.subarray(1, 40)].every((v) => v === 0)).toBe(true); // 5 ms pre-delay at 8 kHz
    const ref = runPython<{ conv: number[]; slopeDbPerSec: number }>(
      `
import json, sys, numpy as np
d = json.load(sys.stdin)
x = np.array(d['x'], dtype=np.float64); h = np.array(d['h'], dtype=np.float64)
conv = np.convolve(x, h)[:len(x)]
# Energy of the tail in 10 ms blocks; a straight line through their dB is the decay rate.
tail = h[40:]
blocks = np.array([np.sum(tail[i:i+80]**2) for i in range(0, len(tail) - 80, 80)])
t = np.arange(len(blocks)) * 0.01
slope = np.polyfit(t, 10*np.log10(blocks), 1)[0]
print(json.dumps({'conv': conv.tolist(), 'slopeDbPerSec': slope}))
`,
      { x: [...x], h: [...h] },
    );
    const ours = convolveSame(x, h);
    ref.conv.forEach((v, i) => expect(ours[i]).toBeCloseTo(v, 4));
    // 60 dB in 0.1 s is -600 dB/s; a 20-block Gaussian tail scatters the fit by a few percent.
    expect(ref.slopeDbPerSec).toBeGreaterThan(-660);
    expect(ref.slopeDbPerSec).toBeLessThan(-540);
    const wet = reverberate(x, h);
    expect(rms(wet)).toBeCloseTo(rms(x), 5);
  });

  it('speed 1.1 shortens a clip by 1.1 and raises a 440 Hz sine to 484 Hz (peak of numpy rfft)', () => {
    const x = sine(440, RATE_HZ);
    const fast = changeSpeed(x, 1.1, RATE_HZ);
    const slow = changeSpeed(x, 0.9, RATE_HZ);
    expect(fast.length).toBe(Math.ceil(RATE_HZ / 1.1));
    expect(slow.length).toBe(Math.ceil(RATE_HZ / 0.9));
    const peaks = runPython<number[]>(
      `
import json, sys, numpy as np
out = []
for s in json.load(sys.stdin):
    s = np.array(s) * np.hanning(len(s))
    n = 1 << 20
    out.append(float(np.argmax(np.abs(np.fft.rfft(s, n))) * ${RATE_HZ} / n))
print(json.dumps(out))
`,
      [[...fast], [...slow]],
    );
    expect(peaks[0]).toBeCloseTo(484, 0);
    expect(peaks[1]).toBeCloseTo(396, 0);
  });
});

describe('augmentWindow', () => {
  it('is deterministic by seed, keeps the length and changes the window', () => {
    const x = sine(300, 4000, 8000);
    const kinds = parseAugmentations('gain,shift,speed,reverb');
    const run = (seed: number) => {
      const rng = mulberry32(seed);
      return [0, 1, 2, 3].map(() => augmentWindow(x, 8000, kinds, rng));
    };
    const a = run(5);
    const b = run(5);
    const c = run(6);
    a.forEach((w, i) => {
      expect(w.length).toBe(x.length);
      expect([...w]).toEqual([...b[i]]);
    });
    expect(a.some((w, i) => w.some((v, k) => v !== c[i][k]))).toBe(true);
    expect(a.some((w) => w.some((v, k) => v !== x[k]))).toBe(true);
    expect(x[1]).toBeCloseTo(0.5 * Math.sin((2 * Math.PI * 300) / 8000), 6); // the input is not modified
  });

  it('gain alone is a level change within ±6 dB and nothing else', () => {
    const x = sine(300, 4000, 8000);
    const rng = mulberry32(11);
    for (let i = 0; i < 20; i++) {
      const y = augmentWindow(x, 8000, ['gain'], rng);
      const db = 20 * Math.log10(rms(y) / rms(x));
      expect(Math.abs(db)).toBeLessThanOrEqual(6 + 1e-4);
      const ratio = y[100] / x[100];
      expect(Math.max(...y.map((v, k) => Math.abs(v - x[k] * ratio)))).toBeLessThan(1e-6);
    }
  });

  it('parseAugmentations names an unknown entry; the CLI refuses noise without --noise-dir', () => {
    expect(parseAugmentations('reverb, gain')).toEqual(['reverb', 'gain']);
    expect(() => parseAugmentations('gain,echo')).toThrow(/unknown augmentation 'echo'.*known: speed, shift, reverb, gain, noise/);
    expect(() => parseTrainArgs(['a.sense', 'data', '--augment', 'gain,echo'])).toThrow(/echo/);
    expect(() => parseTrainArgs(['a.sense', 'data', '--augment', 'noise'])).toThrow(/--augment noise needs --noise-dir/);
    expect(parseTrainArgs(['a.sense', 'data', '--augment', 'shift,gain']).augment).toEqual(['shift', 'gain']);
  });
});

describe('trainPipeline with augmentation', () => {
  const QUICK = { epochs: 2, seed: 7, batchSize: 8, learningRate: 0.01, valFraction: 0.25, patience: 4 };

  it('augments every training window each epoch and never a held-out one; same seed, same weights', async () => {
    await useBackend('wasm');
    const { spec } = await pipelineFromText(SINE_PIPELINE);
    const examples = sineExamples('tone', 8, 3);
    const seen: Float32Array[] = [];
    const kinds = parseAugmentations('gain,shift,speed,reverb');
    const augment = (w: Float32Array, rng: () => number) => {
      seen.push(w);
      return augmentWindow(w, 8000, kinds, rng);
    };
    const a = await trainPipeline(spec, examples, { ...QUICK, augment });
    const held = new Set(stratifiedSplit(examples, QUICK.valFraction, mulberry32(QUICK.seed ^ 0x5eed)));
    expect([...held].sort()).toEqual([...a.valClips].sort());
    const trainWindows = examples.filter((e) => !held.has(e.clip)).map((e) => e.window);
    expect(seen.length).toBe(QUICK.epochs * trainWindows.length);
    expect(seen.every((w) => trainWindows.includes(w))).toBe(true);
    const b = await trainPipeline(spec, examples, { ...QUICK, augment: (w, rng) => augmentWindow(w, 8000, kinds, rng) });
    const plain = await trainPipeline(spec, examples, QUICK);
    const bytes = (r: typeof a) => Buffer.from(encodeSafetensors(r.weights));
    expect(bytes(a).equals(bytes(b))).toBe(true);
    expect(bytes(a).equals(bytes(plain))).toBe(false);
  }, 60_000);
});

describe('sense train --augment', () => {
  it('trains with augmentation and records it; refuses it for an inertial pipeline before reading data', async () => {
    const { path } = await pipelineFromText(SINE_PIPELINE);
    const root = tempDir('sense-data-');
    const rng = mulberry32(3);
    ['low', 'mid', 'high'].forEach((l, i) => {
      mkdirSync(join(root, 'tone', l), { recursive: true });
      for (let k = 0; k < 4; k++) writeFileSync(join(root, 'tone', l, `${l}-${k}.wav`), encodeWav16(sineClip(i, rng), 8000));
    });
    const out: string[] = [];
    const err: string[] = [];
    const weights = join(tempDir(), 'w.safetensors');
    const code = await main(['train', path, root, '--epochs', '1', '--augment', 'reverb,gain', '--out', weights], { out: (l) => out.push(l), err: (l) => err.push(l) });
    expect(err.filter((l) => !l.startsWith('warning'))).toEqual([]);
    expect(code).toBe(0);
    expect(out.some((l) => /^augment: reverb, gain on every training window/.test(l))).toBe(true);
    const record = JSON.parse(readFileSync(weights.replace('.safetensors', '.training.json'), 'utf8'));
    expect(record.augment).toMatchObject({ kinds: ['reverb', 'gain'], ranges: { gainDb: 6, rt60Sec: [0.2, 0.8] } });
    expect(record.augment.reverb).toMatch(/synthetic/);
    const bad: string[] = [];
    const watch = join(__dirname, 'fixtures', 'watch.sense');
    expect(await main(['train', watch, '/nonexistent', '--augment', 'speed', '--out', join(tempDir(), 'x.safetensors')], { out: () => {}, err: (l) => bad.push(l) })).toBe(2);
    expect(bad.join('\n')).toMatch(/--augment speed changes audio; pipeline Watch reads inertial data/);
  }, 60_000);
});
