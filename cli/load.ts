/**
 * Loading `.sense` files from disk for the CLI: one set of language services per run,
 * documents built with the built-in devices and a real file-existence check.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LangiumDocument } from 'langium';
import type { Diagnostic } from 'vscode-languageserver-types';
import { NodeFileSystem } from 'langium/node';
import { buildDocument, createSenseServices, type SenseServices } from '../language/sense-module';
import type * as ast from '../language/generated/ast';
import type { PipelineLowering } from '../language/lower';
import type { PipelineSpec } from '../language/pipeline-model';
import { engineEstimator } from '../engine/estimate';

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
  const full = resolve(path);
  let text: string;
  try {
    if (statSync(full).isDirectory()) throw new UsageError(`${path} is a directory; give a .sense file.`);
    text = readFileSync(full, 'utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const s = getServices();
  const document = await buildDocument(s, text, pathToFileURL(full).toString());
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
  const file = await loadSenseFile(path);
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
