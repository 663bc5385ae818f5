/**
 * Run on Clip, Evaluate Folder, Export Bundle and Calibrate Host for the extension host,
 * on the pipeline as the editor holds it (unsaved text included). The work runs in the
 * pipeline worker (extension/jobs/), never on the extension host's thread, which every
 * extension shares: these functions only send a job and relay its progress. Results come
 * back in the webview protocol's shapes. No `vscode` import, so unit tests run it in Node.
 *
 * Two ways in. {@link runPipelineViews}, {@link exportBundleInWorker} and
 * {@link calibrateHostIn} name the weights by the `.sense` file, and the worker reads them
 * itself (through io/user-files, confined to the document's roots), so no weight buffer
 * crosses the thread boundary. {@link openRunner}, {@link runClipView},
 * {@link evaluateFolderView} and {@link exportBundleTo} keep the signatures of the
 * in-process functions they replaced, for callers that still read the weights and the
 * bundle assets on the host: those are copied to the worker.
 */
import { join } from 'node:path';
import type { CalibrationResult } from '../engine/calibrate/node-calibrate';
import type { BundleAssets } from '../engine/export/write-bundle';
import type { WeightSet } from '../engine/weights/weights';
import type { PipelineSpec } from '../language/pipeline-model';
import type { BundleManifest } from '../runtime/bundle-manifest';
import type { Cancellation, EvaluateFolderOptions } from '../runtime/node-files';
import type { OrtBackend } from '../runtime/node-ort';
import type { OrtModuleLike } from '../runtime/runner';
import type { RunView } from '../webview/protocol';
import { PipelineJobs, type JobCallOptions } from './jobs/job-client';
import { abortSignalOf } from './worker-queue';
import type { JobProgress, OrtChoice, WeightsSource } from './jobs/protocol';
import type { DocumentFiles } from './workspace-files';

export { CancelledError, type Cancellation } from '../runtime/node-files';
export { extensionBundleAssets } from './jobs/pipeline-work';
export { PipelineJobs, type JobCallOptions } from './jobs/job-client';
export { abortSignalOf } from './worker-queue';
export type { JobProgress, OrtChoice, WeightsSource } from './jobs/protocol';

/** The pipeline worker of an installed extension: `dist/pipeline-worker.cjs`, with onnxruntime-web's wasm files from `dist/ort/`. */
export function extensionPipelineJobs(extensionRoot: string): PipelineJobs {
  return new PipelineJobs({ script: join(extensionRoot, 'dist', 'pipeline-worker.cjs'), ortWasmDir: join(extensionRoot, 'dist', 'ort') });
}

let sharedJobs: PipelineJobs | undefined;

/**
 * The worker the signature-compatible functions use: the one given to
 * {@link usePipelineJobs}, else the one next to this bundle (dist/extension.cjs and
 * dist/pipeline-worker.cjs share a folder).
 */
export function pipelineJobs(): PipelineJobs {
  return (sharedJobs ??= new PipelineJobs({ script: join(__dirname, 'pipeline-worker.cjs'), ortWasmDir: join(__dirname, 'ort') }));
}

/** Makes `jobs` the worker of {@link pipelineJobs} (the extension at activation, tests); the previous one is disposed. */
export function usePipelineJobs(jobs: PipelineJobs): void {
  if (sharedJobs && sharedJobs !== jobs) void sharedJobs.dispose();
  sharedJobs = jobs;
}

/** The same spec without any `compress` line: the "before" of a before/after comparison. */
export function withoutCompression(spec: PipelineSpec): PipelineSpec {
  return { ...spec, blocks: spec.blocks.map((b) => ({ ...b, layers: b.layers.map(({ compression: _unused, ...l }) => l) })) };
}

/** True when any layer is compressed. */
export function isCompressed(spec: PipelineSpec): boolean {
  return spec.blocks.some((b) => b.layers.some((l) => l.compression !== undefined));
}

/** What to run: the document's pipeline, its files (the weights are read from them), the input and the ONNX Runtime. */
export interface PipelineRunRequest {
  kind: 'clip' | 'folder';
  spec: PipelineSpec;
  files: DocumentFiles;
  /** The clip or labelled folder (DIR/HEAD/LABEL/*.wav or *.csv). */
  target: string;
  /** With roots, the input must lie inside them, symbolic links followed (a path a message named). */
  roots?: readonly string[];
  ort: OrtChoice;
}

/** A run's views: the pipeline as written and, for a compressed one, the same run without compression (the accuracy cost). */
export interface PipelineRunViews {
  after: RunView;
  before?: RunView;
}

/**
 * Runs a clip, or evaluates a labelled folder as `sense eval` does, in the pipeline worker:
 * per head the probabilities (clip) or the accuracy, silent clips and confusion matrix
 * (folder), and the measured latency. A compressed pipeline runs a second time without its
 * compression. Progress messages say which model runs and, for a folder, which clip of how
 * many (with `fraction`, the share of the whole done); `signal` cancels with a
 * CancelledError. Weights warnings and the ONNX Runtime used arrive as `log` lines.
 */
export async function runPipelineViews(
  jobs: PipelineJobs,
  req: PipelineRunRequest,
  opts: { signal?: AbortSignal; onProgress?(message: string, fraction?: number): void; onLog?(line: string): void } = {},
): Promise<PipelineRunViews> {
  const compressed = isCompressed(req.spec);
  const runOne = (spec: PipelineSpec, label: string, pass: number): Promise<RunView> => {
    const onProgress = (p: JobProgress): void => {
      if (p.kind === 'log') opts.onLog?.(p.line);
      else if (p.kind === 'clip') opts.onProgress?.(`${label}: clip ${p.done} of ${p.total}`, (pass + p.done / p.total) / (compressed ? 2 : 1));
      else opts.onProgress?.(p.kind === 'stage' ? `${label}: ${p.message}` : `${label}: ${p.name}`);
    };
    const call: JobCallOptions = { ...(opts.signal ? { signal: opts.signal } : {}), onProgress };
    const weights = { kind: 'document', files: req.files } as const;
    const roots = req.roots ? { roots: req.roots } : {};
    return req.kind === 'clip' ? jobs.runClip({ spec, weights, ort: req.ort, clipPath: req.target, ...roots }, call) : jobs.evaluateFolder({ spec, weights, ort: req.ort, dir: req.target, ...roots }, call);
  };
  const after = await runOne(req.spec, compressed ? 'compressed' : 'pipeline', 0);
  // The accuracy cost of compression: the same run on the uncompressed weights.
  const before = compressed ? await runOne(withoutCompression(req.spec), 'uncompressed', 1) : undefined;
  return before ? { after, before } : { after };
}

/**
 * Exports `spec` with the weights its `.sense` file names to `dir` (atomically, by
 * writeBundle, in the pipeline worker) and returns the manifest; `onFile` hears each file
 * written, `onLog` the weights warnings. The bundle's runtime, demo page and onnxruntime-web
 * files come from the extension's installation at `extensionRoot`.
 */
export function exportBundleInWorker(
  jobs: PipelineJobs,
  spec: PipelineSpec,
  files: DocumentFiles,
  dir: string,
  extensionRoot: string,
  opts: { signal?: AbortSignal; onFile?(name: string): void; onLog?(line: string): void } = {},
): Promise<BundleManifest> {
  return jobs.exportBundle(
    { spec, weights: { kind: 'document', files }, dir, assets: { kind: 'installed', extensionRoot } },
    {
      ...(opts.signal ? { signal: opts.signal } : {}),
      onProgress: (p) => {
        if (p.kind === 'file') opts.onFile?.(p.name);
        else if (p.kind === 'log') opts.onLog?.(p.line);
      },
    },
  );
}

/**
 * Calibrates this machine on `spec` (the pipeline retargeted to the built-in `host`) in the
 * pipeline worker, with onnxruntime-node found next to the extension or under `searchFrom`
 * (the workspace folders). The weights are those the `.sense` file names, or seeded initial
 * ones when it names none or the file is missing (timing does not depend on their values).
 * `onProgress` hears each step, `onLog` the weights notes; `signal` cancels.
 */
export function calibrateHostIn(
  jobs: PipelineJobs,
  spec: PipelineSpec,
  files: DocumentFiles,
  runs: number,
  opts: { searchFrom?: readonly string[]; signal?: AbortSignal; onProgress?(line: string): void; onLog?(line: string): void } = {},
): Promise<CalibrationResult> {
  return jobs.calibrate(
    { spec, weights: { kind: 'document', files, ifMissing: 'init' }, runs, ...(opts.searchFrom ? { searchFrom: opts.searchFrom } : {}) },
    {
      ...(opts.signal ? { signal: opts.signal } : {}),
      onProgress: (p) => {
        if (p.kind === 'log') opts.onLog?.(p.line);
        else if (p.kind === 'stage') opts.onProgress?.(p.message);
      },
    },
  );
}

/** A pipeline opened in the worker by {@link openRunner}: what {@link runClipView} and {@link evaluateFolderView} run. */
export interface WorkerPipeline {
  readonly jobs: PipelineJobs;
  readonly spec: PipelineSpec;
  readonly weights: WeightsSource;
  readonly ort: OrtChoice;
  /** Nothing to release on the host: the worker keeps its last runners and releases them itself. */
  release(): Promise<void>;
}

/** Ids of the weight sets the host has handed to the worker, so one set opens one runner there. */
const weightIds = new WeakMap<WeightSet, number>();
let nextWeightsId = 1;

/**
 * Opens `spec` on `weights` in the pipeline worker, on onnxruntime-node or -web as
 * `backend` says (the worker loads its own; `_ort`, the host's module, is not used).
 */
export async function openRunner(spec: PipelineSpec, weights: WeightSet, _ort: OrtModuleLike | undefined, backend: OrtBackend, jobs = pipelineJobs()): Promise<WorkerPipeline> {
  let id = weightIds.get(weights);
  if (id === undefined) weightIds.set(weights, (id = nextWeightsId++));
  return { jobs, spec, weights: { kind: 'tensors', id, weights }, ort: { provider: backend }, release: () => Promise.resolve() };
}

/** An AbortSignal for a {@link Cancellation}: followed by its event when it has one (a `vscode.CancellationToken`), else polled every 100 ms until `done` settles. */
function signalOf(token: Cancellation | undefined, done: Promise<unknown>): AbortSignal | undefined {
  if (!token) return undefined;
  const t = token as Cancellation & { onCancellationRequested?(listener: () => unknown): unknown };
  if (typeof t.onCancellationRequested === 'function') return abortSignalOf(t as Required<typeof t>);
  const controller = new AbortController();
  const timer = setInterval(() => token.isCancellationRequested && controller.abort(), 100);
  void done.finally(() => clearInterval(timer)).catch(() => undefined);
  return controller.signal;
}

/**
 * Runs one clip in the worker and returns the protocol's run view (per-head probabilities
 * in label order). With `roots` the clip must lie inside them (a path a message named).
 */
export function runClipView(pipeline: WorkerPipeline, path: string, roots?: readonly string[], opts: JobCallOptions = {}): Promise<RunView> {
  return pipeline.jobs.runClip({ spec: pipeline.spec, weights: pipeline.weights, ort: pipeline.ort, clipPath: path, ...(roots ? { roots } : {}) }, opts);
}

/**
 * Evaluates a labelled folder in the worker as `sense eval` does (runtime/node-files.ts
 * evaluateFolder, DIR/HEAD/LABEL/*.wav or *.csv) and returns the protocol's run view: per
 * head the accuracy, the silent clips and the confusion matrix, and the median clip
 * latency. `onClip` reports progress; `token` cancels (a CancelledError). With `roots` (a
 * folder a message named) every sub-folder and clip must lie inside them.
 */
export function evaluateFolderView(pipeline: WorkerPipeline, dir: string, options: EvaluateFolderOptions = {}): Promise<RunView> {
  const { roots, onClip, token } = options;
  let settled: (v?: unknown) => void = () => undefined;
  const done = new Promise((r) => (settled = r));
  const signal = signalOf(token, done);
  const onProgress = (p: JobProgress): void => {
    if (p.kind === 'clip') onClip?.(p.done, p.total);
  };
  const run = pipeline.jobs.evaluateFolder({ spec: pipeline.spec, weights: pipeline.weights, ort: pipeline.ort, dir, ...(roots ? { roots } : {}) }, { ...(signal ? { signal } : {}), onProgress });
  void run.finally(settled).catch(() => undefined);
  return run;
}

/** Exports `spec` with `weights` to `dir` in the worker (atomically, by writeBundle) and returns the manifest; `onFile` hears each file written. */
export function exportBundleTo(spec: PipelineSpec, weights: WeightSet, dir: string, assets: BundleAssets, onFile?: (name: string) => void, jobs = pipelineJobs()): Promise<BundleManifest> {
  return jobs.exportBundle({ spec, weights: { kind: 'tensors', id: 0, weights }, dir, assets: { kind: 'bytes', assets } }, { onProgress: (p) => p.kind === 'file' && onFile?.(p.name) });
}
