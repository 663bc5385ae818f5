/**
 * Quick fixes for diagnostics whose fix is clear, keyed by their stable codes
 * (language/issue-codes.ts):
 *
 * - missing-unit: add a unit of the expected dimension (the usual one first).
 * - unknown-unit, wrong-unit: replace the unit with one of the expected dimension,
 *   closest spelling first (`khz` -> `kHz`).
 * - unexpected-unit: remove the unit.
 * - unresolved-processor, unresolved-device, unresolved-block, unresolved-layer:
 *   replace the name with one that resolves, closest spelling first.
 * - rank-too-large: set the rank to the largest one that still saves parameters.
 * - label-count: set the last layer's units to the number of labels (when the head ends in
 *   dense, gru or lstm, followed only by layers that keep the width), or make the labels
 *   list as long as the output (the first ones kept, `c0`, `c1`, ... added).
 * - unknown-label: replace the label with one of the head's, closest spelling first.
 *
 * Others (shape-mismatch, ...) have no single obvious fix and get none.
 */
import { AstUtils, CstUtils, GrammarUtils, type AstNode, type LangiumDocument } from 'langium';
import type { CodeActionProvider } from 'langium/lsp';
import { CodeActionKind, type CodeAction, type CodeActionParams, type Command, type Diagnostic, type Range } from 'vscode-languageserver-protocol';
import * as ast from './generated/ast';
import { IssueCodes } from './issue-codes';
import type { SenseServices } from './sense-module';
import { quantityDimension, PREFERRED_UNITS } from './quantity-dimension';
import { unitsOf } from './units';
import { svdBreakEvenRank, weightMatrixShape } from './layer-shapes';
import { layerOfRef } from './sense-hover';
import { BUILTIN_DEVICES_URI } from './builtin-devices';
import { ACTIVATIONS, unquote } from './lower';

const MAX_SUGGESTIONS = 6;

/** Layer kinds whose output has their input's width, so they cannot be what sets a head's label count. */
const WIDTH_KEEPING: ReadonlySet<string> = new Set([...ACTIVATIONS, 'dropout', 'batchnorm']);

/**
 * Edit distance between two names, case-insensitive, counting a swap of two neighbours
 * as one edit (optimal string alignment), for ordering suggestions: `dps` is closer to
 * `dsp` than to `cpu`.
 */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (s[i - 1] === t[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[s.length][t.length];
}

function closest(names: Iterable<string>, to: string): string[] {
  return [...new Set(names)].filter((n) => n !== to).sort((a, b) => editDistance(a, to) - editDistance(b, to) || a.localeCompare(b));
}

function codeOf(d: Diagnostic): string | undefined {
  const data = d.data as { code?: string } | undefined;
  return (typeof d.code === 'string' ? d.code : undefined) ?? data?.code;
}

/** The code action service. */
export class SenseCodeActionProvider implements CodeActionProvider {
  constructor(private readonly services: SenseServices) {}

  getCodeActions(document: LangiumDocument, params: CodeActionParams): Array<Command | CodeAction> {
    const actions: CodeAction[] = [];
    for (const d of params.context.diagnostics) {
      try {
        actions.push(...this.fixesFor(document, d));
      } catch {
        // A fix that cannot be computed on a half-parsed document is simply not offered.
      }
    }
    return actions;
  }

  private nodeAt(document: LangiumDocument, range: Range): AstNode | undefined {
    const root = document.parseResult.value.$cstNode;
    if (!root) return undefined;
    return CstUtils.findLeafNodeAtOffset(root, document.textDocument.offsetAt(range.start))?.astNode;
  }

  private fix(document: LangiumDocument, d: Diagnostic, title: string, range: Range, newText: string, preferred: boolean): CodeAction {
    return {
      title,
      kind: CodeActionKind.QuickFix,
      diagnostics: [d],
      isPreferred: preferred,
      edit: { changes: { [document.textDocument.uri]: [{ range, newText }] } },
    };
  }

  private replaceWith(document: LangiumDocument, d: Diagnostic, names: string[], what: string): CodeAction[] {
    const text = document.textDocument.getText(d.range);
    return closest(names, text)
      .slice(0, MAX_SUGGESTIONS)
      .map((n, i) => this.fix(document, d, `Change to ${what} '${n}'`, d.range, n, i === 0));
  }

  private fixesFor(document: LangiumDocument, d: Diagnostic): CodeAction[] {
    const code = codeOf(d);
    const node = this.nodeAt(document, d.range);
    if (!node) return [];
    switch (code) {
      case IssueCodes.MissingUnit: {
        const q = AstUtils.getContainerOfType(node, ast.isQuantity);
        const dimension = q && quantityDimension(q);
        if (!q?.$cstNode || !dimension) return [];
        const at = q.$cstNode.range.end;
        return PREFERRED_UNITS[dimension].map((u, i) => this.fix(document, d, `Add unit '${u}'`, { start: at, end: at }, u === '%' ? '%' : ` ${u}`, i === 0));
      }
      case IssueCodes.UnknownUnit:
      case IssueCodes.WrongUnit: {
        const q = AstUtils.getContainerOfType(node, ast.isQuantity);
        const dimension = q && quantityDimension(q);
        if (!dimension || dimension === 'count') return [];
        return this.replaceWith(document, d, unitsOf(dimension), 'unit');
      }
      case IssueCodes.UnexpectedUnit: {
        const q = AstUtils.getContainerOfType(node, ast.isQuantity);
        if (!q?.$cstNode) return [];
        const valueEnd = document.textDocument.positionAt(q.$cstNode.offset + String(q.$cstNode.text.match(/^\S+/)?.[0] ?? '').length);
        return [this.fix(document, d, `Remove the unit '${q.unit}'`, { start: valueEnd, end: q.$cstNode.range.end }, '', true)];
      }
      case IssueCodes.UnresolvedProcessor: {
        let processors: ast.Processor[] = [];
        if (ast.isPlace(node)) {
          const device = node.$container.targets[0]?.device?.ref ?? this.builtinDevice('host');
          processors = device?.processors ?? [];
        } else {
          processors = AstUtils.getContainerOfType(node, ast.isDevice)?.processors ?? [];
        }
        return this.replaceWith(document, d, processors.map((p) => p.name), 'processor');
      }
      case IssueCodes.UnresolvedDevice: {
        const model = document.parseResult.value as ast.Model;
        const names = [...(this.builtinModel()?.devices ?? []), ...model.devices].map((x) => x.name);
        return this.replaceWith(document, d, names, 'device');
      }
      case IssueCodes.UnresolvedBlock: {
        const pipeline = AstUtils.getContainerOfType(node, ast.isPipeline);
        // `from` names a shared block; a gate or expect line a head; a layer reference any block.
        const wantShared = ast.isShared(node) || ast.isHead(node);
        const wantHead = ast.isGate(node) || ast.isExpect(node);
        // A head gated on itself would be a cycle, so a gate does not offer its own head.
        const own = ast.isGate(node) ? node.$container : undefined;
        const names = (pipeline?.blocks ?? []).filter((b) => b !== own && (wantShared ? ast.isShared(b) : wantHead ? ast.isHead(b) : true)).map((b) => b.name);
        return this.replaceWith(document, d, names, wantShared ? 'shared block' : wantHead ? 'head' : 'block');
      }
      case IssueCodes.UnresolvedLayer: {
        const ref = AstUtils.getContainerOfType(node, ast.isLayerRef);
        const names = (ref?.block?.ref?.layers ?? []).map((l) => l.name).filter((n): n is string => n !== undefined);
        return this.replaceWith(document, d, names, 'layer');
      }
      case IssueCodes.RankTooLarge: {
        const compress = AstUtils.getContainerOfType(node, ast.isCompress);
        const layer = compress && layerOfRef(compress.layer);
        const spec = layer && this.services.lowering.Lowering.pipelineOf(layer)?.layerOf.get(layer);
        if (!spec || !ast.isSvdMethod(compress.method)) return [];
        const [out, inp] = weightMatrixShape(spec);
        const rank = svdBreakEvenRank(out, inp) - 1;
        if (rank < 1) return [];
        return [this.fix(document, d, `Set the rank to ${rank}, the largest that saves parameters on ${spec.id}`, d.range, String(rank), true)];
      }
      case IssueCodes.LabelCount: {
        const labels = AstUtils.getContainerOfType(node, ast.isLabels);
        return labels ? this.labelCountFixes(document, d, labels) : [];
      }
      case IssueCodes.UnknownLabel: {
        const head = (ast.isGate(node) || ast.isExpect(node)) ? node.head?.ref : undefined;
        return this.replaceWith(document, d, (head?.labels[0]?.values ?? []).map(unquote), 'label');
      }
      default:
        return [];
    }
  }

  /** The two ways to make a head's labels and its output width agree. */
  private labelCountFixes(document: LangiumDocument, d: Diagnostic, labels: ast.Labels): CodeAction[] {
    const head = labels.$container;
    const last = head.layers.at(-1);
    const width = last && this.services.lowering.Lowering.pipelineOf(last)?.layerOf.get(last)?.outputShape;
    if (!width || width.length !== 1 || !labels.$cstNode) return [];
    const count = labels.values.length;
    const actions: CodeAction[] = [];
    // The layer that sets the width: the last one, or the last before layers that keep it (softmax, dropout, ...).
    const sizing = [...head.layers].reverse().find((l) => !WIDTH_KEEPING.has(l.kind));
    const unitsNode = sizing && (sizing.kind === 'dense' || sizing.kind === 'gru' || sizing.kind === 'lstm') && sizing.$cstNode ? GrammarUtils.findNodeForProperty(sizing.$cstNode, 'units') : undefined;
    if (unitsNode && count > 0) {
      actions.push(this.fix(document, d, `Set the last layer to ${count} units, one per label`, unitsNode.range, String(count), true));
    }
    const written = GrammarUtils.findNodesForProperty(labels.$cstNode, 'values').map((n) => n.text);
    const names = new Set(labels.values.map(unquote));
    const values = written.slice(0, width[0]);
    for (let i = 0; values.length < width[0]; i++) if (!names.has(`c${i}`)) values.push(`c${i}`);
    actions.push(this.fix(document, d, `Make the labels list ${width[0]} long`, labels.$cstNode.range, `labels [${values.join(', ')}]`, !unitsNode));
    return actions;
  }

  private builtinModel(): ast.Model | undefined {
    const docs = this.services.shared.workspace.LangiumDocuments;
    return docs.all.find((doc) => doc.uri.toString() === BUILTIN_DEVICES_URI)?.parseResult.value as ast.Model | undefined;
  }

  private builtinDevice(name: string): ast.Device | undefined {
    return this.builtinModel()?.devices.find((d) => d.name === name);
  }
}
