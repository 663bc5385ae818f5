/** `sense features FILE|BUNDLE CLIP [--window N] [--json]`: the feature matrix the first layer sees. */
import type { BundleManifest } from '../../runtime/bundle-manifest';
import { readBundle } from '../../engine/export/write-bundle';
import { normalizationRows } from '../../engine/weights/weights';
import { FEATURES_KEY } from '../../language/pipeline-model';
import { bundleFeatures, clipWindows } from '../../runtime/runner';
import { expectPositionals, integerFlag, parseCommandArgs } from '../args';
import { loadPipeline, namingError, pipelineWeights, UsageError } from '../load';
import type { CommandContext } from '../main';
import { isBundleFolder, readClipFile } from './run';

export const summary = 'print the feature matrix the first layer sees for one window of a clip (--json: { shape, data })';
export const usage = 'sense features FILE.sense|BUNDLE CLIP [--window N] [--json] [--pipeline NAME]';

type FrontEnd = Pick<BundleManifest, 'input' | 'features' | 'normalization' | 'pipeline'>;

async function frontEnd(source: string, ctx: CommandContext, pipelineName?: string): Promise<FrontEnd> {
  if (isBundleFolder(source)) {
    try {
      return readBundle(source).manifest;
    } catch (e) {
      throw namingError(e, [source], 2);
    }
  }
  const { spec } = await loadPipeline(source, pipelineName);
  const fe: FrontEnd = { pipeline: spec.name, input: spec.input, features: { steps: spec.features.steps, outputShape: spec.features.outputShape, tensor: FEATURES_KEY } };
  // Only a pipeline that normalises needs its weights file here (for the statistics).
  if (normalizationRows(spec) === undefined) return fe;
  const { weights } = pipelineWeights(spec, source, ctx.err);
  return { ...fe, normalization: { mean: [...weights.get('features.mean')!.data], std: [...weights.get('features.std')!.data] } };
}

/** Runs the command; returns the exit code. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { window: { type: 'string' }, json: { type: 'boolean' }, pipeline: { type: 'string' } }, usage);
  expectPositionals(positionals, 2, 2, 'a .sense file or bundle and one clip', usage);
  const [source, clipPath] = positionals;
  const index = integerFlag('--window', values.window, 0, 0, Number.MAX_SAFE_INTEGER, 'a window index from 0');
  const clip = await readClipFile(clipPath);
  const fe = await frontEnd(source, ctx, values.pipeline);
  let windows: ReturnType<typeof clipWindows>;
  let f: ReturnType<typeof bundleFeatures>;
  try {
    windows = clipWindows(fe, clip, clipPath);
    if (index >= windows.length) throw new UsageError(`${clipPath} has ${windows.length} window(s); --window ${index} is out of range`);
    f = bundleFeatures(fe, windows[index]);
  } catch (e) {
    throw namingError(e, [clipPath], 1);
  }
  if (values.json) {
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
