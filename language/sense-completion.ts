/**
 * Completion for `.sense` files. Langium proposes the keywords the grammar allows at
 * the cursor (statements, layer kinds, activations, units' `%`) and the names in scope
 * for references (built-in and custom devices, the target's processors, blocks, named
 * layers). This provider adds what the grammar cannot know: units that fit the
 * quantity being typed (`rate 16 |` offers Hz, kHz, ...), layer positions after
 * `block.` with what each layer is, and details on devices and processors.
 */
import { AstUtils, GrammarAST, type AstNodeDescription, type MaybePromise, type ReferenceInfo } from 'langium';
import { DefaultCompletionProvider, type CompletionAcceptor, type CompletionContext, type CompletionValueItem, type NextFeature } from 'langium/lsp';
import { CompletionItemKind } from 'vscode-languageserver-types';
import * as ast from './generated/ast';
import type { SenseServices } from './sense-module';
import { quantityDimension, PREFERRED_UNITS } from './quantity-dimension';
import { DIMENSION_EXAMPLES, unitsOf } from './units';
import { formatBytes, formatMacsPerS } from './figures';

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
    return super.completionFor(context, next, acceptor);
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
    if (ast.isDevice(node)) {
      item.detail = `device: ${node.processors.map((p) => p.name).join(', ')}`;
    } else if (ast.isProcessor(node)) {
      const spec = this.senseServices.lowering.Lowering.device(node.$container).spec.processors.find((p) => p.name === node.name);
      if (spec) item.detail = `processor: ${formatMacsPerS(spec.computeMacsPerS)}, ${formatBytes(spec.memoryBytes)}`;
    } else if (ast.isShared(node) || ast.isHead(node)) {
      item.detail = `${ast.isShared(node) ? 'shared block' : 'head'}, ${node.layers.length} layers`;
    } else if (ast.isLayer(node)) {
      item.detail = `layer ${node.kind}`;
    }
    return item;
  }
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
