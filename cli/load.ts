/**
 * Loading `.sense` files from disk for the CLI: one set of language services per run,
 * documents built with the built-in devices and a real file-existence check.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LangiumDocument } from 'langium';
import type { Diagnostic } from 'vscode-languageserver-types';
import { NodeFileSystem } from 'langium/node';
import { buildDocument, createSenseServices, type SenseServices } from '../language/sense-module';
import type * as ast from '../language/generated/ast';
import type { PipelineLowering } from '../language/lower';
import type { PipelineSpec } from '../language/pipeline-model';
import { engineEstimator } from '../engine/estimate';
import { loadPipelineWeights, weightsPathFor } from '../engine/weights/node-weights';
import type { WeightSet } from '../engine/weights/weights';
import { isUserFileError, readUserTextSync, writeUserFileAtomic } from '../io/user-files';

/** A loaded `.sense` file: its document, diagnostics and lowered pipelines. */
export interface LoadedFile {
  path: string;
  text: string;
  document: LangiumDocument<ast.Model>;
  diagnostics: Diagnostic[];
  pipelines: PipelineLowering[];
  services: SenseServices;
}

/** The AST node of pipeline `spec.name` in the loaded file, whose text `--write` rewrites. */
export function pipelineNode(file: LoadedFile, spec: { name: string }): ast.Pipeline {
  const node = file.document.parseResult.value.pipelines.find((p: ast.Pipeline) => p.name === spec.name);
  if (!node?.$cstNode) throw new UsageError(`${file.path}: cannot find pipeline '${spec.name}' in the text to rewrite.`);
  return node;
}

/** Thrown for problems the user can fix (a missing file, a pipeline with errors); printed without a stack. */
export class UsageError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'UsageError';
  }
}

let services: ReturnType<typeof createSenseServices> | undefined;

function getServices(): ReturnType<typeof createSenseServices> {
  services ??= createSenseServices({ ...NodeFileSystem }, { fileExists: (p) => existsSync(p), estimator: engineEstimator });
  return services;
}

/** Reads, parses and checks a `.sense` file. Throws {@link UsageError} when it cannot be read. */
export async function loadSenseFile(path: string): Promise<LoadedFile> {
  let text: string;
  try {
    // Typed on the command line, so not confined; still a regular file of bounded size.
    text = readUserTextSync(path, 'pipeline');
  } catch (e) {
    if (isUserFileError(e)) throw new UsageError(e.message);
    throw e;
  }
  return lowerSenseText(path, text);
}

/** Parses and checks `text` as if it were the file at `path` (which need not exist yet). */
export async function lowerSenseText(path: string, text: string): Promise<LoadedFile> {
  const s = getServices();
  const document = await buildDocument(s, text, pathToFileURL(resolve(path)).toString());
  const lowering = s.Sense.lowering.Lowering.document(document.parseResult.value);
  return {
    path,
    text,
    document,
    diagnostics: document.diagnostics ?? [],
    pipelines: [...lowering.pipelines.values()],
    services: s.Sense,
  };
}

/** Formats a diagnostic as `file:line:col: error|warning CODE: message` (1-based). */
export function formatDiagnostic(path: string, d: Diagnostic): string {
  const severity = d.severity === 1 ? 'error' : d.severity === 2 ? 'warning' : d.severity === 3 ? 'info' : 'hint';
  const code = d.code ?? (d.data as { code?: string } | undefined)?.code ?? 'syntax-error';
  return `${path}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${severity} ${code}: ${d.message}`;
}

/**
 * Loads a file and returns its only (or named) pipeline, refusing when the file has
 * errors: every error is listed, the way `sense check` prints them.
 */
export async function loadPipeline(path: string, pipelineName?: string): Promise<{ file: LoadedFile; spec: PipelineSpec; lowering: PipelineLowering }> {
  return choosePipeline(await loadSenseFile(path), pipelineName);
}

/** The only (or named) pipeline of a loaded file, refusing as {@link loadPipeline} does; messages name `file.path`. */
export function choosePipeline(file: LoadedFile, pipelineName?: string): { file: LoadedFile; spec: PipelineSpec; lowering: PipelineLowering } {
  const path = file.path;
  const errors = file.diagnostics.filter((d) => d.severity === 1);
  if (errors.length > 0) {
    throw new UsageError(`${path} has ${errors.length} error${errors.length === 1 ? '' : 's'}; fix ${errors.length === 1 ? 'it' : 'them'} first:\n${errors.map((d) => formatDiagnostic(path, d)).join('\n')}`, 1);
  }
  const candidates = file.pipelines.filter((p) => p.spec && (!pipelineName || p.spec.name === pipelineName));
  if (candidates.length === 0) {
    throw new UsageError(pipelineName ? `${path} has no pipeline named '${pipelineName}'.` : `${path} declares no pipeline.`);
  }
  if (candidates.length > 1) {
    throw new UsageError(`${path} declares ${candidates.length} pipelines (${candidates.map((c) => c.spec!.name).join(', ')}); choose one with --pipeline NAME.`);
  }
  return { file, spec: candidates[0].spec!, lowering: candidates[0] };
}

/**
 * Rewrites a `.sense` file the user named on the command line (`--write`, `sense fmt`),
 * atomically and keeping its mode; it is theirs to rewrite, so it is not confined. A failure
 * is a {@link UsageError} naming the file.
 */
export function writeSenseFile(path: string, text: string): void {
  try {
    writeUserFileAtomic(path, text, 'pipeline');
  } catch (e) {
    throw namingError(e, [path], 1);
  }
}

/**
 * The folders a path named inside the `.sense` file at `sensePath` must resolve into, symbolic
 * links included: the current directory and the file's own folder. Paths typed on the command
 * line are not confined; paths a `.sense` file names (its `weights` line) are, so a file from
 * someone else's repository cannot make the CLI read `/etc/passwd` or overwrite `~/.bashrc`.
 */
export function senseRoots(sensePath: string): string[] {
  return [...new Set([process.cwd(), dirname(resolve(sensePath))])];
}

/**
 * The pipeline's weights, confined to {@link senseRoots}, with their warnings printed to
 * `warn`. A file that cannot be used (missing, special, outside, corrupt, wrong shapes) is a
 * {@link UsageError} with exit code 1 whose message names it.
 */
export function pipelineWeights(spec: PipelineSpec, sensePath: string, warn: (line: string) => void): { weights: WeightSet; path: string } {
  try {
    const { weights, path, warnings } = loadPipelineWeights(spec, sensePath, { roots: senseRoots(sensePath) });
    for (const w of warnings) warn(`warning: ${w}`);
    return { weights, path };
  } catch (e) {
    throw namingError(e, [sensePath, weightsPathFor(spec, sensePath) ?? sensePath], 1);
  }
}

/**
 * `e` as a {@link UsageError} when it is the user's to fix: a {@link UserFileError}, or an
 * error whose message names one of `paths` (the parsers of weights, clips and profiles name
 * the file they read). Anything else is returned unchanged, to be reported as a bug.
 */
export function namingError(e: unknown, paths: readonly string[], exitCode = 1): unknown {
  if (e instanceof UsageError) return e;
  if (isUserFileError(e)) return new UsageError(e.message, exitCode);
  if (e instanceof Error && !(e instanceof TypeError || e instanceof ReferenceError) && paths.some((p) => p !== '' && e.message.includes(p))) return new UsageError(e.message, exitCode);
  return e;
}
