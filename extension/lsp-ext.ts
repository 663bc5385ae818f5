/**
 * The studio's extensions to LSP: every request and notification the extension host and
 * the language server exchange beyond the standard protocol, named `senseStudio/...`,
 * each with a one-line doc, as rust-analyzer's lsp_ext.ts does. The server owns every
 * figure derived from a document (view state, estimates, spectra, compression previews,
 * partition and compression plans, source edits); the host relays them to the webview and
 * applies the edits.
 *
 * Every request that reads a document names the version it was made against
 * ({@link VersionedDocument}); the server refuses a stale one with LSP's ContentModified
 * error ({@link STALE_VERSION_CODE}) and the host asks again against the current text.
 * Parameters are validated here with zod on the server side (a bad request is refused with
 * InvalidParams naming the field), and bounded to what the UI can ask for.
 *
 * No `vscode` and no `vscode-languageclient` import: the server (extension/server/) and
 * the host both import this file, and so do the plain-Node tests.
 */
import { LSPErrorCodes, NotificationType, RequestType } from 'vscode-languageserver-protocol';
import { z } from 'zod';
import type { AutoCompressResult, CompressTarget } from '../engine/auto-compress';
import type { PipelineDiff } from '../engine/diff';
import type { PartitionResult } from '../engine/partition/partition';
import type { TextEdit } from '../engine/source-edits';
import type { PipelineSpec } from '../language/pipeline-model';
import type { CompressionMethod, ToWebviewBody, TotalsView, ViewState } from '../webview/protocol';
import type { DeviceProfilesPayload } from './server/device-profiles';

/** A document at one version: the LSP `VersionedTextDocumentIdentifier`. */
export interface VersionedDocument {
  uri: string;
  version: number;
}

/** The error code a request made against an older version of its document is refused with (LSP's ContentModified). */
export const STALE_VERSION_CODE = LSPErrorCodes.ContentModified;

/** The most K-SVD atoms a preview may ask for: the inspector's input field allows no more (webview/components/Inspector.tsx). */
export const MAX_PREVIEW_ATOMS = 65_536;

/** The largest SVD rank a request may name before the layer is known; the server also bounds it by the layer's smaller dimension. */
export const MAX_PREVIEW_RANK = 65_536;

/** The longest Auto-Partition search a request may ask for, in ms (the server runs it in a worker; cancelling stops it sooner). */
export const MAX_PARTITION_TIME_LIMIT_MS = 60_000;

// ---------------------------------------------------------------------------------------
// Parameter schemas (validated by the server; the types below are inferred from them)
// ---------------------------------------------------------------------------------------

const ident = z.string().min(1).max(200).regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, 'an identifier or layer id (letters, digits, _ and .)');
const finitePositive = z.number().finite().gt(0).max(1e12);

const documentSchema = z.strictObject({ uri: z.string().min(1).max(4096), version: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) });

/** A compression method as a request carries it, with absolute bounds; the server bounds rank and atoms by the layer too. */
export const CompressionMethodParamsSchema = z.union([
  z.strictObject({ kind: z.literal('svd'), criterion: z.literal('rank'), rank: z.number().int().min(1).max(MAX_PREVIEW_RANK) }),
  z.strictObject({ kind: z.literal('svd'), criterion: z.literal('energy'), fraction: z.number().gt(0).max(1) }),
  z.strictObject({ kind: z.literal('svd'), criterion: z.literal('error'), fraction: z.number().min(0).lt(1) }),
  z.strictObject({ kind: z.literal('sparse'), atoms: z.number().int().min(1).max(MAX_PREVIEW_ATOMS), nonzeros: z.number().int().min(1).max(MAX_PREVIEW_ATOMS) }),
  z.strictObject({ kind: z.literal('int8') }),
]);

const base = { textDocument: documentSchema, pipeline: ident.optional() };
const workDone = { workDoneToken: z.union([z.string().max(200), z.number().int()]).optional() };

/** Parameters of requests about a whole document (view state, estimate). */
export const DocumentParamsSchema = z.strictObject({ ...base });
/** Parameters of requests about one layer (its spectrum). */
export const LayerParamsSchema = z.strictObject({ ...base, ...workDone, layerId: ident });
/** Parameters of a compression preview. */
export const CompressionPreviewParamsSchema = z.strictObject({ ...base, ...workDone, layerId: ident, method: CompressionMethodParamsSchema });
/** Parameters of an Auto-Compress plan. */
export const CompressionPlanParamsSchema = z.strictObject({
  ...base,
  ...workDone,
  target: z.union([
    z.strictObject({ kind: z.literal('fit'), processor: ident }),
    z.strictObject({ kind: z.literal('within'), latencyMs: finitePositive }),
    z.strictObject({ kind: z.literal('energy'), energyMj: finitePositive }),
  ]),
});
/** Parameters of an Auto-Partition plan: α and β from the graph's sliders, else the pipeline's `optimize` line. */
export const PartitionPlanParamsSchema = z.strictObject({
  ...base,
  ...workDone,
  optimize: z.strictObject({ energyWeight: z.number().finite().min(0).max(1e6).optional(), latencyWeight: z.number().finite().min(0).max(1e6).optional() }).optional(),
  /** The settings' weights, used only when `optimize` is absent and the pipeline has no `optimize` line. */
  defaultOptimize: z.strictObject({ energyWeight: z.number().finite().min(0).max(1e6), latencyWeight: z.number().finite().min(0).max(1e6) }).optional(),
  keepPins: z.boolean().optional(),
  timeLimitMs: z.number().finite().min(0).max(MAX_PARTITION_TIME_LIMIT_MS).optional(),
});
/** Parameters of a graph action's source edit. */
export const SourceEditParamsSchema = z.strictObject({
  ...base,
  edit: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('compress'), layerId: ident, method: CompressionMethodParamsSchema }),
    z.strictObject({ kind: z.literal('removeCompression'), layerId: ident }),
    z.strictObject({ kind: z.literal('place'), targets: z.array(ident).min(1).max(10_000), processor: ident }),
    z.strictObject({ kind: z.literal('target'), device: ident }),
    /** Write observed rate: `expect <head> <label> <fraction as a percentage>`, written or its rate replaced. */
    z.strictObject({ kind: z.literal('expect'), head: ident, label: z.string().min(1).max(256), fraction: z.number().finite().min(0).max(1) }),
  ]),
});

/**
 * Parameters of a pipeline's checked spec: refused while the pipeline has errors unless
 * `allowErrors` (Compress Layer lists the layers of any pipeline that lowers);
 * `retargetToHost` asks for the same pipeline on the built-in device `host`, its place
 * lines dropped (Calibrate Host).
 */
export const PipelineSpecParamsSchema = z.strictObject({ ...base, allowErrors: z.boolean().optional(), retargetToHost: z.boolean().optional() });

/** Parameters of an ONNX model's read-only graph: the model file (a `file:` URI) and the device to estimate it on (default: the import's own guess). */
export const OnnxViewStateParamsSchema = z.strictObject({ uri: z.string().min(1).max(4096), device: ident.optional() });
/** Parameters of Import as Pipeline: the model file; `overwrite` replaces an existing `.sense` or weights file beside it (the host asks first). */
export const OnnxImportParamsSchema = z.strictObject({ uri: z.string().min(1).max(4096), overwrite: z.boolean() });

/**
 * Parameters of Compare with HEAD / with File: the document's pipeline compared with the file's
 * committed version (`head`) or with another `.sense` file (a `file:` URI inside the workspace).
 */
export const CompareParamsSchema = z.strictObject({
  ...base,
  against: z.discriminatedUnion('kind', [z.strictObject({ kind: z.literal('head') }), z.strictObject({ kind: z.literal('file'), uri: z.string().min(1).max(4096) })]),
});

export type DocumentParams = z.infer<typeof DocumentParamsSchema>;
export type CompareParams = z.infer<typeof CompareParamsSchema>;
export type OnnxViewStateParams = z.infer<typeof OnnxViewStateParamsSchema>;
export type OnnxImportParams = z.infer<typeof OnnxImportParamsSchema>;
export type PipelineSpecParams = z.infer<typeof PipelineSpecParamsSchema>;
export type LayerParams = z.infer<typeof LayerParamsSchema>;
export type CompressionPreviewParams = z.infer<typeof CompressionPreviewParamsSchema>;
export type CompressionPlanParams = z.infer<typeof CompressionPlanParamsSchema>;
export type PartitionPlanParams = z.infer<typeof PartitionPlanParamsSchema>;
export type SourceEditParams = z.infer<typeof SourceEditParamsSchema>;
/** One graph action as a source edit request carries it. */
export type SourceEditAction = SourceEditParams['edit'];

// ---------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------

/** The graph of a document's pipeline, or why there is none. The host adds the workspace's clips (`samples`) before posting it. */
export type ViewStateResult = { version: number; state: ViewState } | { version: number; state: null; reason: string };

/** One pipeline's estimate as the status bar and the Auto-Compress wizard show it. */
export interface PipelineEstimateView {
  name: string;
  /** The target device's name, when the pipeline lowered. */
  target?: string;
  /** Each processor's name, memory use and limit (bytes), for the "fit which processor" choice. */
  processors?: { name: string; memoryBytes: number; memoryLimitBytes?: number }[];
  totals?: TotalsView;
  /** Why there is no estimate, in a sentence, when there is none. */
  estimateError?: string;
  /** Sources of the measured device profiles applied. */
  profiles?: string[];
}

/** Every pipeline of a document, estimated at `version`. */
export interface EstimateResult {
  version: number;
  pipelines: PipelineEstimateView[];
}

/** A layer's singular-value spectrum (the webview's `spectrum` body without its `type`). */
export type LayerSpectrumResult = Omit<Extract<ToWebviewBody, { type: 'spectrum' }>, 'type'> & { version: number };

/** A compression preview (the webview's `compressionPreview` body without its `type`). */
export type CompressionPreviewResult = Omit<Extract<ToWebviewBody, { type: 'compressionPreview' }>, 'type'> & { version: number };

/** An Auto-Compress plan: the optimizer's result without its internal spec and estimate, and the edits that write it. */
export interface CompressionPlanResult {
  version: number;
  result: Omit<AutoCompressResult, 'spec' | 'estimate'>;
  /** True when the layers' spectra came from the weights file; false for the data-free estimate. */
  fromWeights: boolean;
  /** The edits that write the plan against `version` (empty when it is infeasible or changes nothing). */
  edits: TextEdit[];
}

/** Cost of one placement under one objective. */
export interface PlanFigures {
  /** α x energy (mJ) + β x latency (ms). */
  objective: number;
  endToEndLatencyMs: number;
  energyPerInferenceMj: number;
}

/** An Auto-Partition plan and the edits that write its `place` lines. */
export interface PartitionPlanResult {
  version: number;
  /** The pipeline planned and its target device, for the studio's messages. */
  pipeline: string;
  target: string;
  result: PartitionResult;
  /** The file's own placement under the same objective. */
  before: PlanFigures;
  after: PlanFigures;
  /** The `place` statements of the plan, without indentation. */
  statements: string[];
  /** The wall-clock time of the search, in ms. */
  tookMs: number;
  /** Empty when the plan is proven optimal, else the sentence the studio shows (auto-plans.ts optimalityNote). */
  optimalityNote: string;
  edits: TextEdit[];
}

/** The edits of one graph action and the version they apply to; the host applies them only to that version. */
export interface SourceEditResult {
  version: number;
  edits: TextEdit[];
}

/** The devices a pipeline of the document can target, and the one it targets now. */
export interface DeviceNamesResult {
  version: number;
  /** The pipeline asked about (the first that lowered when none was named); absent when the document has none. */
  pipeline?: string;
  /** The device its `target` line names, if it has one. */
  currentTarget?: string;
  /** The built-in devices and the document's own `device` blocks. */
  devices: { name: string; builtin: boolean }[];
}

/** A pipeline's checked spec, with the measured profiles applied, for what the host runs itself (run, evaluate, export, calibrate). */
export interface PipelineSpecResult {
  version: number;
  spec: PipelineSpec;
  /** Sources of the measured device profiles applied to `spec`. */
  profiles: string[];
}

/** One ONNX node the importer cannot map, with its op type and the reason (engine/import/recognise.ts). */
export interface OnnxRefusalView {
  node: string;
  opType: string;
  reason: string;
}

/**
 * An ONNX model's graph as the pipeline `sense import` would write, estimated on `device`;
 * or, when it cannot be imported, the reason and every refused node. `devices` are the
 * built-in devices the preview's target picker offers.
 */
export type OnnxViewStateResult =
  | { state: ViewState; device: string; devices: string[]; notes: string[] }
  | { state: null; reason: string; refusals: OnnxRefusalView[]; devices: string[] };

/** What Import as Pipeline did: wrote both files, or wrote nothing because they exist and `overwrite` was false. */
export type OnnxImportResult =
  | {
      written: true;
      /** Paths of the written pipeline and its safetensors weights. */
      sensePath: string;
      weightsPath: string;
      notes: string[];
      /** Errors of the written pipeline against its target (the CLI's warning), one sentence each. */
      warnings: string[];
    }
  | { written: false; existing: string[] };

/** A comparison of the document's pipeline (after) with another version of it (before), as `sense diff --json` computes it. */
export interface CompareResult {
  version: number;
  /** What the text was compared with, in words (`deepear.sense at HEAD`). */
  against: string;
  diff: PipelineDiff;
}

/** The target of an Auto-Compress plan, as a request carries it. */
export type CompressTargetParams = CompressTarget;
export type { CompressionMethod };

// ---------------------------------------------------------------------------------------
// Requests and notifications
// ---------------------------------------------------------------------------------------

/** The graph editor's view state of a document's pipeline (its first that lowered, or `pipeline`). */
export const viewStateRequest = new RequestType<DocumentParams, ViewStateResult, void>('senseStudio/viewState');

/** The engine's estimate of every pipeline of a document, with the measured profiles applied (status bar, wizard). */
export const estimateRequest = new RequestType<DocumentParams, EstimateResult, void>('senseStudio/estimate');

/** The singular values of a dense or conv layer's weight matrix; computed in a worker, cancellable. */
export const layerSpectrumRequest = new RequestType<LayerParams, LayerSpectrumResult, void>('senseStudio/layerSpectrum');

/** What compressing a layer with a method would cost and save, with its error from the real weights; in a worker, cancellable. */
export const compressionPreviewRequest = new RequestType<CompressionPreviewParams, CompressionPreviewResult, void>('senseStudio/compressionPreview');

/** An Auto-Compress plan for a target and the edits that write it; in a worker, cancellable, with progress. */
export const compressionPlanRequest = new RequestType<CompressionPlanParams, CompressionPlanResult, void>('senseStudio/compressionPlan');

/** An Auto-Partition plan and the edits that write its `place` lines; in a worker, cancellable, with progress. */
export const partitionPlanRequest = new RequestType<PartitionPlanParams, PartitionPlanResult, void>('senseStudio/partitionPlan');

/** The edits of one graph action (compress, remove a compression, place, retarget) against the version named. */
export const sourceEditRequest = new RequestType<SourceEditParams, SourceEditResult, void>('senseStudio/sourceEdit');

/** The devices the document's pipeline can target (Select Target's list) and the one it targets now. */
export const deviceNamesRequest = new RequestType<DocumentParams, DeviceNamesResult, void>('senseStudio/deviceNames');

/** A pipeline's checked spec (refused while it has errors unless allowed), or its copy retargeted to `host` for Calibrate Host. */
export const pipelineSpecRequest = new RequestType<PipelineSpecParams, PipelineSpecResult, void>('senseStudio/pipelineSpec');

/** The deltas of the document's pipeline against its committed version (git HEAD) or another `.sense` file, by engine/diff.ts. */
export const compareRequest = new RequestType<CompareParams, CompareResult, void>('senseStudio/compare');

/** The read-only graph of an ONNX model file as `sense import` would write it, with per-layer and per-processor estimates on a chosen device. */
export const onnxViewStateRequest = new RequestType<OnnxViewStateParams, OnnxViewStateResult, void>('senseStudio/onnxViewState');

/** Import as Pipeline: writes the `.sense` file and safetensors weights beside an ONNX model, as `sense import MODEL.onnx` does. */
export const onnxImportRequest = new RequestType<OnnxImportParams, OnnxImportResult, void>('senseStudio/onnxImport');

/** The measured device profiles the studio applies (client to server; extension/server/device-profiles.ts). */
export const deviceProfilesNotification = new NotificationType<DeviceProfilesPayload>('senseStudio/deviceProfiles');
