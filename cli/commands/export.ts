/**
 * `sense export FILE -o DIR`: writes a bundle (manifest, one ONNX model per partition, runtime,
 * demo page); `--pytorch DIR` writes a PyTorch project that trains the pipeline (engine/pytorch/).
 */
import { join } from 'node:path';
import { buildBundle } from '../../engine/export/bundle';
import { defaultAssets, writeBundle } from '../../engine/export/write-bundle';
import { expectPositionals, parseCommandArgs } from '../args';
import { loadPipeline, namingError, pipelineWeights, UsageError } from '../load';
import type { CommandContext } from '../main';

export const summary = 'export a bundle: manifest.json, one .onnx per partition, runtime.js and a demo index.html; or (--pytorch) a PyTorch training project';
export const usage = 'sense export FILE.sense (-o|--out DIR | --pytorch DIR) [--pipeline NAME]';

/** Runs the command; returns the exit code. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { out: { type: 'string', short: 'o' }, pytorch: { type: 'string' }, pipeline: { type: 'string' } }, usage);
  expectPositionals(positionals, 1, 1, 'one .sense file', usage);
  const [file] = positionals;
  const dir = values.out;
  if (dir === undefined && values.pytorch === undefined) throw new UsageError(`give the bundle folder with -o DIR or the project folder with --pytorch DIR; usage: ${usage}`);
  const { spec } = await loadPipeline(file, values.pipeline);
  if (values.pytorch !== undefined) {
    const project = values.pytorch;
    // The project checks trainability with engine/train/network.ts, which loads tfjs (about a
    // second): import it only when a project is written, as `sense train` does.
    const [{ writePytorchProject }, { pytorchProject }] = await Promise.all([import('../../engine/pytorch/node-project'), import('../../engine/pytorch/project')]);
    try {
      writePytorchProject(project, pytorchProject(spec));
    } catch (e) {
      throw namingError(e, [project, 'cannot write a PyTorch project'], 1);
    }
    ctx.out(`${project}: PyTorch project of ${spec.name}; train with: python3 ${join(project, 'train.py')} --data DATA --out WEIGHTS.safetensors (torchrun: see ${join(project, 'README.md')})`);
  }
  if (dir === undefined) return 0;
  const { weights } = pipelineWeights(spec, file, ctx.err);
  let manifest;
  try {
    manifest = writeBundle(dir, buildBundle(spec, weights), defaultAssets());
  } catch (e) {
    throw namingError(e, [dir, 'export:'], 1);
  }
  ctx.out(`${dir}: bundle of ${spec.name} for ${spec.target.name}`);
  for (const p of manifest.partitions) {
    ctx.out(`  ${p.model.padEnd(10)} ${p.processor.padEnd(6)} ${String(manifest.files[p.model].bytes).padStart(10)} bytes  layers ${p.layers.join(', ')}  providers ${p.providers.join(' > ')}`);
  }
  for (const c of manifest.compression) {
    ctx.out(`  ${c.layerId}: ${c.kind}${c.rank !== undefined ? ` rank ${c.rank}` : ''}, ${c.storedValues} of ${c.denseParams} values, relative error ${(c.relError * 100).toFixed(2)}%`);
  }
  ctx.out(`  heads: ${Object.entries(manifest.heads).map(([n, h]) => `${n} (${h.labels.length} labels)`).join(', ')}`);
  return 0;
}
