/**
 * Relinks documents whose references failed to resolve to names the index now holds.
 *
 * Langium can leave a reference in its linking-error state when a build is cancelled while
 * it links (eclipse-langium/langium PR #1566: "all documents are validated and there are
 * references that cannot be resolved", seen very rarely). Here it was seen at start, when
 * the editor's `didOpen` cancels the workspace's first build: `target snapdragon800` stayed
 * unresolved, with no estimate, until the next edit. After every completed build each
 * document holding such a reference is updated once more, which relinks it; at most once
 * per document version, so a reference that is wrong for another reason costs one rebuild.
 *
 * No `vscode` import: it runs in the server process (and in plain-Node tests).
 */
import { DocumentState, type LangiumDocument } from 'langium';
import type { LangiumSharedServices } from 'langium/lsp';

/** Starts watching builds; returns the listener's disposable. */
export function relinkStaleReferences(shared: LangiumSharedServices): { dispose(): void } {
  const retried = new Map<string, number>();
  const { DocumentBuilder, IndexManager, LangiumDocuments, WorkspaceLock } = shared.workspace;
  return DocumentBuilder.onBuildPhase(DocumentState.Validated, () => {
    // Every build passes here: look at the index only when some document has an unresolved reference.
    const unresolved = LangiumDocuments.all
      .filter((doc: LangiumDocument) => doc.state === DocumentState.Validated && retried.get(doc.uri.toString()) !== doc.textDocument.version)
      .filter((doc) => doc.references.some((r) => r.error !== undefined))
      .toArray();
    if (unresolved.length === 0) return;
    const names = new Set(IndexManager.allElements().map((d) => d.name));
    const stale = unresolved.filter((doc) => doc.references.some((r) => r.error !== undefined && names.has(r.$refText)));
    if (stale.length === 0) return;
    for (const doc of stale) retried.set(doc.uri.toString(), doc.textDocument.version);
    void WorkspaceLock.write((token) => DocumentBuilder.update(stale.map((d) => d.uri), [], token)).catch(() => undefined);
  });
}
