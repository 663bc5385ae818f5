/**
 * The document validator: Langium's, with a stable issue code and the names that would
 * resolve on every unresolved reference, and every diagnostic range inside the text.
 */
import { AstUtils, DefaultDocumentValidator, type LangiumDocument } from 'langium';
import type { Diagnostic } from 'vscode-languageserver-types';
import * as ast from './generated/ast';
import { IssueCodes } from './issue-codes';

/** Reports unresolved references with a stable code per kind and the names that would resolve. */
export class SenseDocumentValidator extends DefaultDocumentValidator {
  /**
   * Langium's parser can report a recovery error one character past the end of a line
   * or the document (found by the fuzz test); editors and the CLI expect every range
   * inside the text, so ranges are clamped to it.
   */
  override async validateDocument(document: LangiumDocument, options?: Parameters<DefaultDocumentValidator['validateDocument']>[1], cancelToken?: Parameters<DefaultDocumentValidator['validateDocument']>[2]): Promise<Diagnostic[]> {
    const diagnostics = await super.validateDocument(document, options, cancelToken);
    const text = document.textDocument;
    const clamp = (p: { line: number; character: number }) => text.positionAt(text.offsetAt(p));
    for (const d of diagnostics) d.range = { start: clamp(d.range.start), end: clamp(d.range.end) };
    return diagnostics;
  }

  protected override processLinkingErrors(document: LangiumDocument, diagnostics: Diagnostic[]): void {
    for (const reference of document.references) {
      const error = reference.error;
      if (!error) continue;
      const { container, property, index } = error.info;
      const text = error.info.reference.$refText;
      let code: string = IssueCodes.UnresolvedReference;
      let message = error.message;
      if (ast.isPlace(container) && property === 'processor') {
        const device = container.$container.targets[0]?.device?.ref;
        const names = device?.processors.map((p) => p.name) ?? [];
        code = IssueCodes.UnresolvedProcessor;
        message = device
          ? `Target '${device.name}' has no processor '${text}'; it has ${names.join(', ')}.`
          : `Unknown processor '${text}': the pipeline has no target, so only the host's cpu is available.`;
      } else if (ast.isLink(container) || ast.isDefaultProcessor(container)) {
        const device = AstUtils.getContainerOfType(container, ast.isDevice);
        code = IssueCodes.UnresolvedProcessor;
        message = `Device '${device?.name}' has no processor '${text}'; declare it with processor ${text} { ... }.`;
      } else if (ast.isTarget(container)) {
        code = IssueCodes.UnresolvedDevice;
        message = `Unknown device '${text}'. Built-in devices: snapdragon800, tegrak1, edison, snapdragon8gen3, nrf52840, host; or declare device ${text} { ... }.`;
      } else if (ast.isLayerRef(container) && property === 'layer') {
        code = IssueCodes.UnresolvedLayer;
        const block = container.block?.ref;
        const names = block?.layers.map((l) => l.name).filter((n) => n !== undefined) ?? [];
        message = `'${block?.name}' has no layer named '${text}'${names.length ? `; named layers: ${names.join(', ')}` : ''}. Layers can also be addressed by position, e.g. ${block?.name}.1.`;
      } else if (ast.isGate(container) || ast.isExpect(container)) {
        code = IssueCodes.UnresolvedBlock;
        const pipeline = AstUtils.getContainerOfType(container, ast.isPipeline);
        const heads = pipeline?.blocks.filter(ast.isHead).map((b) => b.name) ?? [];
        const shared = pipeline?.blocks.some((b) => ast.isShared(b) && b.name === text);
        const what = ast.isGate(container) ? 'a gate waits for' : 'an expect line states how often a label wins as';
        message = `${shared ? `'${text}' is a shared block, not a head` : `Unknown head '${text}'`}; ${what} a head's top label${heads.length ? ` (heads: ${heads.join(', ')})` : ''}.`;
      } else if (ast.isLayerRef(container) || ast.isShared(container) || ast.isHead(container)) {
        code = IssueCodes.UnresolvedBlock;
        const pipeline = AstUtils.getContainerOfType(container, ast.isPipeline);
        const wantShared = !ast.isLayerRef(container);
        const names = pipeline?.blocks.filter((b) => !wantShared || ast.isShared(b)).map((b) => b.name) ?? [];
        message = `Unknown ${wantShared ? 'shared block' : 'block'} '${text}'${names.length ? `; declared: ${names.join(', ')}` : ''}.`;
      }
      diagnostics.push(
        this.toDiagnostic('error', message, {
          node: container,
          range: reference.$refNode?.range,
          property,
          index,
          code,
          data: { code, containerType: container.$type, property, refText: text },
        }),
      );
    }
  }
}

