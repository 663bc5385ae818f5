/**
 * `sense partition FILE [--alpha A] [--beta B] [--within MS] [--time-limit-ms N] [--keep-pins] [--write] [--json] [--pipeline NAME]`:
 * the placement of every layer that minimises α x energy per inference (mJ) + β x
 * end-to-end latency (ms) on the pipeline's target (engine/partition), printed as runs of
 * layers per processor with its costs next to those of the file's own placement;
 * `--json` prints `{ objective, endToEndLatencyMs, energyPerInferenceMj, placement,
 * feasible, ... }`; `--write` replaces the file's `place` lines by the plan's (atomic).
 * The feature front end is placed too: a plan that moves it off the target's default
 * processor writes `place features on PROCESSOR` (named first on that processor's line).
 * The search is exact; `--time-limit-ms N` stops it after about N ms of wall-clock time
 * (default: no time limit, only the search's node limit), and a plan from a search that
 * stopped at either limit is printed with a note that it is the best found, not proven
 * optimal (`"exact": false` and `"stoppedBy"` in --json).
 * Exit 0 when the plan meets memory and budget, 1 when no placement does (the best one is
 * still printed), 2 on usage errors.
 */
import { estimatePipeline } from '../../engine/estimate';
import { partitionPipeline, placementUnits } from '../../engine/partition/partition';
import { placeStatements, placementRuns, rewritePlaceLines } from '../../engine/partition/place-lines';
import { placeSites } from '../../engine/pipeline-text';
import { numberFlag, parseCommandArgs } from '../args';
import { loadPipeline, pipelineNode, UsageError, writeSenseFile } from '../load';
import type { CommandContext } from '../main';
import { fixed } from '../table';
import { FEATURES_KEY } from '../../language/pipeline-model';

export const summary = 'place each layer on the processor that minimises α·energy + β·latency (exact), print the plan or --write the place lines';
export const usage = 'sense partition FILE [--alpha A] [--beta B] [--within MS] [--time-limit-ms N] [--keep-pins] [--write] [--json] [--pipeline NAME]';

interface Args {
  file: string;
  alpha?: number;
  beta?: number;
  withinMs?: number;
  timeLimitMs?: number;
  keepPins: boolean;
  write: boolean;
  json: boolean;
  pipeline?: string;
}

function parseArgs(args: string[]): Args {
  const { values: v, positionals } = parseCommandArgs(
    args,
    {
      alpha: { type: 'string' },
      beta: { type: 'string' },
      within: { type: 'string' },
      'time-limit-ms': { type: 'string' },
      'keep-pins': { type: 'boolean' },
      write: { type: 'boolean' },
      json: { type: 'boolean' },
      pipeline: { type: 'string' },
    },
    usage,
  );
  // A time may carry its unit, as in the .sense file (`--within 20 ms`).
  const number = (flag: string, text: string | undefined): number | undefined => numberFlag(flag, text?.replace(/\s*ms$/, ''), (x) => x >= 0, 'a non-negative number');
  if (positionals.length > 1) throw new UsageError(`one file at a time (got ${positionals.map((f) => `'${f}'`).join(' and ')}); usage: ${usage}`);
  if (positionals.length === 0) throw new UsageError(`usage: ${usage}`);
  const a: Args = { file: positionals[0], keepPins: v['keep-pins'] ?? false, write: v.write ?? false, json: v.json ?? false };
  const optional = { alpha: number('--alpha', v.alpha), beta: number('--beta', v.beta), withinMs: number('--within', v.within), timeLimitMs: number('--time-limit-ms', v['time-limit-ms']), pipeline: v.pipeline };
  for (const [k, x] of Object.entries(optional)) if (x !== undefined) Object.assign(a, { [k]: x });
  return a;
}

/** Runs `sense partition`; see the module header. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const a = parseArgs(args);
  const { file, spec } = await loadPipeline(a.file, a.pipeline);
  const optimize = {
    ...(a.alpha !== undefined ? { energyWeight: a.alpha } : {}),
    ...(a.beta !== undefined ? { latencyWeight: a.beta } : {}),
    ...(a.withinMs !== undefined ? { budgetMs: a.withinMs } : {}),
  };
  const hasFeatures = placementUnits(spec).includes(FEATURES_KEY);
  let result;
  try {
    result = partitionPipeline(spec, { optimize, keepPins: a.keepPins, ...(a.timeLimitMs !== undefined ? { timeLimitMs: a.timeLimitMs } : {}) });
  } catch (e) {
    throw new UsageError(`${a.file}: ${(e as Error).message}`, 1);
  }
  const current = estimatePipeline({ ...spec, optimize: result.optimize });
  const layerPlacement: Record<string, string> = {};
  for (const [key, proc] of Object.entries(result.placement)) if (key !== FEATURES_KEY) layerPlacement[key] = proc;
  const statements = placeStatements(spec, hasFeatures ? { ...layerPlacement, [FEATURES_KEY]: result.placement[FEATURES_KEY] } : layerPlacement);

  if (a.write) {
    const text = rewritePlaceLines(file.text, placeSites(file.text, pipelineNode(file, spec)), statements);
    writeSenseFile(file.path, text);
  }

  if (a.json) {
    ctx.out(
      JSON.stringify(
        {
          pipeline: spec.name,
          target: spec.target.name,
          objective: result.objective,
          endToEndLatencyMs: result.endToEndLatencyMs,
          energyPerInferenceMj: result.energyPerInferenceMj,
          placement: layerPlacement,
          ...(hasFeatures ? { featuresProcessor: result.placement[FEATURES_KEY] } : {}),
          feasible: result.feasible,
          violations: result.violations,
          exact: result.exact,
          ...(result.stoppedBy ? { stoppedBy: result.stoppedBy } : {}),
          optimize: result.optimize,
          place: statements,
          current: { objective: current.objective, endToEndLatencyMs: current.endToEndLatencyMs, energyPerInferenceMj: current.energyPerInferenceMj },
          written: a.write,
        },
        null,
        2,
      ),
    );
    return result.feasible ? 0 : 1;
  }

  const o = result.optimize;
  ctx.out(`${spec.name} on ${spec.target.name}: minimise ${o.energyWeight} x energy (mJ) + ${o.latencyWeight} x latency (ms)${o.budgetMs !== undefined ? ` within ${o.budgetMs} ms` : ''}${a.keepPins ? ', keeping the place pins' : ''}`);
  ctx.out('');
  if (hasFeatures) ctx.out(`  ${'features'.padEnd(24)} ${result.placement[FEATURES_KEY]}${result.placement[FEATURES_KEY] === spec.target.defaultProcessor ? '  (the default processor)' : ''}`);
  for (const r of placementRuns(spec, layerPlacement)) {
    const name = r.from === r.to ? `${r.block}.${r.from}` : `${r.block}.${r.from}-${r.to}`;
    ctx.out(`  ${name.padEnd(24)} ${r.processor}`);
  }
  ctx.out('');
  ctx.out(`  ${''.padEnd(18)} ${'objective'.padStart(12)} ${'latency ms'.padStart(12)} ${'energy mJ'.padStart(12)}`);
  ctx.out(`  ${'plan'.padEnd(18)} ${fixed(result.objective, 4).padStart(12)} ${fixed(result.endToEndLatencyMs).padStart(12)} ${fixed(result.energyPerInferenceMj, 4).padStart(12)}`);
  ctx.out(`  ${'file as written'.padEnd(18)} ${fixed(current.objective, 4).padStart(12)} ${fixed(current.endToEndLatencyMs).padStart(12)} ${fixed(current.energyPerInferenceMj, 4).padStart(12)}`);
  ctx.out('');
  if (!result.exact) ctx.out(`note: the search stopped at its ${result.stoppedBy === 'time-limit' ? `${a.timeLimitMs} ms time limit (--time-limit-ms)` : 'node limit'}; this plan is the best found, not proven optimal.`);
  for (const m of result.messages) ctx.out(`infeasible: ${m}`);
  ctx.out(a.write ? `wrote ${statements.length} place line${statements.length === 1 ? '' : 's'} to ${a.file}:` : 'place lines (--write puts them in the file):');
  for (const s of statements) ctx.out(`  ${s}`);
  return result.feasible ? 0 : 1;
}
