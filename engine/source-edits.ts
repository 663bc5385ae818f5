/**
 * Every change a tool makes to a `.sense` text: the one {@link TextEdit} type, the one
 * way to apply edits, and the edits that write `compress`, `place`, `target` and `expect` lines.
 * `sense partition --write`, `sense compress --write`, the studio's graph actions and its
 * Auto-Partition / Auto-Compress all go through here, so the CLI and the editor write the
 * same bytes and treat comments the same way.
 *
 * Comment policy: a comment is the user's, and no edit deletes one. Replacing a statement
 * replaces only its range, so a trailing comment stays where it was. Deleting a statement
 * that is alone on its line removes the line, break included; when a comment follows it
 * on that line, only the statement and the blanks after it go, and the comment stays on
 * its own line at the statement's indentation. A statement that shares its line with
 * another statement loses only its own range.
 *
 * Positions are 0-based lines and characters, as LSP and `vscode.Position` use them, so
 * an edit crosses the language-server boundary and becomes a `WorkspaceEdit` unchanged.
 */
import type { AstNode } from 'langium';
import * as ast from '../language/generated/ast';
import { rangeOf, unquote } from '../language/lower';
import type { CompressionSpec, PipelineSpec, SourceRange } from '../language/pipeline-model';
import { FEATURES_KEY } from '../language/pipeline-model';

/** A position in a text, 0-based, as LSP and `vscode.Position` use it. */
export interface TextPosition {
  line: number;
  character: number;
}

/** One replacement of the text between `range.start` and `range.end` by `newText` (an insertion when the range is empty). */
export interface TextEdit {
  range: SourceRange;
  newText: string;
}

/** One target of a `place` line as written: its text and the layers it designates. */
export interface PlaceTarget {
  /** The reference as written, `encoder` or `encoder.2`. */
  text: string;
  /** The block it names. */
  block: string;
  /** True when it names a whole block. */
  isBlock: boolean;
  /** Ids of the layers it designates (empty when it does not resolve). */
  layerIds: string[];
}

/**
 * The statements of one pipeline that edits touch, with their source ranges: plain data
 * extracted from the AST by {@link outlineOf}, so it crosses process boundaries and the
 * edit functions are testable without a parser.
 */
export interface PipelineOutline {
  name: string;
  /** The whole `pipeline ... { ... }` range; its end is just after the closing brace. */
  range: SourceRange;
  /** Indentation of the pipeline's statements (taken from its first member line; two spaces when it has none). */
  indent: string;
  /** `compress` lines: the layer id they compress (undefined when unresolved) and their range. */
  compressions: { layerId?: string; range: SourceRange }[];
  /** `place` lines with their targets and processor name as written; `features` is true when the line names the feature front end (`place features, encoder on dsp`). */
  placements: { targets: PlaceTarget[]; features?: boolean; processor: string; range: SourceRange }[];
  /** The `target` line, when there is one. */
  target?: { device: string; range: SourceRange };
  /** `expect` lines: the head and label they name (the label unquoted), the range of their rate and of the whole line. */
  expectations: { head: string; label: string; rateRange: SourceRange; range: SourceRange }[];
  /** The heads' gates (`when ambient is voicing`): the head and label named, and the label as written (quoted or not), which a new `expect` line copies. */
  gates: { head: string; label: string; labelText: string }[];
  /** Ranges of the other statements, in source order, to find insertion points. */
  members: { kind: StatementKind; range: SourceRange }[];
}

/** The kinds of statement a pipeline holds, in the order a pipeline usually lists them. */
export type StatementKind = 'input' | 'features' | 'block' | 'target' | 'weights' | 'expect' | 'compress' | 'place' | 'optimize';

const STATEMENT_ORDER: readonly StatementKind[] = ['input', 'features', 'block', 'target', 'weights', 'expect', 'compress', 'place', 'optimize'];

/** The `place` target that names the feature front end (`place features on dsp`). */
export const FEATURES_TARGET = FEATURES_KEY;

// ---------------------------------------------------------------------------------------
// Positions, offsets and applying edits
// ---------------------------------------------------------------------------------------

/** True when `a` is at or before `b`. */
export function positionLe(a: TextPosition, b: TextPosition): boolean {
  return a.line < b.line || (a.line === b.line && a.character <= b.character);
}

/** True when `p` lies inside `r` (both ends included). */
export function rangeContains(r: SourceRange, p: TextPosition): boolean {
  return positionLe(r.start, p) && positionLe(p, r.end);
}

/** The offset of a position in a text (clamped to the text and to the end of its line). */
export function offsetAt(text: string, p: TextPosition): number {
  let offset = 0;
  for (let line = 0; line < p.line; line++) {
    const next = text.indexOf('\n', offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  const lineEnd = text.indexOf('\n', offset);
  const end = lineEnd < 0 ? text.length : lineEnd;
  return Math.min(offset + Math.max(0, p.character), end);
}

/** The position of an offset in a text (the inverse of {@link offsetAt}). */
export function positionAt(text: string, offset: number): TextPosition {
  let line = 0;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, character: offset - start };
}

/** The text between two positions. */
export function textIn(text: string, range: SourceRange): string {
  return text.slice(offsetAt(text, range.start), offsetAt(text, range.end));
}

/** Sorts edits from the end of the text to its start, so each can be applied without shifting the others. */
export function sortEdits(edits: readonly TextEdit[]): TextEdit[] {
  return [...edits].sort((a, b) => (positionLe(a.range.start, b.range.start) ? (positionLe(b.range.start, a.range.start) ? 0 : 1) : -1));
}

/** An edit by offsets into the text it applies to: [start, end) becomes `newText`. */
interface OffsetEdit {
  start: number;
  end: number;
  newText: string;
}

/**
 * Applies offset edits, all taken against `text`: a replacement and insertions at the same
 * offset put the insertions first, in the order given (as VS Code orders a WorkspaceEdit's
 * insertions at one position). Overlapping ranges are a programming error and throw.
 */
function applyOffsetEdits(text: string, edits: readonly OffsetEdit[]): string {
  const sorted = edits
    .map((e, i) => ({ ...e, i }))
    .sort((a, b) => a.start - b.start || (a.start === a.end ? 0 : 1) - (b.start === b.end ? 0 : 1) || a.i - b.i);
  let out = '';
  let at = 0;
  for (const e of sorted) {
    if (e.start < at) throw new Error(`Overlapping edits at offset ${e.start}: an edit must not touch text another edit replaces.`);
    out += text.slice(at, e.start) + e.newText;
    at = e.end;
  }
  return out + text.slice(at);
}

/** Applies edits to a text, as VS Code applies a WorkspaceEdit; every range refers to `text` as given. */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  return applyOffsetEdits(
    text,
    edits.map((e) => ({ start: offsetAt(text, e.range.start), end: offsetAt(text, e.range.end), newText: e.newText })),
  );
}

/**
 * The single replacement that turns `oldText` into `newText`: the span between their
 * common prefix and common suffix. Empty when the texts are equal. One edit keeps a
 * change one undo step and leaves the rest of the document (and its markers) untouched.
 */
export function minimalEdit(oldText: string, newText: string): TextEdit[] {
  if (oldText === newText) return [];
  let start = 0;
  const max = Math.min(oldText.length, newText.length);
  while (start < max && oldText[start] === newText[start]) start++;
  let endOld = oldText.length;
  let endNew = newText.length;
  while (endOld > start && endNew > start && oldText[endOld - 1] === newText[endNew - 1]) {
    endOld--;
    endNew--;
  }
  // Never split a \r\n pair: an edit range must be representable as VS Code positions.
  if (start > 0 && oldText[start - 1] === '\r' && oldText[start] === '\n') start--;
  if (endOld > 0 && oldText[endOld - 1] === '\r' && oldText[endOld] === '\n') {
    endOld++;
    endNew++;
  }
  return [{ range: { start: positionAt(oldText, start), end: positionAt(oldText, endOld) }, newText: newText.slice(start, endNew) }];
}

function eolOf(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

function lineStartOf(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** The offset just after the line break that ends the line holding `offset` (the text's end on the last line). */
function lineEndOf(text: string, offset: number): number {
  const i = text.indexOf('\n', offset);
  return i < 0 ? text.length : i + 1;
}

/**
 * The edit that deletes the statement at [start, end) by the comment policy: the whole
 * line when the statement is alone on it; the statement and the blanks after it when a
 * comment follows on its line; else just its range.
 */
function deletionOf(text: string, start: number, end: number): OffsetEdit {
  const ls = lineStartOf(text, start);
  const le = lineEndOf(text, end);
  const before = text.slice(ls, start);
  const after = text.slice(end, le);
  if (/^[ \t]*$/.test(before)) {
    if (/^[ \t]*\r?\n?$/.test(after)) return { start: ls, end: le, newText: '' };
    if (/^[ \t]*\/\//.test(after)) return { start, end: end + /^[ \t]*/.exec(after)![0].length, newText: '' };
  }
  return { start, end, newText: '' };
}

/** The edit that deletes the statement at `range`, by the module's comment policy. */
export function deleteStatement(text: string, range: SourceRange): TextEdit {
  const e = deletionOf(text, offsetAt(text, range.start), offsetAt(text, range.end));
  return { range: { start: positionAt(text, e.start), end: positionAt(text, e.end) }, newText: '' };
}

// ---------------------------------------------------------------------------------------
// Outline from the AST
// ---------------------------------------------------------------------------------------

function refLayerIds(ref: ast.LayerRef, spec: PipelineSpec | undefined): PlaceTarget {
  // Error recovery can leave references out of a half-typed statement.
  const block = ref.block?.$refText ?? '';
  const blockSpec = spec?.blocks.find((b) => b.name === block);
  const text = ref.$cstNode?.text ?? (ref.index !== undefined ? `${block}.${ref.index}` : ref.layer ? `${block}.${ref.layer.$refText}` : block);
  if (ref.index !== undefined) {
    const layer = blockSpec?.layers[ref.index - 1];
    return { block, isBlock: false, layerIds: layer ? [layer.id] : [], text };
  }
  if (ref.layer) {
    const layer = blockSpec?.layers.find((l) => l.name === ref.layer!.$refText);
    return { block, isBlock: false, layerIds: layer ? [layer.id] : [], text };
  }
  return { block, isBlock: true, layerIds: blockSpec ? blockSpec.layers.map((l) => l.id) : [], text };
}

/** Extracts the {@link PipelineOutline} of a pipeline node; `spec` (its lowering) resolves layer references to ids. */
export function outlineOf(pipeline: ast.Pipeline, spec: PipelineSpec | undefined, text: string): PipelineOutline {
  const members: PipelineOutline['members'] = [];
  const add = (kind: StatementKind, nodes: readonly AstNode[]): void => {
    for (const n of nodes) members.push({ kind, range: rangeOf(n) });
  };
  add('input', pipeline.inputs);
  add('features', pipeline.features);
  add('block', pipeline.blocks);
  add('target', pipeline.targets);
  add('weights', pipeline.weights);
  add('expect', pipeline.expectations);
  add('compress', pipeline.compressions);
  add('place', pipeline.placements);
  add('optimize', pipeline.optimizations);
  members.sort((a, b) => (positionLe(a.range.start, b.range.start) ? -1 : 1));
  const first = members[0];
  const firstLine = first ? text.slice(offsetAt(text, { line: first.range.start.line, character: 0 })) : '';
  const indent = first ? (/^[ \t]*/.exec(firstLine)?.[0] ?? '') : '';
  const target = pipeline.targets[0];
  return {
    name: pipeline.name,
    range: rangeOf(pipeline),
    indent: indent || '  ',
    compressions: pipeline.compressions.map((c) => ({ layerId: c.layer ? refLayerIds(c.layer, spec).layerIds[0] : undefined, range: rangeOf(c) })),
    placements: pipeline.placements.map((p) => ({
      targets: (p.targets ?? []).filter((t) => t !== undefined).map((t) => refLayerIds(t, spec)),
      ...(p.features ? { features: true } : {}),
      processor: p.processor?.$refText ?? '',
      range: rangeOf(p),
    })),
    ...(target ? { target: { device: target.device?.$refText ?? '', range: rangeOf(target) } } : {}),
    // Error recovery can leave a half-typed line without its head, label or rate.
    expectations: pipeline.expectations
      .filter((e) => e.head !== undefined && e.label !== undefined && e.rate !== undefined)
      .map((e) => ({ head: e.head.$refText, label: unquote(e.label), rateRange: rangeOf(e.rate), range: rangeOf(e) })),
    gates: pipeline.blocks.flatMap((b) => {
      const gate = ast.isHead(b) ? b.gate : undefined;
      return gate?.head !== undefined && gate.label !== undefined ? [{ head: gate.head.$refText, label: unquote(gate.label), labelText: gate.label }] : [];
    }),
    members,
  };
}

// ---------------------------------------------------------------------------------------
// Statement edits: compress, place, target, expect
// ---------------------------------------------------------------------------------------

function percent(fraction: number): string {
  // Up to four significant decimals, no trailing zeros: 0.95 -> "95%", 0.0125 -> "1.25%".
  return `${Number((fraction * 100).toFixed(4))}%`;
}

/** The method part of a `compress` line: `svd rank 256`, `svd energy 95%`, `svd error 2%`, `sparse atoms 128 nonzeros 8`, `int8`. */
export function compressionText(method: CompressionSpec): string {
  switch (method.kind) {
    case 'svd':
      return method.criterion === 'rank' ? `svd rank ${method.rank}` : `svd ${method.criterion} ${percent(method.fraction)}`;
    case 'sparse':
      return `sparse atoms ${method.atoms} nonzeros ${method.nonzeros}`;
    case 'int8':
      return 'int8';
  }
}

/**
 * The insertion of a new statement line of `kind`: after the last statement of the same
 * kind, else after the last of the kinds that come before it in the usual order (input,
 * features, blocks, target, weights, compress, place, optimize), else before the
 * pipeline's closing brace.
 */
function insertLine(text: string, outline: PipelineOutline, kind: StatementKind, statement: string): TextEdit {
  const rank = STATEMENT_ORDER.indexOf(kind);
  let anchor: SourceRange | undefined;
  for (const m of outline.members) {
    if (STATEMENT_ORDER.indexOf(m.kind) <= rank && (!anchor || positionLe(anchor.end, m.range.end))) anchor = m.range;
  }
  const eol = eolOf(text);
  const at = (p: TextPosition, newText: string): TextEdit => ({ range: { start: p, end: p }, newText });
  if (anchor) {
    const end = offsetAt(text, anchor.end);
    const lineEnd = lineEndOf(text, end);
    const rest = text.slice(end, lineEnd).replace(/\r?\n$/, '');
    if (rest.trim() === '' || rest.trim().startsWith('//')) {
      // The anchor ends its line (a trailing comment stays with it): the new line follows.
      if (text.slice(end, lineEnd).endsWith('\n')) return at(positionAt(text, lineEnd), `${outline.indent}${statement}${eol}`);
      return at(positionAt(text, lineEnd), `${eol}${outline.indent}${statement}`);
    }
    // Something else follows on the same line: break it after the anchor.
    return at(anchor.end, `${eol}${outline.indent}${statement}`);
  }
  // No member before it: insert before the closing brace.
  const close = offsetAt(text, outline.range.end) - 1;
  const ls = lineStartOf(text, close);
  if (text.slice(ls, close).trim() === '') return at(positionAt(text, ls), `${outline.indent}${statement}${eol}`);
  return at(positionAt(text, close), `${eol}${outline.indent}${statement}`);
}

/**
 * The edits that compress `layerId` with `method` (or remove its compression when
 * `method` is undefined): the layer's existing `compress` line is replaced in place (its
 * comment stays), or a line is inserted after the last `compress` line (or where such a
 * line belongs). Returns an empty list when nothing changes, and throws an Error naming
 * the layer when it is not in the pipeline.
 */
export function compressionEdits(text: string, outline: PipelineOutline, spec: PipelineSpec, layerId: string, method: CompressionSpec | undefined): TextEdit[] {
  const layer = spec.blocks.flatMap((b) => b.layers).find((l) => l.id === layerId);
  if (!layer) throw new Error(`Pipeline ${spec.name} has no layer ${layerId}; the graph is out of date, reopen it.`);
  const existing = outline.compressions.filter((c) => c.layerId === layerId);
  if (!method) return sortEdits(existing.map((c) => deleteStatement(text, c.range)));
  const statement = `compress ${layerId} ${compressionText(method)}`;
  if (existing.length > 0) {
    const [first, ...rest] = existing;
    const edits: TextEdit[] = textIn(text, first.range) === statement ? [] : [{ range: first.range, newText: statement }];
    // Duplicates are an error in the language; the graph action leaves one line.
    for (const c of rest) edits.push(deleteStatement(text, c.range));
    return sortEdits(edits);
  }
  return [insertLine(text, outline, 'compress', statement)];
}

/**
 * The edits that place `targets` (layer ids, block names, or `features` for the feature
 * front end) on `processor`: every existing `place` line loses the layers that move (a
 * block reference that covers some of them is replaced by the block's remaining layers;
 * a line left empty is deleted), and one `place <targets> on <processor>` line is added
 * after the other `place` lines. The result leaves no conflicting placements, so the
 * language reports no warning. Throws an Error naming an unknown processor or target.
 */
export function placementEdits(text: string, outline: PipelineOutline, spec: PipelineSpec, targets: readonly string[], processor: string): TextEdit[] {
  if (!spec.target.processors.some((p) => p.name === processor)) {
    throw new Error(`${spec.target.name} has no processor '${processor}'; it has ${spec.target.processors.map((p) => p.name).join(', ')}.`);
  }
  const moved = new Set<string>();
  let movesFeatures = false;
  for (const t of targets) {
    if (t === FEATURES_TARGET) {
      movesFeatures = true;
      continue;
    }
    const block = spec.blocks.find((b) => b.name === t);
    const layer = spec.blocks.flatMap((b) => b.layers).find((l) => l.id === t);
    if (block) block.layers.forEach((l) => moved.add(l.id));
    else if (layer) moved.add(layer.id);
    else throw new Error(`Pipeline ${spec.name} has no layer or block '${t}'; the graph is out of date, reopen it.`);
  }
  const edits: TextEdit[] = [];
  for (const line of outline.placements) {
    // The front end stays named first on its line unless it moves too.
    const kept: string[] = line.features && !movesFeatures ? [FEATURES_TARGET] : [];
    let changed = line.features === true && movesFeatures;
    for (const t of line.targets) {
      const hit = t.layerIds.filter((id) => moved.has(id));
      if (hit.length === 0) {
        kept.push(t.text);
        continue;
      }
      changed = true;
      if (t.isBlock) kept.push(...t.layerIds.filter((id) => !moved.has(id)));
    }
    if (!changed) continue;
    if (kept.length === 0) edits.push(deleteStatement(text, line.range));
    else edits.push({ range: line.range, newText: `place ${kept.join(', ')} on ${line.processor}` });
  }
  // `features` goes first, as `sense partition` writes it.
  const ordered = movesFeatures ? [FEATURES_TARGET, ...targets.filter((t) => t !== FEATURES_TARGET)] : [...targets];
  edits.push(insertLine(text, outline, 'place', `place ${ordered.join(', ')} on ${processor}`));
  return sortEdits(edits);
}

/** The edit that makes `device` the pipeline's target: replaces the `target` line, or inserts one. Throws on a name that is not an identifier. */
export function targetEdits(text: string, outline: PipelineOutline, device: string): TextEdit[] {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(device)) throw new Error(`'${device}' is not a device name (letters, digits and _).`);
  const statement = `target ${device}`;
  if (outline.target) return outline.target.device === device ? [] : [{ range: outline.target.range, newText: statement }];
  return [insertLine(text, outline, 'target', statement)];
}

/**
 * The edits that state `fraction` (0-1) as how often `label` is the top label of `head`
 * (Write observed rate): the rate of the existing `expect head label` line is replaced (the
 * rest of the line and its comment stay), or an `expect` line is added after the other
 * `expect` lines (else after the `weights` line, or where such a line belongs), spelling the
 * label as a gate on it does. Returns an empty list when the line already says so. Throws an
 * Error naming the problem when `head` has no such label or the head's expect lines would add
 * up to more than 100 %, which the language refuses.
 */
export function expectEdits(text: string, outline: PipelineOutline, spec: PipelineSpec, head: string, label: string, fraction: number): TextEdit[] {
  const block = spec.blocks.find((b) => b.name === head && b.kind === 'head');
  if (!block) throw new Error(`Pipeline ${spec.name} has no head '${head}'; the graph is out of date, reopen it.`);
  if (!block.labels?.includes(label)) throw new Error(`Head '${head}' has no label '${label}'${block.labels ? `; its labels are ${block.labels.join(', ')}` : ''}.`);
  if (!Number.isFinite(fraction) || fraction < 0 || fraction > 1) throw new Error(`A rate is from 0 % to 100 %, got ${fraction * 100} %.`);
  const others = (spec.expectations ?? []).filter((e) => e.head === head && e.label !== label).reduce((a, e) => a + e.fraction, 0);
  if (others + fraction > 1 + 1e-9) {
    throw new Error(`The expect lines of '${head}' would add up to ${+((others + fraction) * 100).toPrecision(6)} % with '${label}' at ${percent(fraction)}; lower the other lines of '${head}' first.`);
  }
  const rate = percent(fraction);
  const existing = outline.expectations.filter((e) => e.head === head && e.label === label);
  if (existing.length > 0) {
    const [first, ...rest] = existing;
    const edits: TextEdit[] = textIn(text, first.rateRange) === rate ? [] : [{ range: first.rateRange, newText: rate }];
    // A duplicate is an error in the language; the action leaves one line.
    for (const e of rest) edits.push(deleteStatement(text, e.range));
    return sortEdits(edits);
  }
  const written = outline.gates.find((g) => g.head === head && g.label === label)?.labelText ?? (/^[A-Za-z_][A-Za-z0-9_]*$/.test(label) ? label : JSON.stringify(label));
  return [insertLine(text, outline, 'expect', `expect ${head} ${written} ${rate}`)];
}

// ---------------------------------------------------------------------------------------
// Rewriting a set of statement lines (the optimizers' `place` and `compress` lines)
// ---------------------------------------------------------------------------------------

/** Where a set of statements is and where new ones go when there are none (0-based offsets into the text). */
export interface StatementSites {
  /** [start, end) of every existing statement of the set. */
  existing: { start: number; end: number }[];
  /** Offset of the statement before which to insert when there is none (an `optimize` line, else the pipeline's closing brace). */
  insertBefore: number;
  /** Indentation for inserted lines when there is no existing statement. */
  indent: string;
}

/**
 * The edits that replace the statements at `sites.existing` by `statements`: the old ones
 * go by the comment policy, and the new lines go where the first old one started (with its
 * indentation), or before `sites.insertBefore`. Everything else is byte-identical.
 */
export function statementLinesEdits(text: string, sites: StatementSites, statements: readonly string[]): TextEdit[] {
  return minimalEdit(text, rewriteStatementLines(text, sites, statements));
}

/** `text` after {@link statementLinesEdits}. */
export function rewriteStatementLines(text: string, sites: StatementSites, statements: readonly string[]): string {
  const nl = eolOf(text);
  const existing = [...sites.existing].sort((a, b) => a.start - b.start);
  const edits: OffsetEdit[] = existing.map((site) => deletionOf(text, site.start, site.end));
  let insertAt: number;
  let indent: string;
  if (existing.length > 0) {
    insertAt = lineStartOf(text, existing[0].start);
    indent = /^[ \t]*/.exec(text.slice(insertAt, existing[0].start))![0];
    // The first deletion may start at the line start (the whole line goes): insert within it, not beside it.
    const first = edits[0];
    if (first.start === insertAt) {
      edits[0] = { ...first, newText: statements.map((s) => `${indent}${s}${nl}`).join('') };
      if (first.end === text.length && !text.endsWith('\n')) edits[0].newText = edits[0].newText.slice(0, -nl.length);
      return applyOffsetEdits(text, edits);
    }
  } else {
    insertAt = lineStartOf(text, sites.insertBefore);
    const before = text.slice(insertAt, sites.insertBefore);
    if (/^[ \t]*$/.test(before)) indent = before.length > 0 ? before : sites.indent;
    else {
      // The anchor shares its line with other text (`... }` on one line): break the line there.
      return applyOffsetEdits(text, [{ start: sites.insertBefore, end: sites.insertBefore, newText: statements.map((s) => `${nl}${sites.indent}${s}`).join('') + nl }]);
    }
  }
  if (statements.length > 0) edits.push({ start: insertAt, end: insertAt, newText: statements.map((s) => `${indent}${s}${nl}`).join('') });
  return applyOffsetEdits(text, edits);
}
