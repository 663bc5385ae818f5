/**
 * The power spectrum of a windowed real frame by a real-input FFT: a complex FFT of half
 * the size on the even and odd samples packed as real and imaginary parts, then one split
 * pass (the "two for one" identity, Press et al., Numerical Recipes 3rd ed., section
 * 12.3.2). Pure TypeScript on preallocated Float64Arrays: nothing is allocated per call,
 * and the twiddle factors and bit-reversal permutation are computed once per size.
 *
 * The complex FFT is a radix-2^2 decimation in frequency (two radix-2 stages fused into
 * one pass, plus a last radix-2 pass for odd powers of two). Decimation in frequency takes
 * its input in natural order, so windowing and packing are one sequential pass with no
 * frame buffer; its bit-reversed output is read through the permutation table by the split
 * pass. Every twiddle comes from Math.cos/Math.sin of its own angle (no recurrences).
 *
 * Why not the fft.js package (DESIGN's choice, used until 2026-11-25): its realTransform
 * needs a windowed frame buffer and an interleaved complex output per frame, and in the
 * front end's loop the log-mel of 1 s at 16 kHz took 1.7-1.8 ms with it against 1.0-1.2 ms
 * with this transform (test/bench/frontend.bench.ts, alternating runs in one session;
 * torchaudio 0.4-0.5 ms). No other maintained npm FFT offers a fused windowed power
 * spectrum. Outputs are checked against numpy's rfft (test/unit/runtime/real-fft.test.ts).
 */

/** A real-input FFT of one fixed power-of-two size, reusable across calls (not re-entrant). */
export class RealFft {
  /** Number of real input samples (the FFT length), a power of two of at least 2. */
  readonly size: number;
  /** Half the size: the length of the packed complex transform. */
  private readonly half: number;
  /** rev[k]: where the bit-reversed output of the packed transform holds bin k. */
  private readonly rev: Int32Array;
  /** True when log2(half) is odd: a radix-2 pass follows the radix-4 passes. */
  private readonly oddStages: boolean;
  /** cos(2 pi j / half) and -sin(2 pi j / half), j < half: the complex FFT's twiddles. */
  private readonly twRe: Float64Array;
  private readonly twIm: Float64Array;
  /** cos(2 pi k / size) and -sin(2 pi k / size), k <= half: the split pass's twiddles. */
  private readonly splitRe: Float64Array;
  private readonly splitIm: Float64Array;
  /** Scratch: real and imaginary parts of the packed complex transform. */
  private readonly re: Float64Array;
  private readonly im: Float64Array;

  /** Plans a transform of `size` real samples; throws unless `size` is a power of two of at least 2. */
  constructor(size: number) {
    if (!Number.isInteger(size) || size < 2 || (size & (size - 1)) !== 0)
      throw new Error(`RealFft: the size must be a power of two of at least 2, got ${size}`);
    this.size = size;
    const half = size >> 1;
    this.half = half;
    this.re = new Float64Array(half);
    this.im = new Float64Array(half);
    this.rev = new Int32Array(half);
    let bits = 0;
    while (1 << bits < half) bits++;
    this.oddStages = bits % 2 === 1;
    for (let j = 0; j < half; j++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((j >> b) & 1) << (bits - 1 - b);
      this.rev[j] = r;
    }
    this.twRe = new Float64Array(half);
    this.twIm = new Float64Array(half);
    for (let j = 0; j < half; j++) {
      this.twRe[j] = Math.cos((2 * Math.PI * j) / half);
      this.twIm[j] = -Math.sin((2 * Math.PI * j) / half);
    }
    this.splitRe = new Float64Array(half + 1);
    this.splitIm = new Float64Array(half + 1);
    for (let k = 0; k <= half; k++) {
      this.splitRe[k] = Math.cos((2 * Math.PI * k) / size);
      this.splitIm[k] = -Math.sin((2 * Math.PI * k) / size);
    }
  }

  /**
   * Writes |X[k]|^2 for k = 0 .. size / 2 into `power` (at least size / 2 + 1 entries), where
   * X is the DFT of the frame f[i] = src[offset + i * stride] * window[i] for i <
   * window.length, zero-padded to `size`: X[k] = sum_i f[i] exp(-2 pi i k i' / size), as
   * numpy's `abs(rfft(f, size)) ** 2`. `window.length` must not exceed `size`; `src` is not
   * modified.
   */
  windowedPowerSpectrum(src: ArrayLike<number>, offset: number, stride: number, window: Float64Array, power: Float64Array): void {
    const { half, re, im } = this;
    const len = window.length;
    if (len > this.size) throw new Error(`RealFft: a ${len}-sample frame does not fit a ${this.size}-point transform`);
    const pairs = len >> 1;
    if (stride === 1) {
      for (let j = 0, i = offset; j < pairs; j++, i += 2) {
        re[j] = src[i] * window[2 * j];
        im[j] = src[i + 1] * window[2 * j + 1];
      }
    } else {
      for (let j = 0, i = offset; j < pairs; j++, i += 2 * stride) {
        re[j] = src[i] * window[2 * j];
        im[j] = src[i + stride] * window[2 * j + 1];
      }
    }
    let j = pairs;
    if (len & 1) {
      re[j] = src[offset + (len - 1) * stride] * window[len - 1];
      im[j] = 0;
      j++;
    }
    for (; j < half; j++) {
      re[j] = 0;
      im[j] = 0;
    }
    this.complexTransform();
    const { rev, splitRe, splitIm } = this;
    const a0 = re[0];
    const b0 = im[0];
    power[0] = (a0 + b0) * (a0 + b0);
    power[half] = (a0 - b0) * (a0 - b0);
    // X[k] = E[k] + W^k O[k], with E and O the spectra of the even and odd samples
    // recovered from Z[k] and conj(Z[half - k]); the halves of E and O fold into 0.25.
    // Bin half - k reuses the same pair: its E is conj(E[k]) and W^(half - k) = -conj(W^k),
    // so X[half - k] = conj(E[k]) - conj(W^k O[k]).
    for (let k = 1, m = half - 1; k <= m; k++, m--) {
      // Z[k] and Z[half - k] stand at their bit-reversed places p and q.
      const p = rev[k];
      const q = rev[m];
      const er = re[p] + re[q];
      const ei = im[p] - im[q];
      const or = im[p] + im[q];
      const oi = re[q] - re[p];
      const wr = splitRe[k];
      const wi = splitIm[k];
      const tr = wr * or - wi * oi;
      const ti = wr * oi + wi * or;
      const xr = er + tr;
      const xi = ei + ti;
      power[k] = 0.25 * (xr * xr + xi * xi);
      const yr = er - tr;
      const yi = ti - ei;
      power[m] = 0.25 * (yr * yr + yi * yi);
    }
  }

  /** The complex FFT of `re` + i `im` in place, in bit-reversed output order. */
  private complexTransform(): void {
    const { half, re, im, twRe, twIm } = this;
    let q = half >> 2;
    for (; q > 1; q >>= 2) {
      const block = 4 * q;
      const step = (half / block) | 0;
      for (let j = 0; j < q; j++) {
        const w1r = twRe[j * step];
        const w1i = twIm[j * step];
        const w2r = twRe[2 * j * step];
        const w2i = twIm[2 * j * step];
        const w3r = twRe[3 * j * step];
        const w3i = twIm[3 * j * step];
        for (let s = j; s < half; s += block) {
          const i1 = s + q;
          const i2 = i1 + q;
          const i3 = i2 + q;
          const ar = re[s];
          const ai = im[s];
          const br = re[i1];
          const bi = im[i1];
          const cr = re[i2];
          const ci = im[i2];
          const dr = re[i3];
          const di = im[i3];
          const pr = ar + cr;
          const pi = ai + ci;
          const mr = ar - cr;
          const mi = ai - ci;
          const sr = br + dr;
          const si = bi + di;
          // -i (b - d): the W_4 factor of the odd outputs.
          const tr = bi - di;
          const ti = dr - br;
          re[s] = pr + sr;
          im[s] = pi + si;
          // Binary bit-reversed order keeps the outputs 0, 2, 1, 3 (mod 4) in quarters
          // 0, 1, 2, 3 of the block.
          const y2r = pr - sr;
          const y2i = pi - si;
          re[i1] = w2r * y2r - w2i * y2i;
          im[i1] = w2r * y2i + w2i * y2r;
          const y1r = mr + tr;
          const y1i = mi + ti;
          re[i2] = w1r * y1r - w1i * y1i;
          im[i2] = w1r * y1i + w1i * y1r;
          const y3r = mr - tr;
          const y3i = mi - ti;
          re[i3] = w3r * y3r - w3i * y3i;
          im[i3] = w3r * y3i + w3i * y3r;
        }
      }
    }
    // The last pass has q = 1, so all its twiddles are 1; an odd number of radix-2 stages
    // ends with a radix-2 pass instead, twiddle-free as well.
    if (q === 1) {
      for (let s = 0; s < half; s += 4) {
        const pr = re[s] + re[s + 2];
        const pi = im[s] + im[s + 2];
        const mr = re[s] - re[s + 2];
        const mi = im[s] - im[s + 2];
        const sr = re[s + 1] + re[s + 3];
        const si = im[s + 1] + im[s + 3];
        const tr = im[s + 1] - im[s + 3];
        const ti = re[s + 3] - re[s + 1];
        re[s] = pr + sr;
        im[s] = pi + si;
        re[s + 1] = pr - sr;
        im[s + 1] = pi - si;
        re[s + 2] = mr + tr;
        im[s + 2] = mi + ti;
        re[s + 3] = mr - tr;
        im[s + 3] = mi - ti;
      }
    } else if (this.oddStages) {
      for (let s = 0; s < half; s += 2) {
        const ar = re[s];
        const ai = im[s];
        const br = re[s + 1];
        const bi = im[s + 1];
        re[s] = ar + br;
        im[s] = ai + bi;
        re[s + 1] = ar - br;
        im[s + 1] = ai - bi;
      }
    }
  }
}
