/**
 * The checked pipeline: plain, serialisable data lowered from the `.sense` AST.
 *
 * Every quantity is in SI-derived units named in the property (`rateHz`, `windowS`,
 * `memoryBytes`, `powerMw`), so engine/ and runtime/ never see the source units the
 * user typed. Tensor shapes exclude the batch dimension and are channels-first:
 * sequences are `[channels, length]` (log-mel is `[bands, frames]`, as torchaudio
 * returns it), images `[channels, height, width]`.
 */

/** A tensor shape without the batch dimension. */
export type Shape = number[];

/** A source range, 0-based lines and characters, as LSP uses them. */
export interface SourceRange {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

/** The axes an inertial sensor can deliver. `magnitude` is the Euclidean norm of x, y, z. */
export type InertialAxis = 'x' | 'y' | 'z' | 'magnitude';

/** Inertial sensor kinds. */
export type InertialSensorKind = 'accelerometer' | 'gyroscope' | 'magnetometer' | 'barometer';

/** One inertial sensor and the axes the pipeline reads from it, in order. */
export interface InertialSensorSpec {
  kind: InertialSensorKind;
  axes: InertialAxis[];
}

/** The pipeline's input: what the device's sensor delivers, and how often the pipeline runs. */
export type InputSpec =
  | {
      kind: 'audio';
      /** Sample rate the pipeline works at; clips at other rates are resampled. */
      rateHz: number;
      /** Length of one analysis window (one inference). */
      windowS: number;
      /** Time between the starts of consecutive windows; equals windowS unless `hop` is given. */
      hopS: number;
      channels: number;
    }
  | {
      kind: 'inertial';
      rateHz: number;
      windowS: number;
      hopS: number;
      sensors: InertialSensorSpec[];
    }
  | {
      kind: 'image';
      height: number;
      width: number;
      channels: number;
      /** Time between two images (one inference per image). */
      hopS: number;
    };

/** Statistics available to inertial `stats` features, computed per axis over the window. */
export type StatName = 'mean' | 'std' | 'min' | 'max' | 'median' | 'rms' | 'energy' | 'range' | 'skew' | 'kurtosis' | 'zcr';

/**
 * One step of the feature front end, in order. Defaults follow torchaudio:
 * `MelSpectrogram(center=False, power=2, mel_scale="htk", window_fn=hann_window)`,
 * n_fft = frame length rounded up to a power of two unless `fftSize` is given,
 * and `MFCC` with DCT-II, norm="ortho" over the natural log of the mel energies
 * with a floor of 1e-6 (see runtime/ for the exact formulas).
 */
export type FeatureStep =
  | { kind: 'silence'; thresholdDb: number }
  | { kind: 'frames'; lengthS: number; hopS: number; fftSize?: number }
  | { kind: 'logmel'; bands: number; fminHz: number; fmaxHz?: number }
  | { kind: 'mfcc'; coeffs: number; bands: number; deltas: number; fminHz: number; fmaxHz?: number }
  | { kind: 'deltas'; order: number }
  | { kind: 'normalize' }
  | { kind: 'stats'; stats: StatName[] }
  | { kind: 'raw' }
  | { kind: 'stack'; frames: number };

/** The feature front end: steps in order and the shape the first layer sees. */
export interface FeatureSpec {
  steps: FeatureStep[];
  outputShape: Shape;
}
