/**
 * The feature front end: one window of audio or inertial samples in, the tensor the first
 * layer sees out (an image's tensor is made by runtime/image.ts and passes through). Pure TypeScript (Node and browser); shapes follow
 * language/feature-shapes.ts, the single definition shared with the language and engine.
 *
 * Exact formulas (defaults of torchaudio 0.13, which the unit tests check against):
 * - framing: frame t covers samples [t*hop, t*hop + frameLen); frames that do not fit are
 *   dropped (no centring or padding).
 * - window: periodic Hann of frameLen samples, w[i] = 0.5 - 0.5 cos(2 pi i / frameLen)
 *   (`torch.hann_window(frameLen)`), then zero-padded to nFft.
 * - power spectrum: |FFT_nFft(w * frame)|^2 for bins 0..nFft/2 (runtime/real-fft.ts).
 * - mel filterbank: `torchaudio.functional.melscale_fbanks(nFft/2+1, fmin, fmax, bands,
 *   rate, norm=None, mel_scale="htk")`, HTK mel = 2595 log10(1 + f / 700); fmax defaults to
 *   rate / 2.
 * - log-mel: ln(mel + 1e-6), as `torchaudio.transforms.MFCC(log_mels=True)` takes the log
 *   (an additive floor of 1e-6, so silence gives ln(1e-6) = -13.8, never -inf).
 * - MFCC: DCT-II with orthonormal scaling (`torchaudio.functional.create_dct(coeffs, bands,
 *   "ortho")`) over the log-mel bands, coefficient 0 included.
 * Because framing drops the frames torchaudio would compute from nFft samples, the result
 * equals torchaudio's `MelSpectrogram(n_fft=nFft, win_length=frameLen, hop_length=hop,
 * center=False, power=2, mel_scale="htk")` applied to the window zero-padded by
 * floor((nFft - frameLen) / 2) samples in front and the rest of nFft - frameLen at the end.
 * - deltas: `torchaudio.functional.compute_deltas(x, win_length=5)`, i.e.
 *   d[t] = sum_{k=1..2} k (x[t+k] - x[t-k]) / 10 with edge samples repeated; order N appends
 *   the delta, the delta of the delta, ... along the feature axis: [x; d; dd; ...].
 */
import { FeatureShapeError, featureOutputShape, frameCount, frameGeometry, inertialChannelCount, windowSamples } from '../language/feature-shapes';
import type { FeatureSpec, FeatureStep, InputSpec, Shape, StatName } from '../language/pipeline-model';
import { RealFft } from './real-fft';

/** The additive floor inside the natural log of mel energies: ln(mel + LOG_FLOOR). */
export const LOG_FLOOR = 1e-6;

/**
 * Mean and standard deviation per feature row for a `normalize` step: x' = (x - mean) / std.
 * Both have one entry per row of the tensor at the normalize step (shape[0]: bands for
 * log-mel, coefficients x (1 + deltas) for MFCC, entries of a stats vector). They are
 * stored with the weights; training computes them over the training set.
 */
export interface NormalizationStats {
  mean: ArrayLike<number>;
  std: ArrayLike<number>;
}

/** Options of {@link computeFeatures}. */
export interface ComputeFeaturesOptions {
  /** Statistics for `normalize` steps; without them `normalize` is the identity. */
  normalization?: NormalizationStats;
}

/** The front end's output for one window. */
export interface FeatureResult {
  /** Channels-first shape, equal to `FeatureSpec.outputShape`. */
  shape: Shape;
  /** Row-major data of that shape. */
  data: Float32Array;
  /**
   * True when a `silence` step found the window's level below its threshold: the runner
   * can skip the DNN. The features are computed all the same.
   */
  silent: boolean;
  /** Audio only: the window's RMS level in dB relative to full scale, 20 log10(rms); -Infinity for digital silence. */
  levelDbfs?: number;
}

/** A row-major tensor: [rows, cols] for maps and windows, [n] after `stats`. */
interface Tensor {
  shape: Shape;
  data: Float32Array;
}

/** The periodic Hann window of `n` samples, as `torch.hann_window(n)`. */
export function hannWindow(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

function hzToMel(f: number): number {
  return 2595 * Math.log10(1 + f / 700);
}

function melToHz(m: number): number {
  return 700 * (10 ** (m / 2595) - 1);
}

/**
 * The HTK triangular mel filterbank as `torchaudio.functional.melscale_fbanks(nFreqs, fminHz,
 * fmaxHz, bands, rateHz, norm=None, mel_scale="htk")`: a row-major [nFreqs, bands] matrix.
 * The FFT bins sit at linspace(0, floor(rateHz / 2), nFreqs), as torchaudio places them.
 */
export function melFilterbank(nFreqs: number, fminHz: number, fmaxHz: number, bands: number, rateHz: number): Float64Array {
  const fb = new Float64Array(nFreqs * bands);
  const mMin = hzToMel(fminHz);
  const mMax = hzToMel(fmaxHz);
  const fPts = new Float64Array(bands + 2);
  for (let i = 0; i < bands + 2; i++) fPts[i] = melToHz(mMin + ((mMax - mMin) * i) / (bands + 1));
  const top = Math.floor(rateHz / 2);
  for (let k = 0; k < nFreqs; k++) {
    const f = nFreqs === 1 ? 0 : (top * k) / (nFreqs - 1);
    for (let b = 0; b < bands; b++) {
      const down = (f - fPts[b]) / (fPts[b + 1] - fPts[b]);
      const up = (fPts[b + 2] - f) / (fPts[b + 2] - fPts[b + 1]);
      fb[k * bands + b] = Math.max(0, Math.min(down, up));
    }
  }
  return fb;
}

/** The orthonormal DCT-II matrix as `torchaudio.functional.create_dct(coeffs, bands, "ortho")`: row-major [bands, coeffs]. */
export function dctMatrix(coeffs: number, bands: number): Float64Array {
  const m = new Float64Array(bands * coeffs);
  for (let n = 0; n < bands; n++)
    for (let k = 0; k < coeffs; k++)
      m[n * coeffs + k] = Math.cos((Math.PI / bands) * (n + 0.5) * k) * (k === 0 ? Math.sqrt(1 / bands) : Math.sqrt(2 / bands));
  return m;
}

/** Precomputed pieces of one spectral configuration, reused across windows. */
interface SpectralPlan {
  fftSize: number;
  window: Float64Array;
  fft: RealFft;
  power: Float64Array;
  /** ln(mel + LOG_FLOOR) of the current frame, one entry per band. */
  logMel: Float64Array;
  /**
   * The filterbank without its zeros: band b weighs bins bandStart[b] .. bandStart[b] +
   * (bandOffset[b + 1] - bandOffset[b]) - 1 by bandWeights[bandOffset[b] ..], one flat
   * array so the inner loop touches no per-band objects.
   */
  bandStart: Int32Array;
  bandOffset: Int32Array;
  bandWeights: Float64Array;
}

const planCache = new Map<string, SpectralPlan>();
const dctCache = new Map<string, Float64Array>();

function spectralPlan(frameLen: number, fftSize: number, bands: number, fminHz: number, fmaxHz: number, rateHz: number): SpectralPlan {
  const key = [frameLen, fftSize, bands, fminHz, fmaxHz, rateHz].join(',');
  let plan = planCache.get(key);
  if (plan) return plan;
  const nFreqs = fftSize / 2 + 1;
  const fb = melFilterbank(nFreqs, fminHz, fmaxHz, bands, rateHz);
  const bandStart = new Int32Array(bands);
  const bandOffset = new Int32Array(bands + 1);
  const ranges: [number, number][] = [];
  for (let b = 0; b < bands; b++) {
    let lo = 0;
    while (lo < nFreqs && fb[lo * bands + b] === 0) lo++;
    let hi = nFreqs - 1;
    while (hi >= lo && fb[hi * bands + b] === 0) hi--;
    ranges.push([lo, hi]);
    bandStart[b] = lo;
    bandOffset[b + 1] = bandOffset[b] + Math.max(0, hi - lo + 1);
  }
  const bandWeights = new Float64Array(bandOffset[bands]);
  ranges.forEach(([lo, hi], b) => {
    for (let k = lo; k <= hi; k++) bandWeights[bandOffset[b] + k - lo] = fb[k * bands + b];
  });
  plan = {
    fftSize,
    window: hannWindow(frameLen),
    fft: new RealFft(fftSize),
    power: new Float64Array(nFreqs),
    logMel: new Float64Array(bands),
    bandStart,
    bandOffset,
    bandWeights,
  };
  // A handful of configurations exist per session; the bound only guards against misuse.
  if (planCache.size > 64) planCache.clear();
  planCache.set(key, plan);
  return plan;
}

/**
 * ln(mel + 1e-6) of `nFrames` frames into a new [bands, nFrames] tensor, or with `dct` (a
 * row-major [coeffs, bands] DCT-II matrix) its MFCC [coeffs, nFrames]. Sample i of frame t
 * is src[i * strideI + t * strideT]: (1, hop) reads straight from the window signal,
 * (nFrames, 1) from a materialised [frameLen, nFrames] frame matrix.
 */
function spectralFeatures(
  src: Float32Array,
  nFrames: number,
  strideI: number,
  strideT: number,
  plan: SpectralPlan,
  bands: number,
  dct?: { coeffs: number; matrix: Float64Array },
): Tensor {
  const rowsOut = dct ? dct.coeffs : bands;
  const out = new Float32Array(rowsOut * nFrames);
  const { window, fft, power, logMel: lm, bandStart, bandOffset, bandWeights } = plan;
  for (let t = 0; t < nFrames; t++) {
    fft.windowedPowerSpectrum(src, t * strideT, strideI, window, power);
    for (let b = 0; b < bands; b++) {
      const end = bandOffset[b + 1];
      // Two partial sums halve the chain of dependent additions the loop waits on.
      let acc0 = 0;
      let acc1 = 0;
      let j = bandOffset[b];
      let k = bandStart[b];
      for (; j + 1 < end; j += 2, k += 2) {
        acc0 += bandWeights[j] * power[k];
        acc1 += bandWeights[j + 1] * power[k + 1];
      }
      if (j < end) acc0 += bandWeights[j] * power[k];
      lm[b] = Math.log(acc0 + acc1 + LOG_FLOOR);
    }
    if (!dct) {
      for (let b = 0; b < bands; b++) out[b * nFrames + t] = lm[b];
      continue;
    }
    // The DCT runs on this frame's float64 log-mel while it is at hand, so the
    // coefficients see one rounding to float32 instead of two.
    const { coeffs, matrix } = dct;
    for (let k = 0, row = 0; k < coeffs; k++, row += bands) out[k * nFrames + t] = dot(matrix, row, lm, 0, bands);
  }
  return { shape: [rowsOut, nFrames], data: out };
}

/**
 * The sum of a[aOff + i] * b[bOff + i] for i < n, in float64. Four partial sums: the loop is
 * bound by the latency of dependent additions (the MFCC's DCT and the window level use it).
 */
function dot(a: Float32Array | Float64Array, aOff: number, b: Float32Array | Float64Array, bOff: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[aOff + i] * b[bOff + i];
    s1 += a[aOff + i + 1] * b[bOff + i + 1];
    s2 += a[aOff + i + 2] * b[bOff + i + 2];
    s3 += a[aOff + i + 3] * b[bOff + i + 3];
  }
  for (; i < n; i++) s0 += a[aOff + i] * b[bOff + i];
  return s0 + s1 + (s2 + s3);
}

/** The DCT-II of {@link dctMatrix} transposed to row-major [coeffs, bands], cached per size. */
function dctRows(coeffs: number, bands: number): Float64Array {
  const key = `${coeffs},${bands}`;
  let rows = dctCache.get(key);
  if (rows) return rows;
  const m = dctMatrix(coeffs, bands);
  rows = new Float64Array(coeffs * bands);
  for (let n = 0; n < bands; n++) for (let k = 0; k < coeffs; k++) rows[k * bands + n] = m[n * coeffs + k];
  if (dctCache.size > 64) dctCache.clear();
  dctCache.set(key, rows);
  return rows;
}

/**
 * Appends `order` successive deltas of a [F, T] tensor along the feature axis, as
 * repeated `torchaudio.functional.compute_deltas(x, win_length=5)`: returns [F * (1 + order), T].
 */
export function appendDeltas(x: { shape: Shape; data: Float32Array }, order: number): { shape: Shape; data: Float32Array } {
  const [f, t] = x.shape;
  const out = new Float32Array(f * (1 + order) * t);
  out.set(x.data.subarray(0, f * t));
  for (let o = 1; o <= order; o++) {
    const srcOff = (o - 1) * f * t;
    const dstOff = o * f * t;
    for (let r = 0; r < f; r++) {
      const s = srcOff + r * t;
      const d = dstOff + r * t;
      const last = t - 1;
      for (let i = 0; i < t; i++) {
        const m1 = i < 1 ? 0 : i - 1;
        const m2 = i < 2 ? 0 : i - 2;
        const p1 = i + 1 > last ? last : i + 1;
        const p2 = i + 2 > last ? last : i + 2;
        out[d + i] = (out[s + p1] - out[s + m1] + 2 * (out[s + p2] - out[s + m2])) / 10;
      }
    }
  }
  return { shape: [f * (1 + order), t], data: out };
}

/**
 * One statistic of `x` (a row of samples), as numpy/scipy define it: `std` is the
 * population standard deviation (ddof 0), `energy` the mean square, `rms` its square root,
 * `skew` and `kurtosis` the biased moment ratios m3/m2^1.5 and m4/m2^2 - 3 (scipy.stats
 * defaults; 0 for a constant row, where scipy gives NaN), `median` the mean of the two
 * middle values for an even length, `zcr` the fraction of consecutive pairs whose signs
 * differ (zero counts as positive; 0 for a single sample).
 */
export function computeStat(name: StatName, x: ArrayLike<number>): number {
  const n = x.length;
  if (n === 0) throw new Error('computeStat: the row is empty');
  let sum = 0;
  for (let i = 0; i < n; i++) sum += x[i];
  const mean = sum / n;
  const moment = (p: number) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += (x[i] - mean) ** p;
    return s / n;
  };
  switch (name) {
    case 'mean':
      return mean;
    case 'std':
      return Math.sqrt(moment(2));
    case 'min': {
      let m = Infinity;
      for (let i = 0; i < n; i++) if (x[i] < m) m = x[i];
      return m;
    }
    case 'max': {
      let m = -Infinity;
      for (let i = 0; i < n; i++) if (x[i] > m) m = x[i];
      return m;
    }
    case 'range':
      return computeStat('max', x) - computeStat('min', x);
    case 'median': {
      const s = Float64Array.from(x).sort();
      return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
    case 'energy':
    case 'rms': {
      let s = 0;
      for (let i = 0; i < n; i++) s += x[i] * x[i];
      return name === 'energy' ? s / n : Math.sqrt(s / n);
    }
    case 'skew':
    case 'kurtosis': {
      const m2 = moment(2);
      // Relative to the mean square, a variance this small is rounding noise: a constant row.
      if (m2 <= 1e-24 * (mean * mean + 1e-300)) return 0;
      return name === 'skew' ? moment(3) / m2 ** 1.5 : moment(4) / (m2 * m2) - 3;
    }
    case 'zcr': {
      if (n < 2) return 0;
      let c = 0;
      for (let i = 1; i < n; i++) if (x[i] < 0 !== x[i - 1] < 0) c++;
      return c / (n - 1);
    }
  }
}

function statsOf(x: Tensor, stats: readonly StatName[]): Tensor {
  const [rows, cols] = x.shape;
  const out = new Float32Array(rows * stats.length);
  for (let r = 0; r < rows; r++) {
    const row = x.data.subarray(r * cols, (r + 1) * cols);
    stats.forEach((s, j) => (out[r * stats.length + j] = computeStat(s, row)));
  }
  return { shape: [rows * stats.length], data: out };
}

function stack(x: Tensor, n: number): Tensor {
  const [f, t] = x.shape;
  const tOut = t - n + 1;
  const out = new Float32Array(f * n * tOut);
  for (let j = 0; j < n; j++)
    for (let r = 0; r < f; r++) out.set(x.data.subarray(r * t + j, r * t + j + tOut), (j * f + r) * tOut);
  return { shape: [f * n, tOut], data: out };
}

/** x' = (x - mean) / std per row; in place when `owned` (the tensor is this window's own scratch), else into a new tensor. */
function normalize(x: Tensor, stats: NormalizationStats | undefined, where: string, owned: boolean): Tensor {
  if (!stats) return x;
  const rows = x.shape[0];
  if (stats.mean.length !== rows || stats.std.length !== rows)
    throw new Error(`${where}: normalization stats have ${stats.mean.length} means and ${stats.std.length} deviations, but the features have ${rows} rows; recompute them for this pipeline`);
  const cols = x.data.length / rows;
  const out = owned ? x.data : new Float32Array(x.data.length);
  for (let r = 0; r < rows; r++) {
    const m = stats.mean[r];
    const s = stats.std[r];
    if (!Number.isFinite(m) || !Number.isFinite(s) || s <= 0)
      throw new Error(`${where}: normalization row ${r} has mean ${m} and std ${s}; the std must be positive and both finite`);
    for (let c = 0; c < cols; c++) out[r * cols + c] = (x.data[r * cols + c] - m) / s;
  }
  return { shape: x.shape, data: out };
}

function frameSignal(signal: Float32Array, frameLen: number, hop: number): Tensor {
  const n = frameCount(signal.length, frameLen, hop);
  const out = new Float32Array(frameLen * n);
  for (let t = 0; t < n; t++) for (let i = 0; i < frameLen; i++) out[i * n + t] = signal[t * hop + i];
  return { shape: [frameLen, n], data: out };
}

/** The mean of x[i]^2 over the first `n` samples. */
function meanSquare(x: Float32Array, n: number): number {
  return dot(x, 0, x, 0, n) / n;
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * An image pipeline's features: the [channels, height, width] tensor runtime/image.ts made
 * from the image (an image input takes no feature steps), checked and copied.
 */
function imageFeatures(input: Extract<InputSpec, { kind: 'image' }>, features: FeatureSpec, signal: Float32Array | readonly Float32Array[]): FeatureResult {
  const shape: Shape = [input.channels, input.height, input.width];
  if (features.steps.length > 0 || !sameShape(shape, features.outputShape))
    throw new Error(`computeFeatures: an image input takes no feature steps and gives [${shape}], but the feature spec has ${features.steps.length} step(s) and shape [${features.outputShape}]; re-check the pipeline`);
  const rows = signal instanceof Float32Array ? [signal] : signal;
  const want = input.channels * input.height * input.width;
  if (rows.length !== 1 || rows[0].length !== want)
    throw new Error(`computeFeatures: an image window is one [${shape}] tensor of ${want} values (runtime/image.ts imageTensor), got ${rows.length} row(s) of ${rows[0]?.length ?? 0}`);
  return { shape, data: rows[0].slice(), silent: false };
}

/**
 * Runs the feature steps on one window.
 *
 * `signal`: for audio, the mono window at `input.rateHz` (a Float32Array, or an array
 * holding one), exactly round(rateHz * windowS) samples (see {@link audioWindows});
 * for inertial, one Float32Array per axis in the input's sensor/axis order, each of that
 * many samples (see runtime/inertial.ts); for an image, its [channels, height, width]
 * tensor (runtime/image.ts), returned as a copy. Returns the tensor with `features.outputShape`,
 * the silence flag and, for audio, the level. Throws an Error naming the problem when the
 * spec is inconsistent (its outputShape disagrees with its steps), the window has the wrong
 * size, or the normalization stats do not fit.
 */
export function computeFeatures(
  input: InputSpec,
  features: FeatureSpec,
  signal: Float32Array | readonly Float32Array[],
  options: ComputeFeaturesOptions = {},
): FeatureResult {
  if (input.kind === 'image') return imageFeatures(input, features, signal);
  let expected: Shape;
  try {
    expected = featureOutputShape(input, features.steps);
  } catch (e) {
    if (e instanceof FeatureShapeError) throw new Error(`computeFeatures: ${e.message}`);
    throw e;
  }
  if (!sameShape(expected, features.outputShape))
    throw new Error(`computeFeatures: the feature spec declares output shape [${features.outputShape}] but its steps give [${expected}]; re-check the pipeline`);
  const samples = windowSamples(input.rateHz, input.windowS);
  const rows = signal instanceof Float32Array ? [signal] : [...signal];
  const wantRows = input.kind === 'audio' ? 1 : inertialChannelCount(input);
  if (rows.length !== wantRows)
    throw new Error(`computeFeatures: expected ${wantRows} signal row(s) (${input.kind === 'audio' ? 'mono audio' : 'one per inertial axis'}), got ${rows.length}`);
  rows.forEach((r, i) => {
    if (r.length !== samples)
      throw new Error(`computeFeatures: signal row ${i + 1} has ${r.length} samples but one window at ${input.rateHz} Hz x ${input.windowS} s holds ${samples}; split the clip into windows first`);
  });
  // Mono audio is read in place (no step writes into its input); only several rows are
  // gathered into one [rows, samples] tensor.
  let data: Float32Array;
  if (rows.length === 1) data = rows[0];
  else {
    data = new Float32Array(rows.length * samples);
    rows.forEach((r, i) => data.set(r, i * samples));
  }
  // The caller's own array while no step has produced a new tensor; never written to.
  const borrowed = rows.length === 1 ? data : undefined;
  let x: Tensor = { shape: [rows.length, samples], data };
  let silent = false;
  let levelDbfs: number | undefined;
  if (input.kind === 'audio') {
    levelDbfs = 10 * Math.log10(meanSquare(data, samples));
  }
  const rateHz = input.rateHz;
  let framing: { frameLen: number; hop: number; fftSize: number } | undefined;
  // Frames stay implicit (views into the window) when a spectral step reads them next;
  // any other step, or the end, materialises the [frameLen, frames] matrix first.
  let framesPending = false;
  const materialise = () => {
    if (!framesPending || !framing) return;
    x = frameSignal(x.data, framing.frameLen, framing.hop);
    framesPending = false;
  };
  features.steps.forEach((step: FeatureStep, i) => {
    const where = `feature step ${i + 1} (${step.kind})`;
    if (step.kind !== 'logmel' && step.kind !== 'mfcc' && step.kind !== 'silence') materialise();
    switch (step.kind) {
      case 'silence':
        silent = (levelDbfs as number) < step.thresholdDb;
        return;
      case 'raw':
        return;
      case 'normalize':
        x = normalize(x, options.normalization, where, x.data !== borrowed);
        return;
      case 'frames':
        framing = frameGeometry(rateHz, step);
        framesPending = true;
        return;
      case 'logmel':
      case 'mfcc': {
        const g = framing as { frameLen: number; hop: number; fftSize: number };
        const plan = spectralPlan(g.frameLen, g.fftSize, step.bands, step.fminHz, step.fmaxHz ?? rateHz / 2, rateHz);
        const nFrames = frameCount(samples, g.frameLen, g.hop);
        const dct = step.kind === 'mfcc' ? { coeffs: step.coeffs, matrix: dctRows(step.coeffs, step.bands) } : undefined;
        x = framesPending
          ? spectralFeatures(x.data, nFrames, 1, g.hop, plan, step.bands, dct)
          : spectralFeatures(x.data, nFrames, nFrames, 1, plan, step.bands, dct);
        framesPending = false;
        if (step.kind === 'mfcc' && step.deltas > 0) x = appendDeltas(x, step.deltas);
        return;
      }
      case 'deltas':
        x = appendDeltas(x, step.order);
        return;
      case 'stats':
        x = statsOf(x, step.stats);
        return;
      case 'stack':
        x = stack(x, step.frames);
        return;
    }
  });
  materialise();
  if (!sameShape(x.shape, expected)) throw new Error(`computeFeatures: internal error: computed [${x.shape}] but the shape rules give [${expected}]`);
  // The caller owns the result: never hand back its own signal (a `raw` only pipeline).
  if (x.data === borrowed) x = { shape: x.shape, data: borrowed.slice() };
  return { shape: x.shape, data: x.data, silent, ...(levelDbfs !== undefined ? { levelDbfs } : {}) };
}

/**
 * Splits a mono clip at `input.rateHz` into analysis windows of round(rateHz * windowS)
 * samples every round(rateHz * hopS) samples. Windows that do not fit are dropped, except
 * that a clip shorter than one window gives one window zero-padded at the end, so every
 * clip yields at least one prediction. Returns views into `signal` where no padding is needed.
 */
export function audioWindows(signal: Float32Array, input: Extract<InputSpec, { kind: 'audio' }>): Float32Array[] {
  const len = windowSamples(input.rateHz, input.windowS);
  const hop = Math.max(1, Math.round(input.rateHz * input.hopS));
  if (len < 1) throw new Error(`audioWindows: a ${input.windowS} s window holds no sample at ${input.rateHz} Hz`);
  if (signal.length < len) {
    const w = new Float32Array(len);
    w.set(signal);
    return [w];
  }
  const out: Float32Array[] = [];
  for (let s = 0; s + len <= signal.length; s += hop) out.push(signal.subarray(s, s + len));
  return out;
}
