/**
 * Completion for `.sense` files. Langium proposes the keywords the grammar allows at
 * the cursor (statements, layer kinds, activations, units' `%`) and the names in scope
 * for references (built-in and custom devices, the target's processors, blocks, named
 * layers). This provider adds what the grammar cannot know: units that fit the
 * quantity being typed (`rate 16 |` offers Hz, kHz, ...), layer positions after
 * `block.` with what each layer is, and details on devices and processors.
 *
 * Keywords are offered by context, each with a one-line doc (language/keyword-docs.ts)
 * and a snippet where it takes arguments: layer kinds only where a layer line starts
 * (an empty line, after `{` or `name:`), not after `dense 64 ` where the activations
 * belong; input settings only those the input's modality takes; and never the keywords
 * that are accepted as names (`place`, `energy`, ...), which are not statements there.
 */
import { AstUtils, GrammarAST, type AstNodeDescription, type MaybePromise, type ReferenceInfo } from 'langium';
import { DefaultCompletionProvider, type CompletionAcceptor, type CompletionContext, type CompletionValueItem, type NextFeature } from 'langium/lsp';
import { CompletionItemKind, InsertTextFormat } from 'vscode-languageserver-types';
import * as ast from './generated/ast';
import type { SenseServices } from './sense-module';
import { quantityDimension, PREFERRED_UNITS } from './quantity-dimension';
import { DIMENSION_EXAMPLES, unitsOf } from './units';
import { formatBytes, formatMacsPerS } from './figures';
import { keywordDoc, LAYER_KIND_DOCS } from './keyword-docs';
import { INPUT_SETTING_KEYS } from './lower';
import { BUILTIN_DEVICES_URI } from './builtin-devices';

/** What each input modality takes: its settings, and `size` or the sensors, which are statements of their own. */
const INPUT_KEYS: Readonly<Record<string, readonly string[]>> = {
  audio: INPUT_SETTING_KEYS.audio,
  inertial: [...INPUT_SETTING_KEYS.inertial, 'accelerometer', 'gyroscope', 'magnetometer', 'barometer'],
  image: ['size', ...INPUT_SETTING_KEYS.image],
};

/** The widest head output whose labels completion writes out. */
const MAX_SNIPPET_LABELS = 32;

/** Rules whose keywords are accepted as names of blocks, layers and labels, not statements. */
const NAME_RULES = new Set(['BlockName', 'PowerStateWord', 'LabelName']);

/** The completion service. */
export class SenseCompletionProvider extends DefaultCompletionProvider {
  private readonly senseServices: SenseServices;

  constructor(services: SenseServices) {
    super(services);
    this.senseServices = services;
  }

  protected override completionFor(context: CompletionContext, next: NextFeature, acceptor: CompletionAcceptor): MaybePromise<void> {
    const property = AstUtils.getContainerOfType(next.feature, GrammarAST.isAssignment)?.feature;
    const rule = AstUtils.getContainerOfType(next.feature, GrammarAST.isParserRule)?.name;
    // The Unit rule's ID and '%' arrive as separate features; answer once, on the ID.
    if ((rule === 'Unit' || next.property === 'unit') && ast.isQuantity(context.node)) {
      if (GrammarAST.isKeyword(next.feature)) return;
      this.completeUnits(context, context.node, acceptor);
      return;
    }
    const head = rule === 'LabelName' || rule === 'PowerStateWord' ? labelledHeadAt(context) : undefined;
    if (head) {
      // A label's ID and keyword alternatives arrive as separate features; answer once, on the ID, with the head's labels.
      if (!GrammarAST.isKeyword(next.feature)) this.completeLabels(context, head, acceptor);
      return;
    }
    if (property === 'index' && ast.isLayerRef(context.node)) {
      this.completeLayerIndices(context, context.node, acceptor);
      return;
    }
    if (GrammarAST.isKeyword(next.feature)) {
      this.completeKeyword(context, next.feature, next.property, acceptor);
      return;
    }
    return super.completionFor(context, next, acceptor);
  }

  /**
   * A keyword the grammar allows at the cursor, if it fits there, with its doc and snippet.
   * `property` is the grammar property being filled: `kind` starts a layer (`dense`, or an
   * activation as a layer of its own), `activation` ends one.
   */
  private completeKeyword(context: CompletionContext, keyword: GrammarAST.Keyword, property: string | undefined, acceptor: CompletionAcceptor): void {
    if (!this.filterKeyword(context, keyword)) return;
    const rule = AstUtils.getContainerOfType(keyword, GrammarAST.isParserRule)?.name;
    if (rule && NAME_RULES.has(rule)) return;
    const word = keyword.value;
    const atLayerStart = layerStartsAt(context);
    // Langium reaches an activation keyword once, through whichever path it meets first (the
    // previous layer's `activation` or a new layer's `kind`), so where it stands decides: at
    // the start of a layer line it is a layer of its own, after a layer its activation.
    const layerKind = rule === 'Layer' && word in LAYER_KIND_DOCS;
    const startsLayer = layerKind || (rule === 'Activation' && atLayerStart);
    if ((layerKind || (rule === 'Activation' && property === 'kind')) && !atLayerStart) return;
    if (rule === 'SettingKey' || rule === 'SensorKind' || (rule === 'SizeSetting' && word === 'size')) {
      const input = AstUtils.getContainerOfType(context.node, ast.isInput);
      if (input && !INPUT_KEYS[input.modality]?.includes(word)) return;
    }
    const doc = keywordDoc(word);
    // A keyword that starts a statement or layer gets its snippet; one inside a statement
    // (`hop` in `frames 25 ms hop`) is one word, as are activations.
    const activation = rule === 'Activation';
    const snippet = word === 'labels' ? this.labelsSnippet(context) ?? doc?.snippet : doc?.snippet && !activation && (startsLayer || startsStatement(keyword)) ? doc.snippet : undefined;
    acceptor(context, {
      label: word,
      kind: startsLayer || activation ? CompletionItemKind.Function : CompletionItemKind.Keyword,
      detail: startsLayer ? (activation ? 'activation layer' : 'layer') : activation ? 'activation' : 'keyword',
      documentation: doc ? { kind: 'markdown', value: doc.doc } : undefined,
      ...(snippet ? { insertText: snippet, insertTextFormat: InsertTextFormat.Snippet } : {}),
      // What completes the current line (an activation, an option) comes before what starts a new one.
      sortText: startsLayer ? '2' : '1',
    });
  }

  private completeUnits(context: CompletionContext, q: ast.Quantity, acceptor: CompletionAcceptor): void {
    const dimension = quantityDimension(q);
    if (!dimension || dimension === 'count') return;
    const preferred = PREFERRED_UNITS[dimension];
    for (const [index, unit] of unitsOf(dimension).entries()) {
      const rank = preferred.indexOf(unit);
      acceptor(context, {
        label: unit,
        kind: CompletionItemKind.Unit,
        detail: DIMENSION_EXAMPLES[dimension],
        // Preferred units first, then the unit table's order (small to large).
        sortText: `0${rank >= 0 ? rank : 9}${String(index).padStart(2, '0')}`,
      });
    }
  }

  /**
   * A labels line as long as the head's output (`labels [c0, c1, c2]` after `dense 3`), so
   * it starts without a label-count error; undefined when the width is unknown or too wide
   * to write out.
   */
  private labelsSnippet(context: CompletionContext): string | undefined {
    const last = AstUtils.getContainerOfType(context.node, ast.isHead)?.layers.at(-1);
    const shape = last && this.senseServices.lowering.Lowering.pipelineOf(last)?.layerOf.get(last)?.outputShape;
    if (!shape || shape.length !== 1 || shape[0] < 1 || shape[0] > MAX_SNIPPET_LABELS) return undefined;
    return `labels [${Array.from({ length: shape[0] }, (_, i) => `\${${i + 1}:c${i}}`).join(', ')}]`;
  }

  /** The labels of `head` (`when ambient is |` offers music, voicing, ...). */
  private completeLabels(context: CompletionContext, head: ast.Head, acceptor: CompletionAcceptor): void {
    const labels = head.labels[0]?.values ?? [];
    labels.forEach((label, i) => acceptor(context, { label, kind: CompletionItemKind.EnumMember, detail: `label ${i + 1} of head ${head.name}`, sortText: String(i).padStart(4, '0') }));
  }

  private completeLayerIndices(context: CompletionContext, ref: ast.LayerRef, acceptor: CompletionAcceptor): void {
    const block = ref.block?.ref;
    if (!block) return;
    const lowered = this.senseServices.lowering.Lowering.pipelineOf(block);
    block.layers.forEach((layer, i) => {
      const spec = lowered?.layerOf.get(layer);
      acceptor(context, {
        label: String(i + 1),
        kind: CompletionItemKind.Field,
        detail: `${layer.name ? `${layer.name}: ` : ''}${layer.kind}${spec ? ` -> [${spec.outputShape.join(', ')}]` : ''}`,
        sortText: String(i + 1).padStart(4, '0'),
      });
    });
  }

  protected override createReferenceCompletionItem(description: AstNodeDescription, refInfo: ReferenceInfo, context: CompletionContext): CompletionValueItem {
    const item = super.createReferenceCompletionItem(description, refInfo, context);
    const node = description.node;
    const lowering = this.senseServices.lowering.Lowering;
    const processorLine = (p: { name: string; computeMacsPerS: number; memoryBytes: number }): string => `${p.name}: ${formatMacsPerS(p.computeMacsPerS)}, ${formatBytes(p.memoryBytes)} memory`;
    if (ast.isDevice(node)) {
      item.detail = `device: ${node.processors.map((p) => p.name).join(', ')}`;
      const processors = lowering.device(node).spec.processors;
      item.documentation = { kind: 'markdown', value: [`Device **${node.name}**${node.$document?.uri.toString() === BUILTIN_DEVICES_URI ? ' (built in)' : ''}, its processors:`, ...processors.map((p) => `- ${processorLine(p)}`)].join('\n') };
    } else if (ast.isProcessor(node)) {
      const spec = lowering.device(node.$container).spec.processors.find((p) => p.name === node.name);
      if (spec) {
        item.detail = `processor: ${formatMacsPerS(spec.computeMacsPerS)}, ${formatBytes(spec.memoryBytes)}`;
        item.documentation = `Processor ${processorLine(spec)} of device ${node.$container.name}.`;
      }
    } else if (ast.isShared(node) || ast.isHead(node)) {
      item.detail = `${ast.isShared(node) ? 'shared block' : 'head'}, ${node.layers.length} layers`;
      item.documentation = `${ast.isShared(node) ? 'Shared block' : 'Head'} ${node.name}: ${node.layers.map((l) => l.kind).join(', ') || 'no layers'}.`;
    } else if (ast.isLayer(node)) {
      item.detail = `layer ${node.kind}`;
      const spec = lowering.pipelineOf(node)?.layerOf.get(node);
      item.documentation = `Layer ${node.name} (${node.kind})${spec ? `, output [${spec.outputShape.join(', ')}]` : ''}.`;
    }
    return item;
  }
}

/** Whether `keyword` is the first word of its rule (`input`, `labels`), or is a setting's key. */
function startsStatement(keyword: GrammarAST.Keyword): boolean {
  const rule = AstUtils.getContainerOfType(keyword, GrammarAST.isParserRule);
  if (!rule) return false;
  if (rule.name === 'SettingKey' || rule.name === 'SensorKind') return true;
  return AstUtils.streamAst(rule.definition).find(GrammarAST.isKeyword) === keyword;
}

/**
 * Whether a new layer may start at the cursor: the text before it on its line is empty,
 * ends with `{`, or is a layer's `name:`. After `dense 64 ` a layer could follow on the
 * same line, but what the line needs there is its activation, so layer kinds stay out.
 */
function layerStartsAt(context: CompletionContext): boolean {
  const text = context.textDocument.getText();
  const lineStart = text.lastIndexOf('\n', context.tokenOffset - 1) + 1;
  const before = text.slice(lineStart, context.tokenOffset);
  return /(?:^|\{)\s*(?:\w+\s*:\s*)?$/.test(before);
}

/**
 * The head whose label is being typed after `when HEAD is` or `expect HEAD`. The gate or
 * expect line is usually unfinished there, so the parser has no node for it: the head is
 * read from the text before the cursor and looked up in the pipeline around it.
 */
function labelledHeadAt(context: CompletionContext): ast.Head | undefined {
  const before = context.textDocument.getText().slice(0, context.offset);
  const m = /(?:\bwhen\s+([\w]+)\s+is|\bexpect\s+([\w]+))\s+[\w"']*$/.exec(before);
  const name = m?.[1] ?? m?.[2];
  const pipeline = AstUtils.getContainerOfType(context.node, ast.isPipeline);
  return name ? pipeline?.blocks.find((b): b is ast.Head => ast.isHead(b) && b.name === name) : undefined;
}
