/**
 * `sense compress FILE (--fit PROCESSOR | --within MS | --energy MJ | --params N%) [--write] [--json] [--pipeline NAME]`:
 * auto-compress (engine/auto-compress.ts). Picks the dense/conv layers and SVD ranks that
 * make the pipeline meet the target with the least estimated error, and prints the plan
 * (layer, rank, parameters before/after, per-layer relative error, totals before/after
 * against the target) or, with `--write`, replaces the `compress` lines of the layers it
 * changes (atomically; every other byte, comments included, stays). Per-layer errors come
 * from the spectrum of the layer's weights when the pipeline's `weights` file exists, else
 * from the data-free random-matrix estimate, and the output says which.
 * `--params N%` instead keeps the pipeline's parameters at most N% of the file as written, with
 * the least weight error, or, with `--data DIR`, the least output error on DIR's clips and the
 * data-aware factors stored in the weights (`--recover EPOCHS` fine-tunes them): see
 * ../compress-budget.ts.
 * `--within 50 ms` and `--energy 2 mJ` accept the unit as a separate word or attached.
 * Exit 0 when the plan meets the target, 1 when no plan on the rank grid does (the closest
 * one is printed, and not written), 2 on usage errors.
 */
import type { PipelineSpec } from '../../language/pipeline-model';
import { autoCompress, spectraFromWeights, type AutoCompressResult, type CompressTarget } from '../../engine/auto-compress';
import { rewriteCompressLines } from '../../engine/pipeline-text';
import { formatBytes, formatInUnit, formatMj, formatMs } from '../../language/figures';
import { weightsPathFor } from '../../engine/weights/node-weights';
import { statUserPath } from '../../io/user-files';
import { parseCommandArgs } from '../args';
import { loadPipeline, namingError, pipelineNode, pipelineWeights, UsageError, writeSenseFile } from '../load';
import type { CommandContext } from '../main';
import { table } from '../table';
import { parseEpochs, parseParamsPercent, runBudget } from '../compress-budget';

export const summary = 'pick the layers and SVD ranks that fit a processor, a latency, an energy or a parameter budget with the least error (on your data with --data); print them or --write the compress lines';
export const usage = 'sense compress FILE (--fit PROCESSOR | --within MS | --energy MJ | --params N% [--data DIR [--recover EPOCHS]]) [--write] [--json] [--pipeline NAME]';

interface Args {
  file: string;
  target: CompressTarget | { kind: 'params'; fraction: number };
  data?: string;
  recover?: string;
  write: boolean;
  json: boolean;
  pipeline?: string;
}

const TIME_UNITS: Record<string, number> = { ms: 1, s: 1000, us: 1e-3 };
const ENERGY_UNITS: Record<string, number> = { mJ: 1, J: 1000, uJ: 1e-3 };

/** A quantity as `50` or `50ms` in the first unit of `units`; `unitWord` is a unit written as the next argument (`50 ms`). */
function quantity(flag: string, raw: string, unitWord: string | undefined, units: Record<string, number>): number {
  const m = /^(-?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Z]*)$/.exec(raw);
  const names = Object.keys(units);
  if (!m) throw new UsageError(`${flag} needs a positive number in ${names[0]} (got '${raw}'); usage: ${usage}`);
  const unit = m[2] || unitWord;
  const scale = unit ? units[unit] : 1;
  if (scale === undefined) throw new UsageError(`${flag}: unknown unit '${unit}'; use ${names.join(', ')}`);
  const value = Number(m[1]) * scale;
  if (!(value > 0 && Number.isFinite(value))) throw new UsageError(`${flag} needs a positive number (got '${raw}'); usage: ${usage}`);
  return value;
}

function parseArgs(args: string[]): Args {
  const { values, tokens } = parseCommandArgs(
    args,
    { fit: { type: 'string' }, within: { type: 'string' }, energy: { type: 'string' }, params: { type: 'string' }, data: { type: 'string' }, recover: { type: 'string' }, write: { type: 'boolean' }, json: { type: 'boolean' }, pipeline: { type: 'string' } },
    usage,
  );
  // `--within 50 ms`: a unit written as its own word right after the number belongs to the flag, not to the files.
  const unitWords = new Map<string, string>();
  const taken = new Set<number>();
  for (const t of tokens) {
    if (t.kind !== 'option' || (t.name !== 'within' && t.name !== 'energy') || t.inlineValue) continue;
    const next = tokens.find((u) => u.kind === 'positional' && u.index === t.index + 2);
    const units = t.name === 'within' ? TIME_UNITS : ENERGY_UNITS;
    if (next?.kind === 'positional' && next.value in units && /^[-0-9.eE+]+$/.test(t.value ?? '')) {
      unitWords.set(t.name, next.value);
      taken.add(next.index);
    }
  }
  const files = tokens.flatMap((t) => (t.kind === 'positional' && !taken.has(t.index) ? [t.value] : []));
  const targets: Args['target'][] = [];
  if (values.fit !== undefined) targets.push({ kind: 'fit', processor: values.fit });
  if (values.within !== undefined) targets.push({ kind: 'within', latencyMs: quantity('--within', values.within, unitWords.get('within'), TIME_UNITS) });
  if (values.params !== undefined) targets.push({ kind: 'params', fraction: parseParamsPercent(values.params, usage) });
  if (values.energy !== undefined) targets.push({ kind: 'energy', energyMj: quantity('--energy', values.energy, unitWords.get('energy'), ENERGY_UNITS) });
  if (files.length > 1) throw new UsageError(`one file at a time (got ${files.map((f) => `'${f}'`).join(' and ')}); usage: ${usage}`);
  if (files.length === 0) throw new UsageError(`usage: ${usage}`);
  if (targets.length > 1) throw new UsageError(`give one target: --fit, --within, --energy or --params; usage: ${usage}`);
  if (targets.length === 0) throw new UsageError(`give a target: --fit PROCESSOR, --within MS, --energy MJ or --params N%; usage: ${usage}`);
  if (values.data !== undefined && targets[0].kind !== 'params') throw new UsageError(`--data works with --params N% (a parameter budget measured on your data); usage: ${usage}`);
  if (values.recover !== undefined && values.data === undefined) throw new UsageError(`--recover EPOCHS fine-tunes on labelled clips: give them with --data DIR; usage: ${usage}`);
  return {
    file: files[0],
    target: targets[0],
    ...(values.data !== undefined ? { data: values.data } : {}),
    ...(values.recover !== undefined ? { recover: values.recover } : {}),
    write: values.write ?? false, json: values.json ?? false, ...(values.pipeline !== undefined ? { pipeline: values.pipeline } : {}) };
}

/** The spectra of the pipeline's weights when its weights file exists; undefined (data-free) otherwise. */
function spectraFor(spec: PipelineSpec, path: string, warn: (line: string) => void): { spectra?: Map<string, Float64Array>; weightsPath?: string } {
  const weightsPath = weightsPathFor(spec, path);
  try {
    if (!weightsPath || !statUserPath(weightsPath, 'weights')) return {};
  } catch (e) {
    throw namingError(e, [path], 1);
  }
  return { spectra: spectraFromWeights(spec, pipelineWeights(spec, path, warn).weights), weightsPath };
}

function targetText(r: AutoCompressResult): string {
  const t = r.target;
  if (t.kind === 'fit') return `fit ${t.processor}'s memory (${formatBytes(r.limit)})`;
  if (t.kind === 'within') return `end-to-end latency <= ${formatMs(r.limit)}`;
  return `energy per inference <= ${formatMj(r.limit)}`;
}

/** Runs `sense compress`; see the module header. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const a = parseArgs(args);
  if (a.target.kind === 'params') {
    const recoverEpochs = a.recover !== undefined ? parseEpochs(a.recover, usage) : undefined;
    return runBudget({ file: a.file, fraction: a.target.fraction, ...(a.data !== undefined ? { data: a.data } : {}), ...(recoverEpochs !== undefined ? { recoverEpochs } : {}), write: a.write, json: a.json, ...(a.pipeline !== undefined ? { pipeline: a.pipeline } : {}) }, ctx);
  }
  const target = a.target;
  const { file, spec } = await loadPipeline(a.file, a.pipeline);
  const { spectra, weightsPath } = spectraFor(spec, a.file, ctx.err);
  let result: AutoCompressResult;
  try {
    result = autoCompress(spec, target, spectra ? { spectra } : {});
  } catch (e) {
    throw new UsageError(`${a.file}: ${(e as Error).message}`);
  }
  const errorFrom = weightsPath ? `the singular values of ${weightsPath}` : 'the data-free random-matrix estimate (no weights file; real weights are usually more compressible)';
  let written = false;
  if (a.write && result.feasible && result.layers.some((l) => l.changed)) {
    writeSenseFile(file.path, rewriteCompressLines(file.text, pipelineNode(file, spec), spec, result));
    written = true;
  }

  if (a.json) {
    ctx.out(
      JSON.stringify(
        {
          pipeline: spec.name,
          target: spec.target.name,
          goal: result.target,
          limit: result.limit,
          unit: result.unit,
          feasible: result.feasible,
          exact: result.exact,
          errorCombination: result.errorCombination,
          estimatedError: result.estimatedError,
          errorSource: weightsPath ? 'weights' : 'random-matrix',
          weights: weightsPath ?? null,
          before: result.before,
          after: result.after,
          layers: result.layers,
          lines: result.lines,
          written,
        },
        null,
        2,
      ),
    );
    return result.feasible ? 0 : 1;
  }

  ctx.out(`${spec.name} on ${spec.target.name}: ${targetText(result)}, least estimated error`);
  ctx.out(`per-layer error from ${errorFrom}`);
  ctx.out('');
  const rows = result.layers.map((l) => [
    l.ref,
    l.kind,
    `${l.rows}x${l.cols}`,
    l.rank !== undefined ? String(l.rank) : '-',
    String(l.paramsBefore),
    String(l.paramsAfter),
    l.rank !== undefined ? `${(100 * l.relError).toFixed(2)} %` : '-',
    l.changed ? (l.rank !== undefined ? 'compress' : 'remove line') : '',
  ]);
  for (const line of table(['layer', 'kind', 'matrix', 'rank', 'params before', 'params after', 'rel. error', 'change'], rows, [false, false, true, true, true, true, true, false])) ctx.out(`  ${line}`);
  ctx.out('');
  const b = result.before, p = result.after;
  const totals = table(
    ['', 'file as written', 'plan', 'target'],
    [
      [result.target.kind === 'fit' ? `memory of ${result.target.processor}` : result.target.kind === 'within' ? 'latency' : 'energy', formatInUnit(b.metric, result.unit), formatInUnit(p.metric, result.unit), `<= ${formatInUnit(result.limit, result.unit)}`],
      ['params', String(b.params), String(p.params), ''],
      ...(result.target.kind !== 'within' ? [['latency', formatMs(b.endToEndLatencyMs), formatMs(p.endToEndLatencyMs), '']] : []),
      ...(result.target.kind !== 'energy' ? [['energy', formatMj(b.energyPerInferenceMj), formatMj(p.energyPerInferenceMj), '']] : []),
    ],
    [false, true, true, true],
  );
  for (const line of totals) ctx.out(`  ${line}`);
  ctx.out('');
  ctx.out(`estimated error ${(100 * result.estimatedError).toFixed(2)} % (root-sum-square of the per-layer relative weight errors ||W - W_k||/||W||${weightsPath ? '' : ', data-free'})`);
  if (!result.exact) ctx.out('note: the search stopped at its node limit; this plan is the best found, not proven least-error.');
  if (!result.feasible) {
    ctx.out(`infeasible: no plan on the rank grid meets ${targetText(result)}; the closest (every candidate at its most saving rank) reaches ${formatInUnit(p.metric, result.unit)}. Place layers elsewhere (sense partition), relax the target, or remove layers.`);
    if (a.write) ctx.out('nothing written.');
    for (const l of result.lines) ctx.out(`  ${l}`);
    return 1;
  }
  if (!result.layers.some((l) => l.changed)) {
    ctx.out(b.metric <= result.limit ? 'the file as written already meets the target with no more compression: nothing to change.' : 'nothing to change.');
    return 0;
  }
  ctx.out(written ? `wrote to ${a.file}:` : 'compress lines (--write puts them in the file):');
  for (const l of result.lines) ctx.out(`  ${l}`);
  for (const l of result.layers.filter((x) => x.changed && x.rank === undefined)) ctx.out(`  (removes the compress line of ${l.ref})`);
  return 0;
}
