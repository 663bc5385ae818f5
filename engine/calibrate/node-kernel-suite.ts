/**
 * The kernel suite behind `sense calibrate --device host`: calibrates a device, not a
 * pipeline. It measures kernels of every kind the cost model prices, through the paths a
 * bundle runs them on, and fits one model per kind (./kernel-predictor.ts):
 *
 * - Layers: small pipelines (chains of dense layers over a grid of widths, conv1d with
 *   pools, batchnorm and standalone activations over several lengths and channel counts,
 *   GRU and LSTM over several sequence lengths and widths), each exported by the project's
 *   ONNX writer and run by the bundle runner on onnxruntime-node with ONNX Runtime's
 *   profiler on (./node-calibrate.ts measurePipeline, as `sense calibrate FILE` does);
 *   every layer but the first is one kernel measurement (the median over the windows of
 *   its summed node times).
 * - The front end: runtime/features.ts computeFeatures, the JavaScript a bundle runs, on
 *   feature configurations of every step kind (framing, spectral steps at several FFT
 *   sizes and band counts, log-mel and MFCC, deltas, normalisation, statistics, stacking,
 *   the silence check), each step timed as the difference between the front end up to it
 *   and up to the step before (CPU time of this process over batches of windows, the
 *   median of many short batches: the machine is shared and its wall clock counts other
 *   processes' time).
 * - What the kernels leave: per layer pipeline, the whole window's CPU time minus its
 *   predicted kernels, fitted as a fixed cost per partition run (the dispatch: the
 *   runner's glue, `session.run`, the front end's fixed cost and the first layer's
 *   hand-over) plus a time per byte the ops write (allocating, handing on and collecting
 *   their outputs: in the calibrate bench the time outside kernels was 0.13 ms a window
 *   for pipelines writing a few KB and 0.45-0.7 ms for audio front ends writing 400 KB).
 *
 * What it does not measure: conv2d (its input is an image, and the runtime has no image
 * front end to bundle yet), sparse K-SVD codes and int8 kernels (their ops keep the
 * roofline, and estimates say they are outside the suite), resampling (not an op of the
 * estimate) and tensor hand-over between processors (a one-processor device has none).
 *
 * Pipelines are written as `.sense` text and lowered by the caller's `lower` (the CLI's
 * language services), so the suite's kernels are exactly what a user's pipeline lowers to.
 */
import type { PipelineSpec } from '../../language/pipeline-model';
import { FEATURES_KEY } from '../../language/pipeline-model';
import { computeFeatures } from '../../runtime/features';
import { PROFILE_KIND, PROFILE_SCHEMA_VERSION, type DeviceProfile } from '../../runtime/device-profile';
import { mulberry32 } from '../compress/random';
import { opBytes } from '../cost-model';
import { buildIr, type IrOp } from '../ir';
import { initWeights } from '../weights/init';
import { fitDispatchMs, fitRoofline, median, type RooflineParams } from './fit';
import { fitKernelPredictor, kernelKindOf, predictOp, type KernelSample } from './kernel-predictor';
import { measurePipeline, thisMachine, type CalibrateOptions } from './node-calibrate';

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

/** Options of {@link runKernelSuite}. */
export interface KernelSuiteOptions extends Pick<CalibrateOptions, 'ort' | 'runtime' | 'onProgress'> {
  /** Lowers `.sense` text to its pipeline (the CLI's language services); throws on errors. */
  lower: (text: string, name: string) => Promise<PipelineSpec>;
  /** Fewer cases and runs (tests); the fit is then rough. */
  quick?: boolean;
  /** Measured windows per layer pipeline (default 40, quick 8). */
  runs?: number;
  /** Front-end batches per prefix (default 25, quick 5); each batch runs for at least `batchMs` of CPU. */
  frontBatches?: number;
  /** Least CPU time of one front-end batch, ms (default 3). */
  batchMs?: number;
}

/** What {@link runKernelSuite} measured and fitted. */
export interface KernelSuiteResult {
  profile: DeviceProfile;
  samples: KernelSample[];
  /** Per layer pipeline, the time outside any op per window, ms. */
  dispatchPerPipelineMs: number[];
  /** Wall time of the suite, s. */
  suiteS: number;
}

function partsOf(ops: readonly IrOp[]): { macs: number; bytes: number }[] {
  return ops.filter((o) => !o.noop).map((o) => ({ macs: o.macs, bytes: opBytes(o) }));
}

/** Deterministic noise windows for `spec`'s input, well above any silence threshold. */
function noiseWindow(spec: PipelineSpec): Float32Array[] {
  const input = spec.input;
  if (input.kind === 'image') throw new Error(`calibrate: suite pipeline ${spec.name} has image input`);
  const n = Math.round(input.rateHz * input.windowS);
  const rng = mulberry32(777);
  const rows = input.kind === 'audio' ? 1 : input.sensors.reduce((a, s) => a + s.axes.length, 0);
  return Array.from({ length: rows }, () => Float32Array.from({ length: n }, () => 0.3 * (2 * rng() - 1)));
}

function cpuNowMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Times the front end of `specs` (prefixes of one configuration, shortest first): per
 * prefix, the median over `batches` of the CPU time per window, each batch repeating the
 * window until `batchMs` have passed; the prefixes take turns within each round so a
 * change of the machine's load hits all of them alike.
 */
function timePrefixes(specs: readonly PipelineSpec[], batches: number, batchMs: number): number[] {
  const windows = specs.map((s) => noiseWindow(s));
  const run = (i: number): void => {
    computeFeatures(specs[i].input, specs[i].features, windows[i]);
  };
  for (let i = 0; i < specs.length; i++) for (let w = 0; w < 5; w++) run(i);
  const times: number[][] = specs.map(() => []);
  for (let b = 0; b < batches; b++) {
    for (let i = 0; i < specs.length; i++) {
      const t0 = cpuNowMs();
      let n = 0;
      let t = t0;
      do {
        run(i);
        n++;
        t = cpuNowMs();
      } while (t - t0 < batchMs);
      times[i].push((t - t0) / n);
    }
  }
  return times.map(median);
}

/**
 * Runs the suite on this machine (see the module header) and returns the fitted profile
 * of `host`'s default processor with its kernel predictor; the processor's catalog
 * roofline is kept for a kind whose kernels are all overhead. Throws a clear Error when a
 * suite pipeline cannot be lowered, exported or measured.
 */
export async function runKernelSuite(opts: KernelSuiteOptions): Promise<KernelSuiteResult> {
  const started = performance.now();
  const quick = opts.quick ?? false;
  const runs = opts.runs ?? (quick ? 8 : 40);
  const batches = opts.frontBatches ?? (quick ? 5 : 25);
  const batchMs = opts.batchMs ?? 3;
  const samples: KernelSample[] = [];
  const dispatchPerPipelineMs: number[] = [];
  const windows: { windowMs: number; ops: IrOp[] }[] = [];
  let prior: (RooflineParams & { processor: string; device: string }) | undefined;
  for (const c of kernelSuite(quick)) {
    if (c.steps) {
      opts.onProgress?.(`front end ${c.name}: ${c.steps.length} steps`);
      const specs: PipelineSpec[] = [];
      for (let k = 0; k <= c.steps.length; k++) specs.push(await opts.lower(prefixText(c, k), `${c.name} (first ${k} feature steps)`));
      // times[0] is the raw window: the fixed cost, which the dispatch carries (see below).
      const times = timePrefixes(specs, batches, batchMs);
      // A step's kernels are the front-end ops its prefix has and the one before lacks (lowering
      // folds `deltas` after `mfcc` into the MFCC step, so source lines and steps differ).
      const frontOps = specs.map((sp) => buildIr(sp).ops.filter((o) => o.placementKey === FEATURES_KEY && !o.noop));
      for (let k = 1; k <= c.steps.length; k++) {
        const before = new Set(k > 1 ? frontOps[k - 1].map((o) => o.id) : []);
        const ops = frontOps[k].filter((o) => !before.has(o.id));
        const parts = partsOf(ops);
        const stepMs = times[k] - times[k - 1];
        // A step that creates no op (raw) or whose time drowned in the noise is no kernel measurement.
        if (parts.length === 0 || !(stepMs > 0)) continue;
        const kinds = new Set(ops.map((o) => kernelKindOf(o)));
        if (kinds.size !== 1) continue;
        samples.push({ kind: [...kinds][0], id: `${c.name}/${c.steps[k - 1]}`, parts, measuredMs: stepMs });
      }
      continue;
    }
    opts.onProgress?.(`layers ${c.name}: ${runs} windows`);
    const spec = await opts.lower(c.text, c.name);
    const catalog = spec.target.processors.find((p) => p.name === spec.target.defaultProcessor)!;
    prior ??= { device: spec.target.name, processor: catalog.name, computeMacsPerS: catalog.computeMacsPerS, bandwidthBytesPerS: catalog.bandwidthBytesPerS, overheadMs: catalog.overheadMs };
    const m = await measurePipeline(spec, initWeights(spec, 1), { ort: opts.ort, runtime: opts.runtime, runs, warmupRuns: quick ? 2 : 5 });
    const ir = buildIr(spec);
    for (const l of spec.blocks.flatMap((b) => b.layers)) {
      const ops = (ir.layerOps[l.id] ?? []).map((id) => ir.ops.find((o) => o.id === id)!).filter((o) => !o.noop);
      const measuredMs = median(m.layerMs[l.id] ?? []);
      // The first layer reads a tensor the front end just wrote in another heap: its extra
      // time is the hand-over's, which the dispatch below carries, not its kind's.
      if (ops.length === 0 || !(measuredMs > 0) || l.index === 1) continue;
      samples.push({ kind: kernelKindOf(ops[0]), id: `${c.name}/${l.id}`, parts: partsOf(ops), measuredMs });
    }
    windows.push({ windowMs: median(m.windowCpuMs), ops: ir.ops.filter((o) => !o.noop) });
  }
  if (!prior) throw new Error('calibrate: the kernel suite has no layer pipeline');
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
  const outputMsPerByte = Math.max(0, median(slopes));
  predictor.outputMsPerByte = outputMsPerByte;
  dispatchPerPipelineMs.push(...outside.map((o) => o.ms - outputMsPerByte * o.n));
  // The processor's own roofline (ops of kinds the suite has no model of) is fitted to every layer kernel.
  const layerSamples = samples.filter((s) => !s.kind.startsWith('features/'));
  const roofline = fitRoofline(
    layerSamples.map((s) => ({ macs: s.parts.reduce((a, p) => a + p.macs, 0), bytes: s.parts.reduce((a, p) => a + p.bytes, 0), ...(s.parts.length > 1 ? { parts: s.parts } : {}), measuredMs: s.measuredMs })),
    { prior, weighting: 'time' },
  );
  const dispatch = fitDispatchMs(dispatchPerPipelineMs.map((d) => ({ measuredMs: Math.max(0, d), opsMs: 0, partitions: 1 })));
  const suiteS = (performance.now() - started) / 1000;
  predictor.suiteS = suiteS;
  const profile: DeviceProfile = {
    schemaVersion: PROFILE_SCHEMA_VERSION,
    kind: PROFILE_KIND,
    device: prior.device,
    processor: prior.processor,
    measuredAt: new Date().toISOString(),
    machine: thisMachine(opts.runtime),
    fitted: true,
    computeMacsPerS: Number.isFinite(roofline.computeMacsPerS) ? roofline.computeMacsPerS : prior.computeMacsPerS,
    bandwidthBytesPerS: Number.isFinite(roofline.bandwidthBytesPerS) ? roofline.bandwidthBytesPerS : prior.bandwidthBytesPerS,
    overheadMs: roofline.overheadMs,
    dispatchMs: dispatch.dispatchMs,
    runs,
    samples: samples.map((s) => ({ op: `${s.kind} ${s.id}`, macs: s.parts.reduce((a, p) => a + p.macs, 0), bytes: s.parts.reduce((a, p) => a + p.bytes, 0), ...(s.parts.length > 1 ? { parts: s.parts } : {}), measuredMs: s.measuredMs })),
    kernelPredictor: predictor,
  };
  return { profile, samples, dispatchPerPipelineMs, suiteS };
}
