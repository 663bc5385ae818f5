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
import { initWeights } from '../weights/init';
import { buildIr } from '../ir';
import { median } from './fit';
import { fitKernelSuite, frontStepSamples, kernelSuite, layerSamples, prefixText, suitePriorOf, timePrefixes, type SuiteMeasurements, type SuitePrior } from './kernel-suite';
import type { KernelSample } from './kernel-predictor';
import type { DeviceProfile } from '../../runtime/device-profile';
import { measurePipeline, thisMachine, type CalibrateOptions } from './node-calibrate';

export { kernelSuite, prefixText, type SuiteCase } from './kernel-suite';

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

function cpuNowMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Runs the suite on this machine (see the module header) and returns the fitted profile
 * of `host`'s default processor with its kernel predictor (./kernel-suite.ts
 * fitKernelSuite). Throws a clear Error when a suite pipeline cannot be lowered, exported
 * or measured.
 */
export async function runKernelSuite(opts: KernelSuiteOptions): Promise<KernelSuiteResult> {
  const started = performance.now();
  const quick = opts.quick ?? false;
  const runs = opts.runs ?? (quick ? 8 : 40);
  const batches = opts.frontBatches ?? (quick ? 5 : 25);
  const batchMs = opts.batchMs ?? 3;
  const samples: KernelSample[] = [];
  const windows: SuiteMeasurements['windows'] = [];
  let prior: SuitePrior | undefined;
  for (const c of kernelSuite(quick)) {
    if (c.steps) {
      opts.onProgress?.(`front end ${c.name}: ${c.steps.length} steps`);
      const specs: PipelineSpec[] = [];
      for (let k = 0; k <= c.steps.length; k++) specs.push(await opts.lower(prefixText(c, k), `${c.name} (first ${k} feature steps)`));
      // times[0] is the raw window: the fixed cost, which the dispatch carries.
      samples.push(...frontStepSamples(c, specs, timePrefixes(specs, batches, batchMs, cpuNowMs)));
      continue;
    }
    opts.onProgress?.(`layers ${c.name}: ${runs} windows`);
    const spec = await opts.lower(c.text, c.name);
    prior ??= suitePriorOf(spec);
    const m = await measurePipeline(spec, initWeights(spec, 1), { ort: opts.ort, runtime: opts.runtime, runs, warmupRuns: quick ? 2 : 5 });
    samples.push(...layerSamples(c.name, spec, (id) => median(m.layerMs[id] ?? [])));
    windows.push({ windowMs: median(m.windowCpuMs), ops: buildIr(spec).ops.filter((o) => !o.noop) });
  }
  if (!prior) throw new Error('calibrate: the kernel suite has no layer pipeline');
  const suiteS = (performance.now() - started) / 1000;
  const { profile, dispatchPerPipelineMs } = fitKernelSuite({ samples, windows, prior, machine: thisMachine(opts.runtime), runs, suiteS, measuredAt: new Date().toISOString() });
  return { profile, samples, dispatchPerPipelineMs, suiteS };
}
