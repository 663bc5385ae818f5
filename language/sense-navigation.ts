/**
 * Go to definition and rename for `.sense` files, on top of Langium's reference
 * resolution: `encoder.2` jumps to the second layer of `encoder`; renaming a block,
 * layer, device or processor rewrites every reference (in `encoder.2` only the block
 * part changes), and refuses names the lexer would not read as a name and the
 * read-only built-in devices.
 */
import { AstUtils, CstUtils, GrammarAST, type AstNode, type CstNode, type LangiumDocument } from 'langium';
import { DefaultDefinitionProvider, DefaultRenameProvider, type LangiumServices } from 'langium/lsp';
import { LocationLink, type DefinitionParams, type Range, type RenameParams, type TextDocumentPositionParams, type WorkspaceEdit } from 'vscode-languageserver-protocol';
import * as ast from './generated/ast';
import { BUILTIN_DEVICES_URI } from './builtin-devices';
import { featureOf, layerOfRef } from './sense-hover';

/** Go to definition, plus positional layer references (`encoder.2`). */
export class SenseDefinitionProvider extends DefaultDefinitionProvider {
  protected override collectLocationLinks(source: CstNode, params: DefinitionParams): LocationLink[] | undefined {
    const node = source.astNode;
    const feature = featureOf(source);
    if (ast.isLayerRef(node) && feature === 'index') {
      const layer = layerOfRef(node);
      const target = layer?.$cstNode;
      if (layer && target) {
        const doc = AstUtils.getDocument(layer);
        const selection = layer.name ? (this.nameProvider.getNameNode(layer) ?? target) : target;
        return [LocationLink.create(doc.textDocument.uri, target.range, selection.range, source.range)];
      }
    }
    return super.collectLocationLinks(source, params) as LocationLink[] | undefined;
  }
}

const NAME = /^[_a-zA-Z]\w*$/;

/** Rename with name checks and the built-in devices protected. */
export class SenseRenameProvider extends DefaultRenameProvider {
  private readonly keywords: ReadonlySet<string>;
  private readonly softKeywords: ReadonlySet<string>;

  constructor(services: LangiumServices) {
    super(services);
    // Keywords the BlockName rule accepts as names (`head place`) are not reserved for blocks and layers.
    const nameRule = services.Grammar.rules.find((r) => r.name === 'BlockName');
    this.softKeywords = new Set(nameRule ? AstUtils.streamAllContents(nameRule).filter(GrammarAST.isKeyword).map((k) => k.value) : []);
    this.keywords = new Set(
      AstUtils.streamAllContents(services.Grammar)
        .filter(GrammarAST.isKeyword)
        .map((k) => k.value),
    );
  }

  /** Why `newName` cannot be a name, or undefined when it can. */
  invalidNameReason(newName: string, target?: AstNode): string | undefined {
    if (!NAME.test(newName)) return `'${newName}' is not a name: use letters, digits and _ and start with a letter or _.`;
    const soft = target !== undefined && (ast.isShared(target) || ast.isHead(target) || ast.isLayer(target)) && this.softKeywords.has(newName);
    if (this.keywords.has(newName) && !soft) return `'${newName}' is a keyword of the language and cannot be a name here.`;
    return undefined;
  }

  override async rename(document: LangiumDocument, params: RenameParams): Promise<WorkspaceEdit | undefined> {
    const target = this.declarationAt(document, params.position);
    if (!target) return undefined;
    const reason = this.invalidNameReason(params.newName, target);
    if (reason) throw new Error(reason);
    if (AstUtils.getDocument(target).uri.toString() === BUILTIN_DEVICES_URI) {
      throw new Error(`'${(target as { name?: string }).name}' is part of the built-in device catalog and cannot be renamed; declare your own device to change it.`);
    }
    return super.rename(document, params);
  }

  override prepareRename(document: LangiumDocument, params: TextDocumentPositionParams): Range | undefined {
    const target = this.declarationAt(document, params.position);
    if (!target || AstUtils.getDocument(target).uri.toString() === BUILTIN_DEVICES_URI) return undefined;
    return super.prepareRename(document, params) as Range | undefined;
  }

  private declarationAt(document: LangiumDocument, position: TextDocumentPositionParams['position']) {
    const root = document.parseResult.value.$cstNode;
    if (!root) return undefined;
    const leaf = CstUtils.findDeclarationNodeAtOffset(root, document.textDocument.offsetAt(position), this.grammarConfig.nameRegexp);
    return leaf ? this.references.findDeclarations(leaf)[0] : undefined;
  }
}
