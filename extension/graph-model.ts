/**
 * The pure half of the graph editor's host: it adapts the language's lowering and the
 * engine's estimate to the webview protocol's {@link ViewState}, and it decides which
 * minimal text edits write a `compress`, `place` or `target` line. No `vscode` import:
 * extension/graph-editor.ts turns the {@link TextEdit}s into a `WorkspaceEdit`, and
 * test/unit/extension/ checks everything here in plain Node.
 *
 * The `.sense` text stays the model (custom-editor-sample): nothing here keeps state
 * between calls; every view is recomputed from a fresh lowering.
 */
import type { AstNode } from 'langium';
import type { Estimate } from '../engine/estimate';
import * as ast from '../language/generated/ast';
import { rangeOf } from '../language/lower';
import type { CompressionSpec, FeatureStep, LayerSpec, PipelineSpec, SourceRange } from '../language/pipeline-model';
import type { BlockView, EdgeView, LayerView, ViewDiagnostic, ViewState } from '../webview/protocol';

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

/** A diagnostic of the document as the language services report it (LSP severities: 1 error, 2 warning, 3 info, 4 hint). */
export interface SourceDiagnostic {
  severity?: number;
  code?: string | number;
  message: string;
  range: SourceRange;
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
 * The statements of one pipeline that graph actions edit, with their source ranges:
 * plain data extracted from the AST by {@link outlineOf}, so the edit functions are
 * testable without a parser.
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
  /** Ranges of the other statements, in source order, to find insertion points. */
  members: { kind: 'input' | 'features' | 'block' | 'target' | 'weights' | 'compress' | 'place' | 'optimize'; range: SourceRange }[];
}

// ---------------------------------------------------------------------------------------
// Positions and ranges
// ---------------------------------------------------------------------------------------

/** True when `a` is at or before `b`. */
export function positionLe(a: TextPosition, b: TextPosition): boolean {
  return a.line < b.line || (a.line === b.line && a.character <= b.character);
}

/** True when `p` lies inside `r` (both ends included). */
export function rangeContains(r: SourceRange, p: TextPosition): boolean {
  return positionLe(r.start, p) && positionLe(p, r.end);
}

/** The lines of a text, without their line breaks (`\r\n` and `\n` both end a line). */
function linesOf(text: string): string[] {
  return text.split(/\r?\n/);
}

function eolOf(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

// ---------------------------------------------------------------------------------------
// Outline from the AST
// ---------------------------------------------------------------------------------------

function refLayerIds(ref: ast.LayerRef, spec: PipelineSpec | undefined): { block: string; isBlock: boolean; layerIds: string[]; text: string } {
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
  const add = (kind: PipelineOutline['members'][number]['kind'], nodes: readonly AstNode[]): void => {
    for (const n of nodes) members.push({ kind, range: rangeOf(n) });
  };
  add('input', pipeline.inputs);
  add('features', pipeline.features);
  add('block', pipeline.blocks);
  add('target', pipeline.targets);
  add('weights', pipeline.weights);
  add('compress', pipeline.compressions);
  add('place', pipeline.placements);
  add('optimize', pipeline.optimizations);
  members.sort((a, b) => (positionLe(a.range.start, b.range.start) ? -1 : 1));
  const lines = linesOf(text);
  const first = members[0];
  const indent = first ? (/^[ \t]*/.exec(lines[first.range.start.line] ?? '')?.[0] ?? '  ') : '  ';
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
    members,
  };
}

// ---------------------------------------------------------------------------------------
// Edits
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

/** Deletes a statement: its whole line (break included) when nothing else but blanks and a comment shares it, else just its range. */
function deleteStatement(text: string, range: SourceRange): TextEdit {
  const lines = linesOf(text);
  const line = lines[range.start.line] ?? '';
  const before = line.slice(0, range.start.character);
  const after = range.end.line === range.start.line ? line.slice(range.end.character) : (lines[range.end.line] ?? '').slice(range.end.character);
  if (before.trim() === '' && (after.trim() === '' || after.trim().startsWith('//'))) {
    if (range.end.line + 1 < lines.length) return { range: { start: { line: range.start.line, character: 0 }, end: { line: range.end.line + 1, character: 0 } }, newText: '' };
    return { range: { start: { line: range.start.line, character: 0 }, end: { line: range.end.line, character: (lines[range.end.line] ?? '').length } }, newText: '' };
  }
  return { range, newText: '' };
}

/**
 * Where a new statement of `kind` goes: after the last statement of the same kind, else
 * after the last of the kinds that come before it in the usual order (target, weights,
 * compress, place, optimize), else before the pipeline's closing brace. Returns an
 * insertion at the start of the next line, so the new line is `indent + statement + eol`.
 */
function insertionFor(text: string, outline: PipelineOutline, kind: 'compress' | 'place' | 'target'): TextEdit & { prefix: string } {
  const order: PipelineOutline['members'][number]['kind'][] = ['input', 'features', 'block', 'target', 'weights', 'compress', 'place', 'optimize'];
  const rank = order.indexOf(kind);
  let anchor: SourceRange | undefined;
  for (const m of outline.members) {
    if (order.indexOf(m.kind) <= rank && (!anchor || positionLe(anchor.end, m.range.end))) anchor = m.range;
  }
  const lines = linesOf(text);
  const eol = eolOf(text);
  if (anchor) {
    const line = anchor.end.line;
    const rest = (lines[line] ?? '').slice(anchor.end.character);
    if (rest.trim() === '' || rest.trim().startsWith('//')) {
      if (line + 1 < lines.length) return { range: { start: { line: line + 1, character: 0 }, end: { line: line + 1, character: 0 } }, newText: '', prefix: '' };
      const end = { line, character: (lines[line] ?? '').length };
      return { range: { start: end, end }, newText: '', prefix: eol };
    }
    // Something else follows on the same line: break it after the anchor.
    return { range: { start: anchor.end, end: anchor.end }, newText: '', prefix: eol };
  }
  // No member before it: insert before the closing brace.
  const close = outline.range.end;
  const closeLine = lines[close.line] ?? '';
  const beforeBrace = closeLine.slice(0, Math.max(0, close.character - 1));
  if (beforeBrace.trim() === '') return { range: { start: { line: close.line, character: 0 }, end: { line: close.line, character: 0 } }, newText: '', prefix: '' };
  const at = { line: close.line, character: close.character - 1 };
  return { range: { start: at, end: at }, newText: '', prefix: eol };
}

function insertLine(text: string, outline: PipelineOutline, kind: 'compress' | 'place' | 'target', statement: string): TextEdit {
  const at = insertionFor(text, outline, kind);
  const eol = eolOf(text);
  // An insertion at a line start ends with a break; one inside a line starts with one.
  const newText = at.prefix ? `${at.prefix}${outline.indent}${statement}` : `${outline.indent}${statement}${eol}`;
  return { range: at.range, newText };
}

/**
 * The edit that compresses `layerId` with `method` (or removes its compression when
 * `method` is undefined): replaces the layer's existing `compress` line in place, or
 * inserts one after the last `compress` line (or where such a line belongs). Returns an
 * empty list when nothing changes, and throws an Error naming the layer when it is not
 * in the pipeline.
 */
export function compressionEdits(text: string, outline: PipelineOutline, spec: PipelineSpec, layerId: string, method: CompressionSpec | undefined): TextEdit[] {
  const layer = spec.blocks.flatMap((b) => b.layers).find((l) => l.id === layerId);
  if (!layer) throw new Error(`Pipeline ${spec.name} has no layer ${layerId}; the graph is out of date, reopen it.`);
  const existing = outline.compressions.filter((c) => c.layerId === layerId);
  if (!method) return existing.map((c) => deleteStatement(text, c.range)).reverse();
  const statement = `compress ${layerId} ${compressionText(method)}`;
  if (existing.length > 0) {
    const [first, ...rest] = existing;
    const current = textIn(text, first.range);
    const edits: TextEdit[] = current === statement ? [] : [{ range: first.range, newText: statement }];
    // Duplicates are an error in the language; the graph action leaves one line.
    for (const c of rest) edits.push(deleteStatement(text, c.range));
    return edits;
  }
  return [insertLine(text, outline, 'compress', statement)];
}

/** The `place` target that names the feature front end (`place features on dsp`). */
export const FEATURES_TARGET = 'features';

/**
 * The edits that place `targets` (layer ids, block names, or `features` for the feature
 * front end) on `processor`: every
 * existing `place` line loses the layers that move (a block reference that covers some
 * of them is replaced by the block's remaining layers; a line left empty is deleted),
 * and one `place <targets> on <processor>` line is added after the other `place` lines.
 * The result leaves no conflicting placements, so the language reports no warning.
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

/** The edit that makes `device` the pipeline's target: replaces the `target` line, or inserts one. */
export function targetEdits(text: string, outline: PipelineOutline, device: string): TextEdit[] {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(device)) throw new Error(`'${device}' is not a device name (letters, digits and _).`);
  const statement = `target ${device}`;
  if (outline.target) return outline.target.device === device ? [] : [{ range: outline.target.range, newText: statement }];
  return [insertLine(text, outline, 'target', statement)];
}

/** Sorts edits from the end of the text to its start, so each can be applied without shifting the others. */
export function sortEdits(edits: TextEdit[]): TextEdit[] {
  return [...edits].sort((a, b) => (positionLe(a.range.start, b.range.start) ? (positionLe(b.range.start, a.range.start) ? 0 : 1) : -1));
}

/** The text between two positions. */
export function textIn(text: string, range: SourceRange): string {
  return text.slice(offsetAt(text, range.start), offsetAt(text, range.end));
}

/** The offset of a position in a text (clamped to the text). */
export function offsetAt(text: string, p: TextPosition): number {
  let offset = 0;
  for (let line = 0; line < p.line; line++) {
    const next = text.indexOf('\n', offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  const lineEnd = text.indexOf('\n', offset);
  const end = lineEnd < 0 ? text.length : lineEnd;
  return Math.min(offset + p.character, end);
}

/** Applies edits to a text (what VS Code does with a WorkspaceEdit); for tests and previews. */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  let out = text;
  for (const e of sortEdits([...edits])) out = out.slice(0, offsetAt(out, e.range.start)) + e.newText + out.slice(offsetAt(out, e.range.end));
  return out;
}

// ---------------------------------------------------------------------------------------
// View state
// ---------------------------------------------------------------------------------------

function stepText(s: FeatureStep): string {
  const ms = (seconds: number): string => `${Number((seconds * 1000).toFixed(3))} ms`;
  switch (s.kind) {
    case 'silence':
      return `silence below ${s.thresholdDb} dB`;
    case 'frames':
      return `frames ${ms(s.lengthS)} hop ${ms(s.hopS)}${s.fftSize ? ` fft ${s.fftSize}` : ''}`;
    case 'logmel':
      return `logmel ${s.bands} bands`;
    case 'mfcc':
      return `mfcc ${s.coeffs} coeffs ${s.bands} bands${s.deltas ? ` deltas ${s.deltas}` : ''}`;
    case 'deltas':
      return `deltas ${s.order}`;
    case 'stats':
      return `stats ${s.stats.join(', ')}`;
    case 'stack':
      return `stack ${s.frames}`;
    default:
      return s.kind;
  }
}

function inputView(spec: PipelineSpec): { text: string; shape: number[] } {
  const i = spec.input;
  if (i.kind === 'audio') return { text: `audio ${Number((i.rateHz / 1000).toFixed(3))} kHz, ${i.windowS} s window`, shape: [i.channels, Math.round(i.rateHz * i.windowS)] };
  if (i.kind === 'inertial') {
    const axes = i.sensors.reduce((a, s) => a + s.axes.length, 0);
    return { text: `inertial ${i.rateHz} Hz, ${i.windowS} s window`, shape: [axes, Math.round(i.rateHz * i.windowS)] };
  }
  return { text: `image ${i.height}x${i.width}x${i.channels}`, shape: [i.channels, i.height, i.width] };
}

const COMPRESSIBLE = new Set(['dense', 'conv1d', 'conv2d']);

function severityOf(d: SourceDiagnostic): ViewDiagnostic['severity'] | undefined {
  return d.severity === 1 ? 'error' : d.severity === 2 ? 'warning' : d.severity === 3 ? 'info' : undefined;
}

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function finiteOr(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) ? value : fallback;
}

/** Inputs of {@link buildViewState}. */
export interface ViewStateInput {
  spec: PipelineSpec;
  estimate: Estimate;
  documentVersion: number;
  /** The document's diagnostics; those inside a layer's range appear on its node, the rest in the banner. */
  diagnostics?: readonly SourceDiagnostic[];
  /** Workspace-relative clips and labelled folders for the run panel. */
  samples?: { clips: string[]; folders: string[] };
}

/**
 * Adapts a checked pipeline and its estimate to the protocol's {@link ViewState}: one
 * node per layer with its post-compression parameters and MACs, processor and estimated
 * latency and energy; an edge per tensor with its shape (and bytes when it crosses
 * processors); per-processor usage; the schedule's op timeline; whole-pipeline totals.
 */
export function buildViewState(input: ViewStateInput): ViewState {
  const { spec, estimate } = input;
  const costs = new Map(estimate.layers.map((l) => [l.layerId, l]));
  const layerSpecs: LayerSpec[] = spec.blocks.flatMap((b) => b.layers);
  const layerDiagnostics = new Map<string, ViewDiagnostic[]>();
  const banner: ViewDiagnostic[] = [];
  const push = (layerId: string | undefined, d: ViewDiagnostic): void => {
    if (layerId === undefined) banner.push(d);
    else {
      const list = layerDiagnostics.get(layerId) ?? [];
      list.push(d);
      layerDiagnostics.set(layerId, list);
    }
  };
  for (const d of input.diagnostics ?? []) {
    const severity = severityOf(d);
    if (!severity) continue;
    const layer = layerSpecs.find((l) => rangeContains(l.range, d.range.start));
    push(layer?.id, { severity, code: String(d.code ?? 'syntax-error').slice(0, 4096), message: d.message.slice(0, 4096) });
  }
  for (const issue of estimate.issues) {
    const layerId = issue.layerId && costs.has(issue.layerId) ? issue.layerId : undefined;
    push(layerId, { severity: issue.severity, code: issue.code, message: issue.message.slice(0, 4096) });
  }

  const processorOf = (id: string): string => costs.get(id)?.processor ?? spec.placement[id] ?? spec.target.defaultProcessor;
  const layers: LayerView[] = layerSpecs.map((l) => {
    const c = costs.get(l.id);
    return {
      id: l.id,
      block: l.block,
      index: l.index,
      ...(l.name ? { name: l.name } : {}),
      kind: l.kind,
      ...(l.activation ? { activation: l.activation } : {}),
      inputShape: l.inputShape,
      outputShape: l.outputShape,
      params: c?.params ?? l.params,
      macs: c?.macs ?? l.macs,
      processor: processorOf(l.id),
      latencyMs: finiteOr(c?.latencyMs, 0),
      energyMj: finiteOr(c?.energyMj, 0),
      ...(l.compression ? { compression: l.compression } : {}),
      ...(COMPRESSIBLE.has(l.kind) ? { compressible: true } : {}),
      diagnostics: layerDiagnostics.get(l.id) ?? [],
      range: l.range,
    };
  });

  const featuresProcessor = estimate.features?.processor ?? spec.target.defaultProcessor;
  const edges: EdgeView[] = [];
  const io = inputView(spec);
  edges.push({ id: 'input->features', source: 'input', target: 'features', shape: io.shape });
  const lastOf = new Map<string, LayerSpec>();
  for (const block of spec.blocks) {
    const upstream = block.from ? lastOf.get(block.from) : undefined;
    let previous = upstream?.id ?? 'features';
    let previousProcessor = upstream ? processorOf(upstream.id) : featuresProcessor;
    for (const l of block.layers) {
      const processor = processorOf(l.id);
      edges.push({
        id: `${previous}->${l.id}`,
        source: previous,
        target: l.id,
        shape: l.inputShape,
        ...(processor !== previousProcessor ? { transferBytes: elements(l.inputShape) * 4 } : {}),
      });
      previous = l.id;
      previousProcessor = processor;
    }
    const last = block.layers.at(-1);
    if (last) lastOf.set(block.name, last);
    else if (upstream) lastOf.set(block.name, upstream);
  }

  const usage = new Map(estimate.processors.map((p) => [p.name, p]));
  const processors = spec.target.processors.map((p, i) => {
    const u = usage.get(p.name);
    return {
      name: p.name,
      colorIndex: i % 8,
      // A processor without a memory figure has no limit; the largest safe integer keeps the bar empty.
      memoryLimitBytes: finiteOr(u?.memoryLimitBytes ?? p.memoryBytes, Number.MAX_SAFE_INTEGER),
      memoryBytes: finiteOr(u?.memoryBytes, 0),
      latencyMs: finiteOr(u?.latencyMs, 0),
      energyMj: finiteOr(u?.energyMj, 0),
      ...(p.remote ? { remote: true } : {}),
    };
  });
  const processorNames = new Set(processors.map((p) => p.name));

  const opLayer = new Map<string, string>();
  for (const op of estimate.ir.ops) opLayer.set(op.id, op.layerId ?? (op.block === 'features' ? 'features' : op.id));
  const timeline = estimate.timeline
    .filter((t) => t.kind === 'op' && processorNames.has(t.resource))
    .map((t) => ({ processor: t.resource, startMs: finiteOr(t.startMs, 0), endMs: Math.max(finiteOr(t.startMs, 0), finiteOr(t.endMs, 0)), opId: (opLayer.get(t.id) ?? t.id).slice(0, 600) }));

  const blocks: BlockView[] = spec.blocks.map((b) => ({
    name: b.name,
    kind: b.kind,
    ...(b.from ? { from: b.from } : {}),
    ...(b.labels ? { labels: b.labels } : {}),
    range: b.range,
  }));

  const battery = estimate.batteryLifeHours;
  return {
    pipeline: spec.name,
    documentVersion: input.documentVersion,
    target: { name: spec.target.name, processors },
    features: {
      input: io.text,
      inputShape: io.shape,
      steps: spec.features.steps.map(stepText),
      outputShape: spec.features.outputShape,
      processor: featuresProcessor,
      latencyMs: finiteOr(estimate.features?.latencyMs, 0),
      energyMj: finiteOr(estimate.features?.energyMj, 0),
    },
    blocks,
    layers,
    edges,
    totals: {
      endToEndLatencyMs: finiteOr(estimate.endToEndLatencyMs, 0),
      energyPerInferenceMj: finiteOr(estimate.energyPerInferenceMj, 0),
      ...(battery !== undefined && Number.isFinite(battery) ? { batteryLifeHours: battery } : {}),
      ...(estimate.budgetMs !== undefined ? { budgetMs: estimate.budgetMs } : {}),
      params: layers.reduce((a, l) => a + l.params, 0),
      macs: layers.reduce((a, l) => a + l.macs, 0) + (estimate.features?.macs ?? 0),
    },
    timeline,
    optimize: { alpha: spec.optimize.energyWeight, beta: spec.optimize.latencyWeight },
    ...(banner.length > 0 ? { diagnostics: banner } : {}),
    ...(input.samples ? { samples: input.samples } : {}),
  };
}

/** The id of the layer whose source range contains `position`, or null (the graph's `select` message). */
export function layerAt(spec: PipelineSpec, position: TextPosition): string | null {
  for (const b of spec.blocks) for (const l of b.layers) if (rangeContains(l.range, position)) return l.id;
  return null;
}

/** The source range to reveal for a layer id or a block name, if the pipeline has it. */
export function revealRange(spec: PipelineSpec, id: string): SourceRange | undefined {
  for (const b of spec.blocks) {
    if (b.name === id) return b.range;
    for (const l of b.layers) if (l.id === id) return l.range;
  }
  return undefined;
}
