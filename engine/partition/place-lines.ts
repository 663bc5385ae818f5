/**
 * Placements as `.sense` text: the compact set of `place` lines that expresses a
 * placement (a whole block where all its layers share a processor, `block.N` otherwise),
 * the plan grouped into runs for printing, and the rewrite of a document's `place` lines
 * (through engine/source-edits.ts, the one edit model), which keeps every other byte.
 */
import type { PipelineSpec } from '../../language/pipeline-model';
import { FEATURES_KEY } from '../../language/pipeline-model';
import { rewriteStatementLines, type StatementSites } from '../source-edits';

/** A run of consecutive layers of one block on one processor (1-based indices, inclusive). */
export interface PlacementRun {
  block: string;
  from: number;
  to: number;
  processor: string;
}

/** The layers of `spec` grouped into runs of consecutive layers on the same processor, block by block. */
export function placementRuns(spec: PipelineSpec, placement: Readonly<Record<string, string>>): PlacementRun[] {
  const runs: PlacementRun[] = [];
  for (const block of spec.blocks) {
    for (const layer of block.layers) {
      const processor = placement[layer.id] ?? spec.placement[layer.id] ?? spec.target.defaultProcessor;
      const last = runs[runs.length - 1];
      if (last && last.block === block.name && last.processor === processor && last.to === layer.index - 1) last.to = layer.index;
      else runs.push({ block: block.name, from: layer.index, to: layer.index, processor });
    }
  }
  return runs;
}

/**
 * The `place` statements (without indentation) that pin every layer of `spec` where
 * `placement` puts it: one line per processor, in the order processors first appear,
 * naming whole blocks where a block is on one processor and `block.N` otherwise. The
 * feature front end (key `features`) is named first on its processor's line when
 * `placement` moves it off the target's default processor, where it runs unplaced.
 */
export function placeStatements(spec: PipelineSpec, placement: Readonly<Record<string, string>>): string[] {
  const targets = new Map<string, string[]>();
  const add = (processor: string, target: string): void => {
    const list = targets.get(processor);
    if (list) list.push(target);
    else targets.set(processor, [target]);
  };
  const features = placement[FEATURES_KEY];
  if (features !== undefined && features !== spec.target.defaultProcessor) add(features, FEATURES_KEY);
  for (const block of spec.blocks) {
    if (block.layers.length === 0) continue;
    const procs = block.layers.map((l) => placement[l.id] ?? spec.placement[l.id] ?? spec.target.defaultProcessor);
    if (procs.every((p) => p === procs[0])) add(procs[0], block.name);
    else block.layers.forEach((l, i) => add(procs[i], `${block.name}.${l.index}`));
  }
  return [...targets].map(([processor, list]) => `place ${list.join(', ')} on ${processor}`);
}

/** Where a pipeline's `place` statements are and where new ones go (see engine/source-edits.ts). */
export type PlaceLineSites = StatementSites;

/**
 * `text` with its `place` statements replaced by `statements`: the new lines go where
 * the first old one was (with its indentation), or before `sites.insertBefore`; old lines
 * go by the comment policy of engine/source-edits.ts (a trailing comment stays, on its own
 * line); everything else is byte-identical.
 */
export function rewritePlaceLines(text: string, sites: PlaceLineSites, statements: readonly string[]): string {
  return rewriteStatementLines(text, sites, statements);
}
