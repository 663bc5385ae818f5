/**
 * What every part of the extension shares, built once in `activate` (rust-analyzer's
 * editors/code calls its equivalent `Ctx`): the output channel, the studio's requests to
 * the language server, the pipeline worker, and the few document helpers the commands, the
 * run orchestration and the plan commands all use.
 */
import * as vscode from 'vscode';
import type { PipelineSpec } from '../language/pipeline-model';
import { toWorkspaceEdit } from './graph-editor';
import { pipelineSpecRequest, sourceEditRequest, type SourceEditAction } from './lsp-ext';
import type { PipelineJobs } from './run-pipeline';
import type { StudioClient } from './studio-client';
import type { WorkspaceClips } from './workspace-clips';
import { documentFiles, type DocumentFiles } from './workspace-files';

/** The extension's shared objects and document helpers. */
export interface StudioContext {
  context: vscode.ExtensionContext;
  output: vscode.OutputChannel;
  studio: StudioClient;
  /** The pipeline worker (extension/jobs/) that runs, evaluates, exports and calibrates. */
  jobs: PipelineJobs;
  /** The workspace's clips and labelled folders of a document's workspace folder. */
  samples(uri: vscode.Uri): Promise<WorkspaceClips>;
  /** True in a trusted workspace; otherwise says that `what` needs trust and offers to manage it. */
  requireTrust(what: string): boolean;
  /** The document `uri` names, else the .sense document of the active text editor or the focused graph editor. */
  activeSenseDocument(uri?: vscode.Uri): vscode.TextDocument | undefined;
  /** The document on disk and the folders the files it names (weights) and messages name (clips) must lie in. */
  documentFiles(doc: vscode.TextDocument): DocumentFiles;
  /** The checked spec of the document's pipeline from the language server; `what` names the command in its refusal. */
  pipelineSpec(doc: vscode.TextDocument, what: string, options?: { allowErrors?: boolean; retargetToHost?: boolean }): Promise<PipelineSpec>;
  /** Applies a command's edits, asked of the server against the document's current text (asked again once when the text moves on meanwhile). */
  writeAction(doc: vscode.TextDocument, edit: SourceEditAction): Promise<void>;
}

/** True for a `.sense` document. */
export function isSense(doc: vscode.TextDocument | undefined): doc is vscode.TextDocument {
  return doc !== undefined && (doc.languageId === 'sense' || doc.uri.path.endsWith('.sense'));
}

/** The parts `activate` builds first; `graphDocument` is the focused graph editor's document (read at each use). */
export interface StudioContextParts {
  context: vscode.ExtensionContext;
  output: vscode.OutputChannel;
  studio: StudioClient;
  jobs: PipelineJobs;
  samples(uri: vscode.Uri): Promise<WorkspaceClips>;
  graphDocument(): vscode.TextDocument | undefined;
}

/** Builds the shared context around the parts `activate` created. */
export function createStudioContext(parts: StudioContextParts): StudioContext {
  const { studio } = parts;
  return {
    context: parts.context,
    output: parts.output,
    studio,
    jobs: parts.jobs,
    samples: parts.samples,
    requireTrust: (what) => {
      if (vscode.workspace.isTrusted) return true;
      void vscode.window.showWarningMessage(`${what} runs code on this workspace's files, which Restricted Mode does not allow. Trust the workspace to use it.`, 'Manage Workspace Trust').then((pick) => {
        if (pick) void vscode.commands.executeCommand('workbench.trust.manage');
      });
      return false;
    },
    activeSenseDocument: (uri) => {
      if (uri) return vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
      const editorDoc = vscode.window.activeTextEditor?.document;
      if (isSense(editorDoc)) return editorDoc;
      return parts.graphDocument();
    },
    documentFiles: (doc) =>
      documentFiles(
        doc.uri.fsPath,
        (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath),
      ),
    pipelineSpec: async (doc, what, options = {}) => {
      try {
        return (await studio.request(pipelineSpecRequest, doc, options)).spec;
      } catch (e) {
        throw new Error(`${what}: ${(e as Error).message}`);
      }
    },
    writeAction: async (doc, edit) => {
      // Edits computed for a version the text has since left are asked again, once, of the current text.
      let r = await studio.request(sourceEditRequest, doc, { edit });
      if (r.version !== doc.version) r = await studio.request(sourceEditRequest, doc, { edit });
      if (r.version !== doc.version) throw new Error('The document changed while the edit was computed; run the command again.');
      if (r.edits.length > 0 && !(await vscode.workspace.applyEdit(toWorkspaceEdit(doc.uri, r.edits)))) throw new Error('VS Code refused the edit.');
    },
  };
}
