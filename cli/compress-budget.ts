/**
 * `sense compress FILE --params N% [--data DIR [--recover EPOCHS]] [--write]`: SVD ranks that
 * keep the pipeline's parameters at most N% of the file as written, with the least error
 * (engine/compress/data-aware.ts). Without `--data` the errors are the weight errors of plain
 * SVD, as today's targets use; with `--data` they are the output errors on DIR's activations
 * and the factors are the whitened ones, stored in the weights file (`ID.svd.a`, `ID.svd.b`,
 * engine/compress/stored-factors.ts) by `--write` so that export, run and eval use them.
 * `--recover EPOCHS` fine-tunes the factorised network on DIR's labels (engine/train/) and
 * reports each head's held-out accuracy before and after.
 */
import { extname } from 'node:path';
import { budgetCandidates, collectInputCovariances, normalizationOf, planRanks, type RankPlanResult } from '../engine/compress/data-aware';
import { svdFactorNames } from '../engine/compress/stored-factors';
import { compressLine, layerRefText, withCompressions, type LayerChoice } from '../engine/auto-compress';
import { estimatePipeline } from '../engine/estimate';
import { rewriteCompressLines } from '../engine/pipeline-text';
import { useTrainingBackend } from '../engine/train/backend';
import { clipFilesUnder, clipWindows, readLabelledData } from '../engine/train/node-data';
import { trainPipeline } from '../engine/train/trainer';
import { senseWriterMetadata, weightsOwnership, weightsPathFor } from '../engine/weights/node-weights';
import { encodeSafetensors, parseSafetensors } from '../engine/weights/safetensors';
import type { WeightSet } from '../engine/weights/weights';
import { describeFileType, readUserFileSync, statUserPath, writeUserFileAtomic } from '../io/user-files';
import { formatPercent } from '../language/figures';
import type { CompressionSpec, PipelineSpec } from '../language/pipeline-model';
import { loadPipeline, namingError, pipelineNode, pipelineWeights, senseRoots, UsageError, writeSenseFile } from './load';
import type { CommandContext } from './main';
import { table } from './table';

/** The parsed options of a budget run. */
export interface BudgetArgs {
  file: string;
  /** The budget as a fraction of today's parameters, in (0, 1]. */
  fraction: number;
  data?: string;
  recoverEpochs?: number;
  write: boolean;
  json: boolean;
  pipeline?: string;
}

/** `N%` (or `N`) as a fraction in (0, 1]; throws {@link UsageError} naming the value otherwise. */
export function parseParamsPercent(raw: string, usage: string): number {
  const m = /^([0-9]*\.?[0-9]+)\s*%?$/.exec(raw.trim());
  const pct = m ? Number(m[1]) : NaN;
  if (!m || !(pct > 0) || pct > 100) throw new UsageError(`--params needs a percentage above 0% and at most 100% of today's parameters (got '${raw}'), e.g. --params 50%; usage: ${usage}`);
  return pct / 100;
}

/** A positive whole number of epochs; throws {@link UsageError} otherwise. */
export function parseEpochs(raw: string, usage: string): number {
  const n = /^[0-9]+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= 10000)) throw new UsageError(`--recover needs a whole number of epochs from 1 to 10000 (got '${raw}'); usage: ${usage}`);
  return n;
}

// The clip files under the data folder, checked: a folder, holding clips of the pipeline's kind.
function dataClips(spec: PipelineSpec, dir: string): string[] {
  if (spec.input.kind === 'image') throw new UsageError(`pipeline ${spec.name} reads images; --data reads WAV (audio) and CSV (inertial) clips only`);
  const ext = spec.input.kind === 'audio' ? '.wav' : '.csv';
  let files: string[];
  try {
    const st = statUserPath(dir, 'clip');
    if (!st) throw new UsageError(`--data ${dir}: no such folder; give a folder of ${ext} clips (labelled as HEAD/LABEL/clip, or not)`);
    if (!st.isDirectory()) throw new UsageError(`--data ${dir} is ${describeFileType(st)}, not a folder; give a folder of ${ext} clips`);
    files = clipFilesUnder(dir, ext);
  } catch (e) {
    throw namingError(e, [dir], 2);
  }
  if (files.length === 0) throw new UsageError(`--data ${dir}: no ${ext} clips in it or its subfolders; pipeline ${spec.name} reads ${spec.input.kind} clips (${ext})`);
  return files;
}

function* windowsOf(spec: PipelineSpec, files: readonly string[]): Generator<ReturnType<typeof clipWindows>[number]> {
  for (const f of files) {
    try {
      yield* clipWindows(spec, f);
    } catch (e) {
      throw namingError(e, [f], 1);
    }
  }
}

/** Parameters of the file as written, in total and per layer, as `sense estimate` counts them. */
function paramsNow(spec: PipelineSpec): { total: number; perLayer: Map<string, number> } {
  const perLayer = new Map<string, number>();
  for (const l of estimatePipeline(spec).layers) perLayer.set(l.layerId, (perLayer.get(l.layerId) ?? 0) + l.params);
  return { total: [...perLayer.values()].reduce((a, b) => a + b, 0), perLayer };
}

function choicesOf(plan: RankPlanResult, withData: boolean): LayerChoice[] {
  // errorSource below: the data, the weights' spectra, or the random-matrix estimate without weights.
  return plan.layers.map((p) => {
    const before = p.layer.compression;
    const changed = p.rank === undefined ? before !== undefined : !(before?.kind === 'svd' && before.criterion === 'rank' && before.rank === p.rank) || withData;
    return {
      layerId: p.layer.id,
      ref: layerRefText(p.layer),
      kind: p.layer.kind,
      rows: p.rows,
      cols: p.cols,
      ...(p.rank !== undefined ? { rank: p.rank } : {}),
      paramsBefore: p.paramsBefore,
      paramsAfter: p.paramsAfter,
      relError: p.relError,
      errorSource: withData ? 'data' : plan.dataFree ? 'random-matrix' : 'weights',
      ...(before ? { before } : {}),
      changed,
    };
  });
}

/**
 * The weights with the plan's data-aware factors set (or `trained`'s, after recovery), and every
 * other stored factor of a planned layer removed, so no layer keeps factors of another rank.
 */
function weightsWithFactors(weights: WeightSet, plan: RankPlanResult, trained?: WeightSet): WeightSet {
  const out: WeightSet = new Map(trained ?? weights);
  for (const p of plan.layers) {
    const names = svdFactorNames(p.layer.id);
    out.delete(names.a);
    out.delete(names.b);
    if (!p.factors) continue;
    out.set(names.a, trained?.get(names.a) ?? p.factors.A);
    out.set(names.b, trained?.get(names.b) ?? p.factors.B);
  }
  return out;
}

// Writes `weights` over the pipeline's safetensors file, keeping its metadata; refuses an ONNX
// weights file or one sense did not write.
function writeWeights(spec: PipelineSpec, sensePath: string, weights: WeightSet): string {
  const path = weightsPathFor(spec, sensePath)!;
  const roots = { roots: senseRoots(sensePath) };
  if (extname(path).toLowerCase() === '.onnx') throw new UsageError(`${path}: stored SVD factors go in a safetensors weights file, and this pipeline's is ONNX; convert it (sense train --out X.safetensors) or compress without --data`);
  try {
    const owner = weightsOwnership(path, roots);
    if (owner.kind === 'foreign') throw new UsageError(`${path} is not a weights file written by sense (${owner.why}); nothing written`);
    const metadata = parseSafetensors(readUserFileSync(path, 'weights', roots), path).metadata;
    writeUserFileAtomic(path, encodeSafetensors(weights, { ...metadata, ...senseWriterMetadata('sense compress') }), 'weights', roots);
  } catch (e) {
    throw namingError(e, [path], 1);
  }
  return path;
}

/** Runs a budget compression; see the module header. Exit 0, or 2 on usage errors. */
export async function runBudget(a: BudgetArgs, ctx: CommandContext): Promise<number> {
  const { file, spec } = await loadPipeline(a.file, a.pipeline);
  const weightsPath = weightsPathFor(spec, a.file);
  let hasWeights: boolean;
  try {
    hasWeights = weightsPath !== undefined && statUserPath(weightsPath, 'weights') !== undefined;
  } catch (e) {
    throw namingError(e, [a.file], 1);
  }
  if (!hasWeights && a.data !== undefined) {
    throw new UsageError(
      weightsPath ? `${weightsPath}: no such weights file; --data measures the trained network on your clips: train it first (sense train)` : `${a.file}: pipeline ${spec.name} has no 'weights' line; --data measures the trained network on your clips: add one and train it`,
    );
  }
  const weights = hasWeights ? pipelineWeights(spec, a.file, ctx.err).weights : undefined;
  const files = a.data !== undefined ? dataClips(spec, a.data) : undefined;
  if (files) {
    const convs = budgetCandidates(spec, false).filter((l) => l.kind !== 'dense');
    if (convs.length > 0) ctx.err(`note: ${convs.map((l) => l.id).join(', ')} keep${convs.length === 1 ? 's' : ''} ${convs.length === 1 ? 'its' : 'their'} current compression: data-aware factors are for dense layers (a conv layer's input covariance would be of its patches, not collected yet)`);
  }
  const now = paramsNow(spec);
  let plan: RankPlanResult;
  let windowsRun = 0;
  try {
    let covariances;
    if (files && a.data !== undefined) {
      await useTrainingBackend(spec);
      const got = collectInputCovariances(spec, weights!, windowsOf(spec, files), budgetCandidates(spec, true));
      covariances = got.covariances;
      windowsRun = got.windows;
    }
    plan = planRanks(spec, weights, a.fraction, now.total, now.perLayer, covariances);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${a.file}: ${(e as Error).message}`);
  }
  const withData = files !== undefined;
  const layers = choicesOf(plan, withData);
  const compressions = new Map<string, CompressionSpec | undefined>(plan.layers.map((p) => [p.layer.id, p.rank !== undefined ? { kind: 'svd', criterion: 'rank', rank: p.rank } : undefined]));
  const planned = withCompressions(spec, compressions);
  const paramsAfter = paramsNow(planned).total;

  let recovery: { before: Record<string, number>; after: Record<string, number>; windows: Record<string, number>; weights: WeightSet; epochsRun: number } | undefined;
  if (a.recoverEpochs !== undefined && a.data !== undefined) {
    let data;
    try {
      data = readLabelledData(spec, a.data);
    } catch (e) {
      throw new UsageError(`--recover needs labelled clips (${a.data}/HEAD/LABEL/clip): ${(e as Error).message}`);
    }
    for (const w of data.warnings) ctx.err(`warning: ${w}`);
    const stats = normalizationOf(weights!);
    const result = await trainPipeline(planned, data.examples, {
      epochs: a.recoverEpochs,
      seed: 1,
      batchSize: 32,
      learningRate: 1e-4,
      valFraction: 0.2,
      patience: a.recoverEpochs,
      init: weightsWithFactors(weights!, plan),
      ...(stats ? { normalization: stats } : {}),
      log: (l) => ctx.err(l),
    });
    recovery = {
      before: result.startValAccuracy,
      after: Object.fromEntries(Object.entries(result.valAccuracy).map(([h, v]) => [h, v.accuracy])),
      windows: Object.fromEntries(Object.entries(result.valAccuracy).map(([h, v]) => [h, v.windows])),
      weights: result.weights,
      epochsRun: result.history.length,
    };
  }

  const changed = layers.some((l) => l.changed);
  const lines = layers.filter((l) => l.rank !== undefined).map((l) => compressLine(l.ref, l.rank!));
  let written: string[] = [];
  if (a.write && (changed || recovery)) {
    // The factors first: a file with factors but the old compress lines only warns that they are unused.
    if (weights && (withData || plan.layers.some((p) => weights.has(svdFactorNames(p.layer.id).a)))) written.push(writeWeights(spec, a.file, weightsWithFactors(weights, plan, recovery?.weights)));
    if (changed) {
      writeSenseFile(file.path, rewriteCompressLines(file.text, pipelineNode(file, spec), spec, { layers, lines: layers.filter((l) => l.changed && l.rank !== undefined).map((l) => compressLine(l.ref, l.rank!)) }));
      written = [a.file, ...written];
    }
  }

  if (a.json) {
    ctx.out(JSON.stringify({
      pipeline: spec.name,
      budget: { fraction: a.fraction, params: plan.budgetParams },
      paramsBefore: now.total,
      paramsAfter,
      errorKind: withData ? 'relative output error on the data' : 'relative weight error',
      errorSource: withData ? 'data' : plan.dataFree ? 'random-matrix' : 'weights',
      data: a.data ?? null,
      windows: withData ? windowsRun : null,
      error: plan.error,
      plainError: plan.plainError ?? null,
      layers: plan.layers.map((p, i) => ({ ...layers[i], ...(p.plainRank !== undefined || withData ? { plainRank: p.plainRank ?? null, plainRelOutputError: p.plainRelOutputError } : {}) })),
      lines,
      recovery: recovery ? { epochs: recovery.epochsRun, before: recovery.before, after: recovery.after, windows: recovery.windows } : null,
      written,
    }, null, 2));
    return 0;
  }
  const what = withData
    ? `relative output error on ${windowsRun} windows of ${a.data}`
    : plan.dataFree
      ? 'relative weight error, data-free (no weights file: the random-matrix estimate; real weights are usually more compressible)'
      : 'relative weight error (plain SVD; --data DIR measures the output error on your clips)';
  ctx.out(`${spec.name}: parameters at most ${formatPercent(a.fraction)} of ${now.total} = ${plan.budgetParams}; ${what}`);
  ctx.out('');
  const rows = plan.layers.map((p, i) => [
    layers[i].ref,
    `${p.rows}x${p.cols}`,
    p.rank !== undefined ? String(p.rank) : 'dense',
    String(p.paramsBefore),
    String(p.paramsAfter),
    `${(100 * p.relError).toFixed(2)} %`,
    ...(withData ? [p.plainRank !== undefined ? String(p.plainRank) : 'dense', `${(100 * (p.plainRelOutputError ?? 0)).toFixed(2)} %`] : []),
  ]);
  const head = ['layer', 'matrix', 'rank', 'params before', 'params after', withData ? 'rel. output error' : 'rel. weight error', ...(withData ? ['plain SVD rank', 'plain output error'] : [])];
  for (const line of table(head, rows, head.map((_, i) => i > 0))) ctx.out(`  ${line}`);
  ctx.out('');
  ctx.out(`parameters ${now.total} -> ${paramsAfter} (${formatPercent(paramsAfter / now.total)}); root-sum-square error ${(100 * plan.error).toFixed(2)} %${plan.plainError !== undefined ? ` (plain SVD at the same budget: ${(100 * plan.plainError).toFixed(2)} % on the same data)` : ''}`);
  if (recovery) {
    ctx.out('');
    const trained = plan.layers.some((p) => p.factors) ? 'the factors and the uncompressed layers trained; the dense weights of factorised layers kept' : 'every layer trained';
    ctx.out(`recovery: ${recovery.epochsRun} epochs on ${a.data} (${trained}); held-out accuracy per head (20% of the clips):`);
    const heads = Object.keys(recovery.after);
    for (const line of table(['head', 'compressed', 'recovered', 'windows'], heads.map((h) => [h, formatPercent(recovery!.before[h] ?? NaN), formatPercent(recovery!.after[h]), String(recovery!.windows[h])]), [false, true, true, true])) ctx.out(`  ${line}`);
  }
  ctx.out('');
  if (!changed) ctx.out(`the file as written already has these ranks: no compress line to change${written.length > 0 ? `; wrote the fine-tuned weights to ${written.join(' and ')}` : ''}.`);
  else if (written.length > 0) ctx.out(`wrote ${written.join(' and ')}:`);
  else ctx.out(`compress lines (--write puts them in the file${withData ? ' and the data-aware factors in the weights' : ''}):`);
  for (const l of lines) ctx.out(`  ${l}`);
  return 0;
}
