/**
 * Hover for `.sense` files: what a name or a line means after checking. Layers show
 * their input and output shapes, parameters, MACs, activation memory, compression and,
 * when an estimator is injected, their processor, latency and energy; blocks and the
 * pipeline show their totals (latencies name the measured device profiles they come
 * from, when the language server applied any); devices and processors their figures with sources
 * (a processor also the measured figures that replace the catalog's, when a measured device
 * profile applies to it); quantities their value in base units.
 */
import { AstUtils, CstUtils, GrammarAST, type AstNode, type CstNode, type LangiumDocument } from 'langium';
import type { HoverProvider } from 'langium/lsp';
import type { Hover, HoverParams } from 'vscode-languageserver-protocol';
import * as ast from './generated/ast';
import { BUILTIN_DEVICES_URI } from './builtin-devices';
import type { SenseServices } from './sense-module';
import type { PipelineLowering } from './lower';
import { measuredNote, type PipelineEstimateSummary } from './estimator';
import { firingProbabilities, type BlockSpec, type DeviceSpec, type ProcessorSpec } from './pipeline-model';
import { formatShape } from './layer-shapes';
import { featureOutputShape } from './feature-shapes';
import { describeCompression, describeLayer, formatBytes, formatBytesPerS, formatCount, formatHours, formatMacsPerS, formatMj, formatMs, formatPercent } from './figures';
import { quantityDimension } from './quantity-dimension';
import { DIMENSION_EXAMPLES, UNITS, type Dimension } from './units';

const BASE_UNIT: Record<Dimension, string> = {
  time: 's',
  frequency: 'Hz',
  level: 'dB',
  power: 'mW',
  energy: 'mJ',
  bytes: 'B',
  bandwidth: 'B/s',
  compute: 'MAC/s',
  charge: 'mAh',
  voltage: 'V',
  fraction: '(fraction of 1)',
  energyPerByte: 'pJ/B',
  count: '',
};

/** What the cursor designates, after following references. */
export type HoverTarget =
  | { kind: 'layer'; node: ast.Layer }
  | { kind: 'block'; node: ast.Block }
  | { kind: 'pipeline'; node: ast.Pipeline }
  | { kind: 'device'; node: ast.Device }
  | { kind: 'processor'; node: ast.Processor }
  | { kind: 'quantity'; node: ast.Quantity }
  | { kind: 'features'; node: ast.Features; step?: ast.FeatureStep }
  | { kind: 'input'; node: ast.Input };

/** The leaf at `offset`, preferring the token that ends there (the cursor just after a word). */
export function leafAt(document: LangiumDocument, offset: number): CstNode | undefined {
  const root = document.parseResult.value.$cstNode;
  if (!root) return undefined;
  return CstUtils.findLeafNodeAtOffset(root, offset) ?? (offset > 0 ? CstUtils.findLeafNodeAtOffset(root, offset - 1) : undefined);
}

/** The layer a `LayerRef` designates by name or 1-based index, if it resolves. */
export function layerOfRef(ref: ast.LayerRef): ast.Layer | undefined {
  if (ref.layer) return ref.layer.ref;
  const block = ref.block?.ref;
  if (block && ref.index !== undefined && Number.isInteger(ref.index)) return block.layers[ref.index - 1];
  return undefined;
}

/**
 * The AST property a leaf fills (`block` in `encoder.2`, `name` in `head place`),
 * looking through data type rules such as BlockName.
 */
export function featureOf(leaf: CstNode): string | undefined {
  const node = CstUtils.getDatatypeNode(leaf) ?? leaf;
  return AstUtils.getContainerOfType(node.grammarSource, GrammarAST.isAssignment)?.feature;
}

/** Classifies what the leaf `leaf` stands for, following references to their declarations. */
export function hoverTargetOf(leaf: CstNode): HoverTarget | undefined {
  const node = leaf.astNode;
  const feature = featureOf(leaf);
  if (ast.isLayerRef(node)) {
    if (feature === 'block') return node.block?.ref ? { kind: 'block', node: node.block.ref } : undefined;
    const layer = layerOfRef(node);
    if (layer) return { kind: 'layer', node: layer };
    const block = node.block?.ref;
    return block ? { kind: 'block', node: block } : undefined;
  }
  if (ast.isTarget(node)) return node.device?.ref ? { kind: 'device', node: node.device.ref } : undefined;
  if (ast.isPlace(node) && feature === 'processor') return node.processor?.ref ? { kind: 'processor', node: node.processor.ref } : undefined;
  if (ast.isLink(node) && (feature === 'from' || feature === 'to')) {
    const p = feature === 'from' ? node.from?.ref : node.to?.ref;
    return p ? { kind: 'processor', node: p } : undefined;
  }
  if (ast.isDefaultProcessor(node)) return node.processor?.ref ? { kind: 'processor', node: node.processor.ref } : undefined;
  if ((ast.isShared(node) || ast.isHead(node)) && feature === 'from') return node.from?.ref ? { kind: 'block', node: node.from.ref } : undefined;
  // In `when ambient is voicing` and `expect ambient voicing 30%`, the head named; the rest of a gate is the gated head's.
  if ((ast.isGate(node) || ast.isExpect(node)) && feature === 'head') return node.head?.ref ? { kind: 'block', node: node.head.ref } : undefined;
  for (let n: AstNode | undefined = node; n; n = n.$container) {
    if (ast.isQuantity(n)) return { kind: 'quantity', node: n };
    if (ast.isLayer(n)) return { kind: 'layer', node: n };
    if (ast.isShared(n) || ast.isHead(n)) return { kind: 'block', node: n };
    if (ast.isProcessor(n)) return { kind: 'processor', node: n };
    if (ast.isDevice(n)) return { kind: 'device', node: n };
    if (ast.isFeatures(n)) return { kind: 'features', node: n, ...(ast.isFeatureStep(node) ? { step: node } : {}) };
    if (ast.isInput(n)) return { kind: 'input', node: n };
    if (ast.isPipeline(n)) return feature === 'name' || n === node ? { kind: 'pipeline', node: n } : undefined;
  }
  return undefined;
}

/** A gated head's `runs` row: its gate and how often it runs per window (the product along its chain of gates). */
function gateText(spec: BlockSpec, blocks: readonly BlockSpec[]): string {
  const gate = spec.gate!;
  const probability = firingProbabilities(blocks).get(spec.name) ?? gate.fraction;
  return `when ${gate.head} is ${gate.label}: on ${formatPercent(probability)} of windows (expected)`;
}

function table(rows: Array<[string, string | undefined]>): string {
  const kept = rows.filter((r): r is [string, string] => r[1] !== undefined);
  if (kept.length === 0) return '';
  return ['| | |', '|---|---|', ...kept.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
}

/** The hover service. */
export class SenseHoverProvider implements HoverProvider {
  constructor(private readonly services: SenseServices) {}

  getHoverContent(document: LangiumDocument, params: HoverParams): Hover | undefined {
    const offset = document.textDocument.offsetAt(params.position);
    const leaf = leafAt(document, offset);
    if (!leaf) return undefined;
    const target = hoverTargetOf(leaf);
    if (!target) return undefined;
    const value = this.markdown(target);
    if (!value) return undefined;
    return { contents: { kind: 'markdown', value }, range: leaf.range };
  }

  /** The markdown shown for a target; exported through the class for the tests and the graph view. */
  markdown(target: HoverTarget): string | undefined {
    switch (target.kind) {
      case 'layer':
        return this.layerHover(target.node);
      case 'block':
        return this.blockHover(target.node);
      case 'pipeline':
        return this.pipelineHover(target.node);
      case 'device':
        return this.deviceHover(target.node);
      case 'processor':
        return this.processorHover(target.node);
      case 'quantity':
        return quantityHover(target.node);
      case 'features':
        return this.featuresHover(target.node, target.step);
      case 'input':
        return this.inputHover(target.node);
    }
  }

  private lowering(node: AstNode): PipelineLowering | undefined {
    return this.services.lowering.Lowering.pipelineOf(node);
  }

  private estimateOf(node: AstNode): PipelineEstimateSummary | undefined {
    const pipeline = AstUtils.getContainerOfType(node, ast.isPipeline);
    if (!pipeline) return undefined;
    return this.services.lowering.Lowering.document(pipeline.$container).estimates.get(pipeline);
  }

  private layerHover(layer: ast.Layer): string | undefined {
    const lowered = this.lowering(layer);
    const spec = lowered?.layerOf.get(layer);
    if (!spec) return undefined;
    const target = lowered?.spec?.target;
    const summary = this.estimateOf(layer);
    const estimate = summary?.layers.find((l) => l.layerId === spec.id);
    const processor = estimate?.processor ?? lowered?.spec?.placement[spec.id] ?? target?.defaultProcessor;
    const placed = lowered?.spec?.placement[spec.id] !== undefined;
    const title = `**${spec.id}**${spec.name ? ` (${spec.name})` : ''} \`${describeLayer(spec)}\``;
    const rows: Array<[string, string | undefined]> = [
      ['input', formatShape(spec.inputShape)],
      ['output', formatShape(spec.outputShape)],
      ['parameters', `${formatCount(spec.params)} (${formatBytes(spec.weightBytes)} float32)`],
      ['MACs', formatCount(spec.macs)],
      ['activation memory', formatBytes(spec.activationBytes)],
      ['compression', spec.compression ? describeCompression(spec.compression) : undefined],
      ['processor', processor ? `${processor}${target ? ` on ${target.name}` : ''}${placed ? ' (placed)' : estimate ? ' (chosen by the estimate)' : ' (default)'}` : undefined],
      ['latency', estimate ? `${formatMs(estimate.latencyMs)}${measuredNote(summary, estimate.processor)}` : undefined],
      ['energy', estimate ? formatMj(estimate.energyMj) : undefined],
    ];
    return `${title}\n\n${table(rows)}`;
  }

  private blockHover(block: ast.Block): string | undefined {
    const lowered = this.lowering(block);
    const spec = lowered?.blockOf.get(block);
    if (!spec) return `**${ast.isHead(block) ? 'head' : 'shared'} ${block.name}**`;
    const params = spec.layers.reduce((a, l) => a + l.params, 0);
    const macs = spec.layers.reduce((a, l) => a + l.macs, 0);
    const summary = this.estimateOf(block);
    const head = summary?.heads.find((h) => h.head === spec.name);
    const rows: Array<[string, string | undefined]> = [
      ['reads', spec.from ?? 'features'],
      ['input', formatShape(spec.inputShape)],
      ['output', formatShape(spec.outputShape)],
      ['layers', String(spec.layers.length)],
      ['parameters', `${formatCount(params)} (${formatBytes(params * 4)} float32)`],
      ['MACs', formatCount(macs)],
      ['labels', spec.labels ? `${spec.labels.length}: ${spec.labels.join(', ')}` : undefined],
      ['runs', spec.gate ? gateText(spec, lowered?.spec?.blocks ?? []) : undefined],
      ['latency to output', head ? `${formatMs(head.latencyMs)}${measuredNote(summary)}` : undefined],
      ['energy', head ? formatMj(head.energyMj) : undefined],
      ['processors', head ? head.processors.join(', ') : undefined],
    ];
    return `**${spec.kind} ${spec.name}**\n\n${table(rows)}`;
  }

  private pipelineHover(pipeline: ast.Pipeline): string | undefined {
    const lowered = this.lowering(pipeline);
    const spec = lowered?.spec;
    if (!spec) return `**pipeline ${pipeline.name}**`;
    const layers = spec.blocks.flatMap((b) => b.layers);
    const estimate = this.estimateOf(pipeline);
    const rows: Array<[string, string | undefined]> = [
      ['input', spec.input.kind],
      ['features', formatShape(spec.features.outputShape)],
      ['blocks', spec.blocks.map((b) => b.name).join(', ') || undefined],
      ['parameters', formatCount(layers.reduce((a, l) => a + l.params, 0))],
      ['MACs', formatCount(layers.reduce((a, l) => a + l.macs, 0))],
      ['target', spec.target.name],
      ['end-to-end latency', estimate ? `${formatMs(estimate.endToEndLatencyMs)}${measuredNote(estimate)}` : undefined],
      ['energy per inference', estimate ? formatMj(estimate.energyPerInferenceMj) : undefined],
      ['battery life', estimate?.batteryLifeHours !== undefined ? formatHours(estimate.batteryLifeHours) : undefined],
    ];
    return `**pipeline ${spec.name}**\n\n${table(rows)}`;
  }

  private deviceSpec(device: ast.Device): DeviceSpec {
    return this.services.lowering.Lowering.device(device).spec;
  }

  private deviceHover(device: ast.Device): string {
    const spec = this.deviceSpec(device);
    const builtin = AstUtils.getDocument(device).uri.toString() === BUILTIN_DEVICES_URI;
    const lines = [`**device ${spec.name}**${builtin ? ' (built-in)' : ''}`, ''];
    lines.push('| processor | compute | memory | power | idle |', '|---|---|---|---|---|');
    for (const p of spec.processors) {
      lines.push(`| ${p.name}${p.remote ? ' (remote)' : ''} | ${formatMacsPerS(p.computeMacsPerS)} | ${formatBytes(p.memoryBytes)} | ${p.activePowerMw} mW | ${p.idlePowerMw} mW |`);
    }
    if (spec.links.length > 0) {
      lines.push('', 'Links: ' + spec.links.map((l) => `${l.from} ${l.bidirectional ? '<->' : '->'} ${l.to} ${formatBytesPerS(l.bandwidthBytesPerS)}, ${formatMs(l.latencyMs)}`).join('; '));
    }
    if (spec.batteryMah !== undefined) lines.push('', `Battery: ${spec.batteryMah} mAh${spec.batteryVoltageV !== undefined ? ` at ${spec.batteryVoltageV} V` : ''}`);
    lines.push('', `Default processor: ${spec.defaultProcessor}`);
    if (spec.sources.length > 0) lines.push('', `Sources: ${spec.sources.join('; ')}`);
    return lines.join('\n');
  }

  private processorHover(processor: ast.Processor): string {
    const device = processor.$container;
    const spec: ProcessorSpec | undefined = this.deviceSpec(device).processors.find((p) => p.name === processor.name);
    const lines = [`**processor ${processor.name}** of ${device.name}`, ''];
    if (spec) {
      lines.push(
        table([
          ['compute', formatMacsPerS(spec.computeMacsPerS)],
          ['memory', formatBytes(spec.memoryBytes)],
          ['bandwidth', formatBytesPerS(spec.bandwidthBytesPerS)],
          ['power (busy)', `${spec.activePowerMw} mW`],
          ['power (idle)', `${spec.idlePowerMw} mW`],
          ['overhead per op', formatMs(spec.overheadMs)],
          ['front end', spec.frontendMacsPerS !== undefined ? formatMacsPerS(spec.frontendMacsPerS) : undefined],
          ['dispatch per partition run', spec.dispatchMs !== undefined ? formatMs(spec.dispatchMs) : undefined],
          ['memory traffic', `${spec.transferPjPerByte} pJ/B`],
          ['runs', spec.supports ? spec.supports.join(', ') : 'every layer kind'],
          ['remote', spec.remote ? 'yes (reached over a network link)' : undefined],
        ]),
      );
    }
    const measured = spec ? this.services.estimation.Estimator?.measuredProcessor?.(device.name, processor.name) : undefined;
    if (measured) lines.push('', `Measured (profile ${measured.source}): \`${measured.settingsText}\``);
    const notes = commentsIn(processor);
    if (notes.length > 0) lines.push('', 'Notes:', ...notes.map((n) => `- ${n}`));
    if (spec && spec.sources.length > 0) lines.push('', `Sources: ${spec.sources.map((s) => s.replace(/^["']|["']$/g, '')).join('; ')}`);
    return lines.join('\n');
  }

  private featuresHover(features: ast.Features, step: ast.FeatureStep | undefined): string | undefined {
    const spec = this.lowering(features)?.spec;
    if (!spec) return undefined;
    if (step) {
      const index = features.steps.indexOf(step);
      let shape: string | undefined;
      try {
        shape = formatShape(featureOutputShape(spec.input, spec.features.steps.slice(0, index + 1)));
      } catch {
        shape = undefined;
      }
      return `**${step.$type.replace(/Step$/, '').toLowerCase()}** (feature step ${index + 1})\n\n${table([['output', shape]])}`;
    }
    return `**features**\n\n${table([
      ['steps', spec.features.steps.map((s) => s.kind).join(', ') || 'none'],
      ['output', formatShape(spec.features.outputShape)],
    ])}`;
  }

  private inputHover(input: ast.Input): string | undefined {
    const spec = this.lowering(input)?.spec?.input;
    if (!spec) return undefined;
    if (spec.kind === 'image') return `**image input**\n\n${table([['size', `${spec.height} x ${spec.width} x ${spec.channels}`]])}`;
    const rows: Array<[string, string | undefined]> = [
      ['rate', `${spec.rateHz} Hz`],
      ['window', `${spec.windowS} s (${Math.round(spec.rateHz * spec.windowS)} samples)`],
      ['hop', `${spec.hopS} s`],
      ['sensors', spec.kind === 'inertial' ? spec.sensors.map((s) => `${s.kind} [${s.axes.join(', ')}]`).join(', ') : undefined],
    ];
    return `**${spec.kind} input**\n\n${table(rows)}`;
  }
}

/** The value of a quantity in its dimension's base unit, and what the unit means. */
function quantityHover(q: ast.Quantity): string | undefined {
  const dimension = quantityDimension(q);
  const unit = q.unit !== undefined ? UNITS[q.unit] : undefined;
  if (!dimension) return undefined;
  if (dimension === 'count') return `${q.value}: ${DIMENSION_EXAMPLES.count}`;
  if (!unit) return `Expects ${DIMENSION_EXAMPLES[dimension]}.`;
  const base = unit.factor * q.value;
  const baseText = `${Number(base.toPrecision(6))} ${BASE_UNIT[dimension]}`;
  return `\`${q.value} ${q.unit}\` = ${baseText}\n\n${q.unit}: ${DIMENSION_EXAMPLES[unit.dimension]}; 1 ${q.unit} = ${unit.factor} ${BASE_UNIT[unit.dimension]}`;
}

/** The `//` comments inside a node's text, in order (the catalog puts each figure's source there). */
function commentsIn(node: AstNode): string[] {
  const cst = node.$cstNode;
  if (!cst) return [];
  const text = cst.text;
  const out: string[] = [];
  for (const m of text.matchAll(/\/\/\s?([^\n\r]*)/g)) out.push(m[1].trim());
  return out;
}
