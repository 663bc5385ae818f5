/** `sense features FILE|BUNDLE CLIP [--window N] [--json]`: the feature matrix the first layer sees. */
import { existsSync, statSync } from 'node:fs';
import type { BundleManifest } from '../../engine/export/manifest';
import { readBundle } from '../../engine/export/write-bundle';
import { loadPipelineWeights } from '../../engine/weights/node-weights';
import { normalizationRows } from '../../engine/weights/weights';
import { bundleFeatures, clipWindows } from '../../runtime/runner';
import { loadPipeline, UsageError } from '../load';
import type { CommandContext } from '../main';
import { flagValue, positionals, readClip } from './run';

export const summary = 'print the feature matrix the first layer sees for one window of a clip (--json: { shape, data })';
export const usage = 'sense features FILE.sense|BUNDLE CLIP [--window N] [--json] [--pipeline NAME]';

type FrontEnd = Pick<BundleManifest, 'input' | 'features' | 'normalization' | 'pipeline'>;

async function frontEnd(source: string, ctx: CommandContext, pipelineName?: string): Promise<FrontEnd> {
  if (!existsSync(source)) throw new UsageError(`${source}: no such file or folder`);
  if (statSync(source).isDirectory()) {
    try {
      return readBundle(source).manifest;
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const { spec } = await loadPipeline(source, pipelineName);
  const fe: FrontEnd = { pipeline: spec.name, input: spec.input, features: { steps: spec.features.steps, outputShape: spec.features.outputShape, tensor: 'features' } };
  // Only a pipeline that normalises needs its weights file here (for the statistics).
  if (normalizationRows(spec) === undefined) return fe;
  try {
    const { weights, warnings } = loadPipelineWeights(spec, source);
    for (const w of warnings) ctx.err(`warning: ${w}`);
    return { ...fe, normalization: { mean: [...weights.get('features.mean')!.data], std: [...weights.get('features.std')!.data] } };
  } catch (e) {
    throw new UsageError((e as Error).message, 1);
  }
}

/** Runs the command; returns the exit code. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const [source, clipPath] = positionals(args, ['--window', '--pipeline']);
  if (!source || !clipPath) throw new UsageError(`usage: ${usage}`);
  const wText = flagValue(args, '--window');
  const index = wText === undefined ? 0 : Number(wText);
  if (!Number.isSafeInteger(index) || index < 0) throw new UsageError(`--window takes a window index from 0, got '${wText}'`);
  const clip = readClip(clipPath);
  const fe = await frontEnd(source, ctx, flagValue(args, '--pipeline'));
  let windows: ReturnType<typeof clipWindows>;
  let f: ReturnType<typeof bundleFeatures>;
  try {
    windows = clipWindows(fe, clip, clipPath);
    if (index >= windows.length) throw new UsageError(`${clipPath} has ${windows.length} window(s); --window ${index} is out of range`);
    f = bundleFeatures(fe, windows[index]);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError((e as Error).message, 1);
  }
  if (args.includes('--json')) {
    const level = f.levelDbfs === undefined ? {} : { levelDbfs: Number.isFinite(f.levelDbfs) ? f.levelDbfs : null };
    ctx.out(JSON.stringify({ shape: f.shape, data: Array.from(f.data), silent: f.silent, ...level, window: index, windows: windows.length }));
    return 0;
  }
  let mn = Infinity, mx = -Infinity, sum = 0;
  for (const v of f.data) {
    mn = Math.min(mn, v);
    mx = Math.max(mx, v);
    sum += v;
  }
  const level = f.levelDbfs !== undefined ? `, level ${f.levelDbfs.toFixed(1)} dBFS` : '';
  ctx.out(`${clipPath}: window ${index + 1} of ${windows.length}, shape [${f.shape.join(', ')}], min ${mn.toFixed(4)}, mean ${(sum / f.data.length).toFixed(4)}, max ${mx.toFixed(4)}${f.silent ? ', silent' : ''}${level}`);
  return 0;
}
