/**
 * The studio's requests in the language server (extension/lsp-ext.ts): the one analysis of
 * a document, served from the server's own Langium workspace, so the graph, the status bar,
 * the commands, hover and CodeLens all read the same lowering with the same measured
 * profiles. Light answers (view state, estimate, source edits) are computed here; spectra,
 * previews and plans run in the worker pool (worker-pool.ts), cancellable, with progress.
 *
 * Every request names the document version it was made against. A request for an older
 * version than the server holds is refused with ContentModified (the host asks again);
 * one for a version the server has not built yet waits for the build. Parameters are
 * validated with the protocol's zod schemas, and compression bounds are checked against
 * the layer: a rank at most the weight matrix's smaller dimension, at most
 * {@link MAX_ATOMS_PER_DIMENSION} times its larger dimension in atoms.
 *
 * No `vscode` import: it runs in the server process and in plain-Node tests.
 */
import { basename, dirname, join } from 'node:path';
import { DocumentState, URI, type LangiumDocument } from 'langium';
import type { LangiumSharedServices } from 'langium/lsp';
// The server's own copy of vscode-jsonrpc: its connection recognises only its own ResponseError class.
import { ErrorCodes, LSPErrorCodes, ResponseError, type CancellationToken } from 'vscode-languageserver/node';
import type { z } from 'zod';
import { applyMatchingProfiles } from '../../engine/calibrate/profile';
import { diffEstimates } from '../../engine/diff';
import { estimatePipeline, type Estimate } from '../../engine/estimate';
import { compressLinesEdits, placeLinesEdits } from '../../engine/pipeline-text';
import { compressionEdits, expectEdits, outlineOf, placementEdits, targetEdits, type PipelineOutline, type TextEdit } from '../../engine/source-edits';
import { BUILTIN_DEVICES_URI } from '../../language/builtin-devices';
import type * as ast from '../../language/generated/ast';
import { isCompressible, notCompressibleMessage, weightMatrixShape } from '../../language/layer-shapes';
import type { CompressionSpec, LayerSpec, PipelineSpec } from '../../language/pipeline-model';
import { buildDocument, createSenseServices, type SenseServices } from '../../language/sense-module';
import { hostTargetText, withoutPlaceLines } from '../calibration-report';
import { AUTO_PARTITION_TIME_LIMIT_MS, optimalityNote } from '../auto-plans';
import { totalsOf } from '../compression-preview';
import { buildViewState, type SourceDiagnostic } from '../graph-model';
import {
  CompareParamsSchema,
  CompressionPlanParamsSchema,
  CompressionPreviewParamsSchema,
  DocumentParamsSchema,
  LayerParamsSchema,
  OnnxImportParamsSchema,
  OnnxViewStateParamsSchema,
  PipelineSpecParamsSchema,
  PartitionPlanParamsSchema,
  SourceEditParamsSchema,
  STALE_VERSION_CODE,
  type CompareResult,
  type CompressionPlanResult,
  type CompressionPreviewResult,
  type DeviceNamesResult,
  type PipelineSpecResult,
  type EstimateResult,
  type LayerSpectrumResult,
  type OnnxImportResult,
  type OnnxViewStateResult,
  type PartitionPlanResult,
  type PipelineEstimateView,
  type SourceEditResult,
  type VersionedDocument,
  type ViewStateResult,
} from '../lsp-ext';
import { documentFiles, type DocumentFiles } from '../workspace-files';
import type { MeasuredProfiles } from './device-profiles';
import { onnxImport, OnnxRequestError, onnxViewState, type OnnxHost } from './onnx-model';
import type { AnalysisJob, AnalysisJobResults } from './analysis-jobs';
import type { JobOptions, JobRunner } from './worker-pool';
import { abortSignalOf } from '../worker-queue';
import { CancelledError } from '../../runtime/node-files';
import { GitRevisionError, readAtRevision } from '../../io/git-revision';
import { isUserFileError, readUserText, resolveUserPath } from '../../io/user-files';

/** A K-SVD preview may ask for at most this many atoms per row or column of the larger dimension of the layer's weight matrix. */
export const MAX_ATOMS_PER_DIMENSION = 4;

/** The URI scheme of the built-in devices document (language/builtin-devices.ts). */
const BUILTIN_SCHEME = URI.parse(BUILTIN_DEVICES_URI).scheme;

/** How long a request waits for the server to build the version it names, in ms. */
export const BUILD_WAIT_MS = 10_000;

/** What the studio's requests need from the server around them. */
export interface StudioHost {
  services: { shared: LangiumSharedServices; Sense: SenseServices };
  profiles: MeasuredProfiles;
  jobs: JobRunner;
  /** File existence for the private workspace of retargeted copies (as the server's own services check `weights`). */
  fileExists?: (path: string) => boolean;
}

/** Progress of one request, as LSP's work-done progress reports it. */
export interface RequestProgress {
  report(message: string): void;
}

/** One pipeline of a document, lowered and estimated at one version. */
interface Analysed {
  version: number;
  text: string;
  files?: DocumentFiles;
  diagnostics: SourceDiagnostic[];
  node: ast.Pipeline;
  outline: PipelineOutline;
  /** The checked pipeline with the measured profiles applied; undefined when it has no usable input or target. */
  spec?: PipelineSpec;
  hasErrors: boolean;
  estimate?: Estimate;
  estimateError?: string;
  profiles: string[];
}

function refused(method: string, message: string, code: number = ErrorCodes.InvalidParams): ResponseError<void> {
  return new ResponseError(code, `${method}: ${message}`);
}

function parse<S extends z.ZodType>(schema: S, raw: unknown, method: string): z.infer<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw refused(method, `bad parameters (${issue ? `${issue.path.join('.') || 'top level'}: ${issue.message}` : 'invalid'})`);
}

function compressibleLayer(spec: PipelineSpec, layerId: string, method: string): LayerSpec {
  const layer = spec.blocks.flatMap((b) => b.layers).find((l) => l.id === layerId);
  if (!layer) throw refused(method, `pipeline ${spec.name} has no layer ${layerId}; the graph is out of date.`);
  if (!isCompressible(layer)) throw refused(method, notCompressibleMessage(layer));
  return layer;
}

/**
 * The layer a compression `m` names and its weight matrix's shape, refused as the graph's
 * inspector would never ask: a layer that is not compressible, or an SVD rank beyond the
 * matrix (the rank field and slider stop at its smaller dimension).
 */
function compressionTarget(spec: PipelineSpec, layerId: string, m: CompressionSpec, method: string): { layer: LayerSpec; rows: number; cols: number } {
  const layer = compressibleLayer(spec, layerId, method);
  const [rows, cols] = weightMatrixShape(layer);
  if (m.kind === 'svd' && m.criterion === 'rank' && m.rank > Math.min(rows, cols)) {
    throw refused(method, `rank ${m.rank} exceeds ${layer.id}'s weight matrix (${rows} x ${cols}); the rank is at most ${Math.min(rows, cols)}.`);
  }
  return { layer, rows, cols };
}

/** A document's diagnostics as the graph shows them: the issue code from the diagnostic or its data, the message as text. */
function sourceDiagnostics(doc: LangiumDocument): SourceDiagnostic[] {
  return (doc.diagnostics ?? []).map((d) => ({
    severity: d.severity,
    code: d.code ?? (d.data as { code?: string } | undefined)?.code,
    message: typeof d.message === 'string' ? d.message : d.message.value,
    range: d.range,
  }));
}

/** The studio's requests, one method each; `main.ts` registers them on the connection. */
export class StudioRequests {
  /** The private workspace of retargeted copies (Calibrate Host), made on first use; Langium's builder is not reentrant, so its builds queue. */
  private scratch: ReturnType<typeof createSenseServices> | undefined;
  private scratchQueue: Promise<unknown> = Promise.resolve();

  constructor(private readonly host: StudioHost) {}

  /** The built-in devices (language/builtin-devices.ts), loaded into every workspace. */
  private builtinDevices(): { name: string; builtin: true }[] {
    return this.host.services.shared.workspace.LangiumDocuments.all
      .filter((d) => d.uri.scheme === BUILTIN_SCHEME)
      .flatMap((d) => (d.parseResult.value as ast.Model).devices.map((x) => ({ name: x.name, builtin: true as const })))
      .toArray();
  }

  /** senseStudio/viewState. */
  async viewState(raw: unknown, token?: CancellationToken): Promise<ViewStateResult> {
    const method = 'senseStudio/viewState';
    const params = parse(DocumentParamsSchema, raw, method);
    const a = await this.analyse(params.textDocument, params.pipeline, method, token);
    if (!a) return { version: params.textDocument.version, state: null, reason: 'This file declares no pipeline; write `pipeline Name { ... }` to see its graph.' };
    if (!a.spec || !a.estimate) return { version: a.version, state: null, reason: a.estimateError ?? `Pipeline ${a.node.name} cannot be shown yet.` };
    return { version: a.version, state: buildViewState({ spec: a.spec, estimate: a.estimate, documentVersion: a.version, diagnostics: a.diagnostics }) };
  }

  /** senseStudio/estimate. */
  async estimate(raw: unknown, token?: CancellationToken): Promise<EstimateResult> {
    const method = 'senseStudio/estimate';
    const params = parse(DocumentParamsSchema, raw, method);
    const doc = await this.document(params.textDocument, method, token);
    const pipelines: PipelineEstimateView[] = [];
    for (const node of doc.parseResult.value.pipelines) {
      if (params.pipeline && node.name !== params.pipeline) continue;
      const a = this.analysePipeline(doc, node);
      pipelines.push({
        name: node.name,
        ...(a.spec ? { target: a.spec.target.name } : {}),
        ...(a.estimate ? { totals: totalsOf(a.estimate), processors: a.estimate.processors.map((p) => ({ name: p.name, memoryBytes: p.memoryBytes, ...(p.memoryLimitBytes !== undefined && Number.isFinite(p.memoryLimitBytes) ? { memoryLimitBytes: p.memoryLimitBytes } : {}) })) } : {}),
        ...(a.estimateError ? { estimateError: a.estimateError } : {}),
        ...(a.profiles.length > 0 ? { profiles: a.profiles } : {}),
      });
    }
    return { version: doc.textDocument.version, pipelines };
  }

  /** senseStudio/deviceNames. */
  async deviceNames(raw: unknown, token?: CancellationToken): Promise<DeviceNamesResult> {
    const method = 'senseStudio/deviceNames';
    const params = parse(DocumentParamsSchema, raw, method);
    const a = await this.analyse(params.textDocument, params.pipeline, method, token);
    const doc = await this.document(params.textDocument, method, token);
    // The built-ins and this document's own devices, as the graph's target picker has always offered.
    const devices = [
      ...this.builtinDevices(),
      ...doc.parseResult.value.devices.map((x) => ({ name: x.name, builtin: false })),
    ];
    return {
      version: doc.textDocument.version,
      ...(a ? { pipeline: a.node.name } : {}),
      ...(a?.outline.target ? { currentTarget: a.outline.target.device } : {}),
      devices,
    };
  }

  /** senseStudio/pipelineSpec. */
  async pipelineSpec(raw: unknown, token?: CancellationToken): Promise<PipelineSpecResult> {
    const method = 'senseStudio/pipelineSpec';
    const params = parse(PipelineSpecParamsSchema, raw, method);
    const a = await this.checked(params.textDocument, params.pipeline, method, token, params.allowErrors !== true);
    if (!params.retargetToHost) return { version: a.version, spec: a.spec, profiles: a.profiles };
    const matched = applyMatchingProfiles(await this.onHost(a, params.textDocument.uri, method), this.host.profiles.get());
    return { version: a.version, spec: matched.spec, profiles: matched.applied.map((p) => p.source) };
  }

  /**
   * The pipeline of `a` retargeted to the built-in device `host` with its place lines
   * dropped (the one processor runs every layer), lowered in a private workspace so the
   * copy never reaches the editor's diagnostics. Two passes: the place lines' offsets are
   * those of the retargeted text.
   */
  private onHost(a: Analysed & { spec: PipelineSpec }, uri: string, method: string): Promise<PipelineSpec> {
    return this.inScratch(async (scratch) => {
      const at = `${uri}.calibrate-host.sense`;
      const name = a.node.name;
      const retargeted = hostTargetText(a.text, a.outline);
      const first = (await buildDocument(scratch, retargeted, at)).parseResult.value.pipelines.find((p) => p.name === name);
      if (!first) throw refused(method, `pipeline ${name} did not parse after retargeting it to host.`, LSPErrorCodes.RequestFailed);
      const doc = await buildDocument(scratch, withoutPlaceLines(retargeted, first), at);
      const node = doc.parseResult.value.pipelines.find((p) => p.name === name);
      const spec = node ? scratch.Sense.lowering.Lowering.document(doc.parseResult.value).pipelines.get(node)?.spec : undefined;
      const range = node?.$cstNode?.range;
      const error = (doc.diagnostics ?? []).find((d) => d.severity === 1 && range !== undefined && d.range.start.line >= range.start.line && d.range.start.line <= range.end.line);
      if (!spec || error) throw refused(method, `pipeline ${name} cannot target the built-in device host: ${error?.message ?? 'it did not lower'}.`, LSPErrorCodes.RequestFailed);
      return spec;
    });
  }

  /** Runs `fn` on the private workspace, after the builds queued before it (Langium's builder is not reentrant). */
  private inScratch<T>(fn: (scratch: ReturnType<typeof createSenseServices>) => Promise<T>): Promise<T> {
    const run = this.scratchQueue.then(() => {
      this.scratch ??= createSenseServices(undefined, { fileExists: this.host.fileExists ?? (() => false) });
      return fn(this.scratch);
    });
    this.scratchQueue = run.catch(() => undefined);
    return run;
  }

  /** Lowers `text` as if it lay at `at` in the private workspace (so its relative paths resolve there), its document removed again. */
  private lowerPrivately(text: string, at: string, name: string): ReturnType<OnnxHost['lower']> {
    return this.inScratch(async (scratch) => {
      const doc = await buildDocument(scratch, text, at);
      try {
        const node = doc.parseResult.value.pipelines.find((p) => p.name === name);
        const spec = node ? scratch.Sense.lowering.Lowering.document(doc.parseResult.value).pipelines.get(node)?.spec : undefined;
        return { ...(spec ? { spec } : {}), ...(node ? { outline: outlineOf(node, spec, text) } : {}), diagnostics: sourceDiagnostics(doc) };
      } finally {
        await scratch.shared.workspace.DocumentBuilder.update([], [doc.uri]);
      }
    });
  }

  /** What the ONNX requests (./onnx-model.ts) need: lowering in the private workspace, whose document is removed again. */
  private onnxHost(): OnnxHost {
    return {
      lower: (text, at, name) => this.lowerPrivately(text, at, name),
      builtinDevices: () => this.builtinDevices().map((d) => d.name),
      profiles: () => this.host.profiles.get(),
    };
  }

  /** senseStudio/onnxViewState. */
  onnxViewState(raw: unknown): Promise<OnnxViewStateResult> {
    return this.onnxRequest('senseStudio/onnxViewState', OnnxViewStateParamsSchema, raw, onnxViewState);
  }

  /** senseStudio/onnxImport. */
  onnxImport(raw: unknown): Promise<OnnxImportResult> {
    return this.onnxRequest('senseStudio/onnxImport', OnnxImportParamsSchema, raw, onnxImport);
  }

  /** A request about an ONNX model: its parameters checked, a refusal of the request itself (OnnxRequestError) InvalidParams, any other failure RequestFailed. */
  private async onnxRequest<S extends z.ZodType, R>(method: string, schema: S, raw: unknown, answer: (host: OnnxHost, params: z.infer<S>) => Promise<R>): Promise<R> {
    const params = parse(schema, raw, method);
    try {
      return await answer(this.onnxHost(), params);
    } catch (e) {
      throw refused(method, (e as Error).message, e instanceof OnnxRequestError ? ErrorCodes.InvalidParams : LSPErrorCodes.RequestFailed);
    }
  }

  /**
   * senseStudio/compare: the document's pipeline (after) against its committed version or
   * another file (before), estimated as the graph estimates (measured profiles applied) and
   * compared by engine/diff.ts, as `sense diff` compares. The other version is lowered as if it
   * lay beside the document, so its weights line resolves to the same place.
   */
  async compare(raw: unknown, token?: CancellationToken): Promise<CompareResult> {
    const method = 'senseStudio/compare';
    const { params, a } = await this.checkedRequest(CompareParamsSchema, raw, method, token, true);
    if (!a.estimate) throw refused(method, a.estimateError ?? `pipeline ${a.node.name} has no estimate.`, LSPErrorCodes.RequestFailed);
    const uri = URI.parse(params.textDocument.uri);
    if (uri.scheme !== 'file') throw refused(method, `${params.textDocument.uri} is not a file on disk, so it has no other version to compare with.`, LSPErrorCodes.RequestFailed);
    const path = uri.fsPath;
    const folders = this.workspaceFolders();
    const roots = folders.length > 0 ? folders : undefined;
    let other: { text: string; label: string; at: string };
    try {
      // Confined to the workspace: the document itself (git runs in its folder) and the file to compare with.
      resolveUserPath(path, 'pipeline', roots);
      if (params.against.kind === 'head') {
        const label = `${basename(path)} at HEAD`;
        const { text } = await readAtRevision(path, 'HEAD', label);
        other = { text, label, at: URI.file(join(dirname(path), `${basename(path, '.sense')}@HEAD.sense`)).toString() };
      } else {
        const otherUri = URI.parse(params.against.uri);
        if (otherUri.scheme !== 'file') throw refused(method, `${params.against.uri} is not a file on disk.`);
        const otherPath = otherUri.fsPath;
        if (otherPath === path) throw refused(method, `${basename(path)} cannot be compared with itself; choose another file.`);
        const text = await readUserText(otherPath, 'pipeline', { roots });
        // Beside the document, so a relative weights line means what it means there; a name of its own so both can be open.
        other = { text, label: basename(otherPath), at: URI.file(join(dirname(path), `${basename(path, '.sense')}@compare.sense`)).toString() };
      }
    } catch (e) {
      if (e instanceof ResponseError) throw e;
      if (e instanceof GitRevisionError || isUserFileError(e)) throw refused(method, e.message, LSPErrorCodes.RequestFailed);
      throw e;
    }
    const name = a.node.name;
    const lowered = await this.lowerPrivately(other.text, other.at, name);
    const error = lowered.diagnostics.find((d) => d.severity === 1);
    if (error) throw refused(method, `${other.label}:${error.range.start.line + 1}:${error.range.start.character + 1}: ${error.message}`, LSPErrorCodes.RequestFailed);
    if (!lowered.spec) throw refused(method, `${other.label} has no pipeline ${name} with an input and a target to compare with.`, LSPErrorCodes.RequestFailed);
    const before = estimatePipeline(applyMatchingProfiles(lowered.spec, this.host.profiles.get()).spec);
    return { version: a.version, against: other.label, diff: diffEstimates(before, a.estimate) };
  }

  /** senseStudio/layerSpectrum. */
  async layerSpectrum(raw: unknown, token?: CancellationToken, progress?: RequestProgress): Promise<LayerSpectrumResult> {
    const method = 'senseStudio/layerSpectrum';
    const { params, a } = await this.checkedRequest(LayerParamsSchema, raw, method, token, false);
    compressibleLayer(a.spec, params.layerId, method);
    const files = this.filesOf(a, method);
    const s = await this.job(method, { kind: 'spectrum', spec: a.spec, files, layerId: params.layerId }, token, progress);
    return { ...s, version: a.version };
  }

  /** senseStudio/compressionPreview. */
  async compressionPreview(raw: unknown, token?: CancellationToken, progress?: RequestProgress): Promise<CompressionPreviewResult> {
    const method = 'senseStudio/compressionPreview';
    const { params, a } = await this.checkedRequest(CompressionPreviewParamsSchema, raw, method, token, false);
    const m = params.method;
    const { layer, rows, cols } = compressionTarget(a.spec, params.layerId, m, method);
    if (m.kind === 'sparse') {
      const maxAtoms = MAX_ATOMS_PER_DIMENSION * Math.max(rows, cols);
      if (m.atoms > maxAtoms) throw refused(method, `${m.atoms} atoms for ${layer.id}'s ${rows} x ${cols} weight matrix; a preview takes at most ${maxAtoms} (${MAX_ATOMS_PER_DIMENSION} x its larger dimension).`);
      if (m.nonzeros > Math.min(m.atoms, cols)) throw refused(method, `${m.nonzeros} nonzeros per row with ${m.atoms} atoms of length ${cols}; at most ${Math.min(m.atoms, cols)}.`);
    }
    const files = this.filesOf(a, method);
    const p = await this.job(method, { kind: 'preview', spec: a.spec, files, layerId: layer.id, method: m }, token, progress);
    return { ...p, version: a.version };
  }

  /** senseStudio/compressionPlan. */
  async compressionPlan(raw: unknown, token?: CancellationToken, progress?: RequestProgress): Promise<CompressionPlanResult> {
    const method = 'senseStudio/compressionPlan';
    const { params, a } = await this.checkedRequest(CompressionPlanParamsSchema, raw, method, token, true);
    const target = params.target;
    if (target.kind === 'fit' && !a.spec.target.processors.some((p) => p.name === target.processor)) {
      throw refused(method, `${a.spec.target.name} has no processor '${target.processor}'; it has ${a.spec.target.processors.map((p) => p.name).join(', ')}.`);
    }
    const plan = await this.job(method, { kind: 'autoCompress', spec: a.spec, ...(a.files ? { files: a.files } : {}), target }, token, progress);
    const writes = plan.result.feasible && plan.result.layers.some((l) => l.changed);
    const edits: TextEdit[] = writes ? compressLinesEdits(a.text, a.node, a.spec, plan.result) : [];
    return { version: a.version, result: plan.result, fromWeights: plan.fromWeights, edits };
  }

  /** senseStudio/partitionPlan. */
  async partitionPlan(raw: unknown, token?: CancellationToken, progress?: RequestProgress): Promise<PartitionPlanResult> {
    const method = 'senseStudio/partitionPlan';
    const { params, a } = await this.checkedRequest(PartitionPlanParamsSchema, raw, method, token, true);
    const timeLimitMs = params.timeLimitMs ?? AUTO_PARTITION_TIME_LIMIT_MS;
    const hasOptimizeLine = a.outline.members.some((m) => m.kind === 'optimize');
    const optimize = params.optimize ?? (hasOptimizeLine ? {} : (params.defaultOptimize ?? {}));
    const plan = await this.job(method, { kind: 'partition', spec: a.spec, optimize, keepPins: params.keepPins ?? false, timeLimitMs }, token, progress);
    const r = plan.result;
    return {
      version: a.version,
      pipeline: a.spec.name,
      target: a.spec.target.name,
      result: r,
      before: plan.before,
      after: { objective: r.objective, endToEndLatencyMs: r.endToEndLatencyMs, energyPerInferenceMj: r.energyPerInferenceMj },
      statements: plan.statements,
      tookMs: plan.tookMs,
      optimalityNote: optimalityNote(r, plan.tookMs, timeLimitMs),
      edits: placeLinesEdits(a.text, a.node, plan.statements),
    };
  }

  /** senseStudio/sourceEdit. */
  async sourceEdit(raw: unknown, token?: CancellationToken): Promise<SourceEditResult> {
    const method = 'senseStudio/sourceEdit';
    const params = parse(SourceEditParamsSchema, raw, method);
    const a = await this.analyse(params.textDocument, params.pipeline, method, token);
    if (!a) throw refused(method, 'the document declares no pipeline.', LSPErrorCodes.RequestFailed);
    const e = params.edit;
    try {
      if (e.kind === 'target') return { version: a.version, edits: targetEdits(a.text, a.outline, e.device) };
      if (!a.spec) throw new Error(a.estimateError ?? `pipeline ${a.node.name} has errors; fix them first (see the Problems panel).`);
      if (e.kind === 'compress') compressionTarget(a.spec, e.layerId, e.method, method);
      if (e.kind === 'expect') return { version: a.version, edits: expectEdits(a.text, a.outline, a.spec, e.head, e.label, e.fraction) };
      const edits =
        e.kind === 'place'
          ? placementEdits(a.text, a.outline, a.spec, e.targets, e.processor)
          : compressionEdits(a.text, a.outline, a.spec, e.layerId, e.kind === 'compress' ? e.method : undefined);
      return { version: a.version, edits };
    } catch (err) {
      if (err instanceof ResponseError) throw err;
      throw refused(method, (err as Error).message, LSPErrorCodes.RequestFailed);
    }
  }

  /** Runs a job in the pool; a cancelled one becomes LSP's RequestCancelled, a failed one RequestFailed with the job's message. */
  private async job<K extends AnalysisJob['kind']>(
    method: string,
    job: Extract<AnalysisJob, { kind: K }>,
    token: CancellationToken | undefined,
    progress: RequestProgress | undefined,
  ): Promise<AnalysisJobResults[K]> {
    const opts: JobOptions = { ...(token ? { signal: abortSignalOf(token) } : {}), ...(progress ? { onProgress: (m: string) => progress.report(m) } : {}) };
    try {
      return await this.host.jobs.run<K>(job, opts);
    } catch (e) {
      if (e instanceof CancelledError) throw new ResponseError(LSPErrorCodes.RequestCancelled, `${method}: cancelled.`);
      throw refused(method, (e as Error).message, LSPErrorCodes.RequestFailed);
    }
  }

  private filesOf(a: Analysed, method: string): DocumentFiles {
    if (!a.files) throw refused(method, 'the document is not a file on disk, so it has no weights file to read.', LSPErrorCodes.RequestFailed);
    return a.files;
  }

  /** A request's parameters checked against its schema, and the checked pipeline they name (see {@link checked}). */
  private async checkedRequest<S extends z.ZodType<{ textDocument: VersionedDocument; pipeline?: string }>>(
    schema: S,
    raw: unknown,
    method: string,
    token: CancellationToken | undefined,
    noErrors: boolean,
  ): Promise<{ params: z.infer<S>; a: Analysed & { spec: PipelineSpec } }> {
    const params = parse(schema, raw, method);
    return { params, a: await this.checked(params.textDocument, params.pipeline, method, token, noErrors) };
  }

  /** {@link analyse}, requiring a checked pipeline (and, when `noErrors`, one without errors). */
  private async checked(td: VersionedDocument, pipeline: string | undefined, method: string, token: CancellationToken | undefined, noErrors: boolean): Promise<Analysed & { spec: PipelineSpec }> {
    const a = await this.analyse(td, pipeline, method, token);
    if (!a) throw refused(method, 'the document declares no pipeline.', LSPErrorCodes.RequestFailed);
    if (!a.spec || (noErrors && a.hasErrors)) throw refused(method, a.estimateError ?? `pipeline ${a.node.name} has errors; fix them first (see the Problems panel).`, LSPErrorCodes.RequestFailed);
    return a as Analysed & { spec: PipelineSpec };
  }

  /** The named pipeline of the document at `td`, else its first that lowered, else its first; undefined when it has none. */
  private async analyse(td: VersionedDocument, pipeline: string | undefined, method: string, token: CancellationToken | undefined): Promise<Analysed | undefined> {
    const doc = await this.document(td, method, token);
    const model = doc.parseResult.value;
    const lowering = this.host.services.Sense.lowering.Lowering.document(model);
    let node: ast.Pipeline | undefined;
    if (pipeline) {
      node = model.pipelines.find((p) => p.name === pipeline);
      if (!node) throw refused(method, `the document has no pipeline ${pipeline}.`, LSPErrorCodes.RequestFailed);
    } else node = model.pipelines.find((p) => lowering.pipelines.get(p)?.spec) ?? model.pipelines[0];
    return node ? this.analysePipeline(doc, node) : undefined;
  }

  private analysePipeline(doc: LangiumDocument<ast.Model>, node: ast.Pipeline): Analysed {
    const text = doc.textDocument.getText();
    const lowered = this.host.services.Sense.lowering.Lowering.document(doc.parseResult.value).pipelines.get(node);
    const diagnostics = sourceDiagnostics(doc);
    const range = node.$cstNode?.range;
    const hasErrors = diagnostics.some((d) => d.severity === 1 && range !== undefined && d.range.start.line >= range.start.line && d.range.start.line <= range.end.line);
    const matched = lowered?.spec ? applyMatchingProfiles(lowered.spec, this.host.profiles.get()) : undefined;
    const spec = matched?.spec;
    const a: Analysed = {
      version: doc.textDocument.version,
      text,
      ...(doc.uri.scheme === 'file' ? { files: documentFiles(doc.uri.fsPath, this.workspaceFolders()) } : {}),
      diagnostics,
      node,
      outline: outlineOf(node, spec, text),
      hasErrors,
      profiles: matched?.applied.map((p) => p.source) ?? [],
      ...(spec ? { spec } : {}),
    };
    if (!spec) a.estimateError = `Pipeline ${node.name} needs an input and a target before it can be estimated.`;
    else if (hasErrors) a.estimateError = `Pipeline ${node.name} has errors; fix them (see the Problems panel) to see estimates.`;
    else {
      try {
        a.estimate = estimatePipeline(spec);
      } catch (e) {
        a.estimateError = `The estimate of ${node.name} failed: ${(e as Error).message}`;
      }
    }
    return a;
  }

  private workspaceFolders(): string[] {
    return (this.host.services.shared.workspace.WorkspaceManager.workspaceFolders ?? []).map((f) => URI.parse(f.uri).fsPath);
  }

  /**
   * The document at exactly `td.version`, validated: refused as stale when the server
   * holds a later version, waited for when it holds an earlier one or is still building.
   */
  private async document(td: VersionedDocument, method: string, token: CancellationToken | undefined): Promise<LangiumDocument<ast.Model>> {
    const { workspace } = this.host.services.shared;
    const uri = URI.parse(td.uri);
    const deadline = Date.now() + BUILD_WAIT_MS;
    const stale = (held: number): ResponseError<void> => refused(method, `the request was made against version ${td.version} of ${td.uri}, but it is now at version ${held}; ask again.`, STALE_VERSION_CODE);
    for (;;) {
      if (token?.isCancellationRequested) throw new ResponseError(LSPErrorCodes.RequestCancelled, `${method}: cancelled.`);
      const synced = workspace.TextDocuments?.get(td.uri);
      if (synced && synced.version > td.version) throw stale(synced.version);
      const doc = workspace.LangiumDocuments.getDocument(uri) as LangiumDocument<ast.Model> | undefined;
      if (doc) {
        const held = doc.textDocument.version;
        if (held > td.version) throw stale(held);
        if (held === td.version && doc.state >= DocumentState.Validated) return doc;
      } else if (!synced) {
        throw refused(method, `${td.uri} is not open in the language server; open it in an editor first.`, LSPErrorCodes.RequestFailed);
      }
      if (Date.now() > deadline) throw refused(method, `version ${td.version} of ${td.uri} was not built within ${BUILD_WAIT_MS / 1000} s.`, LSPErrorCodes.RequestFailed);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
