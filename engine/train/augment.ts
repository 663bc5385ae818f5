/**
 * Training augmentation for audio pipelines (`sense train --augment gain,shift,speed,reverb,noise`):
 * each epoch, every training window of raw audio is changed by a random gain, a time shift, a
 * speed/pitch change and a room reverberation before the front end sees it, so that a model
 * learns what stays the same when the microphone, the timing, the speaker's pace and the room
 * change. Noise at a random SNR is the trainer's existing mixed-condition synthesis
 * (./signal.ts `mixAtSnr`, `--noise-dir`), applied after these.
 *
 * Everything is drawn from the caller's seeded generator, so one seed gives the same
 * augmented windows on every run. The held-out split is never augmented (see ./trainer.ts).
 *
 * The reverberation is synthetic: there are no measured room impulse responses on this
 * machine, so a room is modelled as a direct path followed, after a short pre-delay, by
 * Gaussian noise under an exponential envelope that falls 60 dB in the drawn RT60 (the
 * standard statistical model of a diffuse late reverberation tail).
 */
import { resample } from '../../runtime/resample';
import { gaussian, type Rng } from '../compress/random';
import { dbToGain, limitPeak, rms } from './signal';

/** The augmentations `--augment` names, in the order they are applied. */
export const AUGMENTATIONS = ['speed', 'shift', 'reverb', 'gain', 'noise'] as const;
/** One augmentation's name. */
export type Augmentation = (typeof AUGMENTATIONS)[number];

/** Ranges of the random draws; {@link DEFAULT_AUGMENT_RANGES} holds the defaults. */
export interface AugmentRanges {
  /** Gain drawn uniformly in [-gainDb, +gainDb] dB. */
  gainDb: number;
  /** Shift drawn uniformly in [-shiftFraction, +shiftFraction] of the window, whole samples. */
  shiftFraction: number;
  /** Speed factor drawn uniformly in [1 - speedFraction, 1 + speedFraction], on a grid of `speedStep`. */
  speedFraction: number;
  /** Grid of the speed factor: a coarse grid keeps the resampler's ratio small (and its filter cached). */
  speedStep: number;
  /** Reverberation time (60 dB decay) drawn uniformly in this range, seconds. */
  rt60Sec: [number, number];
  /** Probability that a window is reverberated at all (the rest stay dry). */
  reverbProbability: number;
}

/**
 * Defaults: ±6 dB (a phone held nearer or further), ±10% shift, ±10% speed (speaking pace and
 * pitch within one speaker's range), RT60 0.2-0.8 s for half the windows (a furnished room to a
 * hall; a living room is about 0.4-0.6 s).
 */
export const DEFAULT_AUGMENT_RANGES: AugmentRanges = {
  gainDb: 6,
  shiftFraction: 0.1,
  speedFraction: 0.1,
  speedStep: 0.02,
  rt60Sec: [0.2, 0.8],
  reverbProbability: 0.5,
};

/** Parses `--augment`'s comma-separated list; throws an Error naming an unknown entry and the known ones. */
export function parseAugmentations(list: string): Augmentation[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new Error(`--augment needs names such as ${AUGMENTATIONS.join(',')}`);
  for (const n of names) {
    if (!(AUGMENTATIONS as readonly string[]).includes(n)) throw new Error(`--augment: unknown augmentation '${n}' (known: ${AUGMENTATIONS.join(', ')})`);
  }
  return AUGMENTATIONS.filter((a) => names.includes(a));
}

/** Returns `x` multiplied by `db` dB of gain. */
export function applyGain(x: Float32Array, db: number): Float32Array {
  const g = dbToGain(db);
  return x.map((v) => v * g);
}

/**
 * Returns `x` delayed by `samples` (advanced when negative), keeping its length: the samples
 * shifted out are dropped and the ones shifted in are silence (a window has no context outside it).
 */
export function timeShift(x: Float32Array, samples: number): Float32Array {
  if (!Number.isInteger(samples)) throw new Error(`timeShift: the shift must be a whole number of samples, got ${samples}`);
  const out = new Float32Array(x.length);
  if (samples >= 0) out.set(x.subarray(0, Math.max(0, x.length - samples)), Math.min(samples, x.length));
  else out.set(x.subarray(Math.min(-samples, x.length)));
  return out;
}

/**
 * Plays `x` `factor` times faster, as a tape would: the length is divided by `factor` and every
 * frequency multiplied by it. It is the runtime's resampler (runtime/resample.ts) reading `x`
 * as if it had been recorded at rateHz·factor; `rateHz * factor` is rounded to a whole Hz.
 */
export function changeSpeed(x: Float32Array, factor: number, rateHz: number): Float32Array {
  if (!(factor > 0)) throw new Error(`changeSpeed: the factor must be positive, got ${factor}`);
  return resample(x, Math.round(rateHz * factor), rateHz);
}

/** Returns exactly `length` samples: `x` centred and cut, or centred between zeros. */
export function fitLength(x: Float32Array, length: number): Float32Array {
  if (x.length === length) return x;
  const out = new Float32Array(length);
  if (x.length > length) out.set(x.subarray(Math.floor((x.length - length) / 2)).subarray(0, length));
  else out.set(x, Math.floor((length - x.length) / 2));
  return out;
}

/**
 * A synthetic room impulse response of reverberation time `rt60Sec` at `rateHz`: 1 at sample 0
 * (the direct path), zero for a 5 ms pre-delay, then Gaussian noise from `rng` under the envelope
 * exp(-6.908·t / rt60) (60 dB down at t = rt60), scaled so the tail holds as much energy as the
 * direct path. Its length is 1.2·rt60 (the tail is then below -72 dB).
 */
export function syntheticRoomImpulse(rt60Sec: number, rateHz: number, rng: Rng): Float32Array {
  if (!(rt60Sec > 0)) throw new Error(`syntheticRoomImpulse: RT60 must be positive seconds, got ${rt60Sec}`);
  const n = Math.max(2, Math.round(1.2 * rt60Sec * rateHz));
  const preDelay = Math.min(n - 1, Math.round(0.005 * rateHz));
  const h = new Float32Array(n);
  let tailEnergy = 0;
  for (let i = preDelay; i < n; i++) {
    const v = gaussian(rng) * Math.exp((-Math.LN10 * 3 * i) / (rt60Sec * rateHz));
    h[i] = v;
    tailEnergy += v * v;
  }
  const g = tailEnergy > 0 ? 1 / Math.sqrt(tailEnergy) : 0;
  for (let i = preDelay; i < n; i++) h[i] *= g;
  h[0] = 1;
  return h;
}

/**
 * In-place iterative radix-2 complex FFT of `re` + i·`im` (length a power of two); `inverse`
 * computes the unscaled inverse (the caller divides by the length).
 */
function fftInPlace(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j] as number, re[i] as number];
      [im[i], im[j]] = [im[j] as number, im[i] as number];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    const half = len >> 1;
    for (let k = 0; k < half; k++) {
      const wr = Math.cos(ang * k);
      const wi = Math.sin(ang * k);
      for (let i = k; i < n; i += len) {
        const j = i + half;
        const tr = (re[j] as number) * wr - (im[j] as number) * wi;
        const ti = (re[j] as number) * wi + (im[j] as number) * wr;
        re[j] = (re[i] as number) - tr;
        im[j] = (im[i] as number) - ti;
        re[i] = (re[i] as number) + tr;
        im[i] = (im[i] as number) + ti;
      }
    }
  }
}

/**
 * The first x.length samples of the full linear convolution x * h (numpy.convolve(x, h)[:len(x)]),
 * by FFT: a 1 s window with a 1 s impulse response is 2·10^8 multiply-adds directly, and every
 * training window is reverberated anew each epoch.
 */
export function convolveSame(x: Float32Array, h: Float32Array): Float32Array {
  let n = 1;
  while (n < x.length + h.length - 1) n <<= 1;
  const ar = new Float64Array(n);
  const ai = new Float64Array(n);
  // Two real transforms in one complex one: x in the real part, h in the imaginary part.
  ar.set(x);
  ai.set(h);
  fftInPlace(ar, ai, false);
  const pr = new Float64Array(n);
  const pi = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const m = (n - k) & (n - 1);
    // X[k] = (Z[k] + conj Z[n-k]) / 2 and H[k] = (Z[k] - conj Z[n-k]) / 2i.
    const xr = ((ar[k] as number) + (ar[m] as number)) / 2;
    const xi = ((ai[k] as number) - (ai[m] as number)) / 2;
    const hr = ((ai[k] as number) + (ai[m] as number)) / 2;
    const hi = ((ar[m] as number) - (ar[k] as number)) / 2;
    pr[k] = xr * hr - xi * hi;
    pi[k] = xr * hi + xi * hr;
  }
  fftInPlace(pr, pi, true);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (pr[i] as number) / n;
  return out;
}

/** Reverberates `x` with `h` and rescales the result to `x`'s RMS, so reverberation does not also change the level. */
export function reverberate(x: Float32Array, h: Float32Array): Float32Array {
  const wet = convolveSame(x, h);
  const r = rms(wet);
  const g = r > 0 ? rms(x) / r : 0;
  return wet.map((v) => v * g);
}

/**
 * Applies the enabled augmentations (`noise` aside: the trainer mixes noise afterwards) to one
 * window of raw audio at `rateHz`, drawing every parameter from `rng`; the result has the
 * window's length and a peak of at most 0.99 unless the input's was already higher.
 * The same `rng` state gives the same result.
 */
export function augmentWindow(x: Float32Array, rateHz: number, kinds: readonly Augmentation[], rng: Rng, ranges: AugmentRanges = DEFAULT_AUGMENT_RANGES): Float32Array {
  let y = x;
  if (kinds.includes('speed')) {
    const steps = Math.round(ranges.speedFraction / ranges.speedStep);
    const k = Math.floor(rng() * (2 * steps + 1)) - steps;
    if (k !== 0) y = fitLength(changeSpeed(y, 1 + k * ranges.speedStep, rateHz), x.length);
  }
  if (kinds.includes('shift')) {
    const max = Math.floor(ranges.shiftFraction * x.length);
    const s = Math.floor(rng() * (2 * max + 1)) - max;
    if (s !== 0) y = timeShift(y, s);
  }
  if (kinds.includes('reverb')) {
    const wet = rng() < ranges.reverbProbability;
    const rt60 = ranges.rt60Sec[0] + rng() * (ranges.rt60Sec[1] - ranges.rt60Sec[0]);
    if (wet) y = reverberate(y, syntheticRoomImpulse(rt60, rateHz, rng));
  }
  if (kinds.includes('gain')) {
    const db = (2 * rng() - 1) * ranges.gainDb;
    y = applyGain(y, db);
  }
  return y === x ? x : limitPeak(y);
}
