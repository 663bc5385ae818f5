/**
 * Placements as `.sense` text: the compact set of `place` lines that expresses a
 * placement (a whole block where all its layers share a processor, `block.N` otherwise),
 * the plan grouped into runs for printing, and the rewrite of a document's `place` lines
 * that keeps every other byte (comments included).
 */
import type { PipelineSpec } from '../../language/pipeline-model';
import { FEATURES_KEY } from '../ir';

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

/** Where the existing statements are and where new ones go when there are none (0-based offsets into the text). */
export interface PlaceLineSites {
  /** [start, end) of every existing `place` statement. */
  existing: { start: number; end: number }[];
  /** Offset of the statement before which to insert when there is no `place` line (the `optimize` line, else the pipeline's closing brace). */
  insertBefore: number;
  /** Indentation for inserted lines when there is no `place` line. */
  indent: string;
}

/**
 * `text` with its `place` statements replaced by `statements`: the new lines go where
 * the first old one was (with its indentation), or before `sites.insertBefore`. A line
 * that held only a place statement disappears; a trailing comment on it stays, on its
 * own line; everything else is byte-identical.
 */
export function rewritePlaceLines(text: string, sites: PlaceLineSites, statements: readonly string[]): string {
  const nl = text.includes('\r\n') ? '\r\n' : '\n';
  const lineStart = (at: number): number => text.lastIndexOf('\n', at - 1) + 1;
  const lineEnd = (at: number): number => {
    const i = text.indexOf('\n', at);
    return i < 0 ? text.length : i + 1;
  };
  const edits: { start: number; end: number; text: string }[] = [];
  const existing = [...sites.existing].sort((a, b) => a.start - b.start);
  let insertAt: number;
  let indent: string;
  if (existing.length > 0) {
    const first = existing[0];
    insertAt = lineStart(first.start);
    indent = /^[ \t]*/.exec(text.slice(insertAt, first.start))![0];
  } else {
    insertAt = lineStart(sites.insertBefore);
    const before = text.slice(insertAt, sites.insertBefore);
    if (/^[ \t]*$/.test(before)) indent = before.length > 0 ? before : sites.indent;
    else {
      // The anchor shares its line with other text (`... }` on one line): break the line there.
      insertAt = sites.insertBefore;
      indent = sites.indent;
      edits.push({ start: insertAt, end: insertAt, text: statements.map((s) => `${nl}${indent}${s}`).join('') + nl });
      return applyEdits(text, edits);
    }
  }
  for (const site of existing) {
    const ls = lineStart(site.start);
    const le = lineEnd(site.end);
    const before = text.slice(ls, site.start);
    const after = text.slice(site.end, le);
    if (/^[ \t]*$/.test(before) && /^[ \t]*\r?\n?$/.test(after)) edits.push({ start: ls, end: le, text: '' });
    else if (/^[ \t]*$/.test(before) && /^[ \t]*\/\//.test(after)) edits.push({ start: site.start, end: site.end + (/^[ \t]*/.exec(after)![0].length), text: '' });
    else edits.push({ start: site.start, end: site.end, text: '' });
  }
  const block = statements.map((s) => `${indent}${s}${nl}`).join('');
  edits.push({ start: insertAt, end: insertAt, text: block });
  return applyEdits(text, edits);
}

function applyEdits(text: string, edits: { start: number; end: number; text: string }[]): string {
  // Insertions sort before removals at the same offset so the new lines land where the first old line was.
  const sorted = edits.map((e, i) => ({ ...e, i })).sort((a, b) => b.start - a.start || (a.start === a.end ? 1 : -1) - (b.start === b.end ? 1 : -1) || b.i - a.i);
  let out = text;
  for (const e of sorted) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}
