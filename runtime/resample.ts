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
  // firwin normalises the taps to unit DC gain; resample_poly then multiplies by `up`.
  let sum = 0;
  let table: Float64Array | undefined;
  if (numTaps <= MAX_TABLE_TAPS) {
    table = new Float64Array(numTaps);
    for (let j = 0; j < numTaps; j++) sum += table[j] = rawTap(j);
    const s = up / sum;
    for (let j = 0; j < numTaps; j++) table[j] *= s;
  } else {
    for (let j = 0; j < numTaps; j++) sum += rawTap(j);
  }
  const scale = up / sum;
  const tap = table ? (j: number) => table[j] : (j: number) => rawTap(j) * scale;
  const out = new Float32Array(nOut);
  for (let k = 0; k < nOut; k++) {
    const c = k * down + halfLen;
    const nMin = Math.max(0, Math.ceil((c - 2 * halfLen) / up));
    const nMax = Math.min(n - 1, Math.floor(c / up));
    let acc = 0;
    for (let i = nMin, j = c - nMin * up; i <= nMax; i++, j -= up) acc += signal[i] * tap(j);
    out[k] = acc;
  }
  return out;
}

/** Mixes `audio` down to mono and resamples it to `rateHz`: what every audio pipeline reads. */
export function toMonoAt(audio: DecodedAudio, rateHz: number): Float32Array {
  return resample(mixdown(audio.channels), audio.sampleRateHz, rateHz);
}
