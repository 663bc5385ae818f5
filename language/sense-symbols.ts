/**
 * The outline of a `.sense` file: pipeline > input, features, blocks > layers (with
 * their output shapes), and device > processors. Statements without a name of their
 * own (compress, place) are left out; they are lines, not things.
 */
import type { AstNode, CstNode, LangiumDocument } from 'langium';
import type { DocumentSymbolProvider } from 'langium/lsp';
import { SymbolKind, type DocumentSymbol } from 'vscode-languageserver-types';
import * as ast from './generated/ast';
import type { SenseServices } from './sense-module';
import { formatShape } from './layer-shapes';
import { formatBytes, formatMacsPerS } from './figures';

function symbol(name: string | undefined, kind: SymbolKind, node: AstNode, nameNode: CstNode | undefined, detail?: string, children?: DocumentSymbol[]): DocumentSymbol | undefined {
  const cst = node.$cstNode;
  if (!cst) return undefined;
  const selection = nameNode && nameNode.offset >= cst.offset && nameNode.end <= cst.end ? nameNode.range : cst.range;
  return {
    name: name && name.trim().length > 0 ? name : '?',
    kind,
    range: cst.range,
    selectionRange: selection,
    ...(detail ? { detail } : {}),
    ...(children && children.length > 0 ? { children } : {}),
  };
}

function defined<T>(xs: Array<T | undefined>): T[] {
  return xs.filter((x): x is T => x !== undefined);
}

/** The document symbol service. */
export class SenseDocumentSymbolProvider implements DocumentSymbolProvider {
  constructor(private readonly services: SenseServices) {}

  getSymbols(document: LangiumDocument): DocumentSymbol[] {
    const model = document.parseResult.value as ast.Model;
    const nameOf = this.services.references.NameProvider;
    const lowering = this.services.lowering.Lowering.document(model);
    const items: Array<{ offset: number; symbol: DocumentSymbol | undefined }> = [];
    for (const p of model.pipelines) {
      const lowered = lowering.pipelines.get(p);
      const children = defined([
        ...p.inputs.map((i) => symbol(`input ${i.modality ?? ''}`.trim(), SymbolKind.Event, i, undefined, lowered?.spec ? `${lowered.spec.input.kind}` : undefined)),
        ...p.features.map((f) => symbol('features', SymbolKind.Function, f, undefined, lowered?.spec ? formatShape(lowered.spec.features.outputShape) : undefined)),
        ...p.blocks.map((b) => {
          const blockSpec = lowered?.blockOf.get(b);
          const layers = defined(
            b.layers.map((l, i) => {
              const spec = lowered?.layerOf.get(l);
              const name = l.name ?? `${b.name}.${i + 1}`;
              return symbol(name, SymbolKind.Field, l, l.name ? nameOf.getNameNode(l) : undefined, `${l.kind}${spec ? ` ${formatShape(spec.outputShape)}` : ''}`);
            }),
          );
          return symbol(b.name, ast.isHead(b) ? SymbolKind.Class : SymbolKind.Namespace, b, nameOf.getNameNode(b), `${ast.isHead(b) ? 'head' : 'shared'}${blockSpec ? ` ${formatShape(blockSpec.outputShape)}` : ''}`, layers);
        }),
      ]).sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
      items.push({ offset: p.$cstNode?.offset ?? 0, symbol: symbol(p.name, SymbolKind.Module, p, nameOf.getNameNode(p), 'pipeline', children) });
    }
    for (const d of model.devices) {
      const spec = lowering.devices.get(d)?.spec;
      const processors = defined(
        d.processors.map((proc) => {
          const ps = spec?.processors.find((x) => x.name === proc.name);
          return symbol(proc.name, SymbolKind.Object, proc, nameOf.getNameNode(proc), ps ? `${formatMacsPerS(ps.computeMacsPerS)}, ${formatBytes(ps.memoryBytes)}` : undefined);
        }),
      );
      items.push({ offset: d.$cstNode?.offset ?? 0, symbol: symbol(d.name, SymbolKind.Struct, d, nameOf.getNameNode(d), 'device', processors) });
    }
    return defined(items.sort((a, b) => a.offset - b.offset).map((i) => i.symbol));
  }
}
