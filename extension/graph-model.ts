/**
 * The pure half of the graph editor's host: it adapts the language's lowering and the
 * engine's estimate to the webview protocol's {@link ViewState}. The text edits behind
 * the graph's actions are engine/source-edits.ts's (re-exported here for the host's
 * existing imports). No `vscode` import: the language server builds view states with it,
 * and test/unit/extension/ checks everything here in plain Node.
 *
 * The `.sense` text stays the model (custom-editor-sample): nothing here keeps state
 * between calls; every view is recomputed from a fresh lowering.
 */
import type { Estimate } from '../engine/estimate';
import { rangeContains, type TextPosition } from '../engine/source-edits';
import { isCompressible } from '../language/layer-shapes';
import { FEATURES_KEY, type FeatureStep, type LayerSpec, type PipelineSpec, type SourceRange } from '../language/pipeline-model';
import { FEATURES_NODE_ID, INPUT_NODE_ID, type BlockView, type EdgeView, type LayerView, type ViewDiagnostic, type ViewState } from '../webview/protocol';

/** A diagnostic of the document as the language services report it (LSP severities: 1 error, 2 warning, 3 info, 4 hint). */
export interface SourceDiagnostic {
  severity?: number;
  code?: string | number;
  message: string;
  range: SourceRange;
}

export {
  applyEdits,
  compressionEdits,
  compressionText,
  FEATURES_TARGET,
  offsetAt,
  outlineOf,
  placementEdits,
  positionLe,
  rangeContains,
  sortEdits,
  targetEdits,
  textIn,
  type PipelineOutline,
  type PlaceTarget,
  type TextEdit,
  type TextPosition,
} from '../engine/source-edits';

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

function severityOf(d: SourceDiagnostic): ViewDiagnostic['severity'] | undefined {
  return d.severity === 1 ? 'error' : d.severity === 2 ? 'warning' : d.severity === 3 ? 'info' : undefined;
}

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function finiteOr(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) ? value : fallback;
}

function clamp01(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}

/** The rate of the pipeline's `expect` line for `head` and `label` (0-1), or undefined when it has none. */
function expectedRateOf(spec: PipelineSpec, head: string, label: string): number | undefined {
  const e = spec.expectations?.find((x) => x.head === head && x.label === label);
  return e ? clamp01(e.fraction) : undefined;
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
      ...(isCompressible(l) ? { compressible: true } : {}),
      diagnostics: layerDiagnostics.get(l.id) ?? [],
      range: l.range,
    };
  });

  const featuresProcessor = estimate.features?.processor ?? spec.target.defaultProcessor;
  const edges: EdgeView[] = [];
  const io = inputView(spec);
  edges.push({ id: `${INPUT_NODE_ID}->${FEATURES_NODE_ID}`, source: INPUT_NODE_ID, target: FEATURES_NODE_ID, shape: io.shape });
  const lastOf = new Map<string, LayerSpec>();
  for (const block of spec.blocks) {
    const upstream = block.from ? lastOf.get(block.from) : undefined;
    let previous = upstream?.id ?? FEATURES_NODE_ID;
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
  // A gate edge from the gating head's decision (its last layer) to the gated head's first layer.
  for (const block of spec.blocks) {
    const gate = block.gate;
    const from = gate ? spec.blocks.find((b) => b.name === gate.head)?.layers.at(-1) : undefined;
    const to = block.layers[0];
    if (!gate || !from || !to) continue;
    const expectedRate = expectedRateOf(spec, gate.head, gate.label);
    edges.push({ id: `gate:${from.id}->${to.id}`, source: from.id, target: to.id, shape: from.outputShape, gate: { label: gate.label.slice(0, 4096), ...(expectedRate !== undefined ? { expectedRate } : {}) } });
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
  for (const op of estimate.ir.ops) opLayer.set(op.id, op.layerId ?? (op.block === FEATURES_KEY ? FEATURES_NODE_ID : op.id));
  const timeline = estimate.timeline
    .filter((t) => t.kind === 'op' && processorNames.has(t.resource))
    .map((t) => ({ processor: t.resource, startMs: finiteOr(t.startMs, 0), endMs: Math.max(finiteOr(t.startMs, 0), finiteOr(t.endMs, 0)), opId: (opLayer.get(t.id) ?? t.id).slice(0, 600) }));

  const firing = new Map(estimate.heads.map((h) => [h.head, h.firingProbability]));
  const blocks: BlockView[] = spec.blocks.map((b) => {
    const expectedRate = b.gate ? expectedRateOf(spec, b.gate.head, b.gate.label) : undefined;
    return {
      name: b.name,
      kind: b.kind,
      ...(b.from ? { from: b.from } : {}),
      ...(b.labels ? { labels: b.labels } : {}),
      ...(b.gate ? { gate: { head: b.gate.head, label: b.gate.label, ...(expectedRate !== undefined ? { expectedRate } : {}) }, firingProbability: clamp01(firing.get(b.name) ?? b.gate.fraction) } : {}),
      range: b.range,
    };
  });
  const gated = spec.blocks.some((b) => b.gate);

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
      ...(gated ? { expectedLatencyMs: finiteOr(estimate.expectedLatencyMs, 0) } : {}),
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
export function layerAt(state: { layers: readonly { id: string; range: SourceRange }[] }, position: TextPosition): string | null {
  return state.layers.find((l) => rangeContains(l.range, position))?.id ?? null;
}

/** The source range to reveal for a layer id or a block name, if the pipeline (a view state, or a spec's blocks and layers) has it. */
export function revealRange(state: { layers: readonly { id: string; range: SourceRange }[]; blocks: readonly { name: string; range?: SourceRange }[] }, id: string): SourceRange | undefined {
  return state.blocks.find((b) => b.name === id)?.range ?? state.layers.find((l) => l.id === id)?.range;
}
