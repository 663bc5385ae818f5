/**
 * Mono mixdown and sample-rate conversion for the audio front end.
 *
 * Method: rational polyphase resampling with a Kaiser-windowed sinc low-pass, the same
 * filter design and alignment as `scipy.signal.resample_poly(x, up, down)` with its
 * defaults: up/down = target/source rate reduced by their gcd, cutoff 1/max(up, down)
 * of Nyquist, 2*10*max(up, down)+1 taps, Kaiser beta 5.0, gain normalised to `up`,
 * zero padding outside the signal, output length ceil(n * up / down), output sample k
 * centred on input time k * down / up. Test: test/unit/runtime/resample.test.ts compares
 * against scipy.
 */
import type { DecodedAudio } from './wav';

/** Largest filter table kept in memory, in taps; longer filters are evaluated tap by tap. */
const MAX_TABLE_TAPS = 1 << 21;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges for all x). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/**
 * Averages the channels into one (equal weights). One channel is returned as is (same array).
 * Throws when there is no channel or the channels differ in length.
 */
export function mixdown(channels: readonly Float32Array[]): Float32Array {
  if (channels.length === 0) throw new Error('mixdown: the audio has no channel');
  if (channels.length === 1) return channels[0];
  const n = channels[0].length;
  if (channels.some((c) => c.length !== n)) throw new Error('mixdown: channels differ in length');
  const out = new Float64Array(n);
  for (const ch of channels) for (let i = 0; i < n; i++) out[i] += ch[i];
  const res = new Float32Array(n);
  const k = 1 / channels.length;
  for (let i = 0; i < n; i++) res[i] = out[i] * k;
  return res;
}

function checkRate(rateHz: number, what: string): void {
  if (!Number.isInteger(rateHz) || rateHz < 1 || rateHz > 10_000_000)
    throw new Error(`resample: the ${what} rate must be a whole number of Hz from 1 to 10 MHz, got ${rateHz}`);
}

/**
 * Resamples `signal` from `fromHz` to `toHz` (both whole numbers of Hz) by the polyphase
 * Kaiser-windowed-sinc method described in this module's header. Returns a copy when the
 * rates are equal. Output length: ceil(signal.length * toHz / fromHz) (after reducing the
 * ratio). Throws on rates that are not positive whole numbers.
 */
export function resample(signal: Float32Array, fromHz: number, toHz: number): Float32Array {
  checkRate(fromHz, 'source');
  checkRate(toHz, 'target');
  const g = gcd(fromHz, toHz);
  const up = toHz / g;
  const down = fromHz / g;
  if (up === 1 && down === 1) return signal.slice();
  const n = signal.length;
  const nOut = Math.ceil((n * up) / down);
  const maxRate = Math.max(up, down);
  const fc = 1 / maxRate;
  const halfLen = 10 * maxRate;
  const numTaps = 2 * halfLen + 1;
  const i0Beta = besselI0(5.0);
  const rawTap = (j: number): number => {
    const m = j - halfLen;
    const x = fc * m;
    const sinc = m === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const r = (2 * j) / (numTaps - 1) - 1;
    return fc * sinc * (besselI0(5.0 * Math.sqrt(Math.max(0, 1 - r * r))) / i0Beta);
  };
  const out = new Float32Array(nOut);
  if (numTaps <= MAX_TABLE_TAPS) {
    const phases = polyphaseTable(up, down, numTaps, rawTap);
    // y[k] = sum_m phase[m] * x[q - m], with c = k*down + halfLen, phase c mod up, q = floor(c / up).
    for (let k = 0; k < nOut; k++) {
      const c = k * down + halfLen;
      const q = Math.floor(c / up);
      const ph = phases[c - q * up];
      const mLo = Math.max(0, q - n + 1);
      const mHi = Math.min(ph.length - 1, q);
      let acc = 0;
      for (let m = mLo; m <= mHi; m++) acc += ph[m] * signal[q - m];
      out[k] = acc;
    }
    return out;
  }
  // firwin normalises the taps to unit DC gain; resample_poly then multiplies by `up`.
  let sum = 0;
  for (let j = 0; j < numTaps; j++) sum += rawTap(j);
  const scale = up / sum;
  for (let k = 0; k < nOut; k++) {
    const c = k * down + halfLen;
    const nMin = Math.max(0, Math.ceil((c - 2 * halfLen) / up));
    const nMax = Math.min(n - 1, Math.floor(c / up));
    let acc = 0;
    for (let i = nMin, j = c - nMin * up; i <= nMax; i++, j -= up) acc += signal[i] * rawTap(j) * scale;
    out[k] = acc;
  }
  return out;
}

const phaseCache = new Map<string, Float64Array[]>();

/**
 * The filter split into `up` phases, phase p holding taps p, p + up, p + 2 up, ... so each
 * output reads one contiguous run. Scaled to DC gain `up` as firwin + resample_poly do.
 * Cached per rate pair: the clips of one folder share a few.
 */
function polyphaseTable(up: number, down: number, numTaps: number, rawTap: (j: number) => number): Float64Array[] {
  const key = `${up}/${down}`;
  const hit = phaseCache.get(key);
  if (hit) return hit;
  const h = new Float64Array(numTaps);
  let sum = 0;
  for (let j = 0; j < numTaps; j++) sum += h[j] = rawTap(j);
  const phases: Float64Array[] = [];
  for (let p = 0; p < up; p++) {
    const ph = new Float64Array(Math.ceil((numTaps - p) / up));
    for (let m = 0; m < ph.length; m++) ph[m] = (h[p + m * up] * up) / sum;
    phases.push(ph);
  }
  if (phaseCache.size > 16) phaseCache.clear();
  phaseCache.set(key, phases);
  return phases;
}

/** Mixes `audio` down to mono and resamples it to `rateHz`: what every audio pipeline reads. */
export function toMonoAt(audio: DecodedAudio, rateHz: number): Float32Array {
  return resample(mixdown(audio.channels), audio.sampleRateHz, rateHz);
}
