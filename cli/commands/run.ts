/**
 * `sense run FILE|BUNDLE CLIP...`: runs a pipeline (exported in memory from a .sense file,
 * or an exported bundle folder) on clips with onnxruntime-node and prints each head's top
 * labels and the measured latency. Also the shared helpers of the run/eval/features commands.
 */
import { buildBundle } from '../../engine/export/bundle';
import type { BundleManifest } from '../../runtime/bundle-manifest';
import { readBundle } from '../../engine/export/write-bundle';
import { statUserPath } from '../../io/user-files';
import { readClip } from '../../runtime/node-files';
import { loadOrtNode } from '../../runtime/node-ort';
import { createRunner, type BundleRunner, type ClipInput, type ClipResult, sumGateCounts } from '../../runtime/runner';
import { expectPositionals, integerFlag, parseCommandArgs } from '../args';
import { loadPipeline, namingError, pipelineWeights, UsageError } from '../load';
import type { CommandContext } from '../main';
import { formatPercent } from '../../language/figures';

export const summary = 'run a pipeline or bundle on clips (WAV, inertial CSV, PNG or JPEG image): top labels per head and latency (--json)';
export const usage = 'sense run FILE.sense|BUNDLE CLIP... [--json] [--top N] [--pipeline NAME]';

/**
 * Opens `source` (a .sense file or a bundle folder) as a manifest and models: a .sense
 * file is exported in memory with its weights (warnings go to `ctx.err`).
 */
export async function openSource(source: string, ctx: CommandContext, pipelineName?: string): Promise<{ manifest: BundleManifest; models: Map<string, Uint8Array> }> {
  if (isBundleFolder(source)) {
    try {
      return readBundle(source);
    } catch (e) {
      throw namingError(e, [source], 2);
    }
  }
  const { spec } = await loadPipeline(source, pipelineName);
  const { weights } = pipelineWeights(spec, source, ctx.err);
  try {
    const built = buildBundle(spec, weights);
    return { manifest: built.manifest, models: built.models };
  } catch (e) {
    throw namingError(e, [source, 'export:', 'placement:'], 1);
  }
}

/** True when `source` is a folder (read as a bundle); a missing path is a {@link UsageError}. */
export function isBundleFolder(source: string): boolean {
  let st;
  try {
    st = statUserPath(source, 'pipeline');
  } catch (e) {
    throw namingError(e, [source], 2);
  }
  if (!st) throw new UsageError(`${source}: no such file or folder`);
  return st.isDirectory();
}

/** Opens `source` and creates an onnxruntime-node runner for it. */
export async function openRunner(source: string, ctx: CommandContext, pipelineName?: string): Promise<BundleRunner> {
  const { manifest, models } = await openSource(source, ctx, pipelineName);
  return createRunner({ ort: (await loadOrtNode([], 'sense run')).ort, backend: 'node', manifest, models });
}

/** Reads a clip file as WAV or (by extension) inertial CSV or image: a regular file of bounded size, else a {@link UsageError} naming it. */
export async function readClipFile(path: string): Promise<ClipInput> {
  try {
    return await readClip(path);
  } catch (e) {
    throw namingError(e, [path], 2);
  }
}

/** Runs one clip, turning bad clip data into a UsageError naming the file. */
export async function runClipFile(runner: BundleRunner, path: string): Promise<ClipResult> {
  const clip = await readClipFile(path);
  try {
    return await runner.runClip(clip, path);
  } catch (e) {
    throw namingError(e, [path], 1);
  }
}

/**
 * The `--json` form of one clip's result. A gated head that ran on none of the clip's windows
 * is `{ "skipped": "ambient is music" }` among the heads, and `gates` says per gated head on
 * how many windows its gate opened (bundles with gates only).
 */
export function clipJson(r: ClipResult): {
  clip: string;
  latencyMs: number;
  windows: number;
  silentWindows: number;
  silent: boolean;
  heads: Record<string, ClipResult['heads'][string] | { skipped: string }>;
  gates?: ClipResult['gates'];
} {
  const skipped = Object.fromEntries(Object.entries(r.skipped ?? {}).map(([head, why]) => [head, { skipped: why }]));
  return { clip: r.clip, latencyMs: r.latencyMs, windows: r.windows, silentWindows: r.silentWindows, silent: r.silent, heads: { ...r.heads, ...skipped }, ...(r.gates ? { gates: r.gates } : {}) };
}

/** One line per gated head: on how many windows of `results` its gate opened, against the expected rate. */
export function gateLines(results: readonly Pick<ClipResult, 'gates'>[]): string[] {
  return Object.entries(sumGateCounts(results.map((r) => r.gates))).map(([head, g]) => {
    const observed = g.windows > 0 ? formatPercent(g.opened / g.windows) : 'no window';
    const expected = g.expected !== undefined ? `expected ${formatPercent(g.expected)}` : 'no expect line';
    return `gate ${head} (when ${g.head} is ${g.label}): opened on ${g.opened} of ${g.windows} window${g.windows === 1 ? '' : 's'} (${observed}; ${expected})`;
  });
}

/** Runs the command; returns the exit code. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' }, top: { type: 'string' }, pipeline: { type: 'string' } }, usage);
  expectPositionals(positionals, 2, Infinity, 'a .sense file or bundle and at least one clip', usage);
  const [source, ...clips] = positionals;
  const top = integerFlag('--top', values.top, 3, 1, Number.MAX_SAFE_INTEGER, 'a positive integer');
  for (const c of clips) await readClipFile(c);
  const runner = await openRunner(source, ctx, values.pipeline);
  try {
    const results: ClipResult[] = [];
    for (const c of clips) results.push(await runClipFile(runner, c));
    if (values.json) {
      ctx.out(JSON.stringify({ clips: results.map(clipJson) }, null, 2));
      return 0;
    }
    for (const r of results) {
      ctx.out(`${r.clip}: ${r.latencyMs.toFixed(2)} ms per window (${r.windows} window${r.windows === 1 ? '' : 's'}${r.silentWindows ? `, ${r.silentWindows} silent` : ''})`);
      if (r.silent) ctx.out('  silent: every window is below the silence threshold, the network did not run');
      for (const head of Object.keys(runner.manifest.heads)) {
        const h = r.heads[head];
        if (!h) {
          if (r.skipped?.[head]) ctx.out(`  ${head.padEnd(12)} skipped: ${r.skipped[head]}`);
          continue;
        }
        const best = Object.entries(h.probabilities).sort((a, b) => b[1] - a[1]).slice(0, top);
        ctx.out(`  ${head.padEnd(12)} ${best.map(([l, p]) => `${l} ${formatPercent(p)}`).join('  ')}`);
      }
    }
    for (const line of gateLines(results)) ctx.out(line);
    return 0;
  } finally {
    await runner.release();
  }
}
