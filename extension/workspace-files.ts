/**
 * The files a `.sense` document or a webview message names, as the extension host reads
 * them: through io/user-files.ts (regular files only, opened without blocking, bounded in
 * size), asynchronously (the extension host's one thread serves every extension), and
 * confined to the workspace folders with symbolic links followed, so a repository cannot
 * make the studio read `/dev/zero`, a FIFO or a file outside it. A path the user picked in a
 * dialog is the user's own choice and is read without confinement.
 *
 * In Restricted Mode the graph's spectrum and compression preview still read the weights
 * file the `.sense` file names: reading a confined regular file runs nothing, and the
 * language features and the graph are what Restricted Mode keeps. Running, evaluating,
 * exporting and calibrating need trust (extension.ts, plan-commands.ts).
 *
 * No `vscode` import, so unit tests run it in Node.
 */
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { readOnnxWeights } from '../engine/weights/onnx-weights';
import { parseSafetensors } from '../engine/weights/safetensors';
import { checkWeights, type WeightSet } from '../engine/weights/weights';
import type { PipelineSpec } from '../language/pipeline-model';
import { readUserFile, resolveUserPath, type UserFileKind } from '../io/user-files';

/** Where the files of one `.sense` document may lie. */
export interface DocumentFiles {
  /** The `.sense` file on disk. */
  sensePath: string;
  /** The folders every file it or a webview message names must lie in (symbolic links resolved). */
  roots: readonly string[];
}

/**
 * The roots of a `.sense` file: the workspace folders, and the file's own folder when it
 * lies in none of them (a file opened on its own still finds the weights beside it).
 */
export function documentFiles(sensePath: string, workspaceFolders: readonly string[]): DocumentFiles {
  const inFolder = workspaceFolders.some((f) => {
    const rel = relative(f, sensePath);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
  });
  return { sensePath, roots: inFolder ? [...workspaceFolders] : [...workspaceFolders, dirname(sensePath)] };
}

/**
 * Resolves a path a webview message or a command argument named, relative to the first
 * root (the workspace folder), to its real path inside the roots. Throws a
 * UserFileError naming the path when it leaves them.
 */
export function resolveInRoots(named: string, roots: readonly string[], kind: UserFileKind): string {
  const full = isAbsolute(named) || roots.length === 0 ? named : resolve(roots[0], named);
  return resolveUserPath(full, kind, roots);
}

/** The pipeline's weights file (its `weights` line, relative to the `.sense` file), or undefined without one. */
export function weightsFileOf(spec: PipelineSpec, sensePath: string): string | undefined {
  return spec.weightsPath === undefined ? undefined : resolve(dirname(resolve(sensePath)), spec.weightsPath);
}

/** Reads and parses a weights file (`.onnx` by extension, else safetensors) inside `roots`; errors name the path. */
export async function readWeightsIn(path: string, roots: readonly string[]): Promise<WeightSet> {
  const bytes = await readUserFile(path, 'weights', { roots });
  return path.toLowerCase().endsWith('.onnx') ? readOnnxWeights(bytes, path).tensors : parseSafetensors(bytes, path).tensors;
}

/**
 * Loads and checks the weights a pipeline names, confined to the document's roots. Throws
 * an Error naming the file when there is no `weights` line, the file is missing, not a
 * regular file, outside the workspace, or does not match the pipeline.
 */
export async function readPipelineWeights(spec: PipelineSpec, files: DocumentFiles): Promise<{ weights: WeightSet; path: string; warnings: string[] }> {
  const path = weightsFileOf(spec, files.sensePath);
  if (!path) throw new Error(`${files.sensePath}: pipeline ${spec.name} has no 'weights' line; add one (weights "model.safetensors") and run 'sense init-weights' or train it.`);
  const weights = await readWeightsIn(path, files.roots);
  const { warnings } = checkWeights(spec, weights, path);
  return { weights, path, warnings };
}
