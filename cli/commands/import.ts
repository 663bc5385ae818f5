/**
 * `sense import MODEL.onnx [--like PIPELINE.sense] [-o OUT.sense] [--force]`: writes a
 * `.sense` pipeline and its safetensors weights (beside OUT, in the project's naming) for a
 * model trained elsewhere and exported to ONNX (engine/import/). Nothing is written when any
 * node cannot be mapped; the message lists every such node. The written text is lowered and
 * its weights checked before anything reaches the disk, so a pipeline that would not check is
 * a bug reported as one, not a file left behind.
 */
import { basename, dirname, extname, join } from 'node:path';
import { importOnnx, OnnxImportError, type LikePipeline } from '../../engine/import/import-onnx';
import { senseName } from '../../engine/import/write-sense';
import { senseWriterMetadata } from '../../engine/weights/node-weights';
import { encodeSafetensors } from '../../engine/weights/safetensors';
import { checkWeights, elementsOf, normalizationRows } from '../../engine/weights/weights';
import { readUserFileSync, statUserPath, writeUserFileAtomic } from '../../io/user-files';
import { expectPositionals, parseCommandArgs } from '../args';
import { formatDiagnostic, loadPipeline, lowerSenseText, namingError, pipelineNode, pipelineWeights, UsageError } from '../load';
import type { CommandContext } from '../main';

export const summary = 'import an ONNX model trained elsewhere as a .sense pipeline and safetensors weights (--like takes its input and features)';
export const usage = 'sense import MODEL.onnx [--like PIPELINE.sense] [--pipeline NAME] [-o|--out OUT.sense] [--name NAME] [--force]';

/** The input, features, target and optimize of the `--like` pipeline, as source text and shapes. */
async function likePipeline(path: string, pipelineName: string | undefined, ctx: CommandContext): Promise<LikePipeline> {
  const { file, spec } = await loadPipeline(path, pipelineName);
  const node = pipelineNode(file, spec);
  const textOf = (n: { $cstNode?: { text: string } } | undefined): string | undefined => n?.$cstNode?.text;
  const input = textOf(node.inputs[0]);
  const target = textOf(node.targets[0]);
  if (!input || !target) throw new UsageError(`${path}: pipeline ${spec.name} needs an input and a target line to be used with --like`);
  let normalization: LikePipeline['normalization'];
  const rows = normalizationRows(spec);
  if (rows !== undefined) {
    try {
      const { weights } = pipelineWeights(spec, path, ctx.err);
      normalization = { mean: weights.get('features.mean')!.data, std: weights.get('features.std')!.data };
    } catch (e) {
      ctx.err(`warning: ${(e as Error).message.split('\n')[0]}; the imported pipeline normalises with mean 0 and std 1 until it has its statistics`);
      normalization = { mean: new Float32Array(rows), std: new Float32Array(rows).fill(1) };
    }
  }
  return { source: path, input, features: textOf(node.features[0]), target, optimize: textOf(node.optimizations[0]), featureShape: spec.features.outputShape, normalization };
}

/** Runs the command; returns the exit code. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    { like: { type: 'string' }, pipeline: { type: 'string' }, out: { type: 'string', short: 'o' }, name: { type: 'string' }, force: { type: 'boolean' } },
    usage,
  );
  expectPositionals(positionals, 1, 1, 'one .onnx model', usage);
  const [model] = positionals;
  if (values.pipeline !== undefined && values.like === undefined) throw new UsageError(`--pipeline chooses the pipeline of --like; give --like PIPELINE.sense; usage: ${usage}`);
  const out = values.out ?? join(dirname(model), `${basename(model, extname(model))}.sense`);
  if (extname(out) !== '.sense') throw new UsageError(`${out}: the output must be a .sense file; usage: ${usage}`);
  const stem = basename(out, '.sense');
  const weightsPath = join(dirname(out), `${stem}.safetensors`);
  const name = senseName(values.name ?? stem, 'Imported');
  if (values.name !== undefined && name !== values.name) throw new UsageError(`--name '${values.name}' is not a pipeline name (letters, digits and _, not a keyword); try '${name}'`);
  if (!values.force) {
    for (const p of [out, weightsPath]) {
      if (statUserPath(p, 'pipeline')) throw new UsageError(`${p} already exists; pass --force to replace it, or choose another -o`, 1);
    }
  }

  const bytes = readUserFileSync(model, 'onnx');
  const like = values.like !== undefined ? await likePipeline(values.like, values.pipeline, ctx) : undefined;
  let result;
  try {
    result = importOnnx(bytes, { file: model, name, weightsFile: basename(weightsPath), like });
  } catch (e) {
    if (e instanceof OnnxImportError) throw new UsageError(e.message, 1);
    throw e;
  }
  if (!result.ok) throw new UsageError(result.message, 1);

  // The written pipeline must lower and its weights fit it before anything is written. Errors
  // of fit (a layer kind the target's processors lack) are the user's to resolve in the text,
  // so they are reported after writing; a pipeline that does not lower at all is a bug.
  const lowered = await lowerSenseText(out, result.text);
  const spec = lowered.pipelines.find((p) => p.spec?.name === name)?.spec;
  const errors = lowered.diagnostics.filter((d) => d.severity === 1 && !/weights file/i.test(String(d.message)));
  if (!spec) throw new Error(`import wrote a pipeline that does not lower:\n${errors.map((d) => formatDiagnostic(out, d)).join('\n')}\n${result.text}`);
  checkWeights(spec, result.weights, weightsPath);

  try {
    writeUserFileAtomic(weightsPath, encodeSafetensors(result.weights, { pipeline: name, source: basename(model), ...senseWriterMetadata('sense import') }), 'weights');
    writeUserFileAtomic(out, result.text, 'pipeline');
  } catch (e) {
    throw namingError(e, [out, weightsPath], 1);
  }
  const params = [...result.weights.values()].reduce((n, t) => n + elementsOf(t.shape), 0);
  const layers = spec.blocks.reduce((n, b) => n + b.layers.length, 0);
  ctx.out(`${out}: pipeline ${name}, ${layers} layer${layers === 1 ? '' : 's'} in ${spec.blocks.length} block${spec.blocks.length === 1 ? '' : 's'} (heads ${result.heads.join(', ')}), ${params} parameters`);
  ctx.out(`${weightsPath}: ${result.weights.size} tensors`);
  for (const n of result.notes) ctx.out(`note: ${n}`);
  if (errors.length > 0) {
    ctx.err(`warning: the imported pipeline has ${errors.length} error${errors.length === 1 ? '' : 's'} against its target ${spec.target.name}; fix ${errors.length === 1 ? 'it' : 'them'} (another target, or a place line) before run or export:`);
    for (const d of errors) ctx.err(`  ${formatDiagnostic(out, d)}`);
  }
  return 0;
}
