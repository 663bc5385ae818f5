/**
 * The graph editor: a CustomTextEditorProvider for `.sense` files (priority "option"),
 * after vscode-extension-samples' custom-editor-sample: the text document is the model.
 * The webview (dist/webview.js) shows the state this host derives from the text, and
 * asks for changes; the host turns them into minimal WorkspaceEdits (so undo, redo,
 * dirty state and save are VS Code's own) and posts the new state when the text changes.
 *
 * Every incoming message is validated with the protocol's parseFromWebview; nothing the
 * webview sends is trusted.
 */
import * as vscode from 'vscode';
import { PROTOCOL_VERSION, parseFromWebview, type FromWebviewMessage, type ToWebviewBody, type ViewState } from '../webview/protocol';
import { buildViewState, compressionEdits, layerAt, placementEdits, revealRange, type TextEdit } from './graph-model';
import { layerSpectrum, previewCompression, type WeightsCache } from './compression-preview';
import type { AnalysedPipeline, Analysis, SenseAnalyzer } from './sense-analysis';
import type { DocumentFiles } from './workspace-files';

/** The webview's view type, as package.json's customEditors declares it. */
export const GRAPH_VIEW_TYPE = 'senseStudio.graph';

/** What the graph editor needs from the rest of the extension. */
export interface GraphEditorHost {
  analyzer: SenseAnalyzer;
  weights: WeightsCache;
  output: vscode.OutputChannel;
  /** Runs a command of the extension for a document (run, evaluate, export, auto-partition). */
  runCommand(command: 'runClip' | 'evaluateFolder' | 'exportBundle' | 'autoPartition', uri: vscode.Uri, arg?: unknown): Promise<ToWebviewBody | undefined>;
  /** Workspace clips and labelled folders, workspace-relative. */
  samples(uri: vscode.Uri): Promise<{ clips: string[]; folders: string[] }>;
  /** The `.sense` file of `doc` on disk and the folders the files it names must lie in. */
  files(doc: vscode.TextDocument): DocumentFiles;
}

/** Converts pure-model edits to a WorkspaceEdit on `uri`. */
export function toWorkspaceEdit(uri: vscode.Uri, edits: readonly TextEdit[]): vscode.WorkspaceEdit {
  const we = new vscode.WorkspaceEdit();
  for (const e of edits) {
    we.replace(uri, new vscode.Range(e.range.start.line, e.range.start.character, e.range.end.line, e.range.end.character), e.newText);
  }
  return we;
}

function nonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < 32; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}

/** The first pipeline that lowered to a spec (the graph shows one pipeline). */
export function mainPipeline(analysis: Analysis): AnalysedPipeline | undefined {
  return analysis.pipelines.find((p) => p.spec) ?? analysis.pipelines[0];
}

/** Provides the graph editor for `.sense` files. */
export class GraphEditorProvider implements vscode.CustomTextEditorProvider {
  private readonly sessions = new Set<GraphSession>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly host: GraphEditorHost,
  ) {}

  /** Registers the provider; the webview is kept while hidden so the view survives tab switches. */
  static register(context: vscode.ExtensionContext, host: GraphEditorHost): { provider: GraphEditorProvider; disposable: vscode.Disposable } {
    const provider = new GraphEditorProvider(context, host);
    const disposable = vscode.window.registerCustomEditorProvider(GRAPH_VIEW_TYPE, provider, {
      webviewOptions: { retainContextWhenHidden: true },
      supportsMultipleEditorsPerDocument: true,
    });
    return { provider, disposable };
  }

  /** The document of the graph editor that has focus, if any. */
  activeDocument(): vscode.TextDocument | undefined {
    for (const s of this.sessions) if (s.panel.active) return s.document;
    return undefined;
  }

  /**
   * Selects a layer in the graph editors of `uri` (the `select` message). A graph that is
   * still loading selects it once its webview is ready.
   */
  select(uri: vscode.Uri, layerId: string | null): boolean {
    let found = false;
    for (const s of this.sessions) {
      if (s.document.uri.toString() !== uri.toString()) continue;
      s.select(layerId);
      found = true;
    }
    return found;
  }

  /** Recomputes and posts every open graph (after a change outside the text, such as a device profile). */
  refreshAll(): void {
    for (const s of this.sessions) s.refresh();
  }

  resolveCustomTextEditor(document: vscode.TextDocument, panel: vscode.WebviewPanel): void {
    const session = new GraphSession(this.context, this.host, document, panel);
    this.sessions.add(session);
    panel.onDidDispose(() => this.sessions.delete(session));
  }
}

/** One open graph editor: its webview and the document it shows. */
class GraphSession {
  private lastPostedVersion = -1;
  private nextMessageId = 1;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private current: { analysis: Analysis; pipeline: AnalysedPipeline | undefined; version: number } | undefined;
  private readonly collapsed = new Map<string, boolean>();
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private pendingSelect: string | null | undefined;

  constructor(
    context: vscode.ExtensionContext,
    private readonly host: GraphEditorHost,
    readonly document: vscode.TextDocument,
    readonly panel: vscode.WebviewPanel,
  ) {
    const dist = vscode.Uri.joinPath(context.extensionUri, 'dist');
    panel.webview.options = { enableScripts: true, localResourceRoots: [dist, vscode.Uri.joinPath(context.extensionUri, 'media')] };
    panel.webview.html = this.html(panel.webview, dist);
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'graph.svg');

    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw: unknown) => void this.receive(raw)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.toString() === document.uri.toString() && e.contentChanges.length > 0) this.schedule();
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        if (e.textEditor.document.uri.toString() !== document.uri.toString()) return;
        const spec = this.current?.pipeline?.spec;
        if (!spec || this.current?.version !== document.version) return;
        const p = e.selections[0]?.active;
        if (p) this.post({ type: 'select', layerId: layerAt(spec, { line: p.line, character: p.character }) });
      }),
    );
    panel.onDidDispose(() => {
      if (this.timer) clearTimeout(this.timer);
      for (const d of this.disposables) d.dispose();
    });
  }

  private html(webview: vscode.Webview, dist: vscode.Uri): string {
    const n = nonce();
    const script = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css'));
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `font-src ${webview.cspSource}`,
      `img-src ${webview.cspSource} data:`,
      `script-src 'nonce-${n}'`,
      'worker-src blob:',
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>Sense graph</title>
</head>
<body>
<div id="root"></div>
<script nonce="${n}" src="${script.toString()}"></script>
</body>
</html>`;
  }

  /** Selects a layer now, or once the webview has said it is ready. */
  select(layerId: string | null): void {
    if (this.ready) this.post({ type: 'select', layerId });
    else this.pendingSelect = layerId;
  }

  /** Forgets the version last shown and posts a fresh state. */
  refresh(): void {
    this.lastPostedVersion = -1;
    this.schedule();
  }

  private post(body: ToWebviewBody, inReplyTo?: number): void {
    void this.panel.webview.postMessage({ messageId: this.nextMessageId++, ...(inReplyTo === undefined ? {} : { inReplyTo }), body });
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    // Debounced: typing produces one analysis per pause, not one per keystroke.
    this.timer = setTimeout(() => void this.pushUpdate(), 120);
  }

  private async analyse(): Promise<{ state: ViewState | null; reason?: string }> {
    const version = this.document.version;
    const analysis = await this.host.analyzer.analyse(this.document.getText(), this.document.uri.toString());
    const pipeline = mainPipeline(analysis);
    this.current = { analysis, pipeline, version };
    if (!pipeline) return { state: null, reason: 'This file declares no pipeline; write `pipeline Name { ... }` to see its graph.' };
    if (!pipeline.spec) return { state: null, reason: pipeline.estimateError ?? `Pipeline ${pipeline.name} cannot be shown yet.` };
    if (!pipeline.estimate) {
      return { state: null, reason: pipeline.estimateError ?? `Pipeline ${pipeline.name} cannot be estimated yet.` };
    }
    const state = buildViewState({
      spec: pipeline.spec,
      estimate: pipeline.estimate,
      documentVersion: version,
      diagnostics: analysis.diagnostics,
      samples: await this.host.samples(this.document.uri),
    });
    for (const b of state.blocks) if (this.collapsed.has(b.name)) b.collapsed = this.collapsed.get(b.name);
    return { state };
  }

  private async pushUpdate(): Promise<void> {
    this.timer = undefined;
    const version = this.document.version;
    // An echo of a version already shown (or a stale timer) is not posted again.
    if (version === this.lastPostedVersion) return;
    try {
      const { state, reason } = await this.analyse();
      if (this.document.version !== version) return;
      if (state) {
        this.lastPostedVersion = version;
        this.post({ type: 'update', documentVersion: version, state });
      } else if (reason) {
        this.post({ type: 'error', message: reason });
      }
    } catch (e) {
      this.host.output.appendLine(`[graph] update of ${this.document.uri.fsPath} failed: ${(e as Error).stack ?? String(e)}`);
      this.post({ type: 'error', message: `The graph could not be updated: ${(e as Error).message}` });
    }
  }

  private async receive(raw: unknown): Promise<void> {
    const parsed = parseFromWebview(raw);
    if (!parsed.ok) {
      this.host.output.appendLine(`[graph] refused a message from the webview: ${parsed.error}`);
      this.post({ type: 'error', message: `The host refused a message: ${parsed.error}` });
      return;
    }
    try {
      await this.handle(parsed.message);
    } catch (e) {
      this.host.output.appendLine(`[graph] ${parsed.message.body.type} failed: ${(e as Error).stack ?? String(e)}`);
      this.post({ type: 'error', message: (e as Error).message }, parsed.message.messageId);
    }
  }

  private async spec(): Promise<NonNullable<AnalysedPipeline['spec']>> {
    if (!this.current || this.current.version !== this.document.version) await this.analyse();
    const spec = this.current?.pipeline?.spec;
    if (!spec) throw new Error(this.current?.pipeline?.estimateError ?? 'The pipeline has errors; fix them first (see the Problems panel).');
    return spec;
  }

  private async applyEdits(edits: TextEdit[], what: string): Promise<void> {
    if (edits.length === 0) return;
    const ok = await vscode.workspace.applyEdit(toWorkspaceEdit(this.document.uri, edits));
    if (!ok) throw new Error(`VS Code refused the edit that ${what}; is the file read-only?`);
    this.host.output.appendLine(`[graph] ${what} (${this.document.uri.fsPath})`);
    // The user is waiting on this change in the graph: post it now rather than after
    // the typing debounce that the document-change event scheduled.
    if (this.timer) clearTimeout(this.timer);
    await this.pushUpdate();
  }

  private async handle(message: FromWebviewMessage): Promise<void> {
    const body = message.body;
    switch (body.type) {
      case 'ready': {
        if (body.protocolVersion !== PROTOCOL_VERSION) {
          this.post({ type: 'init', protocolVersion: PROTOCOL_VERSION, state: null, reason: `The webview speaks protocol ${body.protocolVersion} but the extension speaks ${PROTOCOL_VERSION}; rebuild the extension (npm run build).` }, message.messageId);
          return;
        }
        const { state, reason } = await this.analyse();
        if (state) this.lastPostedVersion = state.documentVersion;
        this.post({ type: 'init', protocolVersion: PROTOCOL_VERSION, state, ...(reason ? { reason } : {}) }, message.messageId);
        this.ready = true;
        if (this.pendingSelect !== undefined) {
          this.post({ type: 'select', layerId: this.pendingSelect });
          this.pendingSelect = undefined;
        }
        return;
      }
      case 'reveal': {
        const spec = await this.spec();
        const r = revealRange(spec, body.layerId);
        if (!r) throw new Error(`${body.layerId} is not in pipeline ${spec.name}.`);
        const range = new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
        const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === this.document.uri.toString());
        if (editor) {
          editor.selection = new vscode.Selection(range.start, range.end);
          editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
        } else {
          await vscode.window.showTextDocument(this.document, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true, selection: range });
        }
        return;
      }
      case 'requestSpectrum': {
        const spec = await this.spec();
        const s = await layerSpectrum(this.host.weights, spec, this.host.files(this.document), body.layerId);
        this.post({ type: 'spectrum', ...s }, message.messageId);
        return;
      }
      case 'previewCompression': {
        const spec = await this.spec();
        const p = await previewCompression(this.host.weights, spec, this.host.files(this.document), body.layerId, body.method);
        this.post({ type: 'compressionPreview', ...p }, message.messageId);
        return;
      }
      case 'applyCompression':
      case 'removeCompression': {
        const spec = await this.spec();
        const method = body.type === 'applyCompression' ? body.method : undefined;
        const edits = compressionEdits(this.document.getText(), this.current!.pipeline!.outline, spec, body.layerId, method);
        await this.applyEdits(edits, method ? `compressed ${body.layerId}` : `removed the compression of ${body.layerId}`);
        return;
      }
      case 'place': {
        const spec = await this.spec();
        const edits = placementEdits(this.document.getText(), this.current!.pipeline!.outline, spec, body.targets, body.processor);
        await this.applyEdits(edits, `placed ${body.targets.join(', ')} on ${body.processor}`);
        return;
      }
      case 'autoPartition':
      case 'runClip':
      case 'evaluateFolder':
      case 'exportBundle': {
        this.post({ type: 'busy', task: body.type, active: true });
        try {
          const arg = body.type === 'autoPartition' ? { alpha: body.alpha, beta: body.beta } : 'path' in body ? body.path : undefined;
          const reply = await this.host.runCommand(body.type, this.document.uri, arg);
          if (reply) this.post(reply, message.messageId);
        } finally {
          this.post({ type: 'busy', task: body.type, active: false });
        }
        return;
      }
      case 'toggleCollapse':
        this.collapsed.set(body.block, body.collapsed);
        return;
    }
  }
}
