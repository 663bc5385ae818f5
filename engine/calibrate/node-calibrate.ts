/**
 * Node-only calibration: runs a pipeline's exported model on this machine with ONNX
 * Runtime's profiler on, measures every layer (summed kernel time of its nodes), the
 * feature front end and whole windows, run by run ({@link measurePipeline}); then fits
 * ({@link fitMeasurements}, on all runs or a chosen subset, so a benchmark can fit on
 * half the windows and test on the other half):
 * - the processor's roofline (./fit.ts fitRoofline) to the layers' median kernel times,
 *   each layer weighing in proportion to its time (`weighting: 'time'`): the profile is
 *   for end-to-end estimates, and with one bandwidth for all bytes the roofline cannot
 *   also follow the cache (a dense layer whose 4 MB of weights stream from DRAM runs at
 *   a third of the MAC rate of a 130 KB one that stays in cache);
 * - the front end's own throughput (fitFrontendThroughput) to its median time, with the
 *   overhead and bandwidth of the layers' fit;
 * - the fixed cost of a partition run (fitDispatchMs): the median whole-window time
 *   minus the median front end minus the layers' median kernel times, per partition. It
 *   holds the runner's glue, `session.run`'s dispatch inside ONNX Runtime and kernels the
 *   IR has no op for (a Flatten node).
 * It returns a measured device profile (./profile.ts) with the estimated-versus-measured
 * error per layer and end to end, before and after.
 *
 * Times: the front end and whole windows are CPU time of this process (process.cpuUsage),
 * not wall time, because on a shared machine the wall clock of a window counts the time
 * other processes held the core; layer kernels are ONNX Runtime's profile (wall time of
 * each kernel, short enough to be rarely preempted; medians over the runs).
 *
 * Why the exported model with the profiler rather than one model per op: it is what
 * `sense run` and bundles execute (same graph, same fusions, same memory arena), and ONNX
 * Runtime's per-node timings inside one run carry no per-session dispatch cost that a
 * one-op model would add to every op. The front end (JavaScript, runtime/features.ts) is
 * timed around its call and enters the fit as one sample of its IR ops.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir, type as osType, arch } from 'node:os';
import { join } from 'node:path';
import type { PipelineSpec } from '../../language/pipeline-model';
import { FEATURES_KEY } from '../../language/pipeline-model';
import { readUserTextSync } from '../../io/user-files';
import { createRunner, type OrtModuleLike } from '../../runtime/runner';
import { mulberry32 } from '../compress/random';
import { opBytes } from '../cost-model';
import { estimatePipeline, type Estimate } from '../estimate';
import { buildBundle } from '../export/bundle';
import type { BundleManifest } from '../../runtime/bundle-manifest';
import { type IrOp } from '../ir';
import type { WeightSet } from '../weights/weights';
import { fitDispatchMs, fitFrontendThroughput, fitRoofline, median, type DispatchFit, type FitSample, type FrontendFit, type RooflineFit } from './fit';
import { parseOrtProfile } from './ort-profile';
import type { TimingsRow } from './timings';
import { PROFILE_KIND, PROFILE_SCHEMA_VERSION, type DeviceProfile, type ProfileMachine, type ProfileSample } from '../../runtime/device-profile';
import { applyProfile } from './profile';

/** Largest ONNX Runtime profile read, in bytes: about V8's longest string, far above 100000 runs of a large pipeline. */
const MAX_ORT_PROFILE_BYTES = 512 * 1024 * 1024;

/** Options of {@link measurePipeline} and {@link calibratePipeline}. */
export interface CalibrateOptions {
  /** onnxruntime-node. */
  ort: OrtModuleLike;
  /** Its name and version for the profile (`onnxruntime-node 1.30.0`). */
  runtime: string;
  /** Measured windows (default 30); medians are taken over them. */
  runs?: number;
  /** Unmeasured windows run first (default 5). */
  warmupRuns?: number;
  /** Called with a line of progress. */
  onProgress?: (line: string) => void;
}

/** Everything {@link measurePipeline} measured, run by run (index i is the i-th measured window). */
export interface CalibrationMeasurements {
  pipeline: string;
  /** Device and processor measured (the pipeline's target and its default processor). */
  device: string;
  processor: string;
  runtime: string;
  /** Measured windows. */
  runs: number;
  /** Partitions of the exported model (1: calibration exports one model). */
  partitions: number;
  /** SVD rank per compressed layer id, as exported (so estimates use the same ranks). */
  ranks: Record<string, number>;
  /** Front-end CPU time per window, ms. */
  featuresCpuMs: number[];
  /** Whole-window CPU time (front end, partitions, runner), ms. */
  windowCpuMs: number[];
  /** Whole-window wall time, ms. */
  windowWallMs: number[];
  /** `session.run` wall time summed over partitions, per window, ms (ONNX Runtime's profile). */
  sessionRunMs: number[];
  /** Kernel time per layer id (and `other` for nodes of no layer), per window, ms. */
  layerMs: Record<string, number[]>;
}

/** One row of the estimated-versus-measured table (the same shape as a timings profile's). */
export type CalibrationRow = TimingsRow;

/** The result of {@link calibratePipeline} and {@link fitMeasurements}. */
export interface CalibrationResult {
  profile: DeviceProfile;
  fit: RooflineFit;
  frontendFit?: FrontendFit;
  dispatchFit?: DispatchFit;
  /** Ids (layer ids, `features`) of the samples the roofline fit rejected as outliers. */
  outliers: string[];
  rows: CalibrationRow[];
  endToEnd: { measuredMs: number; beforeMs: number; afterMs: number };
  /** Median whole `session.run` time summed over partitions, and the median sum of its kernel times. */
  sessionRunMs: number;
  kernelMs: number;
  /** Median wall time of a whole window (the end-to-end figure is CPU time; see the module header). */
  windowWallMs: number;
}

/**
 * A deterministic window of the pipeline's input: noise well above any silence threshold,
 * or for an image pipeline its [channels, height, width] tensor of uniform noise in [0, 1],
 * what runtime/image.ts makes of a decoded picture (an image has no silence and no feature
 * steps, so the layers see the same work whatever the pixels).
 */
function syntheticWindow(spec: PipelineSpec): Float32Array | Float32Array[] {
  const input = spec.input;
  const rng = mulberry32(12345);
  if (input.kind === 'image') return [Float32Array.from({ length: input.channels * input.height * input.width }, () => rng())];
  const n = Math.round(input.rateHz * input.windowS);
  const noise = (amp: number, offset = 0): Float32Array => Float32Array.from({ length: n }, () => offset + amp * (2 * rng() - 1));
  if (input.kind === 'audio') return noise(0.3);
  return input.sensors.flatMap((s) => s.axes.map(() => noise(1, s.kind === 'barometer' ? 1000 : 0)));
}

function layerParts(ops: readonly IrOp[]): { macs: number; bytes: number }[] {
  return ops.filter((o) => !o.noop).map((o) => ({ macs: o.macs, bytes: opBytes(o) }));
}

function sumParts(parts: readonly { macs: number; bytes: number }[]): { macs: number; bytes: number } {
  return { macs: parts.reduce((s, p) => s + p.macs, 0), bytes: parts.reduce((s, p) => s + p.bytes, 0) };
}

/** This machine as a profile records it, measured with `runtime` (`onnxruntime-node 1.23.0`). */
export function thisMachine(runtime: string): ProfileMachine {
  const c = cpus();
  return { cpu: c[0]?.model ?? 'unknown CPU', cores: c.length, os: `${osType()} ${release()} ${arch()}`, node: process.version, runtime };
}

function cpuMs(from: NodeJS.CpuUsage, to: NodeJS.CpuUsage): number {
  return (to.user - from.user + to.system - from.system) / 1000;
}

/**
 * Measures `spec` on this machine (see the module header): exports every layer into one
 * model (the processor runs all of them), runs `warmupRuns` then `runs` windows with ONNX
 * Runtime's profiler on, and returns the per-window timings. `spec` should already
 * target the device to calibrate (the CLI retargets it to `host`). Throws a clear Error
 * when the pipeline cannot be exported or measured.
 */
export async function measurePipeline(spec: PipelineSpec, weights: WeightSet, opts: CalibrateOptions): Promise<CalibrationMeasurements> {
  const runs = opts.runs ?? 30;
  const warmupRuns = opts.warmupRuns ?? 5;
  if (!Number.isSafeInteger(runs) || runs < 3) throw new Error(`calibrate: runs must be an integer of at least 3, got ${runs}`);
  const processor = spec.target.defaultProcessor;
  opts.onProgress?.(`exporting ${spec.name} for ${spec.target.name}.${processor}`);
  const built = buildBundle(spec, weights, { single: true });
  const manifest: BundleManifest = built.manifest;
  const ranks: Record<string, number> = {};
  for (const c of built.onnx.compression) if (c.rank !== undefined) ranks[c.layerId] = c.rank;

  const profDir = mkdtempSync(join(tmpdir(), 'sense-calibrate-'));
  const featuresCpuMs: number[] = [];
  const windowCpuMs: number[] = [];
  const windowWallMs: number[] = [];
  const layerMs: Record<string, number[]> = {};
  const sessionRunMs = new Array<number>(runs).fill(0);
  try {
    const runner = await createRunner({
      ort: opts.ort,
      backend: 'node',
      manifest,
      models: built.models,
      // One thread: the host processor is one core, and idle intra-op threads would spin and blur the CPU time.
      sessionOptions: { enableProfiling: true, profileFilePrefix: join(profDir, 'ort'), intraOpNumThreads: 1, interOpNumThreads: 1 },
    });
    const window = syntheticWindow(spec);
    try {
      for (let i = 0; i < warmupRuns; i++) await runner.runWindow(window);
      opts.onProgress?.(`measuring ${runs} windows`);
      for (let i = 0; i < runs; i++) {
        const c0 = process.cpuUsage();
        runner.features(window);
        const c1 = process.cpuUsage();
        const t1 = performance.now();
        const r = await runner.runWindow(window);
        const t2 = performance.now();
        const c2 = process.cpuUsage();
        if (r.silent) throw new Error(`calibrate: the synthetic window of ${spec.name} was judged silent; the silence threshold is above -10 dBFS`);
        featuresCpuMs.push(cpuMs(c0, c1));
        windowCpuMs.push(cpuMs(c1, c2));
        windowWallMs.push(t2 - t1);
      }
      for (const s of runner.sessions) s.endProfiling?.();
    } finally {
      await runner.release();
    }
    const layerIds = new Set(spec.blocks.flatMap((b) => b.layers.map((l) => l.id)));
    // The runner's own warm-up ran once per session, then ours: skip those runs.
    const skip = 1 + warmupRuns;
    const files = readdirSync(profDir).filter((f) => f.endsWith('.json'));
    if (files.length < manifest.partitions.length) throw new Error(`calibrate: ONNX Runtime wrote ${files.length} profile file(s) for ${manifest.partitions.length} session(s) in ${profDir}; this onnxruntime-node does not profile`);
    for (const f of files) {
      const parsed = parseOrtProfile(readUserTextSync(join(profDir, f), 'json', { maxBytes: MAX_ORT_PROFILE_BYTES }), layerIds, f);
      if (parsed.runs < skip + runs) throw new Error(`calibrate: the ONNX Runtime profile ${f} holds ${parsed.runs} runs, expected ${skip + runs}`);
      for (let i = 0; i < runs; i++) sessionRunMs[i] += parsed.runMs[skip + i];
      for (const [id, xs] of parsed.layers) {
        const slot = (layerMs[id] ??= new Array<number>(runs).fill(0));
        xs.slice(skip, skip + runs).forEach((v, i) => (slot[i] += v));
      }
    }
  } finally {
    rmSync(profDir, { recursive: true, force: true });
  }
  return { pipeline: spec.name, device: spec.target.name, processor, runtime: opts.runtime, runs, partitions: manifest.partitions.length, ranks, featuresCpuMs, windowCpuMs, windowWallMs, sessionRunMs, layerMs };
}

/** Options of {@link fitMeasurements}. */
export interface FitMeasurementsOptions {
  /** Indices of the measured windows to fit on (default: all). */
  windows?: readonly number[];
  /**
   * Weighting of the layers' roofline fit (fit.ts FitOptions.weighting); default `time`,
   * since the profile is for end-to-end estimates, the sum of the layers' times.
   */
  weighting?: 'relative' | 'time';
}

/**
 * Fits `spec`'s default processor to measurements from {@link measurePipeline} (see the
 * module header), on all windows or `opts.windows`, and returns the measured device
 * profile with the estimated-versus-measured table. Pure. Throws a clear Error when the
 * fit fails or the measurements do not belong to `spec`.
 */
export function fitMeasurements(spec: PipelineSpec, m: CalibrationMeasurements, opts: FitMeasurementsOptions = {}): CalibrationResult {
  if (m.pipeline !== spec.name) throw new Error(`calibrate: the measurements are of pipeline ${m.pipeline}, not ${spec.name}`);
  const use = opts.windows ?? Array.from({ length: m.runs }, (_, i) => i);
  if (use.length < 1 || use.some((i) => !Number.isInteger(i) || i < 0 || i >= m.runs)) throw new Error(`calibrate: windows to fit must be indices from 0 to ${m.runs - 1}`);
  const pick = (xs: readonly number[]): number[] => use.map((i) => xs[i]);
  const processor = m.processor;
  const ranks = new Map(Object.entries(m.ranks));
  const estimate = (s: PipelineSpec): Estimate => estimatePipeline(s, { rankResolver: (l) => ranks.get(l.id) });
  const before = estimate(spec);
  const opsById = new Map(before.ir.ops.map((o) => [o.id, o]));

  const samples: ProfileSample[] = [];
  const layerSamples: FitSample[] = [];
  const layerSampleIds: string[] = [];
  const names: string[] = [];
  const sample = (id: string, parts: { macs: number; bytes: number }[], measuredMs: number): FitSample | undefined => {
    if (parts.length === 0 || !(measuredMs > 0)) return undefined;
    const total = sumParts(parts);
    samples.push({ op: id, ...total, ...(parts.length > 1 ? { parts } : {}), measuredMs });
    return { ...total, ...(parts.length > 1 ? { parts } : {}), measuredMs };
  };
  const frontParts = before.features ? layerParts(before.features.ops.map((id) => opsById.get(id)!)) : [];
  const frontSample = sample(FEATURES_KEY, frontParts, median(pick(m.featuresCpuMs)));
  for (const l of before.layers) {
    const s = sample(l.layerId, layerParts(l.ops.map((id) => opsById.get(id)!)), median(pick(m.layerMs[l.layerId] ?? [])));
    if (s) {
      layerSamples.push(s);
      layerSampleIds.push(l.layerId);
      names.push(`layer ${l.layerId}`);
    }
  }
  const catalog = spec.target.processors.find((p) => p.name === processor)!;
  // The layers alone fit the roofline: the front end runs other code at its own throughput.
  // With fewer than 3 measurable layers the front end joins them, as one throughput.
  const joint = layerSamples.length < 3 && frontSample !== undefined;
  const weighting = opts.weighting ?? 'time';
  const fit = joint ? fitRoofline([frontSample!, ...layerSamples], { names: ['the feature front end', ...names], prior: catalog, weighting }) : fitRoofline(layerSamples, { names, prior: catalog, weighting });
  if (!Number.isFinite(fit.computeMacsPerS) || !Number.isFinite(fit.bandwidthBytesPerS)) throw new Error(`calibrate: the measurements of ${spec.name} do not determine compute and bandwidth; calibrate a pipeline with larger layers`);
  let frontendFit: FrontendFit | undefined;
  if (frontSample && !joint && frontSample.macs > 0) {
    frontendFit = fitFrontendThroughput([frontSample], fit);
    if (!Number.isFinite(frontendFit.frontendMacsPerS)) frontendFit = undefined;
  }
  // Time outside any op: the median window minus the median front end minus the median
  // kernels of the IR's layers (what the roofline fits). Medians of the parts, not the
  // median of per-window differences: when the machine's load shifts during the run the
  // window times are bimodal and medians of differences do not add up to the median window
  // (measured: 15 % short in sample); a preempted kernel can take 10-100x its usual time.
  const kernelsMs = layerSamples.reduce((a, s) => a + s.measuredMs, 0);
  const dispatchFit = fitDispatchMs([{ measuredMs: median(pick(m.windowCpuMs)), opsMs: median(pick(m.featuresCpuMs)) + kernelsMs, partitions: Math.max(1, m.partitions) }]);

  const profile: DeviceProfile = {
    schemaVersion: PROFILE_SCHEMA_VERSION,
    kind: PROFILE_KIND,
    device: m.device,
    processor,
    measuredAt: new Date().toISOString(),
    machine: thisMachine(m.runtime),
    fitted: true,
    computeMacsPerS: fit.computeMacsPerS,
    bandwidthBytesPerS: fit.bandwidthBytesPerS,
    overheadMs: fit.overheadMs,
    ...(frontendFit ? { frontendMacsPerS: frontendFit.frontendMacsPerS } : {}),
    dispatchMs: dispatchFit.dispatchMs,
    runs: use.length,
    samples,
  };
  const after = estimate(applyProfile(spec, profile));
  // A layer's own cost, without the dispatch its partition charges to it.
  const opOnly = (l: Estimate['layers'][number]): number => l.latencyMs - l.dispatchMs;
  const dispatchOf = (e: Estimate): number => e.layers.reduce((a, l) => a + l.dispatchMs, 0);
  const rows: CalibrationRow[] = [];
  const bySample = new Map(samples.map((s) => [s.op, s]));
  if (before.features && after.features && bySample.has(FEATURES_KEY)) {
    const s = bySample.get(FEATURES_KEY)!;
    rows.push({ id: FEATURES_KEY, kind: 'front end', macs: s.macs, bytes: s.bytes, measuredMs: s.measuredMs, beforeMs: before.features.latencyMs, afterMs: after.features.latencyMs });
  }
  before.layers.forEach((l, i) => {
    const s = bySample.get(l.layerId);
    if (s) rows.push({ id: l.layerId, kind: l.kind, macs: s.macs, bytes: s.bytes, measuredMs: s.measuredMs, beforeMs: opOnly(l), afterMs: opOnly(after.layers[i]) });
  });
  for (const s of samples) {
    const r = rows.find((x) => x.id === s.op);
    if (r) {
      s.estimatedBeforeMs = r.beforeMs;
      s.estimatedAfterMs = r.afterMs;
    }
  }
  rows.push({ id: 'dispatch', kind: 'outside ops', macs: 0, bytes: 0, measuredMs: Math.max(0, dispatchFit.perSampleMs[0]) * Math.max(1, m.partitions), beforeMs: dispatchOf(before), afterMs: dispatchOf(after) });
  const windowMs = median(pick(m.windowCpuMs));
  const endToEnd = { measuredMs: windowMs, beforeMs: before.endToEndLatencyMs, afterMs: after.endToEndLatencyMs };
  profile.endToEnd = { pipeline: spec.name, measuredMs: windowMs, estimatedBeforeMs: endToEnd.beforeMs, estimatedAfterMs: endToEnd.afterMs };
  const kernelMs = median(use.map((i) => Object.values(m.layerMs).reduce((a, xs) => a + xs[i], 0)));
  const fitIds = joint ? [FEATURES_KEY, ...layerSampleIds] : layerSampleIds;
  return { profile, fit, ...(frontendFit ? { frontendFit } : {}), dispatchFit, outliers: fit.outliers.map((i) => fitIds[i]), rows, endToEnd, sessionRunMs: median(pick(m.sessionRunMs)), kernelMs, windowWallMs: median(pick(m.windowWallMs)) };
}

/**
 * Calibrates `spec`'s default processor on this machine: {@link measurePipeline}, then
 * {@link fitMeasurements} on every window. `spec` should already target the device to
 * calibrate (the CLI retargets it to `host`). Throws a clear Error when the pipeline
 * cannot be exported or measured, or the fit fails.
 */
export async function calibratePipeline(spec: PipelineSpec, weights: WeightSet, opts: CalibrateOptions): Promise<CalibrationResult> {
  const m = await measurePipeline(spec, weights, opts);
  return fitMeasurements(spec, m);
}
