/**
 * `sense run FILE|BUNDLE CLIP...`: runs a pipeline (exported in memory from a .sense file,
 * or an exported bundle folder) on clips with onnxruntime-node and prints each head's top
 * labels and the measured latency. Also the shared helpers of the run/eval/features commands.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { buildBundle } from '../../engine/export/bundle';
import type { BundleManifest } from '../../engine/export/manifest';
import { readBundle } from '../../engine/export/write-bundle';
import { loadPipelineWeights } from '../../engine/weights/node-weights';
import { MAX_CLIP_FILE_BYTES } from '../../runtime/node-files';
import { createRunner, type BundleRunner, type ClipInput, type ClipResult, type OrtModuleLike } from '../../runtime/runner';
import { loadPipeline, UsageError } from '../load';
import type { CommandContext } from '../main';

export const summary = 'run a pipeline or bundle on WAV/CSV clips: top labels per head and latency (--json)';
export const usage = 'sense run FILE.sense|BUNDLE CLIP... [--json] [--top N] [--pipeline NAME]';

/** The value after `flag` (`--seed 3`), or undefined. */
export function flagValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
  return v;
}

/** Arguments that are not flags nor values of the flags in `valued`. */
export function positionals(args: string[], valued: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (valued.includes(args[i])) i++;
    else if (!args[i].startsWith('-')) out.push(args[i]);
  }
  return out;
}

/** Loads onnxruntime-node (a native package, loaded on demand). */
export async function loadOrtNode(): Promise<OrtModuleLike> {
  const mod = (await import('onnxruntime-node')) as unknown as { default?: OrtModuleLike } & OrtModuleLike;
  return mod.InferenceSession ? mod : mod.default!;
}

/**
 * Opens `source` (a .sense file or a bundle folder) as a manifest and models: a .sense
 * file is exported in memory with its weights (warnings go to `ctx.err`).
 */
export async function openSource(source: string, ctx: CommandContext, pipelineName?: string): Promise<{ manifest: BundleManifest; models: Map<string, Uint8Array> }> {
  if (!existsSync(source)) throw new UsageError(`${source}: no such file or folder`);
  if (statSync(source).isDirectory()) {
    try {
      return readBundle(source);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const { spec } = await loadPipeline(source, pipelineName);
  try {
    const { weights, warnings } = loadPipelineWeights(spec, source);
    for (const w of warnings) ctx.err(`warning: ${w}`);
    const built = buildBundle(spec, weights);
    return { manifest: built.manifest, models: built.models };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError((e as Error).message, 1);
  }
}

/** Opens `source` and creates an onnxruntime-node runner for it. */
export async function openRunner(source: string, ctx: CommandContext, pipelineName?: string): Promise<BundleRunner> {
  const { manifest, models } = await openSource(source, ctx, pipelineName);
  return createRunner({ ort: await loadOrtNode(), backend: 'node', manifest, models });
}

/** Reads a clip file as WAV or (by extension) inertial CSV, bounded in size. */
export function readClip(path: string): ClipInput {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new UsageError(`${path}: no such clip file`);
  }
  if (statSync(path).isDirectory()) throw new UsageError(`${path} is a folder; give WAV or CSV files (or use sense eval for a labelled folder)`);
  if (size > MAX_CLIP_FILE_BYTES) throw new UsageError(`${path}: ${size} bytes is larger than the ${MAX_CLIP_FILE_BYTES}-byte limit for one clip`);
  const bytes = new Uint8Array(readFileSync(path));
  return path.toLowerCase().endsWith('.csv') ? { kind: 'csv', bytes } : { kind: 'wav', bytes };
}

/** Runs one clip, turning bad clip data into a UsageError naming the file. */
export async function runClipFile(runner: BundleRunner, path: string): Promise<ClipResult> {
  const clip = readClip(path);
  try {
    return await runner.runClip(clip, path);
  } catch (e) {
    throw new UsageError((e as Error).message, 1);
  }
}

/** The `--json` form of one clip's result. */
export function clipJson(r: ClipResult): { clip: string; latencyMs: number; windows: number; silentWindows: number; silent: boolean; heads: ClipResult['heads'] } {
  return { clip: r.clip, latencyMs: r.latencyMs, windows: r.windows, silentWindows: r.silentWindows, silent: r.silent, heads: r.heads };
}

/** Runs the command; returns the exit code. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const [source, ...clips] = positionals(args, ['--top', '--pipeline']);
  if (!source || clips.length === 0) throw new UsageError(`usage: ${usage}`);
  const topText = flagValue(args, '--top');
  const top = topText === undefined ? 3 : Number(topText);
  if (!Number.isSafeInteger(top) || top < 1) throw new UsageError(`--top takes a positive integer, got '${topText}'`);
  for (const c of clips) readClip(c);
  const runner = await openRunner(source, ctx, flagValue(args, '--pipeline'));
  try {
    const results: ClipResult[] = [];
    for (const c of clips) results.push(await runClipFile(runner, c));
    if (args.includes('--json')) {
      ctx.out(JSON.stringify({ clips: results.map(clipJson) }, null, 2));
      return 0;
    }
    for (const r of results) {
      ctx.out(`${r.clip}: ${r.latencyMs.toFixed(2)} ms per window (${r.windows} window${r.windows === 1 ? '' : 's'}${r.silentWindows ? `, ${r.silentWindows} silent` : ''})`);
      if (r.silent) ctx.out('  silent: every window is below the silence threshold, the network did not run');
      for (const [head, h] of Object.entries(r.heads)) {
        const best = Object.entries(h.probabilities).sort((a, b) => b[1] - a[1]).slice(0, top);
        ctx.out(`  ${head.padEnd(12)} ${best.map(([l, p]) => `${l} ${(p * 100).toFixed(1)}%`).join('  ')}`);
      }
    }
    return 0;
  } finally {
    await runner.release();
  }
}
