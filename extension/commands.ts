/**
 * The `senseStudio.*` commands of the palette, the CodeLens and the tests, registered in one
 * place as rust-analyzer's editors/code does. A command's error becomes a message (and its
 * stack goes to the output channel) instead of VS Code's generic failure. Long bodies live
 * in their own modules: the compress wizard (compress-wizard.ts), run and export
 * (run-commands.ts), the plans and profiles (plan-commands.ts).
 */
import * as vscode from 'vscode';
import { compressLayerWizard } from './compress-wizard';
import type { ComparisonView } from '../webview/protocol';
import { GRAPH_VIEW_TYPE, type CompareAgainst, type GraphEditorProvider } from './graph-editor';
import { revealRange } from './graph-model';
import { deviceNamesRequest } from './lsp-ext';
import type { createPlanCommands } from './plan-commands';
import type { RunCommands } from './run-commands';
import type { StudioContext } from './studio-context';

/** What the commands act on besides the shared context. */
export interface CommandTargets {
  graph: GraphEditorProvider;
  plans: ReturnType<typeof createPlanCommands>;
  run: RunCommands;
}

/** Registers every command of the extension. */
export function registerCommands(ctx: StudioContext, { graph, plans, run }: CommandTargets): void {
  const { context, output } = ctx;
  const register = (id: string, fn: (...args: unknown[]) => unknown): void => {
    context.subscriptions.push(
      vscode.commands.registerCommand(`senseStudio.${id}`, async (...args: unknown[]) => {
        try {
          return await fn(...args);
        } catch (e) {
          output.appendLine(`[command] ${id} failed: ${(e as Error).stack ?? String(e)}`);
          void vscode.window.showErrorMessage(`Sense Studio: ${(e as Error).message}`);
          return undefined;
        }
      }),
    );
  };
  const needDocument = (uri: unknown): vscode.TextDocument => {
    const doc = ctx.activeSenseDocument(uri instanceof vscode.Uri ? uri : undefined);
    if (!doc) throw new Error('Open a .sense file first.');
    return doc;
  };

  register('openGraph', async (uri) => {
    const target = uri instanceof vscode.Uri ? uri : ctx.activeSenseDocument()?.uri;
    if (!target) throw new Error('Open a .sense file first.');
    await vscode.commands.executeCommand('vscode.openWith', target, GRAPH_VIEW_TYPE, vscode.ViewColumn.Beside);
  });
  register('compressLayer', (uri, layerId, method) => compressLayerWizard(ctx, needDocument(uri), layerId, method));
  register('selectTarget', (uri) => selectTarget(ctx, needDocument(uri)));
  register('autoCompress', (uri) => plans.autoCompress(needDocument(uri).uri));
  register('autoPartition', (uri) => plans.autoPartition(needDocument(uri).uri));
  register('calibrateHost', (uri) => plans.calibrateHost(needDocument(uri).uri));
  register('importDeviceProfile', (uri) => plans.importDeviceProfile(uri instanceof vscode.Uri ? uri : undefined));
  register('showInGraph', (uri, name) => showInGraph(ctx, graph, uri, name));
  // They return the protocol's runResult, so tests and other extensions can read it.
  register('runClip', (uri, clip) => run.runCommand('runClip', needDocument(uri).uri, clip));
  register('evaluateFolder', (uri, folder) => run.runCommand('evaluateFolder', needDocument(uri).uri, folder));
  register('exportBundle', async (uri, dir) => {
    const doc = needDocument(uri);
    if (typeof dir === 'string') await run.exportBundle(doc.uri, dir);
    else await run.runCommand('exportBundle', doc.uri);
  });
  // They return the graph's comparison overlay (webview/protocol.ts ComparisonView), so tests can read it.
  register('compareWithHead', (uri) => {
    // Git reads the repository's own configuration, which an untrusted folder could use to run commands (core.fsmonitor).
    if (!vscode.workspace.isTrusted) throw new Error('Compare with HEAD runs git, which needs a trusted workspace; trust this folder first (Manage Workspace Trust).');
    return compareWith(graph, needDocument(uri), { kind: 'head' });
  });
  register('compareWithFile', async (uri, other) => {
    const doc = needDocument(uri);
    const picked =
      other instanceof vscode.Uri
        ? other
        : (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Sense pipelines': ['sense'] }, defaultUri: vscode.Uri.joinPath(doc.uri, '..'), title: `Compare ${vscode.workspace.asRelativePath(doc.uri)} with which .sense file?` }))?.[0];
    return picked ? compareWith(graph, doc, { kind: 'file', uri: picked.toString() }) : undefined;
  });
  register('showOutput', () => output.show(true));
  register('openDemoPage', async (uri) => {
    const folder =
      uri instanceof vscode.Uri ? uri : (await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, title: 'Open the demo page of which exported bundle folder?' }))?.[0];
    if (folder) await run.openDemoPage(folder.fsPath);
  });
}

/** Opens the graph beside the text (where the comparison is drawn) and shows the comparison of `doc` with `against` on it. */
async function compareWith(graph: GraphEditorProvider, doc: vscode.TextDocument, against: CompareAgainst): Promise<ComparisonView> {
  await vscode.commands.executeCommand('vscode.openWith', doc.uri, GRAPH_VIEW_TYPE, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true });
  const view = await graph.compare(doc, against);
  const changed = view.layers.length;
  void vscode.window.setStatusBarMessage(`Sense: ${changed} layer${changed === 1 ? '' : 's'} changed against ${view.against}`, 5000);
  return view;
}

/** Select Target Device: the built-in and the file's devices, the `defaultTarget` setting's first; writes the `target` line. */
async function selectTarget(ctx: StudioContext, doc: vscode.TextDocument): Promise<void> {
  const { devices, pipeline, currentTarget: current } = await ctx.studio.request(deviceNamesRequest, doc, {});
  if (!pipeline) throw new Error(`${vscode.workspace.asRelativePath(doc.uri)} declares no pipeline.`);
  const preferred = vscode.workspace.getConfiguration('senseStudio').get<string>('defaultTarget', '');
  const items = devices.map((d) => ({
    label: d.name,
    description: [d.name === current ? 'current' : '', d.builtin ? 'built-in' : 'in this file', d.name === preferred ? 'default' : ''].filter(Boolean).join(' · '),
  }));
  items.sort((a, b) => Number(b.label === preferred) - Number(a.label === preferred));
  const pick = await vscode.window.showQuickPick(items, { title: `Target device of ${pipeline}`, placeHolder: current ? `Now: ${current}` : 'No target yet' });
  if (!pick) return;
  await ctx.writeAction(doc, { kind: 'target', device: pick.label });
}

/** Show in Graph, from the CodeLens (language/sense-codelens.ts passes [uri string, pipeline or head name]): moves the cursor to the block and selects its first layer in the graph. */
async function showInGraph(ctx: StudioContext, graph: GraphEditorProvider, uriArg: unknown, nameArg: unknown): Promise<void> {
  const uri = typeof uriArg === 'string' ? vscode.Uri.parse(uriArg) : uriArg instanceof vscode.Uri ? uriArg : ctx.activeSenseDocument()?.uri;
  if (!uri) throw new Error('Open a .sense file first.');
  const doc = await vscode.workspace.openTextDocument(uri);
  const spec = await ctx.pipelineSpec(doc, 'Show in Graph', { allowErrors: true }).catch(() => undefined);
  const name = typeof nameArg === 'string' ? nameArg : undefined;
  const block = spec?.blocks.find((b) => b.name === name);
  const layerId = block?.layers[0]?.id ?? null;
  const range = block && spec ? revealRange({ blocks: spec.blocks, layers: spec.blocks.flatMap((b) => b.layers) }, block.name) : undefined;
  if (range) {
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
    if (editor) {
      const r = new vscode.Range(range.start.line, range.start.character, range.start.line, range.start.character);
      editor.selection = new vscode.Selection(r.start, r.end);
      editor.revealRange(r, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }
  }
  if (!graph.select(uri, layerId)) {
    await vscode.commands.executeCommand('vscode.openWith', uri, GRAPH_VIEW_TYPE, vscode.ViewColumn.Beside);
    graph.select(uri, layerId);
  } else {
    await vscode.commands.executeCommand('vscode.openWith', uri, GRAPH_VIEW_TYPE, vscode.ViewColumn.Beside);
  }
}
