/**
 * Measured device profiles: the JSON `sense calibrate` writes and the bundle's profiling
 * mode (runtime/runner.ts, the demo page's Profile button) downloads, and that
 * `sense estimate --profile` and the studio import to replace a processor's catalog
 * figures with measured ones.
 *
 * A profile names one processor of one device and holds the roofline parameters of the
 * cost model (engine/cost-model.ts: latency = overhead + max(MACs / compute,
 * bytes / bandwidth)) fitted to its samples by engine/calibrate/fit.ts; since schema
 * version 2 also the front end's own throughput (`frontendMacsPerS`) and the fixed cost
 * of a partition run (`dispatchMs`), both optional, so version 1 files still read (their
 * front end then runs at `computeMacsPerS` and partitions cost nothing extra). A profile made
 * where the pipeline's IR is unknown (a browser or phone running a bundle) holds timings
 * only (`fitted: false`, MACs and bytes 0); `sense calibrate FILE --from PROFILE.json`
 * fills them from the pipeline's IR and fits it.
 *
 * Since schema version 3 a profile may also hold a kernel predictor (`kernelPredictor`,
 * {@link KernelPredictorData}): one fitted latency model per kernel kind, made by
 * `sense calibrate --device host` from a suite of kernels rather than from one pipeline,
 * with how well it predicted the suite's held-out kernels (engine/calibrate/kernel-predictor.ts
 * fits and evaluates it).
 *
 * The format lives here, with its reader and writer, because the runtime writes profiles
 * where the engine is not shipped; applying a profile to the device catalog is the
 * engine's (engine/calibrate/profile.ts). Pure: no file system.
 */

/**
 * The schema version this code writes; it reads every version up to it. 2 added the
 * optional `frontendMacsPerS` and `dispatchMs`; 3 the optional `kernelPredictor`.
 */
export const PROFILE_SCHEMA_VERSION = 3;

/** The `version` of {@link KernelPredictorData} this code writes and reads. */
export const KERNEL_PREDICTOR_VERSION = 1;

/**
 * The fitted latency model of one kernel kind (a layer kind such as `dense`, or a front-end
 * step kind such as `features/spectral`): a roofline, overheadMs + max(msPerMac x macs,
 * msPerByte x bytes), times a correction factor exp(c(log2 bytes)) with c piecewise linear
 * between the knots (constant outside them) that the measurements taught it: the cache
 * levels the roofline's one bandwidth cannot follow.
 */
export interface KernelKindModel {
  overheadMs: number;
  /** Milliseconds per multiply-accumulate (1000 / MAC/s); 0 when no kernel was compute-bound. */
  msPerMac: number;
  /** Milliseconds per byte moved (1000 / bytes/s); 0 when no kernel was memory-bound. */
  msPerByte: number;
  /** Knots of the correction, log2 of bytes moved, increasing (may be empty: no correction). */
  correctionLog2Bytes: number[];
  /** Natural log of the correction factor at each knot. */
  correctionLogFactor: number[];
  /** The smallest and largest MACs and bytes among the single ops it was fitted to (its coverage). */
  minMacs: number;
  maxMacs: number;
  minBytes: number;
  maxBytes: number;
  /** Kernels it was fitted to. */
  samples: number;
  /** Median |predicted - measured| / measured over its held-out kernels, percent (absent: none held out). */
  heldOutMedianAbsErrorPct?: number;
}

/** A kernel predictor (see the module header and {@link KernelKindModel}). */
export interface KernelPredictorData {
  version: number;
  /** Per kernel kind, its model. */
  kinds: Record<string, KernelKindModel>;
  /** How well a fit on the other kernels predicted the held-out ones. */
  heldOut: {
    kernels: number;
    /** Median absolute relative error, percent. */
    medianAbsErrorPct: number;
    /** 90th percentile of the absolute relative error, percent. */
    p90AbsErrorPct: number;
    /** Share of held-out kernels within 10% of their measurement, 0..1. */
    within10: number;
  };
  /**
   * Time per byte of an op's output spent outside its kernel, ms: allocating the output
   * tensor, handing it on and collecting it later (what a window's CPU time shows beyond its
   * kernels grows with the bytes its ops write); added to every op's prediction. Absent: 0.
   */
  outputMsPerByte?: number;
  /** Wall time the suite took, seconds. */
  suiteS?: number;
}

/** The `kind` field of every profile file. */
export const PROFILE_KIND = 'sense-device-profile';

/** One measured unit of work: an op, a layer (several ops) or a partition. */
export interface ProfileSample {
  /** What was measured: an IR op id, a layer id, a partition id or `features`. */
  op: string;
  /** Multiply-accumulates of the ops it covers (0 when unknown, see the module header). */
  macs: number;
  /** Bytes those ops move (weights, inputs and outputs; engine/cost-model.ts opBytes). */
  bytes: number;
  /**
   * The ops it covers, when more than one: the model predicts the sum over them, each
   * paying the overhead. Absent: one op of `macs` and `bytes`.
   */
  parts?: { macs: number; bytes: number }[];
  /** Layer ids it covers (partition samples). */
  layers?: string[];
  /** Median measured latency over the runs. */
  measuredMs: number;
  /** The estimate with the catalog figures (before calibration). */
  estimatedBeforeMs?: number;
  /** The estimate with the fitted figures. */
  estimatedAfterMs?: number;
}

/** Where the profile was measured. */
export interface ProfileMachine {
  /** CPU model (os.cpus()[0].model in Node; the user agent in a browser). */
  cpu: string;
  /** Operating system and architecture, when known. */
  os?: string;
  /** Node version, when measured in Node. */
  node?: string;
  /** The inference runtime and version: `onnxruntime-node 1.23.0`, `onnxruntime-web (wasm)`. */
  runtime: string;
  /** Logical CPU cores, when known. */
  cores?: number;
}

/** End-to-end figures of the pipeline the profile was measured with. */
export interface ProfileEndToEnd {
  pipeline: string;
  /** Median measured per-window latency (front end + partitions). */
  measuredMs: number;
  estimatedBeforeMs?: number;
  estimatedAfterMs?: number;
}

/** A measured device profile (see the module header). */
export interface DeviceProfile {
  schemaVersion: number;
  kind: typeof PROFILE_KIND;
  /** Device the profile calibrates (`host`, or the bundle's target). */
  device: string;
  /** Processor of that device whose figures it replaces. */
  processor: string;
  /** ISO 8601 time of the measurement. */
  measuredAt: string;
  machine: ProfileMachine;
  /** False for timings not yet fitted (see the module header); true or absent when fitted. */
  fitted?: boolean;
  computeMacsPerS: number;
  bandwidthBytesPerS: number;
  overheadMs: number;
  /**
   * MAC throughput of the feature front-end ops, MACs per second (ProcessorSpec.frontendMacsPerS).
   * Absent (schema 1, or not measured): the front end runs at computeMacsPerS.
   */
  frontendMacsPerS?: number;
  /** Fixed cost of one partition run, ms (ProcessorSpec.dispatchMs). Absent: 0. */
  dispatchMs?: number;
  /** Runs each sample's median is taken over. */
  runs?: number;
  /** The per-kernel-kind predictor (schema 3; see the module header). */
  kernelPredictor?: KernelPredictorData;
  samples: ProfileSample[];
  endToEnd?: ProfileEndToEnd;
}

function fail(source: string, what: string): never {
  throw new Error(`${source}: ${what}; this is not a valid Sense Studio device profile (make one with 'sense calibrate FILE --out PROFILE.json' or the bundle page's Profile button)`);
}

function num(source: string, v: unknown, path: string, opts: { positive?: boolean; finite?: boolean } = {}): number {
  if (typeof v !== 'number' || Number.isNaN(v)) fail(source, `${path} must be a number, got ${JSON.stringify(v) ?? 'nothing'}`);
  if (opts.finite !== false && !Number.isFinite(v)) fail(source, `${path} must be finite, got ${v}`);
  if (v < 0 || (opts.positive && v === 0)) fail(source, `${path} must be ${opts.positive ? 'positive' : 'non-negative'}, got ${v}`);
  return v;
}

function str(source: string, v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0) fail(source, `${path} must be a non-empty string`);
  return v;
}

/** The most samples a profile may hold (a bound against absurd files). */
export const MAX_PROFILE_SAMPLES = 100_000;

/**
 * Parses and validates profile JSON text. Throws an Error naming `source`, the field and
 * the fix for anything that is not a profile: bad JSON, wrong kind, a newer schema,
 * missing or negative figures, non-finite numbers.
 */
export function parseDeviceProfile(text: string, source: string): DeviceProfile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(source, `not valid JSON (${(e as Error).message})`);
  }
  return validateDeviceProfile(json, source);
}

/** Validates an already parsed profile object (see {@link parseDeviceProfile}). */
export function validateDeviceProfile(json: unknown, source: string): DeviceProfile {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(source, 'the top level must be an object');
  const o = json as Record<string, unknown>;
  if (o.kind !== PROFILE_KIND) fail(source, `kind must be '${PROFILE_KIND}', got ${JSON.stringify(o.kind) ?? 'nothing'}`);
  const version = num(source, o.schemaVersion, 'schemaVersion');
  if (version > PROFILE_SCHEMA_VERSION) throw new Error(`${source}: schema version ${version} is newer than this Sense Studio reads (${PROFILE_SCHEMA_VERSION}); update Sense Studio`);
  if (!Number.isInteger(version) || version < 1) fail(source, `schemaVersion must be a positive integer, got ${version}`);
  const fitted = o.fitted === undefined ? true : o.fitted;
  if (typeof fitted !== 'boolean') fail(source, 'fitted must be true or false');
  if (typeof o.machine !== 'object' || o.machine === null) fail(source, 'machine must be an object');
  const m = o.machine as Record<string, unknown>;
  const machine: ProfileMachine = { cpu: str(source, m.cpu, 'machine.cpu'), runtime: str(source, m.runtime, 'machine.runtime') };
  if (m.os !== undefined) machine.os = str(source, m.os, 'machine.os');
  if (m.node !== undefined) machine.node = str(source, m.node, 'machine.node');
  if (m.cores !== undefined) machine.cores = num(source, m.cores, 'machine.cores');
  if (!Array.isArray(o.samples)) fail(source, 'samples must be an array');
  if (o.samples.length > MAX_PROFILE_SAMPLES) fail(source, `${o.samples.length} samples is more than the ${MAX_PROFILE_SAMPLES} allowed`);
  const samples = o.samples.map((s: unknown, i: number): ProfileSample => {
    if (typeof s !== 'object' || s === null) fail(source, `samples[${i}] must be an object`);
    const r = s as Record<string, unknown>;
    const out: ProfileSample = { op: str(source, r.op, `samples[${i}].op`), macs: num(source, r.macs, `samples[${i}].macs`), bytes: num(source, r.bytes, `samples[${i}].bytes`), measuredMs: num(source, r.measuredMs, `samples[${i}].measuredMs`) };
    if (r.parts !== undefined) {
      if (!Array.isArray(r.parts) || r.parts.length === 0) fail(source, `samples[${i}].parts must be a non-empty array`);
      out.parts = r.parts.map((p: unknown, j: number) => {
        const q = (p ?? {}) as Record<string, unknown>;
        return { macs: num(source, q.macs, `samples[${i}].parts[${j}].macs`), bytes: num(source, q.bytes, `samples[${i}].parts[${j}].bytes`) };
      });
    }
    if (r.layers !== undefined) {
      if (!Array.isArray(r.layers)) fail(source, `samples[${i}].layers must be an array of layer ids`);
      out.layers = r.layers.map((l: unknown, j: number) => str(source, l, `samples[${i}].layers[${j}]`));
    }
    if (r.estimatedBeforeMs !== undefined) out.estimatedBeforeMs = num(source, r.estimatedBeforeMs, `samples[${i}].estimatedBeforeMs`);
    if (r.estimatedAfterMs !== undefined) out.estimatedAfterMs = num(source, r.estimatedAfterMs, `samples[${i}].estimatedAfterMs`);
    return out;
  });
  const profile: DeviceProfile = {
    schemaVersion: version,
    kind: PROFILE_KIND,
    device: str(source, o.device, 'device'),
    processor: str(source, o.processor, 'processor'),
    measuredAt: str(source, o.measuredAt, 'measuredAt'),
    machine,
    fitted,
    // An unfitted profile has no figures yet; a fitted one needs all three, compute and bandwidth positive.
    computeMacsPerS: fitted ? num(source, o.computeMacsPerS, 'computeMacsPerS', { positive: true }) : 0,
    bandwidthBytesPerS: fitted ? num(source, o.bandwidthBytesPerS, 'bandwidthBytesPerS', { positive: true }) : 0,
    overheadMs: fitted ? num(source, o.overheadMs, 'overheadMs') : 0,
    samples,
  };
  if (fitted && o.frontendMacsPerS !== undefined) profile.frontendMacsPerS = num(source, o.frontendMacsPerS, 'frontendMacsPerS', { positive: true });
  if (fitted && o.dispatchMs !== undefined) profile.dispatchMs = num(source, o.dispatchMs, 'dispatchMs');
  if (o.runs !== undefined) profile.runs = num(source, o.runs, 'runs');
  if (o.kernelPredictor !== undefined) {
    if (!fitted) fail(source, 'a profile with a kernelPredictor must be fitted');
    profile.kernelPredictor = validateKernelPredictor(source, o.kernelPredictor);
  }
  if (o.endToEnd !== undefined) {
    const e = (o.endToEnd ?? {}) as Record<string, unknown>;
    profile.endToEnd = { pipeline: str(source, e.pipeline, 'endToEnd.pipeline'), measuredMs: num(source, e.measuredMs, 'endToEnd.measuredMs') };
    if (e.estimatedBeforeMs !== undefined) profile.endToEnd.estimatedBeforeMs = num(source, e.estimatedBeforeMs, 'endToEnd.estimatedBeforeMs');
    if (e.estimatedAfterMs !== undefined) profile.endToEnd.estimatedAfterMs = num(source, e.estimatedAfterMs, 'endToEnd.estimatedAfterMs');
  }
  return profile;
}

/** The most kernel kinds a predictor may hold (a bound against absurd files). */
const MAX_KERNEL_KINDS = 1000;

function validateKernelPredictor(source: string, v: unknown): KernelPredictorData {
  const at = 'kernelPredictor';
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(source, `${at} must be an object`);
  const o = v as Record<string, unknown>;
  const version = num(source, o.version, `${at}.version`);
  if (version !== KERNEL_PREDICTOR_VERSION) fail(source, `${at}.version ${version} is not the version this Sense Studio reads (${KERNEL_PREDICTOR_VERSION}); calibrate again with 'sense calibrate --device host --out PROFILE.json'`);
  if (typeof o.kinds !== 'object' || o.kinds === null || Array.isArray(o.kinds)) fail(source, `${at}.kinds must be an object of kernel kinds`);
  const entries = Object.entries(o.kinds as Record<string, unknown>);
  if (entries.length === 0) fail(source, `${at}.kinds is empty`);
  if (entries.length > MAX_KERNEL_KINDS) fail(source, `${at}.kinds has ${entries.length} kinds, more than the ${MAX_KERNEL_KINDS} allowed`);
  const kinds: Record<string, KernelKindModel> = {};
  for (const [kind, raw] of entries) {
    const p = `${at}.kinds.${kind}`;
    if (typeof raw !== 'object' || raw === null) fail(source, `${p} must be an object`);
    const k = raw as Record<string, unknown>;
    const list = (x: unknown, name: string): number[] => {
      if (!Array.isArray(x) || x.length > 64) fail(source, `${p}.${name} must be an array of at most 64 numbers`);
      return x.map((y, i) => {
        if (typeof y !== 'number' || !Number.isFinite(y)) fail(source, `${p}.${name}[${i}] must be a finite number, got ${JSON.stringify(y) ?? 'nothing'}`);
        return y;
      });
    };
    const knots = list(k.correctionLog2Bytes, 'correctionLog2Bytes');
    const factors = list(k.correctionLogFactor, 'correctionLogFactor');
    if (knots.length !== factors.length) fail(source, `${p}: correctionLog2Bytes and correctionLogFactor must have the same length`);
    if (knots.some((x, i) => i > 0 && x <= knots[i - 1])) fail(source, `${p}.correctionLog2Bytes must increase`);
    const model: KernelKindModel = {
      overheadMs: num(source, k.overheadMs, `${p}.overheadMs`),
      msPerMac: num(source, k.msPerMac, `${p}.msPerMac`),
      msPerByte: num(source, k.msPerByte, `${p}.msPerByte`),
      correctionLog2Bytes: knots,
      correctionLogFactor: factors,
      minMacs: num(source, k.minMacs, `${p}.minMacs`),
      maxMacs: num(source, k.maxMacs, `${p}.maxMacs`),
      minBytes: num(source, k.minBytes, `${p}.minBytes`),
      maxBytes: num(source, k.maxBytes, `${p}.maxBytes`),
      samples: num(source, k.samples, `${p}.samples`),
    };
    if (model.msPerMac === 0 && model.msPerByte === 0 && model.overheadMs === 0) fail(source, `${p} predicts 0 ms for every kernel`);
    if (k.heldOutMedianAbsErrorPct !== undefined) model.heldOutMedianAbsErrorPct = num(source, k.heldOutMedianAbsErrorPct, `${p}.heldOutMedianAbsErrorPct`);
    kinds[kind] = model;
  }
  const h = (o.heldOut ?? undefined) as Record<string, unknown> | undefined;
  if (typeof h !== 'object' || h === null) fail(source, `${at}.heldOut must be an object`);
  const heldOut = {
    kernels: num(source, h.kernels, `${at}.heldOut.kernels`),
    medianAbsErrorPct: num(source, h.medianAbsErrorPct, `${at}.heldOut.medianAbsErrorPct`),
    p90AbsErrorPct: num(source, h.p90AbsErrorPct, `${at}.heldOut.p90AbsErrorPct`),
    within10: num(source, h.within10, `${at}.heldOut.within10`),
  };
  if (heldOut.within10 > 1) fail(source, `${at}.heldOut.within10 must be a share from 0 to 1, got ${heldOut.within10}`);
  const out: KernelPredictorData = { version, kinds, heldOut };
  if (o.outputMsPerByte !== undefined) out.outputMsPerByte = num(source, o.outputMsPerByte, `${at}.outputMsPerByte`);
  if (o.suiteS !== undefined) out.suiteS = num(source, o.suiteS, `${at}.suiteS`);
  return out;
}

/** The profile as JSON text (2-space indent, trailing newline). */
export function formatDeviceProfile(profile: DeviceProfile): string {
  return JSON.stringify(profile, null, 2) + '\n';
}
