/**
 * The pure half of Auto-Partition and Auto-Compress in the studio: runs the engine's
 * optimizers (engine/partition/partition.ts, engine/auto-compress.ts) on an analysed
 * pipeline and turns their plans into ONE minimal text edit of the document (so the
 * command is one undo step), written the way `sense partition --write` and
 * `sense compress --write` write the file (engine/partition/place-lines.ts keeps every
 * other byte, comments included). No `vscode` import; test/unit/extension/ re-parses the
 * edited texts with the language.
 */
import { autoCompress, type AutoCompressResult, type CompressTarget } from '../engine/auto-compress';
import { estimatePipeline } from '../engine/estimate';
import { partitionPipeline, placementUnits, type PartitionResult } from '../engine/partition/partition';
import { placeStatements, rewritePlaceLines } from '../engine/partition/place-lines';
import { placeSites, rewriteCompressLines } from '../engine/pipeline-text';
import { minimalEdit, type TextEdit } from '../engine/source-edits';
import type * as ast from '../language/generated/ast';
import type { OptimizeSpec, PipelineSpec } from '../language/pipeline-model';
import { FEATURES_KEY } from '../language/pipeline-model';

/** The cost of one placement under one objective. */
export interface PlanFiguresView {
  /** α x energy (mJ) + β x latency (ms). */
  objective: number;
  endToEndLatencyMs: number;
  energyPerInferenceMj: number;
}

/** An Auto-Partition plan, ready to apply. */
export interface PartitionPlan {
  result: PartitionResult;
  /** The file's own placement under the same objective. */
  before: PlanFiguresView;
  /** The plan's placement. */
  after: PlanFiguresView;
  /** The `place` statements of the plan, without indentation. */
  statements: string[];
  /** The document's text with its `place` lines replaced. */
  newText: string;
  /** One edit turning the old text into `newText` (empty when they are equal). */
  edits: TextEdit[];
}

/** An Auto-Compress plan, ready to apply when feasible. */
export interface CompressPlan {
  result: AutoCompressResult;
  /** The new text, when the plan is feasible and changes some layer. */
  newText?: string;
  /** One edit turning the old text into `newText` (empty when nothing is written). */
  edits: TextEdit[];
}

export { minimalEdit } from '../engine/source-edits';

/**
 * Wall-clock limit (ms) of the studio's Auto-Partition search: it runs on the extension
 * host's thread, so a pipeline whose optimum is hard to prove (a long trunk on a processor
 * whose memory binds) gets its best plan after about 2 s instead of holding the host for
 * the node limit (tens of seconds); the notification then says the plan is not proven.
 */
export const AUTO_PARTITION_TIME_LIMIT_MS = 2000;

/**
 * Runs the exact partitioner on `spec` with `optimize` (missing fields keep the
 * pipeline's `optimize` line), stopping after about `timeLimitMs` (then the plan is the
 * best found, `result.exact` false), and returns the plan, the file's own figures under
 * the same objective, and the one edit that writes the plan's `place` lines. The feature
 * front end is placed too (`place features on ...` when it leaves the default processor).
 * Throws the engine's Error when the pipeline cannot be partitioned.
 */
export function planAutoPartition(text: string, node: ast.Pipeline, spec: PipelineSpec, optimize: Partial<OptimizeSpec>, keepPins = false, timeLimitMs: number = AUTO_PARTITION_TIME_LIMIT_MS): PartitionPlan {
  const result = partitionPipeline(spec, { optimize, keepPins, timeLimitMs });
  const current = estimatePipeline({ ...spec, optimize: result.optimize });
  const hasFeatures = placementUnits(spec).includes(FEATURES_KEY);
  const placement: Record<string, string> = {};
  for (const [key, proc] of Object.entries(result.placement)) if (key !== FEATURES_KEY || hasFeatures) placement[key] = proc;
  const statements = placeStatements(spec, placement);
  const newText = rewritePlaceLines(text, placeSites(text, node), statements);
  return {
    result,
    before: { objective: current.objective, endToEndLatencyMs: current.endToEndLatencyMs, energyPerInferenceMj: current.energyPerInferenceMj },
    after: { objective: result.objective, endToEndLatencyMs: result.endToEndLatencyMs, energyPerInferenceMj: result.energyPerInferenceMj },
    statements,
    newText,
    edits: minimalEdit(text, newText),
  };
}

/**
 * What the studio tells the user about a partition plan's optimality: empty when the
 * search completed (the plan is proven optimal), else e.g. "best plan found in 2.0 s;
 * not proven optimal (the search stopped at its 2000 ms time limit)". `tookMs` is the
 * planning time the caller measured.
 */
export function optimalityNote(result: Pick<PartitionResult, 'exact' | 'stoppedBy' | 'nodes'>, tookMs: number, timeLimitMs: number = AUTO_PARTITION_TIME_LIMIT_MS): string {
  if (result.exact) return '';
  const took = tookMs >= 1000 ? `${(tookMs / 1000).toFixed(1)} s` : `${Math.round(tookMs)} ms`;
  const limit = result.stoppedBy === 'time-limit' ? `its ${timeLimitMs} ms time limit` : `its node limit (${result.nodes} nodes)`;
  return `best plan found in ${took}; not proven optimal (the search stopped at ${limit})`;
}

/**
 * Runs auto-compress on `spec` for `target` (with the layers' real spectra when given)
 * and returns the plan and, when it is feasible and changes something, the one edit that
 * writes its compress lines. An infeasible plan returns no edit: the caller shows the
 * closest plan instead.
 */
export function planAutoCompress(text: string, node: ast.Pipeline, spec: PipelineSpec, target: CompressTarget, spectra?: ReadonlyMap<string, ArrayLike<number>>): CompressPlan {
  const result = autoCompress(spec, target, spectra ? { spectra } : {});
  if (!result.feasible || !result.layers.some((l) => l.changed)) return { result, edits: [] };
  const newText = rewriteCompressLines(text, node, spec, result);
  return { result, newText, edits: minimalEdit(text, newText) };
}

/** A one-sentence description of an auto-compress target: `fit dsp's memory`, `latency within 5 ms`. */
export function targetText(target: CompressTarget): string {
  if (target.kind === 'fit') return `fit ${target.processor}'s memory`;
  if (target.kind === 'within') return `end-to-end latency within ${target.latencyMs} ms`;
  return `energy per inference within ${target.energyMj} mJ`;
}
