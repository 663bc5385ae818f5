/**
 * Lowering: from the Langium AST of a pipeline or device to the plain, checked
 * {@link PipelineSpec} / {@link DeviceSpec} the engine and runtime consume. Lowering is
 * also where the semantic checks live (units, shapes, labels, compression, placement),
 * because they need the same computation: each problem becomes a {@link LoweringIssue}
 * attached to the AST node and property at fault, which the validator reports.
 *
 * Lowering never throws on bad input: it reports and goes on with a best guess, so one
 * mistake does not hide the diagnostics after it.
 */
import type { AstNode, Properties } from 'langium';
import * as ast from './generated/ast';
import { IssueCodes, type IssueCode } from './issue-codes';
import { FeatureShapeError, featureOutputShape } from './feature-shapes';
import { FLOAT32_BYTES, elementCount, formatShape, inferLayer, isCompressible, notCompressibleMessage, svdBreakEvenRank, weightMatrixShape } from './layer-shapes';
import { toBase, type Dimension } from './units';
import { DEVICE_SETTING_DIMENSIONS, INPUT_SETTING_DIMENSIONS, LINK_SETTING_DIMENSIONS, PROCESSOR_SETTING_DIMENSIONS } from './quantity-dimension';
import type {
  ActivationName,
  BlockSpec,
  CompressionSpec,
  DeviceSpec,
  ExpectSpec,
  FeatureSpec,
  FeatureStep,
  InputSpec,
  LayerConfig,
  LayerKind,
  LayerSpec,
  LinkSpec,
  OptimizeSpec,
  PipelineSpec,
  ProcessorSpec,
  Shape,
  SourceRange,
  StatName,
  InertialSensorSpec,
  InertialAxis,
} from './pipeline-model';
import { FEATURES_KEY } from './pipeline-model';

/**
 * A problem found while lowering, attached to an AST node (and optionally one property).
 * The property name is checked against the node's type where the issue is made
 * (IssueSink's methods take `Properties<N>`), so it names a real property of `node`.
 */
export interface LoweringIssue {
  severity: 'error' | 'warning' | 'info';
  code: IssueCode;
  message: string;
  node: AstNode;
  property?: string;
  index?: number;
}

/** The result of lowering a pipeline: the spec (absent only when there is no usable input) and its issues. */
export interface PipelineLowering {
  spec?: PipelineSpec;
  issues: LoweringIssue[];
  /** The lowered layer of each layer node, for hover and the graph's trace back to source. */
  layerOf: Map<ast.Layer, LayerSpec>;
  /** The lowered block of each block node. */
  blockOf: Map<ast.Block, BlockSpec>;
}

/** The result of lowering a device. */
export interface DeviceLowering {
  spec: DeviceSpec;
  issues: LoweringIssue[];
}

/** The activation kinds, which keep their input's shape. */
export const ACTIVATIONS: ReadonlySet<string> = new Set(['relu', 'sigmoid', 'tanh', 'softmax', 'gelu', 'elu', 'leakyrelu', 'linear']);

/** The 0-based LSP range of a node, or an empty range at the start when it has no text. */
export function rangeOf(node: AstNode): SourceRange {
  const r = node.$cstNode?.range;
  return r ? { start: { ...r.start }, end: { ...r.end } } : { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
}

/**
 * Largest count a `.sense` file may give (units, filters, kernel sizes, bands, ranks): far
 * above any network that fits a phone, watch or board, and small enough that the engine's
 * arithmetic on weight matrices (a 10^6 x 10^6 layer has 10^12 parameters) stays finite and
 * its data-free spectra stay allocatable. `dense 1e308` once lowered to an Infinity estimate.
 */
export const MAX_COUNT = 1_000_000;

class IssueSink {
  readonly issues: LoweringIssue[] = [];
  error<N extends AstNode>(code: IssueCode, message: string, node: N, property?: Properties<N>, index?: number): void {
    this.issues.push({ severity: 'error', code, message, node, property, index });
  }
  warning<N extends AstNode>(code: IssueCode, message: string, node: N, property?: Properties<N>, index?: number): void {
    this.issues.push({ severity: 'warning', code, message, node, property, index });
  }
  info<N extends AstNode>(code: IssueCode, message: string, node: N, property?: Properties<N>, index?: number): void {
    this.issues.push({ severity: 'info', code, message, node, property, index });
  }

  /** Reads a quantity in the base unit of `dimension`, reporting unit problems; undefined when unusable. */
  quantity(q: ast.Quantity | undefined, dimension: Dimension, what: string): number | undefined {
    if (!q) return undefined;
    const r = toBase(q.value, q.unit, dimension, what);
    if (!r.ok) {
      this.error(r.code, r.message, q, q.unit === undefined ? 'value' : 'unit');
      return undefined;
    }
    if (!Number.isFinite(r.value)) {
      this.error(IssueCodes.InvalidNumber, `${what} must be a finite number.`, q, 'value');
      return undefined;
    }
    return r.value;
  }

  /**
   * Checks that a plain number is a positive integer (at least `min`, at most
   * {@link MAX_COUNT}), reporting otherwise.
   */
  positiveInt<N extends AstNode>(value: number | undefined, node: N, property: Properties<N>, what: string, min = 1): number | undefined {
    if (value === undefined) return undefined;
    if (!Number.isInteger(value) || value < min || value > MAX_COUNT) {
      this.error(IssueCodes.InvalidNumber, `${what} must be an integer from ${min} to ${MAX_COUNT}, got ${value}.`, node, property);
      return undefined;
    }
    return value;
  }
}

// ------------------------------------------------------------------ devices

const PROCESSOR_SETTINGS = PROCESSOR_SETTING_DIMENSIONS;
const LINK_SETTINGS = LINK_SETTING_DIMENSIONS;

/** Lowers a `device` block (built-in or custom) to a {@link DeviceSpec}. */
export function lowerDevice(device: ast.Device, builtin = false): DeviceLowering {
  const sink = new IssueSink();
  const processors: ProcessorSpec[] = [];
  const seen = new Map<string, ast.Processor>();
  for (const p of device.processors) {
    if (seen.has(p.name)) {
      sink.error(IssueCodes.DuplicateName, `Processor '${p.name}' is declared twice in device '${device.name}'.`, p, 'name');
      continue;
    }
    seen.set(p.name, p);
    const values: Record<string, number | undefined> = {};
    for (const s of p.settings) {
      if (s.key in values) sink.error(IssueCodes.DuplicateStatement, `'${s.key}' is set twice for processor '${p.name}'.`, s, 'key');
      values[s.key] = sink.quantity(s.value, PROCESSOR_SETTINGS[s.key], `'${s.key}'`);
    }
    for (const required of ['compute', 'memory', 'power'] as const) {
      if (!p.settings.some((s) => s.key === required)) {
        sink.error(
          IssueCodes.MissingProcessorSetting,
          `Processor '${p.name}' needs '${required}' (${required === 'compute' ? 'e.g. compute 2 GMAC/s' : required === 'memory' ? 'e.g. memory 64 MB' : 'e.g. power 200 mW'}).`,
          p,
          'name',
        );
      }
    }
    const supports = p.supports.length > 0 ? p.supports.flatMap((s) => s.kinds) : undefined;
    const idlePowerMw = nonNegativeOr(values.idle, 0);
    let sleepPowerMw = nonNegativeOr(values.sleep, idlePowerMw);
    if (sleepPowerMw > idlePowerMw) {
      // A processor that drew more asleep than awake would never sleep; the power-state model
      // (engine/power-model.ts) relies on sleep <= idle <= active.
      const at = p.settings.find((s) => s.key === 'sleep');
      if (at) sink.error(IssueCodes.InvalidNumber, `Processor '${p.name}' draws more asleep (${sleepPowerMw} mW) than awake and idle (${idlePowerMw} mW); 'sleep' must be at most 'idle'.`, at, 'value');
      sleepPowerMw = idlePowerMw;
    }
    const activePowerMw = nonNegativeOr(values.power, 0);
    if (values.sampling !== undefined && values.sampling > activePowerMw && values.power !== undefined) {
      // The partitioner prices busy time at active power less the sampling power (engine/partition/problem.ts).
      const at = p.settings.find((s) => s.key === 'sampling');
      if (at) sink.error(IssueCodes.InvalidNumber, `Processor '${p.name}' draws more sampling (${values.sampling} mW) than busy (${activePowerMw} mW); 'sampling' must be at most 'power'.`, at, 'value');
    }
    if (idlePowerMw > activePowerMw && values.power !== undefined) {
      const at = p.settings.find((s) => s.key === 'idle');
      if (at) sink.error(IssueCodes.InvalidNumber, `Processor '${p.name}' draws more idle (${idlePowerMw} mW) than busy (${activePowerMw} mW); 'idle' must be at most 'power'.`, at, 'value');
    }
    processors.push({
      name: p.name,
      computeMacsPerS: positiveOr(values.compute, 1e9),
      memoryBytes: positiveOr(values.memory, Number.POSITIVE_INFINITY),
      bandwidthBytesPerS: positiveOr(values.bandwidth, Number.POSITIVE_INFINITY),
      activePowerMw,
      idlePowerMw,
      sleepPowerMw,
      wakeEnergyMj: nonNegativeOr(values.wake, 0),
      wakeLatencyMs: nonNegativeOr(values.wakelatency, 0) * 1000,
      tailMs: nonNegativeOr(values.tail, 0) * 1000,
      samplingPowerMw: values.sampling !== undefined && values.sampling >= 0 ? values.sampling : undefined,
      overheadMs: nonNegativeOr(values.overhead, 0) * 1000,
      frontendMacsPerS: values.frontend !== undefined && values.frontend > 0 ? values.frontend : undefined,
      dispatchMs: values.dispatch !== undefined && values.dispatch >= 0 ? values.dispatch * 1000 : undefined,
      transferPjPerByte: nonNegativeOr(values.transfer, 0),
      supports,
      remote: false,
      sources: p.sources.map((s) => s.text),
    });
  }
  if (device.processors.length === 0) {
    sink.error(IssueCodes.EmptyDevice, `Device '${device.name}' has no processor; add one, e.g. processor cpu { compute 1 GMAC/s  memory 64 MB  power 100 mW }.`, device, 'name');
  }

  const links: LinkSpec[] = [];
  for (const l of device.links) {
    const from = l.from?.ref?.name;
    const to = l.to?.ref?.name;
    const values: Record<string, number | undefined> = {};
    for (const s of l.settings) values[s.key] = sink.quantity(s.value, LINK_SETTINGS[s.key], `link '${s.key}'`);
    if (from && to && from === to) sink.error(IssueCodes.InvalidLink, `A link joins two different processors, not '${from}' to itself.`, l, 'to');
    if (values.bandwidth === undefined && !l.settings.some((s) => s.key === 'bandwidth')) {
      sink.error(IssueCodes.MissingSetting, `Link ${from ?? '?'} ${l.direction} ${to ?? '?'} needs a bandwidth (e.g. bandwidth 100 MB/s).`, l, 'from');
    }
    const latencyS = values.latency ?? (values.rtt !== undefined ? values.rtt / 2 : 0);
    if (from && to) {
      links.push({
        from,
        to,
        bidirectional: l.direction === '<->',
        bandwidthBytesPerS: positiveOr(values.bandwidth, Number.POSITIVE_INFINITY),
        latencyMs: latencyS * 1000,
        powerMw: nonNegativeOr(values.power, 0),
      });
      // A processor reached over a link with a round-trip time is remote (a server).
      if (l.settings.some((s) => s.key === 'rtt')) {
        const remote = processors.find((p) => p.name === to);
        if (remote) remote.remote = true;
      }
    }
  }

  let batteryMah: number | undefined;
  let batteryVoltageV: number | undefined;
  device.batteries.forEach((b, i) => {
    if (i > 0) {
      sink.error(IssueCodes.DuplicateStatement, `Device '${device.name}' has more than one battery.`, b);
      return;
    }
    batteryMah = sink.quantity(b.capacity, 'charge', 'battery capacity');
    batteryVoltageV = sink.quantity(b.voltage, 'voltage', 'battery voltage');
  });
  const deviceValues: Record<string, number | undefined> = {};
  for (const s of device.settings) {
    if (s.key in deviceValues) sink.error(IssueCodes.DuplicateStatement, `'${s.key}' is set twice for device '${device.name}'.`, s, 'key');
    deviceValues[s.key] = sink.quantity(s.value, DEVICE_SETTING_DIMENSIONS[s.key], `'${s.key}'`);
  }
  device.defaults.slice(1).forEach((d) => sink.error(IssueCodes.DuplicateStatement, `Device '${device.name}' names more than one default processor.`, d));
  const defaultProcessor = device.defaults[0]?.processor?.ref?.name ?? processors[0]?.name ?? 'cpu';

  return {
    spec: {
      name: device.name,
      processors,
      links,
      batteryMah,
      batteryVoltageV,
      baselinePowerMw: nonNegativeOr(deviceValues.baseline, 0),
      defaultProcessor,
      builtin,
      sources: device.sources.map((s) => s.text),
    },
    issues: sink.issues,
  };
}

function positiveOr(v: number | undefined, fallback: number): number {
  return v !== undefined && v > 0 ? v : fallback;
}

function nonNegativeOr(v: number | undefined, fallback: number): number {
  return v !== undefined && v >= 0 ? v : fallback;
}

// ------------------------------------------------------------------ pipelines

/** Lowers the input block; undefined when the pipeline has none usable. */
/**
 * The `key value` settings each input modality takes; the others are reported as
 * unexpected. `size` (image) and the sensors (inertial) are statements of their own.
 */
export const INPUT_SETTING_KEYS: Readonly<Record<string, readonly string[]>> = {
  audio: ['rate', 'window', 'hop', 'channels'],
  inertial: ['rate', 'window', 'hop'],
  image: ['channels', 'period'],
};

function lowerInput(pipeline: ast.Pipeline, sink: IssueSink): InputSpec | undefined {
  if (pipeline.inputs.length === 0) {
    sink.error(IssueCodes.MissingInput, `Pipeline '${pipeline.name}' has no input; add e.g. input audio { rate 16 kHz  window 1 s }.`, pipeline, 'name');
    return undefined;
  }
  pipeline.inputs.slice(1).forEach((i) => sink.error(IssueCodes.DuplicateStatement, 'A pipeline has one input block.', i, 'modality'));
  const input = pipeline.inputs[0];
  const settings = new Map<string, ast.Setting>();
  let size: ast.SizeSetting | undefined;
  const sensors: ast.Sensor[] = [];
  const allowed = INPUT_SETTING_KEYS;
  for (const s of input.settings) {
    if (ast.isSetting(s)) {
      if (!allowed[input.modality].includes(s.key)) {
        sink.error(IssueCodes.UnexpectedSetting, `'${s.key}' does not apply to ${input.modality} input (it takes ${allowed[input.modality].join(', ')}).`, s, 'key');
      } else if (settings.has(s.key)) {
        sink.error(IssueCodes.DuplicateStatement, `'${s.key}' is set twice.`, s, 'key');
      } else settings.set(s.key, s);
    } else if (ast.isSizeSetting(s)) {
      if (input.modality !== 'image') sink.error(IssueCodes.UnexpectedSetting, `'size' applies to image input only.`, s);
      else size = s;
    } else if (ast.isSensor(s)) {
      if (input.modality !== 'inertial') sink.error(IssueCodes.UnexpectedSetting, `Sensors apply to inertial input only.`, s, 'kind');
      else if (sensors.some((o) => o.kind === s.kind)) sink.error(IssueCodes.DuplicateStatement, `Sensor '${s.kind}' is listed twice.`, s, 'kind');
      else {
        const allowedAxes = s.kind === 'barometer' ? ['pressure', 'x'] : ['x', 'y', 'z', 'magnitude'];
        s.axes.forEach((axis, i) => {
          if (!allowedAxes.includes(axis)) {
            sink.error(IssueCodes.UnexpectedSetting, `The ${s.kind} has no '${axis}' axis; it has ${allowedAxes.join(', ')}.`, s, 'axes', i);
          }
        });
        sensors.push(s);
      }
    }
  }
  const dims = INPUT_SETTING_DIMENSIONS;
  const read = (key: string): number | undefined => {
    const s = settings.get(key);
    return s ? sink.quantity(s.value, dims[key], `'${key}'`) : undefined;
  };
  const require = (key: string, example: string): void => {
    if (!settings.has(key)) sink.error(IssueCodes.MissingSetting, `${input.modality} input needs '${key}' (e.g. ${example}).`, input, 'modality');
  };
  if (input.modality === 'image') {
    if (!size) sink.error(IssueCodes.MissingSetting, `image input needs 'size' (e.g. size 227 x 227).`, input, 'modality');
    const height = size ? sink.positiveInt(size.height, size, 'height', 'image height') : undefined;
    const width = size ? sink.positiveInt(size.width, size, 'width', 'image width') : undefined;
    const channelsSetting = settings.get('channels');
    const channels = channelsSetting ? sink.positiveInt(read('channels'), channelsSetting.value, 'value', 'channel count') : 3;
    return { kind: 'image', height: height ?? 1, width: width ?? 1, channels: channels ?? 3, hopS: read('period') ?? 1 };
  }
  require('rate', input.modality === 'audio' ? 'rate 16 kHz' : 'rate 50 Hz');
  require('window', 'window 1 s');
  const rateHz = read('rate') ?? (input.modality === 'audio' ? 16000 : 50);
  const windowS = read('window') ?? 1;
  const hopS = read('hop') ?? windowS;
  if (input.modality === 'audio') {
    const channelsSetting = settings.get('channels');
    const channels = channelsSetting ? sink.positiveInt(read('channels'), channelsSetting.value, 'value', 'channel count') : 1;
    return { kind: 'audio', rateHz, windowS, hopS, channels: channels ?? 1 };
  }
  if (sensors.length === 0) {
    sink.error(IssueCodes.MissingSetting, `inertial input needs at least one sensor (e.g. accelerometer [x, y, z]).`, input, 'modality');
  }
  const sensorSpecs: InertialSensorSpec[] = sensors.map((s) => ({ kind: s.kind, axes: s.axes as InertialAxis[] }));
  return { kind: 'inertial', rateHz, windowS, hopS, sensors: sensorSpecs.length ? sensorSpecs : [{ kind: 'accelerometer', axes: ['x', 'y', 'z'] }] };
}

/** Lowers the features block and infers the shape the first layer sees. */
function lowerFeatures(pipeline: ast.Pipeline, input: InputSpec, sink: IssueSink): FeatureSpec {
  pipeline.features.slice(1).forEach((f) => sink.error(IssueCodes.DuplicateStatement, 'A pipeline has one features block.', f));
  const block = pipeline.features[0];
  const steps: FeatureStep[] = [];
  const stepNodes: ast.FeatureStep[] = [];
  for (const s of block?.steps ?? []) {
    const step = lowerFeatureStep(s, sink);
    if (step) {
      steps.push(step);
      stepNodes.push(s);
    }
  }
  try {
    return { steps, outputShape: featureOutputShape(input, steps) };
  } catch (e) {
    if (!(e instanceof FeatureShapeError)) throw e;
    const node: AstNode = e.stepIndex >= 0 ? stepNodes[e.stepIndex] : (pipeline.inputs[0] ?? pipeline);
    sink.error(IssueCodes.FeatureShape, capitalise(e.message) + (e.message.endsWith('.') ? '' : '.'), node);
    // Go on with the shape before the failing step so later layers still get checked.
    let shape: Shape = input.kind === 'image' ? [input.channels, input.height, input.width] : [1, 1];
    try {
      // When the input itself is at fault (rate, window or hop out of range), the steps run
      // on a stand-in window of the same kind so the layers after them are still checked
      // against a plausible shape rather than erroring in a cascade.
      shape =
        e.stepIndex >= 0 ? featureOutputShape(input, e.stepIndex > 0 ? steps.slice(0, e.stepIndex) : []) : featureOutputShape(standInInput(input), steps);
    } catch {
      // Nothing usable; [1, 1] keeps the rest of the checks running.
    }
    return { steps, outputShape: shape };
  }
}

/** `input` with the default rate, a 1 s window and a 1 s hop (image input unchanged but for a 1 s period). */
function standInInput(input: InputSpec): InputSpec {
  if (input.kind === 'image') return { ...input, hopS: 1 };
  return { ...input, rateHz: input.kind === 'audio' ? 16000 : 50, windowS: 1, hopS: 1 };
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function lowerFeatureStep(s: ast.FeatureStep, sink: IssueSink): FeatureStep | undefined {
  if (ast.isSilenceStep(s)) {
    const t = sink.quantity(s.threshold, 'level', 'the silence threshold');
    return t === undefined ? undefined : { kind: 'silence', thresholdDb: t };
  }
  if (ast.isFramesStep(s)) {
    const lengthS = sink.quantity(s.length, 'time', 'the frame length');
    const hopS = sink.quantity(s.hop, 'time', 'the frame hop');
    if (lengthS === undefined || hopS === undefined) return undefined;
    return { kind: 'frames', lengthS, hopS, ...(s.fft !== undefined ? { fftSize: s.fft } : {}) };
  }
  if (ast.isLogMelStep(s)) {
    const bands = sink.positiveInt(s.bands, s, 'bands', 'the band count');
    const fminHz = s.fmin ? sink.quantity(s.fmin, 'frequency', "'fmin'") : 0;
    const fmaxHz = s.fmax ? sink.quantity(s.fmax, 'frequency', "'fmax'") : undefined;
    if (bands === undefined) return undefined;
    return { kind: 'logmel', bands, fminHz: fminHz ?? 0, ...(fmaxHz !== undefined ? { fmaxHz } : {}) };
  }
  if (ast.isMfccStep(s)) {
    const coeffs = sink.positiveInt(s.coeffs, s, 'coeffs', 'the coefficient count');
    const bands = s.bands !== undefined ? sink.positiveInt(s.bands, s, 'bands', 'the band count') : 40;
    const deltas = s.deltas !== undefined ? sink.positiveInt(s.deltas, s, 'deltas', 'the delta order', 0) : 0;
    if (coeffs === undefined || bands === undefined || deltas === undefined) return undefined;
    return { kind: 'mfcc', coeffs, bands, deltas, fminHz: 0 };
  }
  if (ast.isDeltasStep(s)) {
    const order = sink.positiveInt(s.order, s, 'order', 'the delta order');
    return order === undefined ? undefined : { kind: 'deltas', order };
  }
  if (ast.isNormalizeStep(s)) return { kind: 'normalize' };
  if (ast.isRawStep(s)) return { kind: 'raw' };
  if (ast.isStatsStep(s)) {
    const dup = s.stats.find((x, i) => s.stats.indexOf(x) !== i);
    if (dup) sink.warning(IssueCodes.DuplicateStatement, `Statistic '${dup}' is listed twice.`, s, 'stats');
    return { kind: 'stats', stats: s.stats as StatName[] };
  }
  if (ast.isStackStep(s)) {
    const frames = sink.positiveInt(s.frames, s, 'frames', 'the stacked frame count');
    return frames === undefined ? undefined : { kind: 'stack', frames };
  }
  return undefined;
}

/** The hyper-parameters of a layer node, with integer checks reported. */
function layerConfig(layer: ast.Layer, sink: IssueSink): LayerConfig {
  const kind: LayerKind = ACTIVATIONS.has(layer.kind) ? 'activation' : (layer.kind as LayerKind);
  const config: LayerConfig = { kind };
  if (kind === 'activation') config.activation = layer.kind as ActivationName;
  else if (layer.activation) config.activation = layer.activation;
  switch (kind) {
    case 'dense':
    case 'gru':
    case 'lstm':
      config.units = sink.positiveInt(layer.units, layer, 'units', `${kind} width`) ?? 1;
      if (kind !== 'dense') config.sequences = layer.sequences;
      break;
    case 'conv1d':
    case 'conv2d': {
      config.filters = sink.positiveInt(layer.filters, layer, 'filters', 'filter count') ?? 1;
      const k = sink.positiveInt(layer.kernel, layer, 'kernel', 'kernel size') ?? 1;
      const kw = layer.kernelWidth !== undefined ? (sink.positiveInt(layer.kernelWidth, layer, 'kernelWidth', 'kernel width') ?? k) : k;
      if (kind === 'conv1d' && layer.kernelWidth !== undefined) {
        sink.error(IssueCodes.InvalidNumber, 'conv1d takes one kernel size; use conv2d for k x k kernels.', layer, 'kernelWidth');
      }
      config.kernel = kind === 'conv1d' ? [k] : [k, kw];
      config.stride = layer.stride !== undefined ? (sink.positiveInt(layer.stride, layer, 'stride', 'stride') ?? 1) : 1;
      config.padding = layer.padding ?? 'valid';
      break;
    }
    case 'maxpool':
    case 'avgpool':
      config.global = layer.global;
      if (!layer.global) {
        const k = sink.positiveInt(layer.size, layer, 'size', 'pool size') ?? 2;
        const kw = layer.sizeWidth !== undefined ? (sink.positiveInt(layer.sizeWidth, layer, 'sizeWidth', 'pool width') ?? k) : undefined;
        config.poolSize = kw !== undefined ? [k, kw] : [k];
        if (layer.stride !== undefined) config.stride = sink.positiveInt(layer.stride, layer, 'stride', 'stride');
      }
      break;
    case 'dropout':
      if (layer.rate === undefined || !(layer.rate >= 0 && layer.rate < 1)) {
        sink.error(IssueCodes.InvalidNumber, `dropout rate must be in [0, 1), got ${layer.rate}.`, layer, 'rate');
      }
      config.dropoutRate = layer.rate ?? 0;
      break;
    default:
      break;
  }
  return config;
}

/** Lowers blocks in order, inferring shapes through shared blocks into heads. */
function lowerBlocks(pipeline: ast.Pipeline, features: FeatureSpec, sink: IssueSink, lowering: PipelineLowering): BlockSpec[] {
  const names = new Map<string, ast.Block>();
  const blocks: BlockSpec[] = [];
  const outputOf = new Map<string, Shape>();
  for (const b of pipeline.blocks) {
    if (names.has(b.name)) {
      sink.error(IssueCodes.DuplicateName, `'${b.name}' is already the name of a ${names.get(b.name)!.$type === 'Shared' ? 'shared block' : 'head'}.`, b, 'name');
      continue;
    }
    names.set(b.name, b);
    let inputShape = features.outputShape;
    const fromName = b.from?.ref?.name;
    if (b.from && b.from.ref) {
      const upstream = outputOf.get(b.from.ref.name);
      if (!upstream) {
        sink.error(IssueCodes.ForwardReference, `'${b.name}' reads from '${b.from.ref.name}', which must be declared above it.`, b, 'from');
      } else inputShape = upstream;
    }
    const layers: LayerSpec[] = [];
    const layerNames = new Set<string>();
    let shape = inputShape;
    b.layers.forEach((l, i) => {
      if (l.name !== undefined) {
        if (layerNames.has(l.name)) sink.error(IssueCodes.DuplicateName, `Layer '${l.name}' is already declared in '${b.name}'.`, l, 'name');
        layerNames.add(l.name);
      }
      const config = layerConfig(l, sink);
      // A layer the parser recovered without a kind has no shape rule; the syntax error is reported already.
      const r = l.kind ? inferLayer(config, shape) : undefined;
      let outputShape: Shape;
      let params = 0;
      let macs = 0;
      if (!r) {
        outputShape = shape;
      } else if (r.ok) {
        ({ outputShape, params, macs } = r);
      } else {
        sink.error(IssueCodes.ShapeMismatch, `${r.message} (input of ${b.name}.${i + 1})`, l, 'kind');
        outputShape = shape;
      }
      // Every property present, in one order: one hidden class for all layers keeps the
      // engine's per-layer reads monomorphic (conditional spreads made them megamorphic).
      const spec: LayerSpec = {
        kind: config.kind,
        units: config.units,
        filters: config.filters,
        kernel: config.kernel,
        poolSize: config.poolSize,
        stride: config.stride,
        padding: config.padding,
        global: config.global,
        dropoutRate: config.dropoutRate,
        sequences: config.sequences,
        activation: config.activation,
        id: `${b.name}.${i + 1}`,
        block: b.name,
        index: i + 1,
        name: l.name,
        inputShape: shape,
        outputShape,
        params,
        macs,
        weightBytes: params * FLOAT32_BYTES,
        activationBytes: elementCount(outputShape) * FLOAT32_BYTES,
        compression: undefined,
        range: rangeOf(l),
      };
      layers.push(spec);
      lowering.layerOf.set(l, spec);
      shape = outputShape;
    });
    let labels: string[] | undefined;
    if (ast.isHead(b)) {
      b.labels.slice(1).forEach((lb) => sink.error(IssueCodes.DuplicateStatement, `Head '${b.name}' has more than one labels line.`, lb));
      const lb = b.labels[0];
      if (lb) {
        labels = lb.values.map(unquote);
        const dup = labels.find((x, i) => labels!.indexOf(x) !== i);
        if (dup !== undefined) sink.error(IssueCodes.DuplicateName, `Label '${dup}' is listed twice in head '${b.name}'.`, lb, 'values');
        const width = shape.length === 1 ? shape[0] : undefined;
        if (width !== undefined && labels.length !== width) {
          sink.error(
            IssueCodes.LabelCount,
            `Head '${b.name}' has ${labels.length} label${labels.length === 1 ? '' : 's'} but its output ${formatShape(shape)} has width ${width}; make them equal.`,
            lb,
          );
        }
      }
      if (shape.length !== 1) {
        sink.error(IssueCodes.HeadOutputNotVector, `Head '${b.name}' must end in a vector of class scores, but its output is ${formatShape(shape)}; add flatten and a dense layer.`, b, 'name');
      }
      if (b.layers.length === 0) sink.warning(IssueCodes.EmptyBlock, `Head '${b.name}' has no layers.`, b, 'name');
    } else if (b.layers.length === 0) {
      sink.warning(IssueCodes.EmptyBlock, `Shared block '${b.name}' has no layers.`, b, 'name');
    }
    const spec: BlockSpec = {
      kind: ast.isHead(b) ? 'head' : 'shared',
      name: b.name,
      ...(fromName !== undefined ? { from: fromName } : {}),
      layers,
      ...(labels ? { labels } : {}),
      inputShape,
      outputShape: shape,
      range: rangeOf(b),
    };
    outputOf.set(b.name, shape);
    blocks.push(spec);
    lowering.blockOf.set(b, spec);
  }
  return blocks;
}

/**
 * Lowers the `expect` lines and the heads' `when` gates onto `blocks` (each gated head's
 * {@link BlockSpec.gate}), reporting a gate or expect on an unknown label, a head gated on
 * itself, gates that form a cycle, a rate outside 0-100 %, and a gate without an expect
 * line. An unknown head is reported by linking (sense-document-validator.ts).
 */
function lowerGates(pipeline: ast.Pipeline, lowering: PipelineLowering, sink: IssueSink): ExpectSpec[] {
  const heads = new Map<ast.Head, BlockSpec>();
  for (const [node, spec] of lowering.blockOf) if (ast.isHead(node)) heads.set(node, spec);
  /** The head's lowered block when `label` is one of its labels; reports on `node` otherwise. */
  const checkLabel = (head: ast.Head, label: string, node: ast.Gate | ast.Expect): BlockSpec | undefined => {
    const spec = heads.get(head);
    if (!spec) return undefined;
    if (!spec.labels) {
      sink.error(IssueCodes.UnknownLabel, `Head '${head.name}' has no labels line, so '${label}' is not one of its labels; add e.g. labels [${label}, other] to it.`, node, 'label');
      return undefined;
    }
    if (!spec.labels.includes(label)) {
      sink.error(IssueCodes.UnknownLabel, `Head '${head.name}' has no label '${label}'; its labels are ${spec.labels.join(', ')}.`, node, 'label');
      return undefined;
    }
    return spec;
  };

  const expectations: ExpectSpec[] = [];
  const expectOf = new Map<string, ExpectSpec>();
  const totalOf = new Map<string, number>();
  for (const e of pipeline.expectations) {
    const head = e.head?.ref;
    if (!head || e.label === undefined || !checkLabel(head, unquote(e.label), e)) continue;
    const label = unquote(e.label);
    const fraction = sink.quantity(e.rate, 'fraction', `expect ${head.name} ${label}`);
    if (fraction === undefined) continue;
    if (fraction < 0 || fraction > 1) {
      sink.error(IssueCodes.InvalidNumber, `How often '${label}' wins on '${head.name}' is a rate from 0 % to 100 %, got ${+(fraction * 100).toPrecision(6)} %.`, e.rate, 'value');
      continue;
    }
    const key = `${head.name}\u0000${label}`;
    if (expectOf.has(key)) {
      sink.error(IssueCodes.DuplicateStatement, `An earlier line already expects '${label}' on '${head.name}'.`, e, 'label');
      continue;
    }
    const total = (totalOf.get(head.name) ?? 0) + fraction;
    if (total > 1 + 1e-9) {
      sink.error(IssueCodes.InvalidNumber, `The expect lines of '${head.name}' add up to ${+(total * 100).toPrecision(6)} %; one head's labels win at most 100 % of windows together.`, e.rate, 'value');
      continue;
    }
    totalOf.set(head.name, total);
    const spec: ExpectSpec = { head: head.name, label, fraction };
    expectOf.set(key, spec);
    expectations.push(spec);
  }

  for (const [node, block] of heads) {
    const gate = node.gate;
    const gating = gate?.head?.ref;
    if (!gate || !gating || gate.label === undefined) continue;
    const label = unquote(gate.label);
    if (gating === node) {
      sink.error(IssueCodes.GateCycle, `Head '${node.name}' cannot wait for its own label: a gate names another head's label.`, gate, 'head');
      continue;
    }
    if (!checkLabel(gating, label, gate)) continue;
    const expected = expectOf.get(`${gating.name}\u0000${label}`);
    if (!expected) {
      sink.warning(
        IssueCodes.MissingExpect,
        `No 'expect ${gating.name} ${label} N%' line: the estimate assumes '${node.name}' runs on every window, as if '${gating.name}' were always '${label}'. Add e.g. expect ${gating.name} ${label} 30%.`,
        gate,
        'label',
      );
    }
    block.gate = { head: gating.name, label, fraction: expected?.fraction ?? 1 };
  }

  // A cycle of two or more heads: each head on it is reported once, at its gate.
  for (const [node] of heads) {
    const path: ast.Head[] = [];
    for (let h: ast.Head | undefined = node; h?.gate?.head?.ref && h.gate.head.ref !== h; h = h.gate.head.ref) {
      if (path.includes(h)) break;
      path.push(h);
    }
    const last = path[path.length - 1];
    const next = last?.gate?.head?.ref;
    if (next === node && path.length > 1) {
      sink.error(IssueCodes.GateCycle, `The gates form a cycle (${[...path, node].map((h) => h.name).join(' -> ')}): no head on it could ever run. Remove one of these 'when' clauses.`, node.gate!, 'head');
      const spec = heads.get(node);
      if (spec) delete spec.gate;
    }
  }
  return expectations;
}

/** A label or path as written, without its quotes (`"a b"` -> `a b`). */
export function unquote(s: string): string {
  return /^(["']).*\1$/s.test(s) ? s.slice(1, -1) : s;
}

/** The layers a `LayerRef` designates (all layers of a block, or one), or undefined when unresolved. */
export function resolveLayerRef(ref: ast.LayerRef, blocks: BlockSpec[], sink?: IssueSink): LayerSpec[] | undefined {
  const block = ref.block.ref ? blocks.find((b) => b.name === ref.block.ref!.name) : undefined;
  if (!block) return undefined;
  if (ref.index !== undefined) {
    const layer = block.layers[ref.index - 1];
    if (!Number.isInteger(ref.index) || !layer) {
      sink?.error(
        IssueCodes.LayerIndexOutOfRange,
        `'${block.name}' has ${block.layers.length} layer${block.layers.length === 1 ? '' : 's'}; ${block.name}.${ref.index} does not exist (layers count from 1).`,
        ref,
        'index',
      );
      return undefined;
    }
    return [layer];
  }
  if (ref.layer) {
    const name = ref.layer.ref?.name;
    // An unresolved name is reported by linking; it must not match the first unnamed layer.
    if (name === undefined) return undefined;
    const layer = block.layers.find((l) => l.name === name);
    return layer ? [layer] : undefined;
  }
  return block.layers;
}

function lowerCompressions(pipeline: ast.Pipeline, blocks: BlockSpec[], sink: IssueSink): void {
  const done = new Map<string, ast.Compress>();
  for (const c of pipeline.compressions) {
    // A line the parser could not finish (no method) has its syntax error already, and no node to report on.
    if (!c.method) continue;
    const layers = resolveLayerRef(c.layer, blocks, sink);
    if (!layers) continue;
    if (c.layer.index === undefined && c.layer.layer === undefined) {
      sink.error(IssueCodes.CompressNeedsLayer, `compress names one layer, e.g. ${c.layer.block.$refText}.2 (layers count from 1).`, c, 'layer');
      continue;
    }
    const layer = layers[0];
    if (done.has(layer.id)) {
      sink.error(IssueCodes.DuplicateCompress, `${layer.id} is already compressed by an earlier line.`, c, 'layer');
      continue;
    }
    done.set(layer.id, c);
    const method = lowerCompressMethod(c.method, layer, sink);
    if (method) layer.compression = method;
  }
}

function lowerCompressMethod(m: ast.CompressMethod, layer: LayerSpec, sink: IssueSink): CompressionSpec | undefined {
  if (!isCompressible(layer)) {
    sink.error(IssueCodes.NotCompressible, notCompressibleMessage(layer), m);
    return undefined;
  }
  const [out, inp] = weightMatrixShape(layer);
  if (ast.isSvdMethod(m)) {
    if (m.criterion === 'rank') {
      const rank = sink.positiveInt(m.amount.value, m.amount, 'value', 'the rank');
      if (m.amount.unit !== undefined) sink.error(IssueCodes.UnexpectedUnit, `rank takes a plain number, not '${m.amount.unit}'.`, m.amount, 'unit');
      if (rank === undefined) return undefined;
      const maxRank = Math.min(out, inp);
      if (rank > maxRank) {
        sink.error(IssueCodes.RankTooLarge, `Rank ${rank} is larger than ${layer.id} allows: its weight matrix is ${out} x ${inp}, so the rank is at most ${maxRank}.`, m.amount, 'value');
        return undefined;
      }
      const breakEven = svdBreakEvenRank(out, inp);
      if (rank >= breakEven) {
        sink.warning(IssueCodes.CompressNoSaving, `Rank ${rank} saves nothing on a ${out} x ${inp} matrix: two layers of rank ${rank} hold more weights than the original from rank ${breakEven} up.`, m.amount, 'value');
      }
      return { kind: 'svd', criterion: 'rank', rank };
    }
    const fraction = sink.quantity(m.amount, 'fraction', `svd ${m.criterion}`);
    if (fraction === undefined) return undefined;
    const ok = m.criterion === 'energy' ? fraction > 0 && fraction <= 1 : fraction >= 0 && fraction < 1;
    if (!ok) {
      sink.error(IssueCodes.InvalidNumber, m.criterion === 'energy' ? 'Retained energy must be in (0 %, 100 %].' : 'Target error must be in [0 %, 100 %).', m.amount, 'value');
      return undefined;
    }
    return { kind: 'svd', criterion: m.criterion, fraction };
  }
  if (ast.isSparseMethod(m)) {
    const atoms = sink.positiveInt(m.atoms, m, 'atoms', 'the atom count');
    const nonzeros = sink.positiveInt(m.nonzeros, m, 'nonzeros', 'the nonzero count');
    if (atoms === undefined || nonzeros === undefined) return undefined;
    if (nonzeros > atoms) {
      sink.error(IssueCodes.InvalidNumber, `Each code uses at most all ${atoms} atoms; nonzeros ${nonzeros} is too many.`, m, 'nonzeros');
      return undefined;
    }
    if (nonzeros > Math.min(out, inp)) {
      sink.error(IssueCodes.RankTooLarge, `nonzeros ${nonzeros} exceeds what a ${out} x ${inp} matrix can use (${Math.min(out, inp)}).`, m, 'nonzeros');
      return undefined;
    }
    return { kind: 'sparse', atoms, nonzeros };
  }
  return { kind: 'int8' };
}


function supportsKind(p: ProcessorSpec, layer: LayerSpec): boolean {
  if (!p.supports) return true;
  const name = layer.kind === 'activation' ? layer.activation! : layer.kind;
  return p.supports.includes(name) && (layer.kind === 'activation' || !layer.activation || p.supports.includes(layer.activation));
}

/**
 * The `place` lines as layer id (or `features` for the feature front end, the key
 * engine/schedule.ts reads) -> processor name. `frontEnd` says whether the pipeline has
 * feature ops to place.
 */
function lowerPlacements(pipeline: ast.Pipeline, blocks: BlockSpec[], device: DeviceSpec | undefined, sink: IssueSink, frontEnd: boolean): Record<string, string> {
  const placement: Record<string, string> = {};
  const placedBy = new Map<string, ast.Place>();
  for (const p of pipeline.placements) {
    const processorName = p.processor?.ref?.name;
    if (!processorName) continue;
    const processor = device?.processors.find((x) => x.name === processorName);
    if (p.features) {
      if (!frontEnd) {
        sink.warning(IssueCodes.ConflictingPlace, `Pipeline '${pipeline.name}' has no feature front end to place; remove 'features' from this line.`, p, 'features');
      } else {
        const earlier = placedBy.get(FEATURES_KEY);
        if (earlier && earlier !== p && placement[FEATURES_KEY] !== processorName) {
          sink.warning(IssueCodes.ConflictingPlace, `The feature front end is placed on '${placement[FEATURES_KEY]}' by an earlier line and on '${processorName}' here; the later line wins.`, p, 'features');
        }
        placedBy.set(FEATURES_KEY, p);
        placement[FEATURES_KEY] = processorName;
        if (processor?.supports && !processor.supports.includes('features')) {
          sink.error(
            IssueCodes.UnsupportedOp,
            `${processorName} on ${device!.name} cannot run the feature front end; it supports ${processor.supports.join(', ')}. Place the features elsewhere, or add 'features' to its supports line.`,
            p,
            'features',
          );
        }
      }
    }
    p.targets.forEach((t, ti) => {
      const layers = resolveLayerRef(t, blocks, sink);
      if (!layers) return;
      for (const layer of layers) {
        const earlier = placedBy.get(layer.id);
        if (earlier && earlier !== p && placement[layer.id] !== processorName) {
          sink.warning(IssueCodes.ConflictingPlace, `${layer.id} is placed on '${placement[layer.id]}' by an earlier line and on '${processorName}' here; the later line wins.`, p, 'targets', ti);
        }
        placedBy.set(layer.id, p);
        placement[layer.id] = processorName;
        if (processor && !supportsKind(processor, layer)) {
          const kind = layer.kind === 'activation' ? layer.activation : layer.kind + (layer.activation ? ` ${layer.activation}` : '');
          sink.error(
            IssueCodes.UnsupportedOp,
            `${processorName} on ${device!.name} cannot run ${layer.id} (${kind}); it supports ${processor.supports!.join(', ')}. Place it elsewhere.`,
            p,
            'targets',
            ti,
          );
        }
      }
    });
  }
  return placement;
}

function lowerOptimize(pipeline: ast.Pipeline, sink: IssueSink): OptimizeSpec {
  pipeline.optimizations.slice(1).forEach((o) => sink.error(IssueCodes.DuplicateStatement, 'A pipeline has one optimize line.', o));
  const o = pipeline.optimizations[0];
  if (!o) return { energyWeight: 0.5, latencyWeight: 0.5 };
  for (const [prop, v] of [['energyWeight', o.energyWeight], ['latencyWeight', o.latencyWeight]] as const) {
    if (v !== undefined && !(v >= 0 && Number.isFinite(v))) sink.error(IssueCodes.InvalidNumber, 'Objective weights are non-negative numbers.', o, prop);
  }
  const budgetS = o.budget ? sink.quantity(o.budget, 'time', 'the latency budget') : undefined;
  const energyWeight = o.energyWeight ?? (o.latencyWeight !== undefined ? 0 : 0.5);
  const latencyWeight = o.latencyWeight ?? (o.energyWeight !== undefined ? 0 : 0.5);
  return { energyWeight, latencyWeight, ...(budgetS !== undefined ? { budgetMs: budgetS * 1000 } : {}) };
}

/**
 * Lowers a pipeline. `deviceLowering` lowers the target device node (the validator
 * passes a cached one so built-in devices are lowered once); `fallbackDevice` is used
 * when the pipeline names no target.
 */
export function lowerPipeline(
  pipeline: ast.Pipeline,
  deviceLowering: (d: ast.Device) => DeviceSpec,
  fallbackDevice?: DeviceSpec,
): PipelineLowering {
  const sink = new IssueSink();
  const lowering: PipelineLowering = { issues: sink.issues, layerOf: new Map(), blockOf: new Map() };
  const input = lowerInput(pipeline, sink);
  const features = input ? lowerFeatures(pipeline, input, sink) : { steps: [], outputShape: [1] };
  if (!input && pipeline.features.length > 0) lowerFeatures(pipeline, { kind: 'audio', rateHz: 16000, windowS: 1, hopS: 1, channels: 1 }, new IssueSink());
  const blocks = lowerBlocks(pipeline, features, sink, lowering);

  pipeline.targets.slice(1).forEach((t) => sink.error(IssueCodes.DuplicateStatement, 'A pipeline has one target.', t));
  const targetNode = pipeline.targets[0]?.device?.ref;
  let target: DeviceSpec | undefined = targetNode ? deviceLowering(targetNode) : undefined;
  if (!pipeline.targets[0] && fallbackDevice) {
    sink.info(IssueCodes.MissingTarget, `No target: estimates use '${fallbackDevice.name}'. Add e.g. target snapdragon800.`, pipeline, 'name');
    target = fallbackDevice;
  }
  pipeline.weights.slice(1).forEach((w) => sink.error(IssueCodes.DuplicateStatement, 'A pipeline names one weights file.', w));
  lowerCompressions(pipeline, blocks, sink);
  const frontEnd = input !== undefined && input.kind !== 'image' && features.steps.some((st) => st.kind !== 'raw');
  const placement = lowerPlacements(pipeline, blocks, target, sink, frontEnd);
  const optimize = lowerOptimize(pipeline, sink);
  const expectations = lowerGates(pipeline, lowering, sink);
  if (input && target) {
    lowering.spec = {
      name: pipeline.name,
      input,
      features,
      blocks,
      target,
      ...(pipeline.weights[0] ? { weightsPath: unquote(pipeline.weights[0].path) } : {}),
      placement,
      optimize,
      ...(expectations.length > 0 ? { expectations } : {}),
    };
  }
  return lowering;
}
