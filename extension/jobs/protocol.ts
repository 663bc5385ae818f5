/**
 * The messages between the extension host and its pipeline worker (job-worker.ts): the
 * jobs that run a pipeline's ONNX models (run a clip, evaluate a labelled folder, export a
 * bundle, calibrate this machine), their progress and their results. Everything is plain
 * data, cloned across the thread boundary; a job names its weights by the `.sense` file
 * they are relative to, and the worker reads them itself, so no weight buffer is copied.
 */
import type { CalibrationResult } from '../../engine/calibrate/node-calibrate';
import type { BundleAssets } from '../../engine/export/write-bundle';
import type { WeightSet } from '../../engine/weights/weights';
import type { PipelineSpec } from '../../language/pipeline-model';
import type { BundleManifest } from '../../runtime/bundle-manifest';
import type { OrtBackend } from '../../runtime/node-ort';
import type { RunView } from '../../webview/protocol';
import type { DocumentFiles } from '../workspace-files';

/**
 * Where a job's weights come from: the file the pipeline's `weights` line names, relative
 * to `files.sensePath` and confined to `files.roots` (with `ifMissing: 'init'`, a missing
 * file or `weights` line gives seeded initial weights, as timing does not depend on their
 * values); seeded initial weights outright; or tensors the host already holds (copied into
 * the worker; `id` names that set, so the worker reuses the runner opened on it).
 */
export type WeightsSource =
  | { kind: 'document'; files: DocumentFiles; ifMissing?: 'error' | 'init' }
  | { kind: 'init'; seed: number }
  | { kind: 'tensors'; id: number; weights: WeightSet };

/** The files an exported bundle carries besides its models: those of the extension's installation at `extensionRoot` (read in the worker), or bytes the host read. */
export type BundleAssetsSource = { kind: 'installed'; extensionRoot: string } | { kind: 'bytes'; assets: BundleAssets };

/** Which ONNX Runtime runs a clip or a folder: `senseStudio.runtime.provider`; `node` falls back to `web` when onnxruntime-node is missing. */
export interface OrtChoice {
  provider: OrtBackend;
  /** Folders searched for onnxruntime-node after the extension's own (the workspace folders). */
  searchFrom?: readonly string[];
}

/** One job for the pipeline worker. */
export type PipelineJob =
  | { kind: 'runClip'; spec: PipelineSpec; weights: WeightsSource; ort: OrtChoice; clipPath: string; roots?: readonly string[] }
  | { kind: 'evaluateFolder'; spec: PipelineSpec; weights: WeightsSource; ort: OrtChoice; dir: string; roots?: readonly string[] }
  | { kind: 'exportBundle'; spec: PipelineSpec; weights: WeightsSource; dir: string; assets: BundleAssetsSource }
  | { kind: 'calibrate'; spec: PipelineSpec; weights: WeightsSource; runs: number; searchFrom?: readonly string[] };

/** What each job kind resolves to. */
export interface PipelineJobResults {
  runClip: RunView;
  evaluateFolder: RunView;
  exportBundle: BundleManifest;
  calibrate: CalibrationResult;
}

/** Progress of a running job: a stage in words, a clip of a folder done, a bundle file written, or a line for the log (weights warnings, which ONNX Runtime ran). */
export type JobProgress =
  | { kind: 'stage'; message: string }
  | { kind: 'clip'; done: number; total: number }
  | { kind: 'file'; name: string }
  | { kind: 'log'; line: string };

/** What the worker is started with (`workerData`). */
export interface PipelineWorkerData {
  /** Where onnxruntime-web's wasm files are (the extension's `dist/ort/`); default: next to the module. */
  ortWasmDir?: string;
}
