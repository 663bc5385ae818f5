/**
 * The one definition of the feature front end's tensor shapes, shared by the language
 * (diagnostics, hover), the engine (IR input shape) and the runtime (which checks that
 * what it computes has exactly this shape). Pure: it imports nothing but the pipeline
 * model, so `language <- engine <- runtime` all use it.
 *
 * Shape rules (channels-first, batch excluded):
 * - audio window: mono after mixdown, `samples = round(rateHz * windowS)`, shape `[1, samples]`;
 * - inertial window: one row per listed axis (sensors in order, axes in order),
 *   `[axes, samples]`;
 * - `silence`, `normalize`: shape unchanged (`silence` only on audio input);
 * - `frames L hop H` (audio, before any spectral step): `frameLen = round(rateHz * L)`,
 *   `hop = round(rateHz * H)`, `frames = floor((samples - frameLen) / hop) + 1` (frames that
 *   do not fit are dropped), shape `[frameLen, frames]`;
 * - `logmel B` on framed audio: `[B, frames]`;
 * - `mfcc C ... deltas D` on framed audio: `[C * (1 + D), frames]`;
 * - `deltas k` on `[F, T]`: `[F * (1 + k), T]`;
 * - `stats s1..sS` on `[R, C]`: `[R * S]`, row-major over rows (all stats of row 1, then row 2 ...);
 * - `raw` on an unframed window: shape unchanged (`[axes, samples]`, or `[1, samples]` for audio);
 * - `stack N` on `[F, T]`: `[F * N, T - N + 1]`.
 */
import type { FeatureStep, InputSpec, Shape } from './pipeline-model';

/** A feature list that has no valid shape; `stepIndex` is the 0-based offending step (-1: the input). */
export class FeatureShapeError extends Error {
  /** Index into the feature steps of the step at fault, or -1 when the input itself is at fault. */
  readonly stepIndex: number;

  constructor(message: string, stepIndex: number) {
    super(message);
    this.name = 'FeatureShapeError';
    this.stepIndex = stepIndex;
  }
}

/** Number of samples in one window: `round(rateHz * windowS)`. */
export function windowSamples(rateHz: number, windowS: number): number {
  return Math.round(rateHz * windowS);
}

/**
 * Frame length and hop in samples for a `frames` step at `rateHz`, and the FFT size:
 * `fftSize` when given, else the frame length rounded up to a power of two.
 */
export function frameGeometry(
  rateHz: number,
  step: { lengthS: number; hopS: number; fftSize?: number },
): { frameLen: number; hop: number; fftSize: number } {
  const frameLen = Math.round(rateHz * step.lengthS);
  const hop = Math.round(rateHz * step.hopS);
  let fftSize = step.fftSize ?? 1;
  if (step.fftSize === undefined) while (fftSize < frameLen) fftSize *= 2;
  return { frameLen, hop, fftSize };
}

/** Number of frames of `frameLen` samples every `hop` samples that fit in `samples`; 0 if none fits. */
export function frameCount(samples: number, frameLen: number, hop: number): number {
  return samples < frameLen ? 0 : Math.floor((samples - frameLen) / hop) + 1;
}

/** Number of rows an inertial input delivers: one per listed axis of every sensor. */
export function inertialChannelCount(input: Extract<InputSpec, { kind: 'inertial' }>): number {
  return input.sensors.reduce((n, s) => n + s.axes.length, 0);
}

/**
 * Most samples one window may hold: 2^24, about 5.8 minutes of 48 kHz audio. Sensing windows
 * are seconds long; the bound keeps a typo such as `rate 1e308 Hz` from reaching the cost
 * model as an infinite operation count, and keeps every sample index exact in float32.
 */
export const MAX_WINDOW_SAMPLES = 2 ** 24;

/** Shortest image period: 1 ms, 1000 frames per second, beyond any camera a sensing pipeline reads. */
export const MIN_IMAGE_PERIOD_S = 1e-3;

/**
 * Samples in one audio or inertial window, after checking that rate, window and hop are
 * positive, that the window holds 1 to {@link MAX_WINDOW_SAMPLES} samples, and that the hop
 * is at least one sample.
 */
function checkedWindowSamples(input: Extract<InputSpec, { kind: 'audio' | 'inertial' }>): number {
  const what = input.kind;
  if (!isPositiveFinite(input.rateHz)) throw new FeatureShapeError(`${what} rate must be positive, got ${input.rateHz} Hz`, -1);
  if (!isPositiveFinite(input.windowS)) throw new FeatureShapeError(`${what} window must be positive, got ${input.windowS} s`, -1);
  if (!isPositiveFinite(input.hopS)) throw new FeatureShapeError(`${what} hop must be positive, got ${input.hopS} s`, -1);
  const samples = windowSamples(input.rateHz, input.windowS);
  if (samples < 1) throw new FeatureShapeError(`the ${what} window holds no sample at ${input.rateHz} Hz; lengthen the window`, -1);
  if (samples > MAX_WINDOW_SAMPLES)
    throw new FeatureShapeError(
      `the ${what} window (${input.windowS} s at ${input.rateHz} Hz) holds more than the ${MAX_WINDOW_SAMPLES} samples the studio models; shorten the window or lower the rate`,
      -1,
    );
  if (windowSamples(input.rateHz, input.hopS) < 1) throw new FeatureShapeError(`the ${what} hop of ${input.hopS} s is under one sample at ${input.rateHz} Hz; lengthen the hop`, -1);
  return samples;
}

function isPositiveFinite(x: number): boolean {
  return Number.isFinite(x) && x > 0;
}

function isPositiveInt(x: number): boolean {
  return Number.isInteger(x) && x > 0;
}

/**
 * The shape the first layer sees after `steps` run on one window of `input`, by the rules
 * in this module's header. Throws {@link FeatureShapeError} naming the step and the fix
 * when the steps cannot run in this order or with these sizes.
 */
export function featureOutputShape(input: InputSpec, steps: readonly FeatureStep[]): Shape {
  let shape: Shape;
  // What the current tensor is: the raw window, audio frames, or a [features, time] map.
  let state: 'window' | 'frames' | 'map' | 'vector';
  let rateHz = 0;
  if (input.kind === 'audio') {
    rateHz = input.rateHz;
    shape = [1, checkedWindowSamples(input)];
    state = 'window';
  } else if (input.kind === 'inertial') {
    rateHz = input.rateHz;
    const axes = inertialChannelCount(input);
    if (axes < 1) throw new FeatureShapeError('the inertial input lists no sensor axis; name at least one (for example accelerometer x y z)', -1);
    shape = [axes, checkedWindowSamples(input)];
    state = 'window';
  } else {
    if (!isPositiveFinite(input.hopS) || input.hopS < MIN_IMAGE_PERIOD_S)
      throw new FeatureShapeError(`image period must be at least ${MIN_IMAGE_PERIOD_S * 1000} ms (${1 / MIN_IMAGE_PERIOD_S} frames per second), got ${input.hopS} s`, -1);
    if (steps.length > 0) throw new FeatureShapeError('image input takes no feature steps; remove the features block', 0);
    return [input.channels, input.height, input.width];
  }

  steps.forEach((step, i) => {
    const where = `feature step ${i + 1} (${step.kind})`;
    switch (step.kind) {
      case 'silence':
        if (input.kind !== 'audio') throw new FeatureShapeError(`${where}: the silence filter applies to audio input only`, i);
        if (!Number.isFinite(step.thresholdDb)) throw new FeatureShapeError(`${where}: threshold must be a finite dB value`, i);
        return;
      case 'normalize':
        return;
      case 'raw':
        if (state !== 'window') throw new FeatureShapeError(`${where}: raw must come before any framing or spectral step`, i);
        return;
      case 'frames': {
        if (input.kind !== 'audio') throw new FeatureShapeError(`${where}: framing applies to audio input; inertial windows come from the input's window and hop`, i);
        if (state !== 'window') throw new FeatureShapeError(`${where}: audio can be framed only once, before logmel/mfcc`, i);
        if (!isPositiveFinite(step.lengthS) || !isPositiveFinite(step.hopS)) throw new FeatureShapeError(`${where}: frame length and hop must be positive`, i);
        const g = frameGeometry(rateHz, step);
        if (g.frameLen < 2) throw new FeatureShapeError(`${where}: a ${step.lengthS * 1000} ms frame holds fewer than 2 samples at ${rateHz} Hz`, i);
        if (g.hop < 1) throw new FeatureShapeError(`${where}: a ${step.hopS * 1000} ms hop is under one sample at ${rateHz} Hz`, i);
        if (step.fftSize !== undefined) {
          if (!isPositiveInt(step.fftSize) || (step.fftSize & (step.fftSize - 1)) !== 0 || step.fftSize < 4)
            throw new FeatureShapeError(`${where}: fft size must be a power of two of at least 4, got ${step.fftSize}`, i);
          if (step.fftSize < g.frameLen) throw new FeatureShapeError(`${where}: fft size ${step.fftSize} is shorter than the ${g.frameLen}-sample frame`, i);
        }
        const n = frameCount(shape[1], g.frameLen, g.hop);
        if (n < 1) throw new FeatureShapeError(`${where}: a ${g.frameLen}-sample frame does not fit in the ${shape[1]}-sample window; shorten the frame or lengthen the window`, i);
        shape = [g.frameLen, n];
        state = 'frames';
        return;
      }
      case 'logmel':
      case 'mfcc': {
        if (state !== 'frames') throw new FeatureShapeError(`${where}: needs framed audio; put 'frames' just before it`, i);
        if (!isPositiveInt(step.bands)) throw new FeatureShapeError(`${where}: band count must be a positive integer`, i);
        const fmaxHz = step.fmaxHz ?? rateHz / 2;
        if (!(step.fminHz >= 0) || !(fmaxHz > step.fminHz) || fmaxHz > rateHz / 2 + 1e-9)
          throw new FeatureShapeError(`${where}: need 0 <= fmin < fmax <= ${rateHz / 2} Hz (half the rate), got ${step.fminHz}..${fmaxHz} Hz`, i);
        const frames = shape[1];
        if (step.kind === 'logmel') {
          shape = [step.bands, frames];
        } else {
          if (!isPositiveInt(step.coeffs) || step.coeffs > step.bands)
            throw new FeatureShapeError(`${where}: need 1 <= coeffs <= bands, got ${step.coeffs} coeffs of ${step.bands} bands`, i);
          if (!Number.isInteger(step.deltas) || step.deltas < 0 || step.deltas > 4)
            throw new FeatureShapeError(`${where}: deltas must be an integer from 0 to 4, got ${step.deltas}`, i);
          shape = [step.coeffs * (1 + step.deltas), frames];
        }
        state = 'map';
        return;
      }
      case 'deltas':
        if (shape.length !== 2 || state === 'frames') throw new FeatureShapeError(`${where}: needs a [features, time] map such as logmel or raw inertial`, i);
        if (!Number.isInteger(step.order) || step.order < 1 || step.order > 4)
          throw new FeatureShapeError(`${where}: order must be an integer from 1 to 4, got ${step.order}`, i);
        shape = [shape[0] * (1 + step.order), shape[1]];
        state = 'map';
        return;
      case 'stats':
        if (shape.length !== 2 || state === 'frames') throw new FeatureShapeError(`${where}: needs the raw window or a [features, time] map`, i);
        if (step.stats.length === 0) throw new FeatureShapeError(`${where}: name at least one statistic`, i);
        shape = [shape[0] * step.stats.length];
        state = 'vector';
        return;
      case 'stack':
        if (shape.length !== 2 || state === 'frames') throw new FeatureShapeError(`${where}: needs a [features, time] map`, i);
        if (!isPositiveInt(step.frames)) throw new FeatureShapeError(`${where}: frame count must be a positive integer`, i);
        if (step.frames > shape[1]) throw new FeatureShapeError(`${where}: cannot stack ${step.frames} frames of ${shape[1]}`, i);
        shape = [shape[0] * step.frames, shape[1] - step.frames + 1];
        state = 'map';
        return;
    }
  });
  return shape;
}
