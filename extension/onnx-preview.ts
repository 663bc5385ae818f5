/**
 * The ONNX preview: a CustomReadonlyEditorProvider that opens `.onnx` files in the graph
 * webview, read-only, with the per-layer and per-processor estimates of the pipeline
 * `sense import` would write, on a device the user picks (what Netron shows, plus costs).
 * It is the default editor of `*.onnx` (package.json): VS Code has nothing to show for the
 * binary otherwise, and someone who opens a model file expects to see the model; "Open
 * With..." still offers the hex or text editor.
 *
 * Everything is asked of the language server (senseStudio/onnxViewState, onnxImport), which
 * decodes and recognises the model in its own process: a big model never holds the
 * extension host thread. Reading a model only decodes it, so the preview works in Restricted
 * Mode; "Sense: Import as Pipeline" writes files beside the model, so it needs trust, and
 * asks before it replaces an existing `.sense` or weights file.
 */
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { PROTOCOL_VERSION, type FromWebviewMessage, type ToWebviewBody, type ViewState } from '../webview/protocol';
import { GRAPH_VIEW_TYPE } from './graph-editor';
import { protocolMismatch, showGraphWebview, WebviewChannel } from './graph-webview';
import { onnxImportRequest, onnxViewStateRequest, type OnnxImportResult } from './lsp-ext';
import { isCancellation, type StudioClient } from './studio-client';

/** The preview's view type, as package.json's customEditors declares it. */
export const ONNX_VIEW_TYPE = 'senseStudio.onnxPreview';

/** What the preview needs from the rest of the extension. */
export interface OnnxPreviewHost {
  studio: StudioClient;
  output: vscode.OutputChannel;
  /** True when the workspace is trusted; otherwise tells the user why `what` needs trust. */
  requireTrust(what: string): boolean;
}

/** Registers the preview and "Sense: Import as Pipeline" (senseStudio.importOnnx, which returns the written `.sense` path). */
export function registerOnnxPreview(context: vscode.ExtensionContext, host: OnnxPreviewHost): void {
  const provider = new OnnxPreviewProvider(context, host);
  context.subscriptions.push(
    vscode.window.registerCustomEditorProvider(ONNX_VIEW_TYPE, provider, { webviewOptions: { retainContextWhenHidden: true }, supportsMultipleEditorsPerDocument: true }),
    vscode.commands.registerCommand('senseStudio.importOnnx', async (uri?: unknown) => {
      try {
        return await importAsPipeline(host, uri instanceof vscode.Uri ? uri : provider.activeModel());
      } catch (e) {
        host.output.appendLine(`[import] ${(e as Error).stack ?? String(e)}`);
        void vscode.window.showErrorMessage(`Sense Studio: ${(e as Error).message}`);
        return undefined;
      }
    }),
  );
}

/**
 * Writes the `.sense` file and weights beside the model, as `sense import MODEL.onnx` does,
 * and opens the pipeline with its graph. Asks (modal) before replacing existing files.
 */
async function importAsPipeline(host: OnnxPreviewHost, model: vscode.Uri | undefined): Promise<string | undefined> {
  const uri = model ?? (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'ONNX models': ['onnx'] }, title: 'Import which ONNX model as a pipeline?' }))?.[0];
  if (!uri) return undefined;
  if (uri.scheme !== 'file') throw new Error(`${uri.toString()} is not a file on disk; Import as Pipeline writes the pipeline beside the model.`);
  if (!host.requireTrust('Import as Pipeline')) return undefined;
  const send = (overwrite: boolean): Thenable<OnnxImportResult> =>
    vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Importing ${basename(uri.fsPath)}…` }, () => host.studio.send(onnxImportRequest, { uri: uri.toString(), overwrite }));
  let r = await send(false);
  if (!r.written) {
    const names = r.existing.map((p) => basename(p));
    const replace = 'Replace';
    const pick = await vscode.window.showWarningMessage(`${names.join(' and ')} already ${names.length === 1 ? 'exists' : 'exist'} beside ${basename(uri.fsPath)}. Replace ${names.length === 1 ? 'it' : 'them'} with the import?`, { modal: true }, replace);
    if (pick !== replace) return undefined;
    r = await send(true);
    if (!r.written) throw new Error(`${names.join(' and ')} could not be replaced.`);
  }
  host.output.appendLine(`[import] ${uri.fsPath} -> ${r.sensePath}, ${r.weightsPath}`);
  for (const n of r.notes) host.output.appendLine(`[import] note: ${n}`);
  for (const w of r.warnings) host.output.appendLine(`[import] ${basename(r.sensePath)} ${w}`);
  const sense = vscode.Uri.file(r.sensePath);
  await vscode.window.showTextDocument(sense, { preview: false });
  await vscode.commands.executeCommand('vscode.openWith', sense, GRAPH_VIEW_TYPE, vscode.ViewColumn.Beside);
  const said = r.warnings.length > 0 ? `; it has ${r.warnings.length} error${r.warnings.length === 1 ? '' : 's'} against its target (see the Problems panel)` : r.notes.length > 0 ? `; ${r.notes[0]}` : '';
  void vscode.window.showInformationMessage(`Imported ${basename(uri.fsPath)} as ${basename(r.sensePath)} and ${basename(r.weightsPath)}${said}.`);
  return r.sensePath;
}

/** Provides the read-only graph of `.onnx` files. */
class OnnxPreviewProvider implements vscode.CustomReadonlyEditorProvider {
  private readonly sessions = new Set<OnnxSession>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly host: OnnxPreviewHost,
  ) {}

  /** The model of the preview that has focus, if any. */
  activeModel(): vscode.Uri | undefined {
    for (const s of this.sessions) if (s.panel.active) return s.uri;
    return undefined;
  }

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): void {
    const session = new OnnxSession(this.context, this.host, document.uri, panel);
    this.sessions.add(session);
    panel.onDidDispose(() => this.sessions.delete(session));
  }
}

/** One open preview: its webview, the model and the device it is estimated on. */
class OnnxSession {
  /** The version posted to the webview: one more per state, so the webview keeps the newest. */
  private version = 0;
  /** The device picked in the preview; undefined: the import's own target. */
  private device: string | undefined;
  private readonly channel: WebviewChannel;
  private inFlight: vscode.CancellationTokenSource | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    context: vscode.ExtensionContext,
    private readonly host: OnnxPreviewHost,
    readonly uri: vscode.Uri,
    readonly panel: vscode.WebviewPanel,
  ) {
    showGraphWebview(context, panel);
    this.channel = new WebviewChannel(panel, host.output, 'onnx');
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.joinPath(uri, '..'), basename(uri.path)));
    // A model exported again shows its new graph.
    const refresh = (): void => void this.post(undefined, 'init');
    this.disposables.push(watcher, watcher.onDidChange(refresh), watcher.onDidCreate(refresh), panel.webview.onDidReceiveMessage((raw: unknown) => void this.receive(raw)));
    panel.onDidDispose(() => {
      this.inFlight?.cancel();
      for (const d of this.disposables) d.dispose();
    });
  }

  private send(body: ToWebviewBody, inReplyTo?: number): void {
    this.channel.post(body, inReplyTo);
  }

  /** Asks the server for the model's graph on the current device and posts it as `kind`. */
  private async post(inReplyTo: number | undefined, kind: 'init' | 'update'): Promise<void> {
    this.inFlight?.cancel();
    const cts = (this.inFlight = new vscode.CancellationTokenSource());
    try {
      const r = await this.host.studio.send(onnxViewStateRequest, { uri: this.uri.toString(), ...(this.device ? { device: this.device } : {}) }, cts.token);
      if (!r.state) {
        this.send({ type: 'init', protocolVersion: PROTOCOL_VERSION, state: null, reason: r.reason, ...(r.refusals.length > 0 ? { refusals: r.refusals } : {}) }, inReplyTo);
        return;
      }
      const state: ViewState = { ...r.state, documentVersion: ++this.version, readOnly: { source: basename(this.uri.fsPath), devices: r.devices } };
      if (kind === 'init') this.send({ type: 'init', protocolVersion: PROTOCOL_VERSION, state }, inReplyTo);
      else this.send({ type: 'update', documentVersion: state.documentVersion, state }, inReplyTo);
    } catch (e) {
      if (isCancellation(e)) return;
      this.host.output.appendLine(`[onnx] ${this.uri.fsPath}: ${(e as Error).stack ?? String(e)}`);
      if (kind === 'init') this.send({ type: 'init', protocolVersion: PROTOCOL_VERSION, state: null, reason: (e as Error).message }, inReplyTo);
      else this.send({ type: 'error', message: (e as Error).message }, inReplyTo);
    }
  }

  private async receive(raw: unknown): Promise<void> {
    const message = this.channel.accept(raw);
    if (message) await this.handle(message);
  }

  private async handle(message: FromWebviewMessage): Promise<void> {
    const body = message.body;
    switch (body.type) {
      case 'ready':
        const mismatch = protocolMismatch(body.protocolVersion);
        if (mismatch) {
          this.send({ type: 'init', protocolVersion: PROTOCOL_VERSION, state: null, reason: mismatch }, message.messageId);
          return;
        }
        return this.post(message.messageId, 'init');
      case 'chooseTarget':
        this.device = body.device;
        return this.post(message.messageId, 'update');
      // A model has no text to reveal, and collapsing is the webview's own.
      case 'reveal':
      case 'toggleCollapse':
        return;
      default:
        this.send({ type: 'error', message: `${basename(this.uri.fsPath)} is shown read-only; run "Sense: Import as Pipeline" to compress, place, run or export it.` }, message.messageId);
    }
  }
}
