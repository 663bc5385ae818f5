/**
 * Signal helpers for audio: levels, mixed-condition synthesis at a chosen SNR, and cutting
 * speech to a fixed length. `sense train --noise` mixes noise into its clips with
 * {@link mixAtSnr}, and the sample generator (scripts/samples/) builds its synthetic clips
 * with the same code, so the SNR a user trains at is the SNR the samples were made at.
 */

/** Root-mean-square amplitude of `x` (0 for an empty signal). */
export function rms(x: Float32Array): number {
  if (x.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] as number) * (x[i] as number);
  return Math.sqrt(s / x.length);
}

/** Converts a level in dB to a linear amplitude factor. */
export function dbToGain(db: number): number {
  return 10 ** (db / 20);
}

/** Returns `x` scaled so its RMS equals `targetRms` (silence is returned unchanged). */
export function scaleToRms(x: Float32Array, targetRms: number): Float32Array {
  const r = rms(x);
  const out = new Float32Array(x.length);
  const g = r > 0 ? targetRms / r : 0;
  for (let i = 0; i < x.length; i++) out[i] = (x[i] as number) * g;
  return out;
}

/**
 * Scales `x` down, if needed, so its peak does not exceed `peak` (a plain gain, so the
 * signal's shape and any SNR inside it are preserved).
 */
export function limitPeak(x: Float32Array, peak = 0.99): Float32Array {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] as number));
  if (m <= peak) return x;
  const g = peak / m;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i] as number) * g;
  return out;
}

/**
 * Mixed-condition synthesis (DeepEar, Lane et al. UbiComp 2015, section 4): adds
 * `noise` to `clean` scaled so that 20·log10(rms(clean) / rms(scaled noise)) equals
 * `snrDb`. The noise is looped or cut to the clip's length. Afterwards the mixture is
 * scaled down as a whole if its peak would clip, which keeps the SNR exact.
 *
 * Throws when the clean clip or the noise is silent (the SNR would be undefined).
 */
export function mixAtSnr(clean: Float32Array, noise: Float32Array, snrDb: number): Float32Array {
  if (!Number.isFinite(snrDb)) throw new Error(`mixAtSnr: the SNR must be a finite number of dB, got ${snrDb}.`);
  const n = clean.length;
  const fitted = new Float32Array(n);
  if (noise.length === 0) throw new Error('mixAtSnr: the noise signal is empty.');
  for (let i = 0; i < n; i++) fitted[i] = noise[i % noise.length] as number;
  const cleanRms = rms(clean);
  const noiseRms = rms(fitted);
  if (cleanRms === 0) throw new Error('mixAtSnr: the clean clip is silent, so no SNR can be set.');
  if (noiseRms === 0) throw new Error('mixAtSnr: the noise is silent, so no SNR can be set.');
  const g = cleanRms / (noiseRms * dbToGain(snrDb));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (clean[i] as number) + g * (fitted[i] as number);
  return limitPeak(out);
}

/**
 * Returns exactly `length` samples: the window of that length with the highest energy
 * (searched on a `hop`-sample grid), or, when `x` is shorter, `x` centred between zeros.
 */
export function loudestWindow(x: Float32Array, length: number, hop = 160): Float32Array {
  const out = new Float32Array(length);
  if (x.length <= length) {
    out.set(x, Math.floor((length - x.length) / 2));
    return out;
  }
  // Prefix sums of energy make every candidate window O(1).
  const cum = new Float64Array(x.length + 1);
  for (let i = 0; i < x.length; i++) cum[i + 1] = (cum[i] as number) + (x[i] as number) * (x[i] as number);
  let best = 0;
  let bestE = -1;
  for (let s = 0; s + length <= x.length; s += hop) {
    const e = (cum[s + length] as number) - (cum[s] as number);
    if (e > bestE) {
      bestE = e;
      best = s;
    }
  }
  out.set(x.subarray(best, best + length));
  return out;
}

/** Applies linear fade-in and fade-out of `fadeSamples` each, in place, and returns `x`. */
export function fadeEdges(x: Float32Array, fadeSamples: number): Float32Array {
  const f = Math.min(fadeSamples, Math.floor(x.length / 2));
  for (let i = 0; i < f; i++) {
    const g = i / f;
    x[i] = (x[i] as number) * g;
    x[x.length - 1 - i] = (x[x.length - 1 - i] as number) * g;
  }
  return x;
}

/** Adds `src` scaled by `gain` into `dst` starting at sample `offset` (clipped to `dst`). */
export function addInto(dst: Float32Array, src: Float32Array, offset: number, gain = 1): void {
  for (let i = 0; i < src.length; i++) {
    const j = offset + i;
    if (j >= 0 && j < dst.length) dst[j] = (dst[j] as number) + gain * (src[i] as number);
  }
}
