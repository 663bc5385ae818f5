/** `sense export FILE -o DIR`: writes a bundle (manifest, one ONNX model per partition, runtime, demo page). */
import { buildBundle } from '../../engine/export/bundle';
import { defaultAssets, writeBundle } from '../../engine/export/write-bundle';
import { loadPipelineWeights } from '../../engine/weights/node-weights';
import { loadPipeline, UsageError } from '../load';
import type { CommandContext } from '../main';
import { flagValue, positionals } from './run';

export const summary = 'export a bundle: manifest.json, one .onnx per partition, runtime.js and a demo index.html';
export const usage = 'sense export FILE.sense -o DIR [--pipeline NAME]';

/** Runs the command; returns the exit code. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const [file] = positionals(args, ['-o', '--out', '--pipeline']);
  const dir = flagValue(args, '-o') ?? flagValue(args, '--out');
  if (!file || !dir) throw new UsageError(`usage: ${usage}`);
  const { spec } = await loadPipeline(file, flagValue(args, '--pipeline'));
  let manifest;
  try {
    const { weights, warnings } = loadPipelineWeights(spec, file);
    for (const w of warnings) ctx.err(`warning: ${w}`);
    const assets = defaultAssets();
    manifest = writeBundle(dir, buildBundle(spec, weights), assets);
  } catch (e) {
    throw new UsageError((e as Error).message, 1);
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
