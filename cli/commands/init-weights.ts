/** `sense init-weights FILE [--seed N] [--force]`: seeded initial weights at the path the `weights` line names. */
import { existsSync } from 'node:fs';
import { initWeights } from '../../engine/weights/init';
import { weightsPathFor, writeFileAtomic } from '../../engine/weights/node-weights';
import { encodeSafetensors } from '../../engine/weights/safetensors';
import { elementsOf } from '../../engine/weights/weights';
import { loadPipeline, UsageError } from '../load';
import type { CommandContext } from '../main';
import { flagValue, positionals } from './run';

export const summary = 'write seeded initial weights (He/Glorot) and identity normalisation to the file the weights line names';
export const usage = 'sense init-weights FILE [--seed N] [--force] [--pipeline NAME]';

/** Runs the command; returns the exit code. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const [file] = positionals(args, ['--seed', '--pipeline']);
  if (!file) throw new UsageError(`usage: ${usage}`);
  const seedText = flagValue(args, '--seed');
  const seed = seedText === undefined ? 1 : Number(seedText);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed takes a non-negative integer, got '${seedText}'`);
  const { spec } = await loadPipeline(file, flagValue(args, '--pipeline'));
  const path = weightsPathFor(spec, file);
  if (!path) throw new UsageError(`${file}: pipeline ${spec.name} has no 'weights' line; add one, e.g. weights "${spec.name.toLowerCase()}.safetensors"`);
  if (path.toLowerCase().endsWith('.onnx')) throw new UsageError(`${file}: the weights line names an ONNX file (${path}); init-weights writes safetensors, so name a .safetensors file`);
  if (existsSync(path) && !args.includes('--force')) throw new UsageError(`${path} already exists; pass --force to overwrite it with initial weights`);
  const weights = initWeights(spec, seed);
  writeFileAtomic(path, encodeSafetensors(weights, { pipeline: spec.name, seed: String(seed), generator: 'sense init-weights' }));
  const params = [...weights.values()].reduce((a, t) => a + elementsOf(t.shape), 0);
  ctx.out(`${path}: ${weights.size} tensors, ${params} parameters, seed ${seed}`);
  return 0;
}
