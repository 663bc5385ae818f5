/**
 * `sense init-weights FILE [--seed N] [--force]`: seeded initial weights at the path the
 * `weights` line names. That path must lie inside the current directory or the file's folder
 * (cli/load.ts senseRoots), and an existing file is replaced only with `--force`.
 */
import { initWeights } from '../../engine/weights/init';
import { senseWriterMetadata, weightsOwnership, weightsPathFor } from '../../engine/weights/node-weights';
import { encodeSafetensors } from '../../engine/weights/safetensors';
import { elementsOf } from '../../engine/weights/weights';
import { resolveUserPath, writeUserFileAtomic } from '../../io/user-files';
import { expectPositionals, integerFlag, parseCommandArgs } from '../args';
import { loadPipeline, namingError, senseRoots, UsageError } from '../load';
import type { CommandContext } from '../main';

export const summary = 'write seeded initial weights (He/Glorot) and identity normalisation to the file the weights line names';
export const usage = 'sense init-weights FILE [--seed N] [--force] [--pipeline NAME]';

/** Runs the command; returns the exit code. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { seed: { type: 'string' }, force: { type: 'boolean' }, pipeline: { type: 'string' } }, usage);
  expectPositionals(positionals, 1, 1, 'one .sense file', usage);
  const [file] = positionals;
  const seed = integerFlag('--seed', values.seed, 1, 0, Number.MAX_SAFE_INTEGER, 'a non-negative integer');
  const { spec } = await loadPipeline(file, values.pipeline);
  const path = weightsPathFor(spec, file);
  if (!path) throw new UsageError(`${file}: pipeline ${spec.name} has no 'weights' line; add one, e.g. weights "${spec.name.toLowerCase()}.safetensors"`);
  if (path.toLowerCase().endsWith('.onnx')) throw new UsageError(`${file}: the weights line names an ONNX file (${path}); init-weights writes safetensors, so name a .safetensors file`);
  const roots = senseRoots(file);
  const weights = initWeights(spec, seed);
  try {
    resolveUserPath(path, 'weights', roots);
    const owner = weightsOwnership(path, { roots });
    if (owner.kind === 'sense' && !values.force) throw new UsageError(`${path} already exists (written by ${owner.writer}); pass --force to overwrite it with initial weights`);
    if (owner.kind === 'foreign' && !values.force)
      throw new UsageError(`${path} already exists and is not a weights file written by sense (${owner.why}); pass --force to replace it with initial weights`);
    writeUserFileAtomic(path, encodeSafetensors(weights, { pipeline: spec.name, seed: String(seed), ...senseWriterMetadata('sense init-weights') }), 'weights', { roots });
  } catch (e) {
    throw namingError(e, [path], 1);
  }
  const params = [...weights.values()].reduce((a, t) => a + elementsOf(t.shape), 0);
  ctx.out(`${path}: ${weights.size} tensors, ${params} parameters, seed ${seed}`);
  return 0;
}
