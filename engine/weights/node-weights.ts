/**
 * Node-only weight file I/O for the CLI, tests and the extension host: reads a
 * safetensors or ONNX weights file (by extension), checks it against the pipeline, and
 * writes files atomically. The rest of engine/weights takes bytes and runs anywhere.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, basename, join, resolve } from 'node:path';
import type { PipelineSpec } from '../../language/pipeline-model';
import { readOnnxWeights } from './onnx-weights';
import { parseSafetensors } from './safetensors';
import { checkWeights, type WeightSet } from './weights';

/** Largest weights file read, in bytes (4 GiB, above which float32 ONNX and V8 buffers fail anyway). */
export const MAX_WEIGHTS_FILE_BYTES = 2 ** 32 - 1;

/** The pipeline's weights file, resolved against the `.sense` file's folder; undefined without a `weights` line. */
export function weightsPathFor(spec: PipelineSpec, sensePath: string): string | undefined {
  return spec.weightsPath === undefined ? undefined : resolve(dirname(resolve(sensePath)), spec.weightsPath);
}

/** Reads a weights file by extension (`.onnx`, else safetensors); errors name the path. */
export function readWeightsFile(path: string): WeightSet {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new Error(`${path}: cannot read the weights file (${(e as NodeJS.ErrnoException).code ?? String(e)}); check the 'weights' line, or run 'sense init-weights' to create it`);
  }
  if (size > MAX_WEIGHTS_FILE_BYTES) throw new Error(`${path}: ${size} bytes is beyond the ${MAX_WEIGHTS_FILE_BYTES}-byte limit for a weights file`);
  const bytes = new Uint8Array(readFileSync(path));
  return path.toLowerCase().endsWith('.onnx') ? readOnnxWeights(bytes, path).tensors : parseSafetensors(bytes, path).tensors;
}

/**
 * Loads and checks the weights a pipeline names (`weights "..."`, relative to the .sense
 * file). Throws an Error naming the file when the pipeline has no weights line, the file
 * cannot be read or parsed, or a tensor is missing or has the wrong shape; returns the
 * weights and warnings for unused tensors.
 */
export function loadPipelineWeights(spec: PipelineSpec, sensePath: string): { weights: WeightSet; path: string; warnings: string[] } {
  const path = weightsPathFor(spec, sensePath);
  if (!path) throw new Error(`${sensePath}: pipeline ${spec.name} has no 'weights' line; add one (weights "model.safetensors") and run 'sense init-weights ${sensePath}' or train it`);
  const weights = readWeightsFile(path);
  const { warnings } = checkWeights(spec, weights, path);
  return { weights, path, warnings };
}

/**
 * Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync, then
 * rename over the target, so a crash leaves either the old file or the new one.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now().toString(36)}`);
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx');
    let at = 0;
    while (at < data.length) at += writeSync(fd, data, at, data.length - at);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // The temporary file may not exist; nothing else to clean.
    }
    throw e;
  }
}
