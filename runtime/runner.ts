/**
 * The bundle runner: one code path for Node (onnxruntime-node) and the browser
 * (onnxruntime-web). The ONNX Runtime module is injected, so this file imports neither and
 * the same code runs in the CLI, the extension host, tests and the demo page.
 *
 * Per analysis window: the feature front end (runtime/features.ts, normalisation at the
 * pipeline's `normalize` step with the manifest's statistics), then the partitions in
 * manifest order, each reading `features` or tensors earlier partitions wrote (batch 1,
 * `[1, ...shape]`), then each head's output turned into probabilities. A window the
 * `silence` step marks silent skips the DNN entirely and is reported as silent.
 *
 * Gated heads (`head speaker from encoder when ambient is voicing`): a gated head's layers
 * are partitions of their own (ManifestPartition.gatedHead), after the head its gate reads.
 * Before running them the runner reads that head's top label; when it is not the gate's
 * label (or that head did not run itself), the partitions are skipped and the head is
 * reported in `skipped` with the reason (`ambient is music`), not with probabilities.
 * A clip reports, per gated head, on how many windows its gate opened ({@link GateCount}).
 *
 * A clip (WAV or inertial CSV) is cut into windows (runtime/features.ts `audioWindows`,
 * runtime/inertial.ts `inertialWindows`); an image (PNG, JPEG) is one window, its tensor
 * (runtime/image.ts `imageInputTensor`); a clip's prediction is the mean of the non-silent
 * windows' probabilities, and its latency the mean per-window time (front end + DNN), the
 * figure comparable to the engine's per-inference estimate.
 *
 * Execution providers: the manifest lists each partition's preferred providers (chosen by
 * engine/export/manifest.ts). With `backend: 'web'` they map to onnxruntime-web's names
 * (`webgpu`, `webnn`; `cpu` and `xnnpack` become `wasm`), with `backend: 'node'` they keep
 * theirs; either way only providers the host lists in `availableProviders` are kept
 * (default: `wasm` on the web, since bundles ship the wasm build of onnxruntime-web, and
 * `cpu` in Node), because ONNX Runtime rejects providers its build lacks, and the
 * backend's CPU provider always comes last. Profiling: pass
 * `sessionOptions: { enableProfiling: true }` and call `endProfiling()` on
 * {@link BundleRunner.sessions} (ONNX Runtime's per-op profile), for calibration.
 */
import { PROFILE_KIND, PROFILE_SCHEMA_VERSION, type DeviceProfile, type ProfileMachine } from './device-profile';
import type { BundleManifest, ManifestPartition } from './bundle-manifest';
import type { InputSpec } from '../language/pipeline-model';
import { audioWindows, computeFeatures, type FeatureResult } from './features';
import { imageInputTensor } from './image';
import { inertialWindows, parseInertialCsv } from './inertial';
import { toMonoAt } from './resample';
import { decodeWav, type DecodedAudio } from './wav';

/** The part of an ONNX Runtime tensor the runner uses. */
export interface OrtTensorLike {
  readonly data: unknown;
  readonly dims: readonly number[];
  readonly type: string;
}

/** The part of an ONNX Runtime inference session the runner uses. */
export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
  endProfiling?(): unknown;
}

/**
 * The part of the `onnxruntime-node` / `onnxruntime-web` module that Sense uses: the runner
 * creates float32 tensors, the compression's accelerated products (engine/compress/accelerated.ts)
 * float64 ones.
 */
export interface OrtModuleLike {
  InferenceSession: { create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSessionLike> };
  Tensor: {
    new (type: 'float32', data: Float32Array, dims: readonly number[]): OrtTensorLike;
    new (type: 'float64', data: Float64Array, dims: readonly number[]): OrtTensorLike;
  };
}

/** Options of {@link createRunner}. */
export interface RunnerOptions {
  /** The ONNX Runtime module: `onnxruntime-node` or `onnxruntime-web`. */
  ort: OrtModuleLike;
  /** Which ONNX Runtime it is, for provider names. */
  backend: 'node' | 'web';
  manifest: BundleManifest;
  /** The model bytes by file name (`p0.onnx`), or a loader (fetch in a browser). */
  models: ReadonlyMap<string, Uint8Array> | ((file: string) => Promise<Uint8Array>);
  /** Providers this ONNX Runtime build has (e.g. `['webgpu', 'wasm']`); default `['wasm']` on the web, `['cpu']` in Node. */
  availableProviders?: string[];
  /** Extra ONNX Runtime session options (`enableProfiling`, `intraOpNumThreads`, `graphOptimizationLevel`). */
  sessionOptions?: Record<string, unknown>;
  /**
   * Run the front end and every partition once on zeros after loading (default true), so
   * the first measured window does not pay ONNX Runtime's and the JIT's first-run costs.
   */
  warmup?: boolean;
  /**
   * Profiling mode: record the wall time of the front end and of each partition's
   * `session.run` for every window run (the last {@link MAX_TIMINGS} of each), for
   * {@link BundleRunner.profile}. Off by default; the cost is two `performance.now()`
   * calls per partition.
   */
  profile?: boolean;
}

/** Timings kept per partition in profiling mode (older ones are dropped). */
export const MAX_TIMINGS = 10_000;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? 0 : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function pushBounded(xs: number[], x: number): void {
  if (xs.length >= MAX_TIMINGS) xs.shift();
  xs.push(x);
}

/** One head's result: the top label and every label's probability. */
export interface HeadResult {
  label: string;
  probabilities: Record<string, number>;
}

/**
 * How often a gated head's gate opened on a clip: on `opened` of the `windows` non-silent
 * windows on which the head its gate reads ran, against the `expect` line's rate.
 */
export interface GateCount {
  /** The head whose top label decides, and the label that opens the gate. */
  head: string;
  label: string;
  opened: number;
  windows: number;
  /** The pipeline's `expect` rate for that head and label (0-1), when it states one. */
  expected?: number;
}

/** One window's result. */
export interface WindowResult {
  silent: boolean;
  /** Audio only: the window's level in dBFS. */
  levelDbfs?: number;
  featuresMs: number;
  /** Time in the partitions; 0 for a silent window. */
  dnnMs: number;
  latencyMs: number;
  /** Per head that ran; empty for a silent window. */
  heads: Record<string, HeadResult>;
  /** Bundles with gated heads: per gated head that did not run on this (non-silent) window, why (`ambient is music`). */
  skipped?: Record<string, string>;
}

/** One clip's result: the mean over its non-silent windows. */
export interface ClipResult {
  clip: string;
  /** Mean per-window latency (front end + partitions), excluding decoding. */
  latencyMs: number;
  windows: number;
  silentWindows: number;
  /** True when every window was silent: no DNN ran and `heads` is empty. */
  silent: boolean;
  /** Per head, the mean over the non-silent windows on which it ran. */
  heads: Record<string, HeadResult>;
  /** Bundles with gated heads: per gated head that ran on none of the non-silent windows, why. */
  skipped?: Record<string, string>;
  /** Bundles with gated heads: per gated head, how often its gate opened. */
  gates?: Record<string, GateCount>;
  /** Per window, in order. */
  perWindow: WindowResult[];
}

/** The gate counts of several clips (or folders) added up per gated head. */
export function sumGateCounts(counts: readonly (Readonly<Record<string, GateCount>> | undefined)[]): Record<string, GateCount> {
  const total: Record<string, GateCount> = {};
  for (const c of counts) {
    for (const [head, g] of Object.entries(c ?? {})) {
      const t = (total[head] ??= { ...g, opened: 0, windows: 0 });
      t.opened += g.opened;
      t.windows += g.windows;
    }
  }
  return total;
}

/** A clip to run: WAV, inertial CSV or image (PNG, JPEG) bytes, or already decoded audio. */
export type ClipInput =
  | { kind: 'wav'; bytes: Uint8Array }
  | { kind: 'csv'; bytes: Uint8Array }
  | { kind: 'image'; bytes: Uint8Array }
  | { kind: 'audio'; audio: DecodedAudio };

/** File name endings of the images an image pipeline reads (lower case). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg'];

/** The clip file name endings a pipeline with `input` reads (lower case): `.wav`, `.csv`, or {@link IMAGE_EXTENSIONS}. */
export function clipExtensions(input: InputSpec): readonly string[] {
  return input.kind === 'audio' ? ['.wav'] : input.kind === 'inertial' ? ['.csv'] : IMAGE_EXTENSIONS;
}

/** A clip's bytes as the runner reads them, by the file name's ending: inertial CSV, image (PNG, JPEG), else WAV. */
export function clipInputOf(name: string, bytes: Uint8Array): ClipInput {
  const lower = name.toLowerCase();
  if (lower.endsWith('.csv')) return { kind: 'csv', bytes };
  if (IMAGE_EXTENSIONS.some((e) => lower.endsWith(e))) return { kind: 'image', bytes };
  return { kind: 'wav', bytes };
}

/**
 * Maps a partition's preferred providers to the ONNX Runtime execution providers to ask
 * for, best first, keeping only those in `available`; the backend's CPU provider is last.
 */
export function executionProviders(partition: Pick<ManifestPartition, 'providers'>, backend: 'node' | 'web', available?: readonly string[]): string[] {
  const cpu = backend === 'web' ? 'wasm' : 'cpu';
  const have = new Set(available ?? [cpu]);
  const out: string[] = [];
  for (const p of partition.providers) {
    const name = backend === 'web' && (p === 'cpu' || p === 'xnnpack') ? 'wasm' : p;
    if (have.has(name) && name !== cpu && !out.includes(name)) out.push(name);
  }
  out.push(cpu);
  return out;
}

function softmax(x: Float32Array): Float64Array {
  let mx = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > mx) mx = x[i];
  const out = new Float64Array(x.length);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += out[i] = Math.exp(x[i] - mx);
  for (let i = 0; i < x.length; i++) out[i] /= s;
  return out;
}

/** A running bundle: sessions created once, then any number of windows and clips. */
export class BundleRunner {
  private constructor(
    readonly manifest: BundleManifest,
    /** One ONNX Runtime session per partition, in manifest order (for profiling). */
    readonly sessions: OrtSessionLike[],
    private readonly ort: OrtModuleLike,
    /** Profiling mode: per partition, then the front end and whole windows, the recorded times in ms. */
    private readonly timings?: { partitions: number[][]; features: number[]; windows: number[] },
  ) {}

  /** Creates the sessions (one per partition; each takes 100+ ms, so create the runner once). */
  static async create(opts: RunnerOptions): Promise<BundleRunner> {
    const { manifest, ort } = opts;
    const load = typeof opts.models === 'function' ? opts.models : async (file: string): Promise<Uint8Array> => {
      const bytes = (opts.models as ReadonlyMap<string, Uint8Array>).get(file);
      if (!bytes) throw new Error(`bundle ${manifest.pipeline}: model file ${file} is missing`);
      return bytes;
    };
    const sessions: OrtSessionLike[] = [];
    try {
      for (const p of manifest.partitions) {
        const bytes = await load(p.model);
        const providers = executionProviders(p, opts.backend, opts.availableProviders);
        try {
          sessions.push(await ort.InferenceSession.create(bytes, { executionProviders: providers, ...opts.sessionOptions }));
        } catch (e) {
          throw new Error(`bundle ${manifest.pipeline}: ONNX Runtime cannot load partition ${p.id} (${p.model}) with providers ${providers.join(', ')}: ${(e as Error).message}`);
        }
      }
    } catch (e) {
      await Promise.all(sessions.map((s) => s.release()));
      throw e;
    }
    const runner = new BundleRunner(manifest, sessions, ort, opts.profile ? { partitions: sessions.map(() => []), features: [], windows: [] } : undefined);
    if (opts.warmup ?? true) {
      // Warm-up runs are not measurements: the timings are cleared below.
      const shape = manifest.features.outputShape;
      try {
        await runner.runPartitions(new Float32Array(shape.reduce((a, b) => a * b, 1)));
      } catch (e) {
        // A model that loads but cannot run (a bias of the wrong size) fails here, before any clip: say which bundle.
        await runner.release();
        const message = (e as Error).message;
        throw new Error(message.startsWith(`bundle ${manifest.pipeline}`) ? message : `bundle ${manifest.pipeline}: ONNX Runtime cannot run the partitions on zero features (a model is corrupt or does not match the manifest): ${message}`);
      }
      runner.features(zeroWindow(manifest.input));
      runner.clearTimings();
    }
    return runner;
  }

  /** The pipeline's input spec (rate, window, sensors). */
  get input(): InputSpec {
    return this.manifest.input;
  }

  /** Runs the feature front end on one window (see {@link bundleFeatures}). */
  features(signal: Float32Array | readonly Float32Array[]): FeatureResult {
    return bundleFeatures(this.manifest, signal);
  }

  /**
   * Runs the partitions on a feature tensor of the manifest's feature shape and returns
   * every tensor produced, by name (batch 1).
   */
  async runPartitions(features: Float32Array): Promise<Map<string, Float32Array>> {
    const shape = this.manifest.features.outputShape;
    const want = shape.reduce((a, b) => a * b, 1);
    if (features.length !== want) throw new Error(`runPartitions: the features hold ${features.length} values but the bundle expects shape [${shape.join(', ')}] (${want})`);
    const tensors = new Map<string, Float32Array>([[this.manifest.features.tensor, features]]);
    const shapes = new Map<string, readonly number[]>([[this.manifest.features.tensor, shape]]);
    for (let i = 0; i < this.sessions.length; i++) await this.runPartition(i, tensors, shapes);
    return tensors;
  }

  /** Runs partition `i` on the tensors produced so far and adds its outputs to them. */
  private async runPartition(i: number, tensors: Map<string, Float32Array>, shapes: Map<string, readonly number[]>): Promise<void> {
    const p = this.manifest.partitions[i];
    const feeds: Record<string, OrtTensorLike> = {};
    for (const input of p.inputs) {
      const data = tensors.get(input.name);
      if (!data) throw new Error(`bundle ${this.manifest.pipeline}: partition ${p.id} reads '${input.name}', which no earlier partition produced; the manifest is corrupt`);
      feeds[input.name] = new this.ort.Tensor('float32', data, [1, ...(shapes.get(input.name) ?? input.shape)]);
    }
    const t0 = this.timings ? performance.now() : 0;
    const out = await this.sessions[i].run(feeds);
    if (this.timings) pushBounded(this.timings.partitions[i], performance.now() - t0);
    for (const o of p.outputs) {
      const t = out[o.name];
      if (!t) throw new Error(`bundle ${this.manifest.pipeline}: partition ${p.id} did not return '${o.name}'`);
      tensors.set(o.name, t.data as Float32Array);
      shapes.set(o.name, o.shape);
    }
  }

  /** True when some head of the bundle has a gate. */
  get gated(): boolean {
    return Object.values(this.manifest.heads).some((h) => h.gate !== undefined);
  }

  /**
   * Runs the partitions of one window's features, skipping the partitions of each gated
   * head whose gate stays shut, and returns the heads that ran and, for the others, why
   * they did not.
   */
  async runHeads(features: Float32Array): Promise<{ heads: Record<string, HeadResult>; skipped: Record<string, string> }> {
    if (!this.gated) return { heads: this.headResults(await this.runPartitions(features)), skipped: {} };
    const shape = this.manifest.features.outputShape;
    const want = shape.reduce((a, b) => a * b, 1);
    if (features.length !== want) throw new Error(`runHeads: the features hold ${features.length} values but the bundle expects shape [${shape.join(', ')}] (${want})`);
    const tensors = new Map<string, Float32Array>([[this.manifest.features.tensor, features]]);
    const shapes = new Map<string, readonly number[]>([[this.manifest.features.tensor, shape]]);
    const heads: Record<string, HeadResult> = {};
    // Per head, undefined when it runs, else why not; decided once per window.
    const reasons = new Map<string, string | undefined>();
    const deciding = new Set<string>();
    const reasonOf = (name: string): string | undefined => {
      if (reasons.has(name)) return reasons.get(name);
      const gate = this.manifest.heads[name].gate;
      let reason: string | undefined;
      if (gate) {
        if (deciding.has(gate.head)) throw new Error(`bundle ${this.manifest.pipeline}: the gates of ${[...deciding].join(', ')} wait for each other; the manifest is corrupt`);
        deciding.add(name);
        const upstream = reasonOf(gate.head);
        deciding.delete(name);
        if (upstream !== undefined) reason = `${gate.head} did not run (${upstream})`;
        else {
          const top = (heads[gate.head] ??= this.headResult(gate.head, tensors)).label;
          if (top !== gate.label) reason = `${gate.head} is ${top}`;
        }
      }
      reasons.set(name, reason);
      return reason;
    };
    for (let i = 0; i < this.sessions.length; i++) {
      const head = this.manifest.partitions[i].gatedHead;
      if (head !== undefined && reasonOf(head) !== undefined) continue;
      await this.runPartition(i, tensors, shapes);
    }
    const skipped: Record<string, string> = {};
    const ran: Record<string, HeadResult> = {};
    for (const name of Object.keys(this.manifest.heads)) {
      const reason = reasonOf(name);
      if (reason !== undefined) skipped[name] = reason;
      else ran[name] = heads[name] ?? this.headResult(name, tensors);
    }
    return { heads: ran, skipped };
  }

  /** Turns the head tensors into labelled probabilities (see ManifestHead.activation). */
  headResults(tensors: ReadonlyMap<string, Float32Array>): Record<string, HeadResult> {
    const heads: Record<string, HeadResult> = {};
    for (const name of Object.keys(this.manifest.heads)) heads[name] = this.headResult(name, tensors);
    return heads;
  }

  /** One head's output tensor turned into labelled probabilities. */
  private headResult(name: string, tensors: ReadonlyMap<string, Float32Array>): HeadResult {
    const h = this.manifest.heads[name];
    const raw = tensors.get(h.output);
    if (!raw) throw new Error(`bundle ${this.manifest.pipeline}: head ${name}'s output '${h.output}' was not produced`);
    const classes = h.labels.length;
    // A head with a sequence output gives one distribution per position: average them.
    const positions = raw.length / classes;
    const mean = new Float64Array(classes);
    for (let p = 0; p < positions; p++) {
      const row = raw.subarray(p * classes, (p + 1) * classes);
      const probs = h.activation === 'softmax' || h.activation === 'sigmoid' ? row : softmax(row);
      for (let c = 0; c < classes; c++) mean[c] += probs[c] / positions;
    }
    return labelled(h.labels, mean);
  }

  /** Runs one window: features, then (unless silent) the partitions. */
  async runWindow(signal: Float32Array | readonly Float32Array[]): Promise<WindowResult> {
    const t0 = performance.now();
    const f = this.features(signal);
    const t1 = performance.now();
    if (this.timings) pushBounded(this.timings.features, t1 - t0);
    // One object literal per window (key order as before: silent, levelDbfs, times, heads).
    const result: WindowResult =
      f.levelDbfs !== undefined
        ? { silent: f.silent, levelDbfs: f.levelDbfs, featuresMs: t1 - t0, dnnMs: 0, latencyMs: t1 - t0, heads: {} }
        : { silent: f.silent, featuresMs: t1 - t0, dnnMs: 0, latencyMs: t1 - t0, heads: {} };
    if (f.silent) return result;
    const ran = await this.runHeads(f.data);
    result.heads = ran.heads;
    if (this.gated) result.skipped = ran.skipped;
    const t2 = performance.now();
    if (this.timings) pushBounded(this.timings.windows, t2 - t0);
    result.dnnMs = t2 - t1;
    result.latencyMs = t2 - t0;
    return result;
  }

  /** The analysis windows of a clip (see {@link clipWindows}). */
  windowsOf(clip: ClipInput, name: string): (Float32Array | Float32Array[])[] {
    return clipWindows(this.manifest, clip, name);
  }

  /** Runs every window of a clip and averages the non-silent ones' probabilities. */
  async runClip(clip: ClipInput, name: string): Promise<ClipResult> {
    const windows = this.windowsOf(clip, name);
    const perWindow: WindowResult[] = [];
    for (const w of windows) perWindow.push(await this.runWindow(w));
    const voiced = perWindow.filter((w) => !w.silent);
    const heads: Record<string, HeadResult> = {};
    const skipped: Record<string, string> = {};
    const gates: Record<string, GateCount> = {};
    for (const [hname, h] of Object.entries(this.manifest.heads)) {
      const ran = voiced.filter((w) => w.heads[hname] !== undefined);
      if (ran.length > 0) {
        const mean = new Float64Array(h.labels.length);
        for (const w of ran) h.labels.forEach((l, i) => (mean[i] += w.heads[hname].probabilities[l] / ran.length));
        heads[hname] = labelled(h.labels, mean);
      } else if (voiced.length > 0) {
        const reasons = [...new Set(voiced.map((w) => w.skipped?.[hname] ?? 'not run'))];
        skipped[hname] = reasons.length === 1 ? reasons[0] : `shut on all ${voiced.length} windows (${reasons.join('; ')})`;
      }
      if (h.gate) {
        const g = h.gate;
        gates[hname] = { head: g.head, label: g.label, opened: ran.length, windows: voiced.filter((w) => w.heads[g.head] !== undefined).length, ...(g.expected !== undefined ? { expected: g.expected } : {}) };
      }
    }
    const latencyMs = perWindow.reduce((a, w) => a + w.latencyMs, 0) / Math.max(1, perWindow.length);
    const gatedFields = this.gated ? { skipped, gates } : {};
    return { clip: name, latencyMs, windows: perWindow.length, silentWindows: perWindow.length - voiced.length, silent: voiced.length === 0, heads, ...gatedFields, perWindow };
  }

  /** Forgets the timings recorded so far (profiling mode). */
  clearTimings(): void {
    if (!this.timings) return;
    for (const p of this.timings.partitions) p.length = 0;
    this.timings.features.length = 0;
    this.timings.windows.length = 0;
  }

  /**
   * Profiling mode's result: a device profile (runtime/device-profile.ts) of timings
   * only (`fitted: false`): one sample per partition (its layers, the median wall time of
   * its `session.run`) and one for the front end (`features`), and the median whole
   * non-silent window as the end-to-end figure. MACs and bytes are 0 because the bundle
   * does not carry the IR; `sense calibrate FILE --from PROFILE.json` fills them from the
   * pipeline and fits the processor. `processor` defaults to the first partition's.
   * Throws when the runner was not created with `profile: true` or nothing ran yet.
   */
  profile(machine: ProfileMachine, opts: { device?: string; processor?: string; measuredAt?: string } = {}): DeviceProfile {
    const t = this.timings;
    if (!t) throw new Error(`bundle ${this.manifest.pipeline}: profiling is off; create the runner with profile: true`);
    if (t.windows.length === 0) throw new Error(`bundle ${this.manifest.pipeline}: nothing to profile yet; run at least one clip that is not silent`);
    const samples = this.manifest.partitions.map((p, i) => ({ op: p.id, macs: 0, bytes: 0, layers: [...p.layers], measuredMs: median(t.partitions[i]) }));
    samples.unshift({ op: 'features', macs: 0, bytes: 0, layers: [], measuredMs: median(t.features) });
    return {
      schemaVersion: PROFILE_SCHEMA_VERSION,
      kind: PROFILE_KIND,
      device: opts.device ?? this.manifest.target,
      processor: opts.processor ?? this.manifest.partitions[0]?.processor ?? 'cpu',
      measuredAt: opts.measuredAt ?? new Date().toISOString(),
      machine,
      fitted: false,
      computeMacsPerS: 0,
      bandwidthBytesPerS: 0,
      overheadMs: 0,
      runs: t.windows.length,
      samples,
      endToEnd: { pipeline: this.manifest.pipeline, measuredMs: median(t.windows) },
    };
  }

  /** Releases every session. */
  async release(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.release()));
  }
}

/**
 * Runs the feature front end of `manifest` on one window (runtime/features.ts
 * computeFeatures, with the manifest's normalisation statistics).
 */
export function bundleFeatures(manifest: Pick<BundleManifest, 'input' | 'features' | 'normalization'>, signal: Float32Array | readonly Float32Array[]): FeatureResult {
  const n = manifest.normalization;
  return computeFeatures(manifest.input, { steps: manifest.features.steps, outputShape: manifest.features.outputShape }, signal, n ? { normalization: n } : {});
}

/** One window of zeros of `input`'s size: a signal per audio or inertial row, or the [channels, height, width] image tensor. */
function zeroWindow(input: InputSpec): Float32Array[] {
  if (input.kind === 'image') return [new Float32Array(input.channels * input.height * input.width)];
  const samples = Math.round(input.rateHz * input.windowS);
  const rows = input.kind === 'audio' ? 1 : input.sensors.reduce((a, s) => a + s.axes.length, 0);
  return Array.from({ length: rows }, () => new Float32Array(samples));
}

/**
 * Cuts a clip into the pipeline's analysis windows at its rate: WAV bytes are decoded,
 * mixed to mono and resampled; CSV bytes are parsed as an inertial recording; image bytes
 * (PNG, JPEG) are decoded into the one [channels, height, width] tensor of an image pipeline
 * (runtime/image.ts: channels converted, resized bilinearly, scaled to [0, 1]). Errors
 * start with `name` and say when the clip kind does not match the pipeline's input.
 */
export function clipWindows(manifest: Pick<BundleManifest, 'input' | 'pipeline'>, clip: ClipInput, name: string): (Float32Array | Float32Array[])[] {
  const input = manifest.input;
  if (input.kind === 'image') {
    if (clip.kind !== 'image') throw new Error(`${name}: pipeline ${manifest.pipeline} takes image input (a PNG or JPEG file), not ${clip.kind === 'csv' ? 'an inertial CSV' : 'audio'}`);
    return [imageInputTensor(clip.bytes, input, name)];
  }
  if (clip.kind === 'image') throw new Error(`${name}: pipeline ${manifest.pipeline} takes ${input.kind} input, not an image`);
  if (clip.kind === 'csv') {
    if (input.kind !== 'inertial') throw new Error(`${name}: pipeline ${manifest.pipeline} takes ${input.kind} input, not an inertial CSV`);
    return inertialWindows(parseInertialCsv(clip.bytes, name), input);
  }
  if (input.kind !== 'audio') throw new Error(`${name}: pipeline ${manifest.pipeline} takes ${input.kind} input, not audio`);
  const audio = clip.kind === 'wav' ? decodeWav(clip.bytes, name) : clip.audio;
  return audioWindows(toMonoAt(audio, input.rateHz), input);
}

function labelled(labels: readonly string[], probs: ArrayLike<number>): HeadResult {
  let best = 0;
  for (let i = 1; i < labels.length; i++) if (probs[i] > probs[best]) best = i;
  const probabilities: Record<string, number> = {};
  labels.forEach((l, i) => (probabilities[l] = probs[i]));
  return { label: labels[best], probabilities };
}

/** Creates a runner (see {@link BundleRunner.create}); the function the demo page and the CLI call. */
export function createRunner(opts: RunnerOptions): Promise<BundleRunner> {
  return BundleRunner.create(opts);
}
