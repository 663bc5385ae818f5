/**
 * Node-only calibration: runs a pipeline's exported model on this machine with ONNX
 * Runtime's profiler on, measures every layer (summed kernel time of its nodes, median over
 * the runs), the feature front end and whole windows, fits the processor's roofline
 * parameters (./fit.ts) and returns a measured device profile (./profile.ts) with the
 * estimated-versus-measured error per layer and end to end, before and after.
 *
 * Why the exported model with the profiler rather than one model per op: it is what
 * `sense run` and bundles execute (same graph, same fusions, same memory arena), and ONNX
 * Runtime's per-node timings inside one run carry no per-session dispatch cost that a
 * one-op model would add to every op. The front end (JavaScript, runtime/features.ts) is
 * timed around its call and enters the fit as one sample of its IR ops.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir, type as osType, arch } from 'node:os';
import { join } from 'node:path';
import type { PipelineSpec } from '../../language/pipeline-model';
import { createRunner, type OrtModuleLike } from '../../runtime/runner';
import { mulberry32 } from '../compress/random';
import { opBytes } from '../cost-model';
import { estimatePipeline, type Estimate } from '../estimate';
import { buildBundle } from '../export/bundle';
import { FEATURES_KEY, type IrOp } from '../ir';
import type { WeightSet } from '../weights/weights';
import { fitRoofline, type FitSample, type RooflineFit } from './fit';
import { parseOrtProfile } from './ort-profile';
import { applyProfile, PROFILE_KIND, PROFILE_SCHEMA_VERSION, type DeviceProfile, type ProfileSample } from './profile';

/** Options of {@link calibratePipeline}. */
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

/** One row of the estimated-versus-measured table. */
export interface CalibrationRow {
  /** Layer id, or `features` for the front end. */
  id: string;
  kind: string;
  macs: number;
  bytes: number;
  measuredMs: number;
  beforeMs: number;
  afterMs: number;
}

/** The result of {@link calibratePipeline}. */
export interface CalibrationResult {
  profile: DeviceProfile;
  fit: RooflineFit;
  rows: CalibrationRow[];
  endToEnd: { measuredMs: number; beforeMs: number; afterMs: number };
  /** Median whole `session.run` time summed over partitions, and the median sum of its kernel times. */
  sessionRunMs: number;
  kernelMs: number;
  /** Median wall time of a whole window (the end-to-end figure is CPU time; see calibratePipeline). */
  windowWallMs: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? 0 : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** A deterministic window of the pipeline's input: noise well above any silence threshold. */
function syntheticWindow(spec: PipelineSpec): Float32Array | Float32Array[] {
  const input = spec.input;
  if (input.kind === 'image') throw new Error(`calibrate: pipeline ${spec.name} has image input; the runtime has no image front end, so it cannot be measured`);
  const n = Math.round(input.rateHz * input.windowS);
  const rng = mulberry32(12345);
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

/**
 * Calibrates `spec`'s default processor on this machine (see the module header). `spec`
 * should already target the device to calibrate (the CLI retargets it to `host`); every
 * layer is exported into one model, as it runs on one processor. Throws a clear Error
 * when the pipeline cannot be exported or measured, or the fit fails.
 */
export async function calibratePipeline(spec: PipelineSpec, weights: WeightSet, opts: CalibrateOptions): Promise<CalibrationResult> {
  const runs = opts.runs ?? 30;
  const warmupRuns = opts.warmupRuns ?? 5;
  if (!Number.isSafeInteger(runs) || runs < 3) throw new Error(`calibrate: runs must be an integer of at least 3, got ${runs}`);
  const processor = spec.target.defaultProcessor;
  opts.onProgress?.(`exporting ${spec.name} for ${spec.target.name}.${processor}`);
  const built = buildBundle(spec, weights, { single: true });
  const ranks = new Map(built.onnx.compression.filter((c) => c.rank !== undefined).map((c) => [c.layerId, c.rank!]));
  const estimate = (s: PipelineSpec): Estimate => estimatePipeline(s, { rankResolver: (l) => ranks.get(l.id) });
  const before = estimate(spec);

  const profDir = mkdtempSync(join(tmpdir(), 'sense-calibrate-'));
  let layerTimes: Map<string, number[]>;
  let featuresMs: number;
  let windowMs: number;
  let windowWallMs = 0;
  let sessionRunMs = 0;
  let kernelMs = 0;
  try {
    const runner = await createRunner({
      ort: opts.ort,
      backend: 'node',
      manifest: built.manifest,
      models: built.models,
      // One thread: the host processor is one core, and idle intra-op threads would spin and blur the CPU time.
      sessionOptions: { enableProfiling: true, profileFilePrefix: join(profDir, 'ort'), intraOpNumThreads: 1, interOpNumThreads: 1 },
      profile: true,
    });
    const window = syntheticWindow(spec);
    try {
      for (let i = 0; i < warmupRuns; i++) await runner.runWindow(window);
      runner.clearTimings();
      opts.onProgress?.(`measuring ${runs} windows`);
      // CPU time, not wall time: on a shared machine the wall clock of a whole window
      // counts the time other processes held the core. Kernels are short enough that
      // their median wall time (ONNX Runtime's profile) is rarely preempted.
      const featuresCpu: number[] = [];
      const windowCpu: number[] = [];
      for (let i = 0; i < runs; i++) {
        const c0 = process.cpuUsage();
        runner.features(window);
        const c1 = process.cpuUsage();
        const r = await runner.runWindow(window);
        const c2 = process.cpuUsage();
        if (r.silent) throw new Error(`calibrate: the synthetic window of ${spec.name} was judged silent; the silence threshold is above -10 dBFS`);
        featuresCpu.push((c1.user - c0.user + c1.system - c0.system) / 1000);
        windowCpu.push((c2.user - c1.user + c2.system - c1.system) / 1000);
      }
      const p = runner.profile({ cpu: 'n/a', runtime: opts.runtime });
      featuresMs = median(featuresCpu);
      windowMs = median(windowCpu);
      windowWallMs = p.endToEnd!.measuredMs;
      for (const s of runner.sessions) s.endProfiling?.();
    } finally {
      await runner.release();
    }
    const layerIds = new Set(spec.blocks.flatMap((b) => b.layers.map((l) => l.id)));
    layerTimes = new Map();
    // The runner's own warm-up ran once per session, then ours: skip those runs.
    const skip = 1 + warmupRuns;
    const files = readdirSync(profDir).filter((f) => f.endsWith('.json'));
    if (files.length < built.manifest.partitions.length) throw new Error(`calibrate: ONNX Runtime wrote ${files.length} profile file(s) for ${built.manifest.partitions.length} session(s) in ${profDir}; this onnxruntime-node does not profile`);
    const perRunSession = new Array<number>(runs).fill(0);
    const perRunKernels = new Array<number>(runs).fill(0);
    for (const f of files) {
      const parsed = parseOrtProfile(readFileSync(join(profDir, f), 'utf8'), layerIds, f);
      if (parsed.runs < skip + runs) throw new Error(`calibrate: the ONNX Runtime profile ${f} holds ${parsed.runs} runs, expected ${skip + runs}`);
      for (let i = 0; i < runs; i++) perRunSession[i] += parsed.runMs[skip + i];
      for (const [id, xs] of parsed.layers) {
        const measured = xs.slice(skip, skip + runs);
        measured.forEach((v, i) => (perRunKernels[i] += v));
        layerTimes.set(id, measured);
      }
    }
    sessionRunMs = median(perRunSession);
    kernelMs = median(perRunKernels);
  } finally {
    rmSync(profDir, { recursive: true, force: true });
  }

  const opsById = new Map(before.ir.ops.map((o) => [o.id, o]));
  const samples: ProfileSample[] = [];
  const fitSamples: FitSample[] = [];
  const names: string[] = [];
  const add = (id: string, parts: { macs: number; bytes: number }[], measuredMs: number): void => {
    if (parts.length === 0 || !(measuredMs > 0)) return;
    const total = sumParts(parts);
    samples.push({ op: id, ...total, ...(parts.length > 1 ? { parts } : {}), measuredMs });
    fitSamples.push({ ...total, ...(parts.length > 1 ? { parts } : {}), measuredMs });
    names.push(id === FEATURES_KEY ? 'the feature front end' : `layer ${id}`);
  };
  if (before.features) add(FEATURES_KEY, layerParts(before.features.ops.map((id) => opsById.get(id)!)), featuresMs);
  for (const l of before.layers) add(l.layerId, layerParts(l.ops.map((id) => opsById.get(id)!)), median(layerTimes.get(l.layerId) ?? []));
  const catalog = spec.target.processors.find((p) => p.name === processor)!;
  const fit = fitRoofline(fitSamples, { names, prior: catalog });
  if (!Number.isFinite(fit.computeMacsPerS) || !Number.isFinite(fit.bandwidthBytesPerS)) throw new Error(`calibrate: the measurements of ${spec.name} do not determine compute and bandwidth; calibrate a pipeline with larger layers`);

  const c = cpus();
  const profile: DeviceProfile = {
    schemaVersion: PROFILE_SCHEMA_VERSION,
    kind: PROFILE_KIND,
    device: spec.target.name,
    processor,
    measuredAt: new Date().toISOString(),
    machine: { cpu: c[0]?.model ?? 'unknown CPU', cores: c.length, os: `${osType()} ${release()} ${arch()}`, node: process.version, runtime: opts.runtime },
    fitted: true,
    computeMacsPerS: fit.computeMacsPerS,
    bandwidthBytesPerS: fit.bandwidthBytesPerS,
    overheadMs: fit.overheadMs,
    runs,
    samples,
  };
  const after = estimate(applyProfile(spec, profile));
  const rows: CalibrationRow[] = [];
  const bySample = new Map(samples.map((s) => [s.op, s]));
  if (before.features && after.features && bySample.has(FEATURES_KEY)) {
    const s = bySample.get(FEATURES_KEY)!;
    rows.push({ id: FEATURES_KEY, kind: 'front end', macs: s.macs, bytes: s.bytes, measuredMs: s.measuredMs, beforeMs: before.features.latencyMs, afterMs: after.features.latencyMs });
  }
  before.layers.forEach((l, i) => {
    const s = bySample.get(l.layerId);
    if (s) rows.push({ id: l.layerId, kind: l.kind, macs: s.macs, bytes: s.bytes, measuredMs: s.measuredMs, beforeMs: l.latencyMs, afterMs: after.layers[i].latencyMs });
  });
  for (const s of samples) {
    const r = rows.find((x) => x.id === s.op);
    if (r) {
      s.estimatedBeforeMs = r.beforeMs;
      s.estimatedAfterMs = r.afterMs;
    }
  }
  const endToEnd = { measuredMs: windowMs, beforeMs: before.endToEndLatencyMs, afterMs: after.endToEndLatencyMs };
  profile.endToEnd = { pipeline: spec.name, measuredMs: windowMs, estimatedBeforeMs: endToEnd.beforeMs, estimatedAfterMs: endToEnd.afterMs };
  return { profile, fit, rows, endToEnd, sessionRunMs, kernelMs, windowWallMs };
}
