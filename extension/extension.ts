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
import { formatPercent } from '../language/figures';
import { isCompressible } from '../language/layer-shapes';
import type { CompressionSpec, PipelineSpec } from '../language/pipeline-model';
import type { RunView, ToWebviewBody } from '../webview/protocol';
import { BUILTIN_DEVICES_SOURCE, BUILTIN_DEVICES_URI } from '../language/builtin-devices';
import { GRAPH_VIEW_TYPE, GraphEditorProvider, toWorkspaceEdit } from './graph-editor';
import { layerAt, revealRange } from './graph-model';
import { deviceNamesRequest, layerSpectrumRequest, pipelineSpecRequest, sourceEditRequest, type SourceEditAction } from './lsp-ext';
import { registerStatusBar } from './status-bar';
import { StudioClient } from './studio-client';
import { createPlanCommands } from './plan-commands';
import { registerProfiles } from './profiles';
import { abortSignalOf, CancelledError, exportBundleInWorker, extensionPipelineJobs, runPipelineViews, usePipelineJobs } from './run-pipeline';
import { documentFiles, resolveInRoots, type DocumentFiles } from './workspace-files';
import { serveBundleFolder, type DemoServer } from './demo-server';
import { statUserPath } from '../io/user-files';

let client: LanguageClient | undefined;

function isSense(doc: vscode.TextDocument | undefined): doc is vscode.TextDocument {
  return doc !== undefined && (doc.languageId === 'sense' || doc.uri.path.endsWith('.sense'));
}

/** Activates the extension: language client, graph editor, commands, status bar. */
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Sense Studio', { log: true });
  context.subscriptions.push(output);
  output.appendLine(`Sense Studio ${String(context.extension.packageJSON.version)} activating (VS Code ${vscode.version}, Node ${process.version}, trusted workspace: ${vscode.workspace.isTrusted}).`);

  // Every figure is the language server's (lsp-ext.ts): the host holds no analysis of its own.
  const studio = new StudioClient(() => client);

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

  /** The document on disk and the folders the files it names (weights) and messages name (clips) must lie in. */
  const documentFilesOf = (doc: vscode.TextDocument): DocumentFiles =>
    documentFiles(
      doc.uri.fsPath,
      (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath),
    );

  /** The checked spec of the document's pipeline from the language server; `what` names the command in its refusal. */
  const pipelineSpec = async (doc: vscode.TextDocument, what: string, options: { allowErrors?: boolean; retargetToHost?: boolean } = {}): Promise<PipelineSpec> => {
    try {
      return (await studio.request(pipelineSpecRequest, doc, options)).spec;
    } catch (e) {
      throw new Error(`${what}: ${(e as Error).message}`);
    }
  };

  /** Applies a graph action's edits, asked of the server against the document's current text. */
  const writeAction = async (doc: vscode.TextDocument, edit: SourceEditAction): Promise<void> => {
    const r = await studio.request(sourceEditRequest, doc, { edit });
    if (r.version !== doc.version) throw new Error('The document changed while the edit was computed; run the command again.');
    if (r.edits.length > 0 && !(await vscode.workspace.applyEdit(toWorkspaceEdit(doc.uri, r.edits)))) throw new Error('VS Code refused the edit.');
  };

  // The workspace's clips, listed once per folder and kept until a clip is added or
  // removed: the graph asks on every update, and a workspace search on each would sit
  // on the path from a click on Apply to the new estimate.
  const sampleCache = new Map<string, Promise<{ clips: string[]; folders: string[] }>>();
  const clipWatcher = vscode.workspace.createFileSystemWatcher('**/*.{wav,csv}', false, true, false);
  clipWatcher.onDidCreate(() => sampleCache.clear());
  clipWatcher.onDidDelete(() => sampleCache.clear());
  context.subscriptions.push(clipWatcher);
  const samples = (uri: vscode.Uri): Promise<{ clips: string[]; folders: string[] }> => {
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    if (!folder) return Promise.resolve({ clips: [], folders: [] });
    const key = folder.uri.toString();
    let listed = sampleCache.get(key);
    if (!listed) {
      listed = (async () => {
        const found = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, '**/*.{wav,csv}'), '**/node_modules/**', 2000);
        const clips = found.map((u) => vscode.workspace.asRelativePath(u, false)).sort();
        // Labelled folders are laid out DIR/HEAD/LABEL/clip, as `sense eval` reads them.
        const folders = [...new Set(clips.map((c) => path.posix.dirname(path.posix.dirname(path.posix.dirname(c)))).filter((d) => d !== '.'))].sort();
        return { clips, folders };
      })();
      listed.catch(() => sampleCache.delete(key));
      sampleCache.set(key, listed);
    }
    return listed;
  };

  // ---------------------------------------------------------------- run and export
  // Run, evaluate, export and calibrate run in one worker thread (extension/jobs/), never on
  // this thread, which every other extension shares.
  const jobs = extensionPipelineJobs(context.extensionPath);
  usePipelineJobs(jobs);
  context.subscriptions.push({ dispose: () => void jobs.dispose() });

  /** The checked pipeline of a document on disk, ready to run: refuses errors, virtual files and Restricted Mode. */
  const runnablePipeline = async (doc: vscode.TextDocument, what: string): Promise<{ name: string; spec: PipelineSpec }> => {
    if (doc.uri.scheme !== 'file') throw new Error(`${what} needs the .sense file and its weights on disk; this is a virtual file (${doc.uri.scheme}:).`);
    const spec = await pipelineSpec(doc, what);
    return { name: spec.name, spec };
  };

  /** A folder the user typed for an export: absolute, or relative to the document's workspace folder. */
  const resolveInWorkspace = (doc: vscode.TextDocument, rel: string): string => {
    if (path.isAbsolute(rel)) return rel;
    const folder = vscode.workspace.getWorkspaceFolder(doc.uri);
    return folder ? path.join(folder.uri.fsPath, rel) : path.resolve(path.dirname(doc.uri.fsPath), rel);
  };

  const pickInput = async (doc: vscode.TextDocument, kind: 'clip' | 'folder'): Promise<{ path: string; confined: boolean } | undefined> => {
    const s = await samples(doc.uri);
    const items = (kind === 'clip' ? s.clips : s.folders).map((label) => ({ label }));
    const browse = { label: kind === 'clip' ? '$(folder-opened) Choose a file…' : '$(folder-opened) Choose a folder…' };
    const pick = await vscode.window.showQuickPick([...items, browse], { title: kind === 'clip' ? 'Run on which clip?' : 'Evaluate which labelled folder (HEAD/LABEL/*.wav)?', matchOnDescription: true });
    if (!pick) return undefined;
    if (pick !== browse) return { path: pick.label, confined: true };
    const chosen = await vscode.window.showOpenDialog(kind === 'clip' ? { canSelectMany: false, filters: { Clips: ['wav', 'csv'] } } : { canSelectFiles: false, canSelectFolders: true, canSelectMany: false });
    // What the user picked in a dialog is theirs to read, wherever it is.
    return chosen?.[0] ? { path: chosen[0].fsPath, confined: false } : undefined;
  };

  const describeRun = (view: RunView): string =>
    view.heads
      .map((h) => {
        if (h.probabilities) {
          const best = h.probabilities.indexOf(Math.max(...h.probabilities));
          return `${h.head}: ${h.labels[best]} ${(h.probabilities[best] * 100).toFixed(0)}%`;
        }
        return h.accuracy !== undefined ? `${h.head}: ${formatPercent(h.accuracy)} accurate` : `${h.head}: silent`;
      })
      .join(' · ');

  const runOrEvaluate = async (uri: vscode.Uri, kind: 'clip' | 'folder', given?: string): Promise<ToWebviewBody | undefined> => {
    const doc = await vscode.workspace.openTextDocument(uri);
    const what = kind === 'clip' ? 'Run on Clip' : 'Evaluate Folder';
    if (!requireTrust(what)) return { type: 'error', message: 'Restricted Mode: trust the workspace to run the pipeline.' };
    const p = await runnablePipeline(doc, what);
    // A path a webview message or a command argument names stays inside the workspace.
    const input = given !== undefined ? { path: given, confined: true } : await pickInput(doc, kind);
    if (!input) return undefined;
    const files = documentFilesOf(doc);
    const roots = input.confined ? files.roots : undefined;
    const target = roots ? resolveInRoots(input.path, roots, 'clip') : input.path;
    const provider = vscode.workspace.getConfiguration('senseStudio').get<'web' | 'node'>('runtime.provider', 'web');
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Sense: ${kind === 'clip' ? 'running' : 'evaluating'} ${p.name} on ${path.basename(target)}`, cancellable: true },
      (progress, token) => {
        let donePercent = 0;
        return runPipelineViews(
          jobs,
          { kind, spec: p.spec, files, target, ...(roots ? { roots } : {}), ort: { provider, searchFrom: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath) } },
          {
            signal: abortSignalOf(token),
            onLog: (line) => output.appendLine(`[run] ${line}`),
            onProgress: (message, fraction) => {
              if (fraction === undefined) return progress.report({ message });
              progress.report({ message, increment: 100 * fraction - donePercent });
              donePercent = 100 * fraction;
            },
          },
        );
      },
    );
    const relPath = vscode.workspace.asRelativePath(target, false);
    output.appendLine(`[run] ${p.name} on ${relPath}: ${result.after.measuredLatencyMs.toFixed(2)} ms per window; ${describeRun(result.after)}${result.before ? ` (uncompressed: ${describeRun(result.before)})` : ''}`);
    void vscode.window.showInformationMessage(`Sense: ${path.basename(target)} — ${describeRun(result.after)} (${result.after.measuredLatencyMs.toFixed(1)} ms per window)`);
    return { type: 'runResult', input: { kind, path: relPath.slice(0, 4096) }, after: result.after, ...(result.before ? { before: result.before } : {}) };
  };

  const exportBundle = async (uri: vscode.Uri, outDir?: string): Promise<ToWebviewBody | undefined> => {
    const doc = await vscode.workspace.openTextDocument(uri);
    if (!requireTrust('Export Bundle')) return { type: 'error', message: 'Restricted Mode: trust the workspace to export.' };
    const p = await runnablePipeline(doc, 'Export Bundle');
    const suggested = path.join(path.dirname(doc.uri.fsPath), `${p.name.toLowerCase()}-bundle`);
    const dir =
      outDir ??
      (await vscode.window.showInputBox({
        title: `Export ${p.name} as a bundle into`,
        value: suggested,
        prompt: 'A new or empty folder, or an earlier bundle (replaced atomically).',
        validateInput: (v) => (v.trim() ? undefined : 'A folder path'),
      }));
    if (!dir) return undefined;
    const target = resolveInWorkspace(doc, dir.trim());
    const manifest = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Sense: exporting ${p.name}`, cancellable: true }, (progress, token) => {
      progress.report({ message: 'writing the ONNX partitions…' });
      return exportBundleInWorker(jobs, p.spec, documentFilesOf(doc), target, context.extensionPath, {
        signal: abortSignalOf(token),
        onFile: (name) => progress.report({ message: name }),
        onLog: (line) => output.appendLine(`[export] ${line}`),
      });
    });
    output.appendLine(`[export] ${p.name} -> ${target}: ${manifest.partitions.map((x) => `${x.model} on ${x.processor}`).join(', ')}`);
    const choice = await vscode.window.showInformationMessage(
      `Sense: exported ${p.name} to ${vscode.workspace.asRelativePath(target, false)} (${manifest.partitions.length} partition${manifest.partitions.length === 1 ? '' : 's'}).`,
      'Open Manifest',
      'Open Demo Page',
      'Reveal in Explorer',
    );
    if (choice === 'Open Manifest') await vscode.window.showTextDocument(vscode.Uri.file(path.join(target, 'manifest.json')));
    else if (choice === 'Open Demo Page') await openDemoPage(target);
    else if (choice === 'Reveal in Explorer') await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(target));
    return undefined;
  };

  // One demo server per bundle folder, for the session: the page loads its modules, wasm and
  // models over HTTP (browsers block ES modules and fetch on file:// pages).
  const demoServers = new Map<string, Promise<DemoServer>>();
  context.subscriptions.push({ dispose: () => demoServers.forEach((server) => void server.then((x) => x.stop()).catch(() => undefined)) });
  const openDemoPage = async (folder: string): Promise<void> => {
    if (!statUserPath(path.join(folder, 'index.html'))?.isFile()) throw new Error(`${folder} has no demo page (index.html); export the bundle again.`);
    let server = demoServers.get(folder);
    if (!server) {
      server = serveBundleFolder(folder);
      demoServers.set(folder, server);
      server.catch(() => demoServers.delete(folder));
    }
    const demo = await server;
    // Through a remote (code-server, SSH) the address is forwarded to the user's browser, and
    // the forwarder passes requests on under its own Host, which the server must accept.
    const external = await vscode.env.asExternalUri(vscode.Uri.parse(demo.url));
    demo.allowHost(external.authority);
    output.appendLine(`[demo] serving ${folder} at ${demo.url}${external.toString() === demo.url ? '' : ` (opened as ${external.toString()})`}`);
    await vscode.env.openExternal(external);
  };

  const runCommand = async (command: 'runClip' | 'evaluateFolder' | 'exportBundle' | 'autoPartition', uri: vscode.Uri, arg?: unknown): Promise<ToWebviewBody | undefined> => {
    try {
      if (command === 'autoPartition') {
        const w = arg as { alpha?: unknown; beta?: unknown } | undefined;
        await plans.autoPartition(uri, w && typeof w.alpha === 'number' && typeof w.beta === 'number' ? { alpha: w.alpha, beta: w.beta } : undefined);
        return undefined;
      }
      if (command === 'exportBundle') return await exportBundle(uri);
      return await runOrEvaluate(uri, command === 'runClip' ? 'clip' : 'folder', typeof arg === 'string' ? arg : undefined);
    } catch (e) {
      if (e instanceof CancelledError) return { type: 'error', message: 'Cancelled.' };
      output.appendLine(`[${command}] ${(e as Error).stack ?? String(e)}`);
      void vscode.window.showErrorMessage(`Sense Studio: ${(e as Error).message}`);
      return { type: 'error', message: (e as Error).message.slice(0, 4000) };
    }
  };

  const graph = GraphEditorProvider.register(context, { studio, output, samples, runCommand });
  context.subscriptions.push(graph.disposable);

  // The catalog of built-in devices, where go to definition on `target snapdragon800` lands.
  const builtinScheme = vscode.Uri.parse(BUILTIN_DEVICES_URI).scheme;
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(builtinScheme, {
      provideTextDocumentContent: (uri) => (uri.toString() === vscode.Uri.parse(BUILTIN_DEVICES_URI).toString() ? BUILTIN_DEVICES_SOURCE : `// ${uri.toString()} is not a Sense Studio built-in; the built-in devices are in ${BUILTIN_DEVICES_URI}.\n`),
    }),
  );

  const plans = createPlanCommands({
    studio,
    output,
    pipelineSpec: (doc, what, options) => pipelineSpec(doc, what, options),
    requireTrust,
    files: documentFilesOf,
    profilesChanged: () => {
      profileFiles.sync();
      graph.provider.refreshAll();
      refreshStatus();
    },
  });

  // ---------------------------------------------------------------- status bar
  const refreshStatus = registerStatusBar(context, { studio, output, activeDocument: () => activeSenseDocument() });

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
    const asked = doc.version;
    const spec = await pipelineSpec(doc, 'Compress Layer', { allowErrors: true });
    const layers = spec.blocks.flatMap((b) => b.layers).filter(isCompressible);
    let layerId = typeof layerIdArg === 'string' ? layerIdArg : undefined;
    const editor = vscode.window.activeTextEditor;
    if (!layerId && editor?.document === doc && doc.version === asked) {
      const at = layerAt({ layers }, { line: editor.selection.active.line, character: editor.selection.active.character });
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
        const s = await studio.request(layerSpectrumRequest, doc, { layerId: layer.id });
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
    await writeAction(doc, method ? { kind: 'compress', layerId: layer.id, method } : { kind: 'removeCompression', layerId: layer.id });
    output.appendLine(`[command] compressLayer ${layer.id}: ${method ? JSON.stringify(method) : 'removed'}`);
  });

  register('selectTarget', async (uri) => {
    const doc = needDocument(uri);
    const { devices, pipeline, currentTarget: current } = await studio.request(deviceNamesRequest, doc, {});
    if (!pipeline) throw new Error(`${vscode.workspace.asRelativePath(doc.uri)} declares no pipeline.`);
    const preferred = vscode.workspace.getConfiguration('senseStudio').get<string>('defaultTarget', '');
    const items = devices.map((d) => ({
      label: d.name,
      description: [d.name === current ? 'current' : '', d.builtin ? 'built-in' : 'in this file', d.name === preferred ? 'default' : ''].filter(Boolean).join(' · '),
    }));
    items.sort((a, b) => Number(b.label === preferred) - Number(a.label === preferred));
    const pick = await vscode.window.showQuickPick(items, { title: `Target device of ${pipeline}`, placeHolder: current ? `Now: ${current}` : 'No target yet' });
    if (!pick) return;
    await writeAction(doc, { kind: 'target', device: pick.label });
  });

  register('autoCompress', (uri) => plans.autoCompress(needDocument(uri).uri));
  register('autoPartition', (uri) => plans.autoPartition(needDocument(uri).uri));
  register('calibrateHost', (uri) => plans.calibrateHost(needDocument(uri).uri));
  register('importDeviceProfile', (uri) => plans.importDeviceProfile(uri instanceof vscode.Uri ? uri : undefined));

  // CodeLens (language/sense-codelens.ts) passes [uri string, pipeline or head name].
  register('showInGraph', async (uriArg, nameArg) => {
    const uri = typeof uriArg === 'string' ? vscode.Uri.parse(uriArg) : uriArg instanceof vscode.Uri ? uriArg : activeSenseDocument()?.uri;
    if (!uri) throw new Error('Open a .sense file first.');
    const doc = await vscode.workspace.openTextDocument(uri);
    const spec = await pipelineSpec(doc, 'Show in Graph', { allowErrors: true }).catch(() => undefined);
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
    if (!graph.provider.select(uri, layerId)) {
      await vscode.commands.executeCommand('vscode.openWith', uri, GRAPH_VIEW_TYPE, vscode.ViewColumn.Beside);
      graph.provider.select(uri, layerId);
    } else {
      await vscode.commands.executeCommand('vscode.openWith', uri, GRAPH_VIEW_TYPE, vscode.ViewColumn.Beside);
    }
  });

  const profileFiles = registerProfiles(context, { client: () => client, output, reload: () => plans.reloadProfiles(), profiles: () => plans.profiles() });
  // In Restricted Mode reloadProfiles reads nothing; granting trust reads them.
  void plans.reloadProfiles();
  // They return the protocol's runResult, so tests and other extensions can read it.
  register('runClip', (uri, clip) => runCommand('runClip', needDocument(uri).uri, clip));
  register('evaluateFolder', (uri, folder) => runCommand('evaluateFolder', needDocument(uri).uri, folder));
  register('exportBundle', async (uri, dir) => {
    const doc = needDocument(uri);
    if (typeof dir === 'string') await exportBundle(doc.uri, dir);
    else await runCommand('exportBundle', doc.uri);
  });
  register('showOutput', () => output.show(true));
  register('openDemoPage', async (uri) => {
    const folder =
      uri instanceof vscode.Uri ? uri : (await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, title: 'Open the demo page of which exported bundle folder?' }))?.[0];
    if (folder) await openDemoPage(folder.fsPath);
  });

  await vscode.commands.executeCommand('setContext', 'senseStudio.active', true);
  output.appendLine('Sense Studio is active.');
}

/** Stops the language server. */
export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}

