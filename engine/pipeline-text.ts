/**
 * Where the statements the optimizers write go in a pipeline's source text: the sites of
 * its `place` lines and the rewrite of its `compress` lines. Shared by `sense partition
 * --write`, `sense compress --write` and the studio's Auto-Partition / Auto-Compress, so
 * the CLI and the editor write the same bytes. The edits themselves, and what happens to
 * comments, are engine/source-edits.ts's.
 */
import type * as ast from '../language/generated/ast';
import { resolveLayerRef } from '../language/lower';
import type { PipelineSpec } from '../language/pipeline-model';
import type { AutoCompressResult } from './auto-compress';
import type { PlaceLineSites } from './partition/place-lines';
import { minimalEdit, rewriteStatementLines, type TextEdit } from './source-edits';

/** The indentation of the pipeline's statements (its `target`, else its `input` line), two spaces when unknown. */
export function pipelineIndent(text: string, node: ast.Pipeline): string {
  const first = node.targets[0]?.$cstNode ?? node.inputs[0]?.$cstNode;
  return first ? /^[ \t]*/.exec(text.slice(text.lastIndexOf('\n', first.offset - 1) + 1))![0] || '  ' : '  ';
}

/** Where a pipeline's `place` lines are and where new ones go: before its `optimize` line, else before its closing brace. */
export function placeSites(text: string, node: ast.Pipeline): PlaceLineSites {
  if (!node.$cstNode) throw new Error(`Pipeline ${node.name} has no source text to rewrite.`);
  const existing = node.placements.filter((p) => p.$cstNode).map((p) => ({ start: p.$cstNode!.offset, end: p.$cstNode!.end }));
  const anchor = node.optimizations[0]?.$cstNode?.offset ?? node.$cstNode.end - 1;
  return { existing, insertBefore: anchor, indent: pipelineIndent(text, node) };
}

/**
 * `text` with the compress lines of the plan's changed layers replaced by the plan's: a
 * changed layer's old line goes, the new lines go after the last compress line, else
 * before the first place or optimize line, else before the pipeline's closing brace.
 */
export function rewriteCompressLines(text: string, node: ast.Pipeline, spec: PipelineSpec, result: Pick<AutoCompressResult, 'layers' | 'lines'>): string {
  if (!node.$cstNode) throw new Error(`Pipeline ${node.name} has no source text to rewrite.`);
  const changed = new Set(result.layers.filter((l) => l.changed).map((l) => l.layerId));
  const existing: { start: number; end: number }[] = [];
  let lastEnd = -1;
  for (const c of node.compressions) {
    if (!c.$cstNode) continue;
    lastEnd = Math.max(lastEnd, c.$cstNode.end);
    const layers = c.layer ? resolveLayerRef(c.layer, spec.blocks) : undefined;
    if (layers && layers.length === 1 && changed.has(layers[0].id)) existing.push({ start: c.$cstNode.offset, end: c.$cstNode.end });
  }
  const offsets = (nodes: readonly { $cstNode?: { offset: number } }[]): number[] => nodes.flatMap((n) => (n.$cstNode ? [n.$cstNode.offset] : []));
  const statements = offsets([...node.inputs, ...node.features, ...node.blocks, ...node.targets, ...node.weights, ...node.compressions, ...node.placements, ...node.optimizations, ...node.expectations]);
  const after = lastEnd >= 0 ? statements.filter((o) => o >= lastEnd) : offsets([...node.placements, ...node.optimizations]);
  const anchor = after.length > 0 ? Math.min(...after) : node.$cstNode.end - 1;
  return rewriteStatementLines(text, { existing, insertBefore: anchor, indent: pipelineIndent(text, node) }, result.lines);
}

/** {@link rewriteCompressLines} as one edit of `text` (none when nothing changes), for the studio. */
export function compressLinesEdits(text: string, node: ast.Pipeline, spec: PipelineSpec, result: Pick<AutoCompressResult, 'layers' | 'lines'>): TextEdit[] {
  return minimalEdit(text, rewriteCompressLines(text, node, spec, result));
}

/** The one edit of `text` that replaces the pipeline's `place` lines by `statements` (none when nothing changes). */
export function placeLinesEdits(text: string, node: ast.Pipeline, statements: readonly string[]): TextEdit[] {
  return minimalEdit(text, rewriteStatementLines(text, placeSites(text, node), statements));
}
