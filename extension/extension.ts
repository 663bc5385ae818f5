/**
 * Sense Studio's extension entry (bundled to dist/extension.cjs): a thin client in the
 * manner of rust-analyzer's editors/code. It starts the language server
 * (dist/language-server.cjs, over IPC), registers the graph editor, the commands, the
 * status bar item and the output channel, and adapts language/, engine/ and runtime/
 * to VS Code. Nothing here computes what the pure core already does.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { formatMs } from '../engine/estimate';
import type { CompressionSpec } from '../language/pipeline-model';
import type { ToWebviewBody } from '../webview/protocol';
import { WeightsCache, layerSpectrum } from './compression-preview';
import { GRAPH_VIEW_TYPE, GraphEditorProvider, mainPipeline, toWorkspaceEdit } from './graph-editor';
import { compressionEdits, layerAt, targetEdits } from './graph-model';
import { SenseAnalyzer, type AnalysedPipeline } from './sense-analysis';

let client: LanguageClient | undefined;

/** Engine and runtime pieces that are not in the repository yet: the command says so instead of pretending. */
const NOT_YET: Record<string, string> = {
  autoCompress: 'Auto-Compress needs the engine\'s auto-compression search (meet a memory / latency / energy target layer by layer), which is not built yet. Compress layers one at a time with "Sense: Compress Layer" or in the graph.',
  autoPartition: 'Auto-Partition needs the engine\'s partition optimizer (DP / HiGHS over α·energy + β·latency), which is not built yet. Place blocks by hand with `place ... on ...` lines or the processor picker in the graph.',
  runClip: 'Run on Clip needs the bundle runtime (runtime/runner.ts) and the in-memory bundle export (engine/export), which are not in the repository yet.',
  evaluateFolder: 'Evaluate Folder needs the bundle runtime (runtime/runner.ts) and the in-memory bundle export (engine/export), which are not in the repository yet.',
  exportBundle: 'Export Bundle needs the bundle writer (engine/export/write-bundle.ts), which is not in the repository yet.',
  calibrateHost: 'Calibrate Host needs the engine\'s calibration (profile each op on ONNX Runtime and fit the processor), which is not built yet.',
};

function isSense(doc: vscode.TextDocument | undefined): doc is vscode.TextDocument {
  return doc !== undefined && (doc.languageId === 'sense' || doc.uri.path.endsWith('.sense'));
}

/** Activates the extension: language client, graph editor, commands, status bar. */
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Sense Studio', { log: true });
  context.subscriptions.push(output);
  output.appendLine(`Sense Studio ${String(context.extension.packageJSON.version)} activating (VS Code ${vscode.version}, Node ${process.version}, trusted workspace: ${vscode.workspace.isTrusted}).`);

  const analyzer = new SenseAnalyzer();
  const weights = new WeightsCache();

  // ---------------------------------------------------------------- language server
  const serverModule = context.asAbsolutePath(path.join('dist', 'language-server.cjs'));
  const serverOptions: ServerOptions = {
    run: { module: serverModule, transport: TransportKind.ipc },
    debug: { module: serverModule, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6009'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ language: 'sense' }],
    outputChannel: output,
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.{sense,safetensors,onnx}') },
  };
  client = new LanguageClient('senseStudio', 'Sense Language Server', serverOptions, clientOptions);
  try {
    await client.start();
    output.appendLine('Language server started.');
  } catch (e) {
    output.appendLine(`The language server did not start: ${(e as Error).message}`);
    void vscode.window.showErrorMessage(`Sense Studio: the language server did not start (${(e as Error).message}); see the "Sense Studio" output.`);
  }

  // ---------------------------------------------------------------- helpers
  const requireTrust = (what: string): boolean => {
    if (vscode.workspace.isTrusted) return true;
    void vscode.window.showWarningMessage(`${what} runs code on this workspace's files, which Restricted Mode does not allow. Trust the workspace to use it.`, 'Manage Workspace Trust').then((pick) => {
      if (pick) void vscode.commands.executeCommand('workbench.trust.manage');
    });
    return false;
  };

  /** The .sense document of the active text editor or the focused graph editor. */
  const activeSenseDocument = (uri?: vscode.Uri): vscode.TextDocument | undefined => {
    if (uri) return vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    const editorDoc = vscode.window.activeTextEditor?.document;
    if (isSense(editorDoc)) return editorDoc;
    return graph.provider.activeDocument();
  };

  const analysePipeline = async (doc: vscode.TextDocument): Promise<AnalysedPipeline> => {
    const analysis = await analyzer.analyse(doc.getText(), doc.uri.toString());
    const p = mainPipeline(analysis);
    if (!p) throw new Error(`${vscode.workspace.asRelativePath(doc.uri)} declares no pipeline.`);
    return p;
  };

  const samples = async (uri: vscode.Uri): Promise<{ clips: string[]; folders: string[] }> => {
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    if (!folder) return { clips: [], folders: [] };
    const found = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, '**/*.{wav,csv}'), '**/node_modules/**', 2000);
    const clips = found.map((u) => vscode.workspace.asRelativePath(u, false)).sort();
    const folders = [...new Set(clips.map((c) => path.posix.dirname(path.posix.dirname(c))).filter((d) => d !== '.'))].sort();
    return { clips, folders };
  };

  const notAvailable = (key: keyof typeof NOT_YET): ToWebviewBody => {
    output.appendLine(`[command] ${key}: not available yet. ${NOT_YET[key]}`);
    void vscode.window.showInformationMessage(`Sense Studio: ${NOT_YET[key]}`);
    return { type: 'error', message: NOT_YET[key] };
  };

  const runCommand = async (command: 'runClip' | 'evaluateFolder' | 'exportBundle' | 'autoPartition'): Promise<ToWebviewBody | undefined> => {
    if (command !== 'autoPartition' && !requireTrust(command === 'exportBundle' ? 'Export Bundle' : 'Running the pipeline')) {
      return { type: 'error', message: 'Restricted Mode: trust the workspace to run or export.' };
    }
    return notAvailable(command);
  };

  const graph = GraphEditorProvider.register(context, { analyzer, weights, output, samples, runCommand: (c) => runCommand(c) });
  context.subscriptions.push(graph.disposable);

  // ---------------------------------------------------------------- status bar
  const status = vscode.window.createStatusBarItem('senseStudio.estimate', vscode.StatusBarAlignment.Right, 100);
  status.name = 'Sense Studio estimate';
  status.command = 'senseStudio.selectTarget';
  context.subscriptions.push(status);
  let statusTimer: ReturnType<typeof setTimeout> | undefined;
  const refreshStatus = (): void => {
    if (statusTimer) clearTimeout(statusTimer);
    statusTimer = setTimeout(() => void updateStatus(), 150);
  };
  const updateStatus = async (): Promise<void> => {
    const doc = activeSenseDocument();
    if (!doc) {
      status.hide();
      return;
    }
    try {
      const p = await analysePipeline(doc);
      const e = p.estimate;
      if (!e) {
        status.text = `$(circuit-board) ${p.spec?.target.name ?? 'no target'} $(warning)`;
        status.tooltip = p.estimateError ?? 'No estimate.';
      } else {
        status.text = `$(circuit-board) ${e.target} · ${formatMs(e.endToEndLatencyMs)} · ${formatMj(e.energyPerInferenceMj)}`;
        status.tooltip = new vscode.MarkdownString(
          [
            `**${e.pipeline}** on **${e.target}** (estimate)`,
            '',
            `- End-to-end latency: ${formatMs(e.endToEndLatencyMs)}${e.budgetMs !== undefined ? ` (budget ${formatMs(e.budgetMs)})` : ''}`,
            `- Energy per inference: ${formatMj(e.energyPerInferenceMj)}`,
            ...(e.batteryLifeHours !== undefined && Number.isFinite(e.batteryLifeHours) ? [`- Battery life: ${e.batteryLifeHours.toFixed(1)} h`] : []),
            '',
            'Click to select the target device.',
          ].join('\n'),
        );
      }
      status.show();
    } catch (err) {
      output.appendLine(`[status] ${(err as Error).message}`);
      status.hide();
    }
  };
  context.subscriptions.push(
    vscode.window.onDidChangeActiveTextEditor(refreshStatus),
    vscode.window.tabGroups.onDidChangeTabs(refreshStatus),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document === activeSenseDocument()) refreshStatus();
    }),
  );
  refreshStatus();

  // ---------------------------------------------------------------- commands
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
    const doc = activeSenseDocument(uri instanceof vscode.Uri ? uri : undefined);
    if (!doc) throw new Error('Open a .sense file first.');
    return doc;
  };

  register('openGraph', async (uri) => {
    const target = uri instanceof vscode.Uri ? uri : activeSenseDocument()?.uri;
    if (!target) throw new Error('Open a .sense file first.');
    await vscode.commands.executeCommand('vscode.openWith', target, GRAPH_VIEW_TYPE, vscode.ViewColumn.Beside);
  });

  register('compressLayer', async (uri, layerIdArg, methodArg) => {
    const doc = needDocument(uri);
    const p = await analysePipeline(doc);
    if (!p.spec) throw new Error(p.estimateError ?? 'The pipeline cannot be lowered yet.');
    const spec = p.spec;
    const layers = spec.blocks.flatMap((b) => b.layers).filter((l) => l.kind === 'dense' || l.kind === 'conv1d' || l.kind === 'conv2d');
    let layerId = typeof layerIdArg === 'string' ? layerIdArg : undefined;
    const editor = vscode.window.activeTextEditor;
    if (!layerId && editor?.document === doc) {
      const at = layerAt(spec, { line: editor.selection.active.line, character: editor.selection.active.character });
      if (at && layers.some((l) => l.id === at)) layerId = at;
    }
    if (!layerId) {
      const pick = await vscode.window.showQuickPick(
        layers.map((l) => ({ label: l.id, description: `${l.kind} ${l.outputShape.join('x')}`, detail: `${l.params.toLocaleString('en-US')} parameters${l.compression ? ' · compressed' : ''}` })),
        { title: 'Compress which layer?' },
      );
      if (!pick) return;
      layerId = pick.label;
    }
    const layer = layers.find((l) => l.id === layerId);
    if (!layer) throw new Error(`${layerId} is not a dense or conv layer of ${spec.name}.`);
    let method = methodArg as CompressionSpec | undefined;
    if (!method) {
      let hint = '';
      let suggested: number | undefined;
      try {
        const s = layerSpectrum(weights, spec, doc.uri.fsPath, layer.id);
        suggested = s.suggestedRank;
        hint = `suggested rank ${s.suggestedRank ?? '?'} from the spectrum, break-even ${s.breakEvenRank}`;
      } catch (e) {
        hint = (e as Error).message;
      }
      const choice = await vscode.window.showQuickPick(
        [
          { label: 'SVD by rank', detail: hint, id: 'rank' },
          { label: 'SVD by retained energy', detail: 'Keep the smallest rank holding this share of the squared singular values.', id: 'energy' },
          { label: 'K-SVD sparse coding', detail: 'A dictionary of atoms and a few nonzeros per column.', id: 'sparse' },
          { label: 'int8', detail: 'Per-channel 8-bit weights in the exported model.', id: 'int8' },
          ...(layer.compression ? [{ label: 'Remove compression', detail: '', id: 'remove' }] : []),
        ],
        { title: `Compress ${layer.id}` },
      );
      if (!choice) return;
      if (choice.id === 'remove') method = undefined;
      else if (choice.id === 'int8') method = { kind: 'int8' };
      else if (choice.id === 'rank') {
        const text = await vscode.window.showInputBox({ title: `SVD rank for ${layer.id}`, value: String(suggested ?? 64), validateInput: (v) => (/^[1-9][0-9]*$/.test(v.trim()) ? undefined : 'A whole number from 1') });
        if (!text) return;
        method = { kind: 'svd', criterion: 'rank', rank: Number(text.trim()) };
      } else if (choice.id === 'energy') {
        const text = await vscode.window.showInputBox({ title: `Retained energy for ${layer.id} (%)`, value: '95', validateInput: (v) => (Number(v) > 0 && Number(v) <= 100 ? undefined : 'A percentage in (0, 100]') });
        if (!text) return;
        method = { kind: 'svd', criterion: 'energy', fraction: Number(text) / 100 };
      } else {
        const text = await vscode.window.showInputBox({ title: `K-SVD for ${layer.id}: atoms nonzeros`, value: '128 8', validateInput: (v) => (/^\s*[1-9][0-9]*\s+[1-9][0-9]*\s*$/.test(v) ? undefined : 'Two whole numbers: atoms and nonzeros') });
        if (!text) return;
        const [atoms, nonzeros] = text.trim().split(/\s+/).map(Number);
        method = { kind: 'sparse', atoms, nonzeros };
      }
    }
    const edits = compressionEdits(doc.getText(), p.outline, spec, layer.id, method);
    if (edits.length > 0 && !(await vscode.workspace.applyEdit(toWorkspaceEdit(doc.uri, edits)))) throw new Error('VS Code refused the edit.');
    output.appendLine(`[command] compressLayer ${layer.id}: ${method ? JSON.stringify(method) : 'removed'}`);
  });

  register('selectTarget', async (uri) => {
    const doc = needDocument(uri);
    const p = await analysePipeline(doc);
    const devices = await analyzer.deviceNames(doc.getText(), doc.uri.toString());
    const preferred = vscode.workspace.getConfiguration('senseStudio').get<string>('defaultTarget', '');
    const current = p.outline.target?.device;
    const items = devices.map((d) => ({
      label: d.name,
      description: [d.name === current ? 'current' : '', d.builtin ? 'built-in' : 'in this file', d.name === preferred ? 'default' : ''].filter(Boolean).join(' · '),
    }));
    items.sort((a, b) => Number(b.label === preferred) - Number(a.label === preferred));
    const pick = await vscode.window.showQuickPick(items, { title: `Target device of ${p.name}`, placeHolder: current ? `Now: ${current}` : 'No target yet' });
    if (!pick) return;
    const edits = targetEdits(doc.getText(), p.outline, pick.label);
    if (edits.length > 0 && !(await vscode.workspace.applyEdit(toWorkspaceEdit(doc.uri, edits)))) throw new Error('VS Code refused the edit.');
  });

  register('autoCompress', () => void notAvailable('autoCompress'));
  register('autoPartition', () => void notAvailable('autoPartition'));
  register('calibrateHost', () => {
    if (requireTrust('Calibrate Host')) notAvailable('calibrateHost');
  });
  register('runClip', async (uri) => {
    needDocument(uri);
    await runCommand('runClip');
  });
  register('evaluateFolder', async (uri) => {
    needDocument(uri);
    await runCommand('evaluateFolder');
  });
  register('exportBundle', async (uri) => {
    needDocument(uri);
    await runCommand('exportBundle');
  });
  register('showOutput', () => output.show(true));

  await vscode.commands.executeCommand('setContext', 'senseStudio.active', true);
  output.appendLine('Sense Studio is active.');
}

/** Stops the language server. */
export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}

function formatMj(mj: number): string {
  return `${mj >= 100 ? mj.toFixed(0) : mj >= 1 ? mj.toFixed(1) : mj.toPrecision(2)} mJ`;
}
