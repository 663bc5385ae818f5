/**
 * ONNX models in the studio, answered by the language server: the read-only graph of a
 * `.onnx` file (senseStudio/onnxViewState) and Import as Pipeline (senseStudio/onnxImport).
 * Both read the model through io/user-files.ts with the 'onnx' limits and import it with
 * engine/import, the code of `sense import`, so the preview shows exactly the pipeline the
 * import writes, estimated by the same cost model as any `.sense` file. The written text is
 * lowered in the server's private workspace (never the editor's, so its diagnostics reach no
 * Problems panel); a big model is decoded and recognised here, in the server process, never
 * on the extension host thread.
 *
 * Reading a model only decodes it (bounded, checked, fuzzed in test/unit/fuzz), so the
 * preview works in Restricted Mode; Import writes files, and the host asks for trust first.
 */
import { basename, dirname, extname, join } from 'node:path';
import { URI } from 'langium';
import { applyMatchingProfiles, type LoadedProfile } from '../../engine/calibrate/profile';
import { estimatePipeline } from '../../engine/estimate';
import { importOnnx, OnnxImportError, type ImportResult } from '../../engine/import/import-onnx';
import { senseName } from '../../engine/import/write-sense';
import { applyEdits, targetEdits, type PipelineOutline } from '../../engine/source-edits';
import { senseWriterMetadata } from '../../engine/weights/node-weights';
import { encodeSafetensors } from '../../engine/weights/safetensors';
import { checkWeights } from '../../engine/weights/weights';
import { isUserFileError, readUserFile, statUserPath, writeUserFileAtomic } from '../../io/user-files';
import type { PipelineSpec } from '../../language/pipeline-model';
import { buildViewState, type SourceDiagnostic } from '../graph-model';
import type { OnnxImportParams, OnnxImportResult, OnnxViewStateParams, OnnxViewStateResult } from '../lsp-ext';

/** A pipeline text lowered in the server's private workspace. */
export interface LoweredText {
  spec?: PipelineSpec;
  outline?: PipelineOutline;
  diagnostics: SourceDiagnostic[];
}

/** What the ONNX requests need from the server: lowering in its private workspace, the built-in devices, the measured profiles. */
export interface OnnxHost {
  /** Lowers pipeline `name` of `text` as a document at `uri` in the private workspace. */
  lower(text: string, uri: string, name: string): Promise<LoweredText>;
  builtinDevices(): string[];
  profiles(): readonly LoadedProfile[];
}

/** A refusal the server answers with: the message is shown as it is (the request names itself elsewhere). */
export class OnnxRequestError extends Error {}

/**
 * Where Import as Pipeline writes for the model at `modelPath`: the `.sense` file and the
 * safetensors weights of the same stem beside it, and the pipeline's name, as
 * `sense import MODEL.onnx` without `-o` does.
 */
export function importPaths(modelPath: string): { sensePath: string; weightsPath: string; name: string } {
  const stem = basename(modelPath, extname(modelPath));
  const dir = dirname(modelPath);
  return { sensePath: join(dir, `${stem}.sense`), weightsPath: join(dir, `${stem}.safetensors`), name: senseName(stem, 'Imported') };
}

function modelPathOf(uri: string): string {
  const u = URI.parse(uri);
  if (u.scheme !== 'file') throw new OnnxRequestError(`${uri} is not a file on disk; open an .onnx file from a folder.`);
  if (extname(u.fsPath).toLowerCase() !== '.onnx') throw new OnnxRequestError(`${u.fsPath} is not an .onnx file.`);
  return u.fsPath;
}

/** Errors of the written pipeline, without the missing weights file (written with it, or absent in a preview). */
function pipelineErrors(diagnostics: readonly SourceDiagnostic[]): SourceDiagnostic[] {
  return diagnostics.filter((d) => d.severity === 1 && !/weights file/i.test(d.message));
}

type Imported = { path: string; result: ImportResult };

async function importModel(uri: string, weightsFile: string, name: string): Promise<Imported> {
  const path = modelPathOf(uri);
  try {
    const bytes = await readUserFile(path, 'onnx');
    return { path, result: importOnnx(bytes, { file: basename(path), name, weightsFile }) };
  } catch (e) {
    if (e instanceof OnnxImportError || isUserFileError(e)) throw new OnnxRequestError(e.message);
    throw e;
  }
}

/** senseStudio/onnxViewState: the graph `sense import` would write, estimated on `params.device` (else the import's own target). */
export async function onnxViewState(host: OnnxHost, params: OnnxViewStateParams): Promise<OnnxViewStateResult> {
  const devices = host.builtinDevices();
  if (params.device !== undefined && !devices.includes(params.device)) throw new OnnxRequestError(`'${params.device}' is not a built-in device; choose one of ${devices.join(', ')}.`);
  let imported: Imported;
  try {
    const { name, weightsPath } = importPaths(modelPathOf(params.uri));
    imported = await importModel(params.uri, basename(weightsPath), name);
  } catch (e) {
    if (e instanceof OnnxRequestError) return { state: null, reason: e.message, refusals: [], devices };
    throw e;
  }
  const { path, result } = imported;
  if (!result.ok) {
    const n = result.refusals.length;
    return {
      state: null,
      reason: `${basename(path)}: ${n} part${n === 1 ? '' : 's'} of the model cannot be written in the language, so it cannot be shown or imported:`,
      refusals: result.refusals.map((r) => ({ node: r.node, opType: r.opType, reason: r.reason })),
      devices,
    };
  }
  const { name, sensePath } = importPaths(path);
  const at = `${URI.file(sensePath).toString()}.preview.sense`;
  let text = result.text;
  let lowered = await host.lower(text, at, name);
  if (params.device !== undefined && lowered.outline) {
    text = applyEdits(text, targetEdits(text, lowered.outline, params.device));
    lowered = await host.lower(text, at, name);
  }
  if (!lowered.spec) throw new Error(`the imported pipeline of ${path} does not lower: ${pipelineErrors(lowered.diagnostics).map((d) => d.message).join('; ')}`);
  const spec = applyMatchingProfiles(lowered.spec, host.profiles()).spec;
  const diagnostics = lowered.diagnostics.filter((d) => !/weights file/i.test(d.message));
  let estimate;
  try {
    estimate = estimatePipeline(spec);
  } catch (e) {
    return { state: null, reason: `${basename(path)} imports, but its estimate on ${spec.target.name} failed: ${(e as Error).message}`, refusals: [], devices };
  }
  return { state: buildViewState({ spec, estimate, documentVersion: 0, diagnostics }), device: spec.target.name, devices, notes: result.notes };
}

/**
 * senseStudio/onnxImport: writes the `.sense` file and weights beside the model, as
 * `sense import MODEL.onnx` does: the text must lower and its weights fit it before anything
 * is written, the weights are written before the text (a pipeline never names weights that
 * are not there), each atomically. Without `overwrite`, existing files are reported and
 * nothing is written.
 */
export async function onnxImport(host: OnnxHost, params: OnnxImportParams): Promise<OnnxImportResult> {
  const { sensePath, weightsPath, name } = importPaths(modelPathOf(params.uri));
  if (!params.overwrite) {
    const existing = [sensePath, weightsPath].filter((p) => statUserPath(p, 'pipeline') !== undefined);
    if (existing.length > 0) return { written: false, existing };
  }
  const { path, result } = await importModel(params.uri, basename(weightsPath), name);
  if (!result.ok) throw new OnnxRequestError(result.message);
  const lowered = await host.lower(result.text, URI.file(sensePath).toString(), name);
  if (!lowered.spec) throw new Error(`the imported pipeline of ${path} does not lower: ${pipelineErrors(lowered.diagnostics).map((d) => d.message).join('; ')}`);
  checkWeights(lowered.spec, result.weights, weightsPath);
  try {
    writeUserFileAtomic(weightsPath, encodeSafetensors(result.weights, { pipeline: name, source: basename(path), ...senseWriterMetadata('sense import') }), 'weights');
    writeUserFileAtomic(sensePath, result.text, 'pipeline');
  } catch (e) {
    if (isUserFileError(e)) throw new OnnxRequestError(e.message);
    throw e;
  }
  const warnings = pipelineErrors(lowered.diagnostics).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
  return { written: true, sensePath, weightsPath, notes: result.notes, warnings };
}
