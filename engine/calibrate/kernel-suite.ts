/**
 * The kernel suite of `sense calibrate --device NAME`, without its environment: which
 * pipelines it measures, how a front-end step's time is taken from its prefixes, which
 * layers become kernel samples, and the fit of the profile from what was measured. No
 * `node:` import and no DOM, so the same code runs in `sense calibrate --device host`
 * (./node-kernel-suite.ts, onnxruntime-node, the process's CPU clock) and in the browser
 * page `sense calibrate --device NAME --page DIR` writes (onnxruntime-web, wall clock);
 * only the timing loop differs between them. What the suite measures and why is
 * described in ./node-kernel-suite.ts.
 */
import type { PipelineSpec } from '../../language/pipeline-model';
import { FEATURES_KEY } from '../../language/pipeline-model';
import { computeFeatures } from '../../runtime/features';
import { PROFILE_KIND, PROFILE_SCHEMA_VERSION, type DeviceProfile, type ProfileMachine } from '../../runtime/device-profile';
import { mulberry32 } from '../compress/random';
import { opBytes } from '../cost-model';
import { buildIr, type IrOp } from '../ir';
import { fitDispatchMs, fitRoofline, median, type RooflineParams } from './fit';
import { fitKernelPredictor, kernelKindOf, predictOp, type KernelSample } from './kernel-predictor';

/** One pipeline of the suite: its text, and for front-end cases the number of feature steps to time one by one. */
export interface SuiteCase {
  name: string;
  /** `.sense` text of a pipeline targeting `host`. */
  text: string;
  /** Front-end cases: the steps (feature lines) timed as prefixes; layer cases leave it out. */
  steps?: string[];
}

const HEAD = (layers: string): string => `head out {\n    ${layers}\n  }`;

function inertialText(name: string, rateHz: number, windowS: number, axes: number, features: readonly string[], layers: string): string {
  const sensors = ['accelerometer [x, y, z]', 'gyroscope [x, y, z]', 'magnetometer [x, y, z]', 'barometer [pressure]'];
  let left = axes;
  const used: string[] = [];
  for (const s of sensors) {
    if (left <= 0) break;
    used.push(s);
    left -= s.includes('pressure') ? 1 : 3;
  }
  return `pipeline ${name} {\n  input inertial { rate ${rateHz} Hz  window ${windowS} s  ${used.join('  ')} }\n  features {\n    ${features.join('\n    ')}\n  }\n  ${HEAD(layers)}\n  target host\n}\n`;
}

function audioText(name: string, rateHz: number, windowS: number, features: readonly string[], layers: string): string {
  return `pipeline ${name} {\n  input audio { rate ${rateHz} Hz  window ${windowS} s }\n  features {\n    ${features.join('\n    ')}\n  }\n  ${HEAD(layers)}\n  target host\n}\n`;
}

/**
 * The suite's pipelines. `quick` keeps a few of each kind (for tests: a fit, not a good
 * one); the full suite is what `sense calibrate --device host` runs.
 */
export function kernelSuite(quick = false): SuiteCase[] {
  const cases: SuiteCase[] = [];
  // Dense: chains whose consecutive widths walk a grid of (in, out) shapes from 16 to 4096 wide.
  const denseChains = quick
    ? [{ samples: 64, widths: [256, 32, 1024, 128, 512] }]
    : [
        { samples: 32, widths: [256, 1024, 128, 2048, 64, 512, 16, 1536, 256] },
        { samples: 256, widths: [1000, 300, 3000, 100, 700, 24, 4096, 8] },
        { samples: 48, widths: [128, 128, 64, 900, 1800, 48, 2560, 400] },
        { samples: 640, widths: [512, 2048, 32, 768, 160, 1200, 600] },
      ];
  denseChains.forEach((c, i) => {
    const layers = ['flatten', ...c.widths.map((w, j) => `dense ${w}${j % 2 ? ' relu' : ''}`)].join('\n    ');
    // 3 axes x samples inputs, flattened: the first layer's width is 3 x samples.
    cases.push({ name: `DenseChain${i}`, text: inertialText(`DenseChain${i}`, c.samples, 1, 3, ['raw'], layers) });
  });
  // Convolutions over time with pools, batchnorm and standalone activations between them.
  const convLengths = quick ? [256] : [64, 200, 512, 1500];
  convLengths.forEach((len, i) => {
    const layers = [
      'conv1d 16 kernel 5 relu',
      'batchnorm',
      'conv1d 32 kernel 3 padding same',
      'relu',
      'maxpool 2',
      'conv1d 64 kernel 5',
      'tanh',
      'avgpool 2',
      'conv1d 48 kernel 3 padding same relu',
      'batchnorm',
      'sigmoid',
      'conv1d 96 kernel 7 padding same',
      'maxpool 3 stride 2',
      'conv1d 24 kernel 1',
      'softmax',
      'avgpool global',
    ].join('\n    ');
    cases.push({ name: `Conv1dChain${i}`, text: inertialText(`Conv1dChain${i}`, len, 1, i % 2 ? 6 : 3, ['raw'], layers) });
  });
  // Recurrent layers over several sequence lengths and widths.
  const seqLengths = quick ? [64] : [16, 50, 128, 256];
  seqLengths.forEach((len, i) => {
    const layers = ['gru 32 sequences', 'lstm 48 sequences', 'gru 96 sequences', 'lstm 16 sequences', 'gru 64', 'dense 8'].join('\n    ');
    cases.push({ name: `RecurrentChain${i}`, text: inertialText(`RecurrentChain${i}`, len, 1, i % 2 ? 10 : 6, ['raw'], layers) });
  });
  // Whole audio pipelines: their front ends write 100s of KB a window, which the time outside
  // the kernels grows with (see runKernelSuite); layer pipelines on raw windows write little.
  if (!quick) {
    cases.push({ name: 'AudioConv', text: audioText('AudioConv', 16000, 1, ['frames 25 ms hop 10 ms', 'logmel 40 bands', 'normalize'], ['conv1d 32 kernel 3 relu', 'maxpool 2', 'conv1d 64 kernel 3 relu', 'avgpool global', 'dense 64 relu', 'dense 6 softmax'].join('\n    ')) });
    cases.push({ name: 'AudioGru', text: audioText('AudioGru', 16000, 1.5, ['silence below -60 dB', 'frames 30 ms hop 15 ms', 'mfcc 13 coeffs 40 bands deltas 2', 'normalize'], ['gru 48 sequences', 'gru 32', 'dense 32 relu', 'dense 4 softmax'].join('\n    ')) });
    cases.push({ name: 'AudioMlp', text: audioText('AudioMlp', 8000, 1, ['frames 32 ms hop 16 ms', 'logmel 32 bands', 'stack 2'], ['flatten', 'dense 256 relu', 'dense 128 relu', 'dense 3 softmax'].join('\n    ')) });
  }
  // Front end: every step kind, several sizes; steps are timed one by one (as prefixes).
  const front: { name: string; text: (steps: string[]) => string; steps: string[] }[] = [
    { name: 'LogmelFront', steps: ['silence below -60 dB', 'frames 25 ms hop 10 ms', 'logmel 40 bands', 'deltas 1', 'normalize', 'stack 3'], text: (s) => audioText('LogmelFront', 16000, 1, s, 'flatten\n    dense 2') },
    { name: 'MfccFront', steps: ['frames 64 ms hop 32 ms fft 1024', 'mfcc 13 coeffs 40 bands', 'deltas 2', 'normalize'], text: (s) => audioText('MfccFront', 16000, 1, s, 'flatten\n    dense 2') },
    { name: 'Logmel8k', steps: ['frames 32 ms hop 16 ms', 'logmel 64 bands', 'normalize'], text: (s) => audioText('Logmel8k', 8000, 2, s, 'flatten\n    dense 2') },
    { name: 'Mfcc22k', steps: ['silence below -60 dB', 'frames 46 ms hop 23 ms fft 2048', 'mfcc 20 coeffs 64 bands', 'stack 2'], text: (s) => audioText('Mfcc22k', 22050, 1, s, 'flatten\n    dense 2') },
    { name: 'Logmel512', steps: ['frames 16 ms hop 8 ms fft 512', 'logmel 32 bands', 'deltas 1'], text: (s) => audioText('Logmel512', 16000, 0.5, s, 'flatten\n    dense 2') },
    { name: 'StatsFront', steps: ['stats mean, std, min, max, rms, range', 'normalize'], text: (s) => inertialText('StatsFront', 50, 2.56, 10, s, 'flatten\n    dense 2') },
    { name: 'StatsWide', steps: ['stats mean, median, skew, kurtosis, zcr, energy', 'normalize'], text: (s) => inertialText('StatsWide', 200, 5, 6, s, 'flatten\n    dense 2') },
    { name: 'StatsCheap', steps: ['stats mean, max', 'normalize'], text: (s) => inertialText('StatsCheap', 100, 1, 3, s, 'flatten\n    dense 2') },
    { name: 'StatsSort', steps: ['stats median, zcr', 'normalize'], text: (s) => inertialText('StatsSort', 50, 4, 9, s, 'flatten\n    dense 2') },
    { name: 'StatsMoments', steps: ['stats skew, kurtosis, std', 'normalize'], text: (s) => inertialText('StatsMoments', 128, 2, 6, s, 'flatten\n    dense 2') },
    { name: 'StatsAll', steps: ['stats mean, std, min, max, rms, range, median, energy, zcr, skew, kurtosis', 'normalize'], text: (s) => inertialText('StatsAll', 64, 3, 10, s, 'flatten\n    dense 2') },
    { name: 'RawStack', steps: ['raw', 'deltas 1', 'normalize', 'stack 4'], text: (s) => inertialText('RawStack', 100, 2, 6, s, 'flatten\n    dense 2') },
  ];
  for (const f of quick ? front.slice(0, 3).concat(front.slice(5, 7)) : front) cases.push({ name: f.name, text: f.text(f.steps), steps: f.steps });
  return cases;
}

/**
 * The text of front-end case `c` with only its first `k` steps; for k = 0 the raw window
 * (the front end's fixed cost: checks and gathering the rows, which every step count pays).
 */
export function prefixText(c: SuiteCase, k: number): string {
  const [head, rest] = c.text.split('  features {\n');
  const afterSteps = rest.slice(rest.indexOf('\n  }\n'));
  return `${head}  features {\n    ${k === 0 ? 'raw' : c.steps!.slice(0, k).join('\n    ')}${afterSteps}`;
}

/** The IR ops as the parts of one kernel sample: MACs and bytes moved per op that runs. */
export function partsOf(ops: readonly IrOp[]): { macs: number; bytes: number }[] {
  return ops.filter((o) => !o.noop).map((o) => ({ macs: o.macs, bytes: opBytes(o) }));
}

/** Deterministic noise windows for `spec`'s input, well above any silence threshold. */
export function noiseWindow(spec: PipelineSpec): Float32Array[] {
  const input = spec.input;
  if (input.kind === 'image') throw new Error(`calibrate: suite pipeline ${spec.name} has image input`);
  const n = Math.round(input.rateHz * input.windowS);
  const rng = mulberry32(777);
  const rows = input.kind === 'audio' ? 1 : input.sensors.reduce((a, s) => a + s.axes.length, 0);
  return Array.from({ length: rows }, () => Float32Array.from({ length: n }, () => 0.3 * (2 * rng() - 1)));
}

/**
 * Times the front end of `specs` (prefixes of one configuration, shortest first): per
 * prefix, the median over `batches` of the CPU time per window, each batch repeating the
 * window until `batchMs` have passed; the prefixes take turns within each round so a
 * change of the machine's load hits all of them alike. `nowMs` is the clock: the CPU time
 * of the process in Node (the machine is shared), `performance.now()` in a browser, which
 * has no CPU clock.
 */
export function timePrefixes(specs: readonly PipelineSpec[], batches: number, batchMs: number, nowMs: () => number): number[] {
  const windows = specs.map((s) => noiseWindow(s));
  const run = (i: number): void => {
    computeFeatures(specs[i].input, specs[i].features, windows[i]);
  };
  for (let i = 0; i < specs.length; i++) for (let w = 0; w < 5; w++) run(i);
  const times: number[][] = specs.map(() => []);
  for (let b = 0; b < batches; b++) {
    for (let i = 0; i < specs.length; i++) {
      const t0 = nowMs();
      let n = 0;
      let t = t0;
      do {
        run(i);
        n++;
        t = nowMs();
      } while (t - t0 < batchMs);
      times[i].push((t - t0) / n);
    }
  }
  return times.map(median);
}

/**
 * The kernel samples of one front-end case from the median times of its prefixes
 * (`specs[k]` the case with its first k steps, `times[k]` its time per window, ms): a
 * step's kernels are the front-end ops its prefix has and the one before lacks (lowering
 * folds `deltas` after `mfcc` into the MFCC step, so source lines and steps differ). A
 * step that creates no op (raw), spans several kinds, or whose time drowned in the noise
 * is no kernel measurement.
 */
export function frontStepSamples(c: SuiteCase, specs: readonly PipelineSpec[], times: readonly number[]): KernelSample[] {
  const samples: KernelSample[] = [];
  const frontOps = specs.map((sp) => buildIr(sp).ops.filter((o) => o.placementKey === FEATURES_KEY && !o.noop));
  for (let k = 1; k <= (c.steps ?? []).length; k++) {
    const before = new Set(k > 1 ? frontOps[k - 1].map((o) => o.id) : []);
    const ops = frontOps[k].filter((o) => !before.has(o.id));
    const parts = partsOf(ops);
    const stepMs = times[k] - times[k - 1];
    if (parts.length === 0 || !(stepMs > 0)) continue;
    const kinds = new Set(ops.map((o) => kernelKindOf(o)));
    if (kinds.size !== 1) continue;
    samples.push({ kind: [...kinds][0], id: `${c.name}/${c.steps![k - 1]}`, parts, measuredMs: stepMs });
  }
  return samples;
}

/**
 * The kernel samples of one layer pipeline from its measured time per layer id, ms: every
 * layer with ops and a positive time, but the first, which reads a tensor the front end
 * just wrote in another heap (its extra time is the hand-over's, which the dispatch
 * carries, not its kind's).
 */
export function layerSamples(caseName: string, spec: PipelineSpec, layerMs: (layerId: string) => number): KernelSample[] {
  const ir = buildIr(spec);
  const byId = new Map(ir.ops.map((o) => [o.id, o]));
  const samples: KernelSample[] = [];
  for (const l of spec.blocks.flatMap((b) => b.layers)) {
    const ops = (ir.layerOps[l.id] ?? []).map((id) => byId.get(id)!).filter((o) => !o.noop);
    const measuredMs = layerMs(l.id);
    if (ops.length === 0 || !(measuredMs > 0) || l.index === 1) continue;
    samples.push({ kind: kernelKindOf(ops[0]), id: `${caseName}/${l.id}`, parts: partsOf(ops), measuredMs });
  }
  return samples;
}

/** The catalog figures of the processor a suite calibrates, the prior of every fit. */
export type SuitePrior = RooflineParams & { processor: string; device: string };

/** The prior of `spec`'s target: its default processor's catalog figures. */
export function suitePriorOf(spec: PipelineSpec): SuitePrior {
  const catalog = spec.target.processors.find((p) => p.name === spec.target.defaultProcessor)!;
  return { device: spec.target.name, processor: catalog.name, computeMacsPerS: catalog.computeMacsPerS, bandwidthBytesPerS: catalog.bandwidthBytesPerS, overheadMs: catalog.overheadMs };
}

/** What the suite measured, wherever it ran: the input of {@link fitKernelSuite}. */
export interface SuiteMeasurements {
  samples: KernelSample[];
  /** Per layer pipeline, its median time per whole window, ms, and its ops that run. */
  windows: { windowMs: number; ops: IrOp[] }[];
  prior: SuitePrior;
  machine: ProfileMachine;
  /** Measured windows per layer pipeline. */
  runs: number;
  /** Wall time of the suite, s. */
  suiteS: number;
  /** When it was measured (ISO 8601). */
  measuredAt: string;
}

/** What {@link fitKernelSuite} fitted. */
export interface SuiteFit {
  profile: DeviceProfile;
  /** Per layer pipeline, the time outside any op per window, ms. */
  dispatchPerPipelineMs: number[];
}

/**
 * Fits the profile of the suite's processor: the kernel predictor per kind, what the
 * kernels leave per window (a fixed cost per partition run plus a time per byte the ops
 * write), and the processor's own roofline for kinds the suite has no model of. The
 * catalog roofline is kept for a kind whose kernels are all overhead. Throws an Error
 * when no kernel kind has enough kernels.
 */
export function fitKernelSuite(m: SuiteMeasurements): SuiteFit {
  const { samples, windows, prior } = m;
  const predictor = fitKernelPredictor(samples, { prior });
  // What the kernels and front-end steps do not explain, per window: dispatch +
  // outputMsPerByte x (bytes the ops write), fitted across the layer pipelines (raw windows
  // writing a few KB, audio front ends hundreds) by Theil-Sen
  // (medians of pairwise slopes, robust to a window the machine's load stretched).
  const outside = windows.map((w) => ({
    n: w.ops.reduce((a, o) => a + o.activationBytes, 0),
    ms: w.windowMs - w.ops.reduce((a, o) => a + (predictOp(predictor, o, o.macs, opBytes(o))?.latencyMs ?? 0), 0),
  }));
  const slopes = outside.flatMap((a, i) => outside.slice(i + 1).filter((b) => b.n !== a.n).map((b) => (b.ms - a.ms) / (b.n - a.n)));
  const outputMsPerByte = slopes.length === 0 ? 0 : Math.max(0, median(slopes));
  predictor.outputMsPerByte = outputMsPerByte;
  const dispatchPerPipelineMs = outside.map((o) => o.ms - outputMsPerByte * o.n);
  // The processor's own roofline (ops of kinds the suite has no model of) is fitted to every layer kernel.
  const layerKernels = samples.filter((s) => !s.kind.startsWith('features/'));
  const roofline = fitRoofline(
    layerKernels.map((s) => ({ macs: s.parts.reduce((a, p) => a + p.macs, 0), bytes: s.parts.reduce((a, p) => a + p.bytes, 0), ...(s.parts.length > 1 ? { parts: s.parts } : {}), measuredMs: s.measuredMs })),
    { prior, weighting: 'time' },
  );
  const dispatch = fitDispatchMs(dispatchPerPipelineMs.map((d) => ({ measuredMs: Math.max(0, d), opsMs: 0, partitions: 1 })));
  predictor.suiteS = m.suiteS;
  const profile: DeviceProfile = {
    schemaVersion: PROFILE_SCHEMA_VERSION,
    kind: PROFILE_KIND,
    device: prior.device,
    processor: prior.processor,
    measuredAt: m.measuredAt,
    machine: m.machine,
    fitted: true,
    computeMacsPerS: Number.isFinite(roofline.computeMacsPerS) ? roofline.computeMacsPerS : prior.computeMacsPerS,
    bandwidthBytesPerS: Number.isFinite(roofline.bandwidthBytesPerS) ? roofline.bandwidthBytesPerS : prior.bandwidthBytesPerS,
    overheadMs: roofline.overheadMs,
    dispatchMs: dispatch.dispatchMs,
    runs: m.runs,
    samples: samples.map((s) => ({ op: `${s.kind} ${s.id}`, macs: s.parts.reduce((a, p) => a + p.macs, 0), bytes: s.parts.reduce((a, p) => a + p.bytes, 0), ...(s.parts.length > 1 ? { parts: s.parts } : {}), measuredMs: s.measuredMs })),
    kernelPredictor: predictor,
  };
  return { profile, dispatchPerPipelineMs };
}
