/**
 * Sense Studio's extension entry (bundled to dist/extension.cjs): a thin client in the
 * manner of rust-analyzer's editors/code. `activate` only builds the shared objects and
 * calls the registrars: the language client (client.ts), the graph editor
 * (graph-editor.ts), the commands (commands.ts), the status bar (status-bar.ts) and the
 * measured device profiles (profiles.ts). Every figure is the language server's; heavy work
 * runs there or in the pipeline worker, never on this thread, which every extension shares.
 */
import * as vscode from 'vscode';
import { BUILTIN_DEVICES_SOURCE, BUILTIN_DEVICES_URI } from '../language/builtin-devices';
import { currentClient, startClient, stopClient } from './client';
import { registerCommands } from './commands';
import { GraphEditorProvider } from './graph-editor';
import { registerOnnxPreview } from './onnx-preview';
import { createPlanCommands } from './plan-commands';
import { registerProfiles } from './profiles';
import { createRunCommands } from './run-commands';
import { extensionPipelineJobs, usePipelineJobs } from './run-pipeline';
import { registerStatusBar } from './status-bar';
import { StudioClient } from './studio-client';
import { createStudioContext } from './studio-context';
import { watchWorkspaceClips } from './workspace-clips';

/** Activates the extension: language client, graph editor, commands, status bar, device profiles. */
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Sense Studio', { log: true });
  context.subscriptions.push(output);
  output.appendLine(`Sense Studio ${String(context.extension.packageJSON.version)} activating (VS Code ${vscode.version}, Node ${process.version}, trusted workspace: ${vscode.workspace.isTrusted}).`);
  const studio = new StudioClient(currentClient);
  await startClient(context, output);

  const jobs = extensionPipelineJobs(context.extensionPath);
  usePipelineJobs(jobs);
  context.subscriptions.push({ dispose: () => void jobs.dispose() });
  const ctx = createStudioContext({ context, output, studio, jobs, samples: watchWorkspaceClips(context), graphDocument: () => graph.provider.activeDocument() });

  const plans = createPlanCommands({
    studio,
    output,
    pipelineSpec: ctx.pipelineSpec,
    requireTrust: ctx.requireTrust,
    files: ctx.documentFiles,
    profilesChanged: () => {
      profileFiles.sync();
      graph.provider.refreshAll();
      refreshStatus();
    },
  });
  const run = createRunCommands(ctx, plans.autoPartition);
  const graph = GraphEditorProvider.register(context, { studio, output, samples: ctx.samples, runCommand: run.runCommand });
  context.subscriptions.push(graph.disposable);
  registerBuiltinDevices(context);
  const refreshStatus = registerStatusBar(context, { studio, output, activeDocument: () => ctx.activeSenseDocument() });
  registerCommands(ctx, { graph: graph.provider, plans, run });
  registerOnnxPreview(context, { studio, output, requireTrust: ctx.requireTrust });
  const profileFiles = registerProfiles(context, { client: currentClient, output, reload: () => plans.reloadProfiles(), profiles: () => plans.profiles() });
  // In Restricted Mode reloadProfiles reads nothing; granting trust reads them.
  void plans.reloadProfiles();

  await vscode.commands.executeCommand('setContext', 'senseStudio.active', true);
  output.appendLine('Sense Studio is active.');
}

/** Stops the language server. */
export async function deactivate(): Promise<void> {
  await stopClient();
}

/** The catalog of built-in devices as a read-only document, where go to definition on `target snapdragon800` lands. */
function registerBuiltinDevices(context: vscode.ExtensionContext): void {
  const builtin = vscode.Uri.parse(BUILTIN_DEVICES_URI);
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(builtin.scheme, {
      provideTextDocumentContent: (uri) => (uri.toString() === builtin.toString() ? BUILTIN_DEVICES_SOURCE : `// ${uri.toString()} is not a Sense Studio built-in; the built-in devices are in ${BUILTIN_DEVICES_URI}.\n`),
    }),
  );
}
