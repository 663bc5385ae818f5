/**
 * Semantic tokens: what TextMate cannot tell from the text alone. Declarations and
 * references get the same token type so a block, a layer, a device or a processor
 * looks the same wherever it is named:
 *
 * | element | token type | modifiers |
 * |---|---|---|
 * | pipeline name | namespace | declaration |
 * | shared block / head | class | declaration at its name |
 * | named layer | property | declaration at its name |
 * | layer kind (`dense`, `conv2d`) | function | |
 * | activation (`relu`) | function | defaultLibrary |
 * | device | type | declaration; defaultLibrary for built-ins |
 * | processor | enumMember | declaration at its name |
 * | number | number | |
 * | unit (`kHz`, `GMAC/s`) | keyword | |
 * | label | enumMember | |
 */
import { AstUtils, type AstNode } from 'langium';
import { AbstractSemanticTokenProvider, type SemanticTokenAcceptor } from 'langium/lsp';
import { SemanticTokenModifiers, SemanticTokenTypes } from 'vscode-languageserver-types';
import * as ast from './generated/ast';
import { BUILTIN_DEVICES_URI } from './builtin-devices';

const ACTIVATIONS: ReadonlySet<string> = new Set(['relu', 'sigmoid', 'tanh', 'softmax', 'gelu', 'elu', 'leakyrelu', 'linear']);

function isBuiltin(node: AstNode | undefined): boolean {
  return node !== undefined && AstUtils.getDocument(node).uri.toString() === BUILTIN_DEVICES_URI;
}

/** The semantic token service. */
export class SenseSemanticTokenProvider extends AbstractSemanticTokenProvider {
  protected override highlightElement(node: AstNode, acceptor: SemanticTokenAcceptor): void {
    const decl = SemanticTokenModifiers.declaration;
    if (ast.isPipeline(node)) {
      if (node.name) acceptor({ node, property: 'name', type: SemanticTokenTypes.namespace, modifier: decl });
    } else if (ast.isShared(node) || ast.isHead(node)) {
      if (node.name) acceptor({ node, property: 'name', type: SemanticTokenTypes.class, modifier: decl });
      if (node.from) acceptor({ node, property: 'from', type: SemanticTokenTypes.class });
    } else if (ast.isLayer(node)) {
      if (node.name) acceptor({ node, property: 'name', type: SemanticTokenTypes.property, modifier: decl });
      if (node.kind) acceptor({ node, property: 'kind', type: SemanticTokenTypes.function, ...(ACTIVATIONS.has(node.kind) ? { modifier: SemanticTokenModifiers.defaultLibrary } : {}) });
      if (node.activation) acceptor({ node, property: 'activation', type: SemanticTokenTypes.function, modifier: SemanticTokenModifiers.defaultLibrary });
      for (const p of ['units', 'filters', 'kernel', 'kernelWidth', 'stride', 'size', 'sizeWidth', 'rate'] as const) {
        if (node[p] !== undefined) acceptor({ node, property: p, type: SemanticTokenTypes.number });
      }
    } else if (ast.isLayerRef(node)) {
      acceptor({ node, property: 'block', type: SemanticTokenTypes.class });
      if (node.layer) acceptor({ node, property: 'layer', type: SemanticTokenTypes.property });
      if (node.index !== undefined) acceptor({ node, property: 'index', type: SemanticTokenTypes.number });
    } else if (ast.isDevice(node)) {
      if (node.name) acceptor({ node, property: 'name', type: SemanticTokenTypes.type, modifier: isBuiltin(node) ? [decl, SemanticTokenModifiers.defaultLibrary] : decl });
    } else if (ast.isTarget(node)) {
      acceptor({ node, property: 'device', type: SemanticTokenTypes.type, ...(isBuiltin(node.device?.ref) ? { modifier: SemanticTokenModifiers.defaultLibrary } : {}) });
    } else if (ast.isProcessor(node)) {
      if (node.name) acceptor({ node, property: 'name', type: SemanticTokenTypes.enumMember, modifier: decl });
    } else if (ast.isPlace(node)) {
      acceptor({ node, property: 'processor', type: SemanticTokenTypes.enumMember });
    } else if (ast.isLink(node)) {
      acceptor({ node, property: 'from', type: SemanticTokenTypes.enumMember });
      acceptor({ node, property: 'to', type: SemanticTokenTypes.enumMember });
    } else if (ast.isDefaultProcessor(node)) {
      acceptor({ node, property: 'processor', type: SemanticTokenTypes.enumMember });
    } else if (ast.isQuantity(node)) {
      acceptor({ node, property: 'value', type: SemanticTokenTypes.number });
      if (node.unit !== undefined) acceptor({ node, property: 'unit', type: SemanticTokenTypes.keyword });
    } else if (ast.isLabels(node)) {
      node.values.forEach((_, index) => acceptor({ node, property: 'values', index, type: SemanticTokenTypes.enumMember }));
    }
  }
}
