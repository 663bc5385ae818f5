/**
 * Node-only weight file I/O for the CLI, tests and the extension host: reads a
 * safetensors or ONNX weights file (by extension) through io/user-files (regular files
 * only, bounded, optionally confined to roots), checks it against the pipeline, and decides
 * whether a file at the weights path is one Sense Studio wrote and may replace. The rest of
 * engine/weights takes bytes and runs anywhere.
 */
import { dirname, resolve } from 'node:path';
import type { PipelineSpec } from '../../language/pipeline-model';
import { MAX_FILE_BYTES, readUserFileSync, statUserPath, UserFileError, type UserFileOptions } from '../../io/user-files';
import { readOnnxWeights } from './onnx-weights';
import { parseSafetensors } from './safetensors';
import { checkWeights, type WeightSet } from './weights';

/** Largest weights file read, in bytes (io/user-files' limit for weights). */
export const MAX_WEIGHTS_FILE_BYTES = MAX_FILE_BYTES.weights;

/** The pipeline's weights file, resolved against the `.sense` file's folder; undefined without a `weights` line. */
export function weightsPathFor(spec: PipelineSpec, sensePath: string): string | undefined {
  return spec.weightsPath === undefined ? undefined : resolve(dirname(resolve(sensePath)), spec.weightsPath);
}

/** Options of reading weights: `roots` confine the path (symbolic links resolved) to those folders. */
export type WeightsReadOptions = Pick<UserFileOptions, 'roots'>;

/**
 * Reads a weights file by extension (`.onnx`, else safetensors). Throws
 * {@link UserFileError} for a path that is missing, not a regular file, too large or outside
 * `roots`, and an Error naming the path for contents that do not parse.
 */
export function readWeightsFile(path: string, options: WeightsReadOptions = {}): WeightSet {
  const onnx = path.toLowerCase().endsWith('.onnx');
  let bytes: Uint8Array;
  try {
    bytes = readUserFileSync(path, onnx ? 'onnx' : 'weights', options);
  } catch (e) {
    if (e instanceof UserFileError && e.reason === 'not-found')
      throw new UserFileError(`${e.message}, fix the 'weights' line, or run 'sense init-weights' (or 'sense train') to create it`, e.path, e.reason);
    throw e;
  }
  return onnx ? readOnnxWeights(bytes, path).tensors : parseSafetensors(bytes, path).tensors;
}

/**
 * Loads and checks the weights a pipeline names (`weights "..."`, relative to the .sense
 * file; with `roots`, it must resolve inside them). Throws an Error naming the file when the
 * pipeline has no weights line, the file cannot be read or parsed, or a tensor is missing or
 * has the wrong shape; returns the weights and warnings for unused tensors.
 */
export function loadPipelineWeights(spec: PipelineSpec, sensePath: string, options: WeightsReadOptions = {}): { weights: WeightSet; path: string; warnings: string[] } {
  const path = weightsPathFor(spec, sensePath);
  if (!path) throw new Error(`${sensePath}: pipeline ${spec.name} has no 'weights' line; add one (weights "model.safetensors") and run 'sense init-weights ${sensePath}' or train it`);
  const weights = readWeightsFile(path, options);
  const { warnings } = checkWeights(spec, weights, path);
  return { weights, path, warnings };
}

/** The `__metadata__` keys whose value, starting with `sense `, marks a file Sense Studio wrote. */
const WRITER_KEYS = ['generator', 'trained_by'] as const;

/** The metadata that marks weights as written by `command` (e.g. `sense train`); merge it into the file's `__metadata__`. */
export function senseWriterMetadata(command: string): Record<string, string> {
  return { generator: command };
}

/**
 * What is at `path` as far as replacing it goes: `absent`; `sense` (a safetensors file whose
 * `__metadata__` says a `sense` command wrote it: `generator` or, in older files,
 * `trained_by`); or `foreign` (anything else, including files that cannot be read), with a
 * reason. Symbolic links are followed; a special file is `foreign` and never opened for long.
 */
export function weightsOwnership(path: string, options: WeightsReadOptions = {}): { kind: 'absent' } | { kind: 'sense'; writer: string } | { kind: 'foreign'; why: string } {
  if (!statUserPath(path, 'weights')) return { kind: 'absent' };
  let metadata: Record<string, string>;
  try {
    metadata = parseSafetensors(readUserFileSync(path, 'weights', options), path).metadata;
  } catch (e) {
    return { kind: 'foreign', why: e instanceof UserFileError ? e.message : 'it is not a safetensors file' };
  }
  for (const key of WRITER_KEYS) {
    const writer = metadata[key];
    if (writer?.startsWith('sense ')) return { kind: 'sense', writer };
  }
  return { kind: 'foreign', why: 'its safetensors metadata does not say a sense command wrote it' };
}
