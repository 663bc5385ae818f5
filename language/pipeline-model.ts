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

/**
 * The axes an inertial sensor can deliver. `magnitude` is the Euclidean norm of x, y, z;
 * the barometer has one axis, `pressure` (also accepted as `x`).
 */
export type InertialAxis = 'x' | 'y' | 'z' | 'magnitude' | 'pressure';

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
 * and `MFCC` with DCT-II, norm="ortho" over ln(mel + 1e-6), as torchaudio's
 * `MFCC(log_mels=True)` computes it (see runtime/features.ts for the exact formulas).
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

/**
 * The name the feature front end goes by wherever a pipeline's parts are keyed by name:
 * `place features on dsp` and placement maps, the IR's front-end block, the tensor the
 * front end hands to the first exported partition, the weights' normalisation entries and
 * the graph's node id. A block may not take it, so it never collides with a layer or block.
 */
export const FEATURES_KEY = 'features';

/** Layer kinds. Standalone activations (`relu` on its own line) have kind `activation`. */
export type LayerKind =
  | 'dense'
  | 'conv1d'
  | 'conv2d'
  | 'maxpool'
  | 'avgpool'
  | 'batchnorm'
  | 'dropout'
  | 'flatten'
  | 'gru'
  | 'lstm'
  | 'activation';

/** Activation functions; `linear` is the identity. */
export type ActivationName = 'relu' | 'sigmoid' | 'tanh' | 'softmax' | 'gelu' | 'elu' | 'leakyrelu' | 'linear';

/** What a layer computes, without shapes: the hyper-parameters written in the source. */
export interface LayerConfig {
  kind: LayerKind;
  /** Output width of dense, gru and lstm. */
  units?: number;
  /** Output channels of conv1d and conv2d. */
  filters?: number;
  /** Kernel size: [k] for conv1d, [kh, kw] for conv2d. */
  kernel?: number[];
  /** Pool window: [k] or [kh, kw]. */
  poolSize?: number[];
  /** Stride (the same in every spatial dimension); pools default to their window. */
  stride?: number;
  padding?: 'same' | 'valid';
  /** Global pooling over every spatial position. */
  global?: boolean;
  /** Dropout probability; inference ignores it. */
  dropoutRate?: number;
  /** gru/lstm: return the whole sequence instead of the last state. */
  sequences?: boolean;
  /** Activation fused into the layer, or the function of a standalone activation layer. */
  activation?: ActivationName;
}

/** Compression applied to one layer by a `compress` line. */
export type CompressionSpec =
  | { kind: 'svd'; criterion: 'rank'; rank: number }
  | { kind: 'svd'; criterion: 'energy'; fraction: number }
  | { kind: 'svd'; criterion: 'error'; fraction: number }
  | { kind: 'sparse'; atoms: number; nonzeros: number }
  | { kind: 'int8' };

/** One layer with its inferred shapes and static costs (float32 weights and activations). */
export interface LayerSpec extends LayerConfig {
  /** `block.index`, the stable address of the layer (`encoder.2`). */
  id: string;
  block: string;
  /** 1-based position in its block, counting every layer line. */
  index: number;
  name?: string;
  inputShape: Shape;
  outputShape: Shape;
  /** Number of weights and biases (batchnorm counts its running statistics too). */
  params: number;
  /** Multiply-accumulates per inference (element-wise ops count one per element). */
  macs: number;
  /** Bytes of float32 weights. */
  weightBytes: number;
  /** Bytes of the float32 output tensor. */
  activationBytes: number;
  compression?: CompressionSpec;
  range: SourceRange;
}

/**
 * A head's gate (`head speaker from encoder when ambient is voicing`): the head runs on a
 * window only when head `head`'s top label is `label` (and, when that head is gated too,
 * only when it ran). Lowering checks that `head` is another head with that label and that
 * gates form no cycle.
 */
export interface GateSpec {
  head: string;
  label: string;
  /**
   * How often the gate opens, as a fraction of the windows on which the gating head runs:
   * the `expect` line for that head and label, else 1 (the estimate then assumes it always
   * opens, and lowering warns).
   */
  fraction: number;
}

/** An `expect ambient voicing 30%` line: `label` is the top label of `head` on `fraction` of the windows `head` runs on. */
export interface ExpectSpec {
  head: string;
  label: string;
  /** In [0, 1]. */
  fraction: number;
}

/** A shared block (feeds others) or a task head (ends in predictions). */
export interface BlockSpec {
  kind: 'shared' | 'head';
  name: string;
  /** The shared block this one reads from; undefined means the feature front end. */
  from?: string;
  layers: LayerSpec[];
  /** Class names of a head, in output order. */
  labels?: string[];
  /** A head's gate; absent for heads that run on every window and for shared blocks. */
  gate?: GateSpec;
  inputShape: Shape;
  outputShape: Shape;
  range: SourceRange;
}

/** One processor of a device; every figure in base units, with its sources. */
export interface ProcessorSpec {
  name: string;
  /** Sustained multiply-accumulate throughput for DNN layers. */
  computeMacsPerS: number;
  /** Memory available to the pipeline on this processor. */
  memoryBytes: number;
  /** Memory bandwidth seen by this processor. */
  bandwidthBytesPerS: number;
  /** Power drawn while busy. */
  activePowerMw: number;
  /** Power drawn while awake and idle: waiting for work, or in the tail after it. */
  idlePowerMw: number;
  /**
   * Power drawn while asleep (clock and most rails off, state kept); at most
   * {@link idlePowerMw}. Source: the `sleep` setting; without it the processor is taken
   * never to sleep (sleep power = idle power), so nothing is saved by sleeping.
   */
  sleepPowerMw: number;
  /** Energy of one wake-up from sleep (`wake`; default 0). */
  wakeEnergyMj: number;
  /** Time one wake-up takes before work can start (`wakelatency`; default 0). */
  wakeLatencyMs: number;
  /** Time it stays awake (at idle power) after its last work before it may sleep (`tail`; default 0). */
  tailMs: number;
  /**
   * Power it draws while it keeps a sensor stream between windows (awake, taking the
   * sensor's buffers; the sensor and its codec included), instead of its idle or sleep
   * power. Undefined when the processor cannot take a sensor stream (`sampling`), in which
   * case an input whose front end runs here is sampled by the default processor.
   */
  samplingPowerMw?: number;
  /** Fixed cost of dispatching one op (kernel launch, RPC to a DSP). */
  overheadMs: number;
  /**
   * Sustained throughput, in multiply-accumulates per second, for the feature front-end
   * ops (IR ops placed under the `features` key: framing, FFT, mel filterbank, log, DCT,
   * deltas, normalisation, statistics). The front end runs as hand-written code (the
   * runtime's JavaScript, a DSP library), not the DNN runtime's dense kernels, so its
   * MACs often go several times slower than a layer's (measured 3-4x on `host`).
   * Undefined means {@link computeMacsPerS}. Source: the processor's `frontend` setting
   * (e.g. `frontend 0.5 GMAC/s`) or a measured device profile (engine/calibrate/profile.ts),
   * which takes precedence.
   */
  frontendMacsPerS?: number;
  /**
   * Fixed cost, in milliseconds, of one partition run on this processor: handing a
   * partition (one exported ONNX model) to the runtime and back, i.e. `session.run`
   * dispatch and the runner's per-window glue around it. engine/schedule.ts charges it
   * once per partition per inference, at the partition's first op. Undefined means 0.
   * Source: the processor's `dispatch` setting (e.g. `dispatch 0.3 ms`) or a measured
   * device profile (engine/calibrate/profile.ts), which takes precedence.
   */
  dispatchMs?: number;
  /** Energy per byte moved to and from memory. */
  transferPjPerByte: number;
  /** Layer kinds (and `features`) it can run; undefined means every kind. */
  supports?: string[];
  /** True for a processor reached over a network (offloading to a server). */
  remote: boolean;
  sources: string[];
}

/** A link over which tensors move between two processors. */
export interface LinkSpec {
  from: string;
  to: string;
  bidirectional: boolean;
  bandwidthBytesPerS: number;
  /** One-way latency per transfer (half the RTT for network links). */
  latencyMs: number;
  /** Power drawn while transferring (the radio, for network links). */
  powerMw: number;
}

/** A target device: its processors, links and battery. */
export interface DeviceSpec {
  name: string;
  processors: ProcessorSpec[];
  links: LinkSpec[];
  batteryMah?: number;
  batteryVoltageV?: number;
  /**
   * What the device draws with its screen off and every processor asleep (radio paging,
   * memory self-refresh, power management), apart from the processors' own sleep power:
   * the `baseline` setting, default 0. Counts toward battery life, not toward what a
   * pipeline adds.
   */
  baselinePowerMw: number;
  /** Where unplaced ops run: the `default` line, else the first processor. */
  defaultProcessor: string;
  builtin: boolean;
  sources: string[];
}

/** The `optimize` line: the objective α·energy(mJ) + β·latency(ms) and the latency budget. */
export interface OptimizeSpec {
  energyWeight: number;
  latencyWeight: number;
  budgetMs?: number;
}

/** A fully checked pipeline, ready for the engine. */
export interface PipelineSpec {
  name: string;
  input: InputSpec;
  features: FeatureSpec;
  /** Shared blocks and heads in source order; every `from` names an earlier shared block. */
  blocks: BlockSpec[];
  target: DeviceSpec;
  weightsPath?: string;
  /** Explicit placements from `place` lines: layer id -> processor name. */
  placement: Record<string, string>;
  optimize: OptimizeSpec;
  /** The `expect` lines, in source order (absent or empty when there are none). */
  expectations?: ExpectSpec[];
}

/**
 * The probability that each block runs on a window: 1 for shared blocks and ungated heads,
 * the product of the gates' fractions along a chain of gates for a gated head (the gates
 * of different heads taken as independent). A chain that does not end (a cycle, which
 * lowering reports) counts as never opening.
 */
export function firingProbabilities(blocks: readonly BlockSpec[]): Map<string, number> {
  const byName = new Map(blocks.map((b) => [b.name, b]));
  const out = new Map<string, number>();
  for (const block of blocks) {
    let p = 1;
    const seen = new Set<string>();
    for (let b: BlockSpec | undefined = block; b?.gate; b = byName.get(b.gate.head)) {
      if (seen.has(b.name)) {
        p = 0;
        break;
      }
      seen.add(b.name);
      p *= b.gate.fraction;
    }
    out.set(block.name, p);
  }
  return out;
}
