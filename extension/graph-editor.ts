/**
 * The graph editor: a CustomTextEditorProvider for `.sense` files (priority "option"),
 * after vscode-extension-samples' custom-editor-sample: the text document is the model.
 * The webview (dist/webview.js) shows the state the language server derives from the
 * text (senseStudio/viewState) and asks for changes; the host relays them to the server
 * (senseStudio/sourceEdit, layerSpectrum, compressionPreview), applies the edits it answers
 * as WorkspaceEdits (so undo, redo, dirty state and save are VS Code's own) and posts the
 * new state when the text changes. Nothing here analyses the text: the host thread only
 * relays, so a K-SVD preview or a slow lowering never holds it.
 *
 * Every incoming message is validated with the protocol's parseFromWebview; nothing the
 * webview sends is trusted. An edit the webview asks for names the document version its
 * graph was drawn from; one made against an older version is refused (nothing is
 * written) and the graph is redrawn from the current text.
 */
import * as vscode from 'vscode';
import { PROTOCOL_VERSION, type ComparisonView, type FromWebviewMessage, type ToWebviewBody, type ViewState } from '../webview/protocol';
import { comparisonView } from './comparison';
import { layerAt, revealRange, type TextEdit } from './graph-model';
import { protocolMismatch, showGraphWebview, WebviewChannel } from './graph-webview';
import { compareRequest, compressionPreviewRequest, layerSpectrumRequest, sourceEditRequest, viewStateRequest, type CompareParams, type SourceEditAction } from './lsp-ext';
import { isCancellation, StaleVersionError, type StudioClient } from './studio-client';

/** The webview's view type, as package.json's customEditors declares it. */
export const GRAPH_VIEW_TYPE = 'senseStudio.graph';

/** What the graph editor needs from the rest of the extension. */
export interface GraphEditorHost {
  studio: StudioClient;
  output: vscode.OutputChannel;
  /** Runs a command of the extension for a document (run, evaluate, export, auto-partition). */
  runCommand(command: 'runClip' | 'evaluateFolder' | 'exportBundle' | 'autoPartition', uri: vscode.Uri, arg?: unknown): Promise<ToWebviewBody | undefined>;
  /** Workspace clips and labelled folders, workspace-relative. */
  samples(uri: vscode.Uri): Promise<{ clips: string[]; folders: string[] }>;
}

/** Converts pure-model edits to a WorkspaceEdit on `uri`. */
export function toWorkspaceEdit(uri: vscode.Uri, edits: readonly TextEdit[]): vscode.WorkspaceEdit {
  const we = new vscode.WorkspaceEdit();
  for (const e of edits) {
    we.replace(uri, new vscode.Range(e.range.start.line, e.range.start.character, e.range.end.line, e.range.end.character), e.newText);
  }
  return we;
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

  /**
   * Compare with HEAD / with File: the language server's comparison of `document` with
   * `against`, shown on the document's open graphs (which keep it up to date as the text
   * changes, until the user clears it). Returns the overlay, which the command also returns.
   */
  async compare(document: vscode.TextDocument, against: CompareAgainst): Promise<ComparisonView> {
    const view = await comparisonOf(this.host.studio, document, against);
    for (const s of this.sessions) if (s.document.uri.toString() === document.uri.toString()) s.showComparison(against, view);
    return view;
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

/** What a comparison compares the document with. */
export type CompareAgainst = CompareParams['against'];

async function comparisonOf(studio: StudioClient, document: vscode.TextDocument, against: CompareAgainst, token?: vscode.CancellationToken): Promise<ComparisonView> {
  const r = await studio.request(compareRequest, document, { against }, token);
  return comparisonView(r.diff, r.against);
}

/** One open graph editor: its webview and the document it shows. */
class GraphSession {
  private lastPostedVersion = -1;
  private readonly channel: WebviewChannel;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The state last drawn from the server's answer (with the document version it was computed from). */
  private current: ViewState | undefined;
  private readonly collapsed = new Map<string, boolean>();
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private pendingSelect: string | null | undefined;
  /** The graph's long commands running now (at most one of each). */
  private readonly commandsRunning = new Set<string>();
  /** The request in flight of each kind; a newer one (typing, the rank slider, another layer) cancels it. */
  private readonly inFlight = new Map<'viewState' | 'spectrum' | 'preview' | 'compare', vscode.CancellationTokenSource>();
  /** The comparison shown (Compare with HEAD / with File) and what it compares with; recomputed with each new state until cleared. */
  private comparison: { against: CompareAgainst; view: ComparisonView } | undefined;

  constructor(
    context: vscode.ExtensionContext,
    private readonly host: GraphEditorHost,
    readonly document: vscode.TextDocument,
    readonly panel: vscode.WebviewPanel,
  ) {
    showGraphWebview(context, panel);
    this.channel = new WebviewChannel(panel, host.output, 'graph');

    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw: unknown) => void this.receive(raw)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.toString() === document.uri.toString() && e.contentChanges.length > 0) this.schedule();
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        if (e.textEditor.document.uri.toString() !== document.uri.toString()) return;
        if (!this.current || this.current.documentVersion !== document.version) return;
        const p = e.selections[0]?.active;
        if (p) this.post({ type: 'select', layerId: layerAt(this.current, { line: p.line, character: p.character }) });
      }),
    );
    panel.onDidDispose(() => {
      if (this.timer) clearTimeout(this.timer);
      for (const cts of this.inFlight.values()) cts.cancel();
      for (const d of this.disposables) d.dispose();
    });
  }

  /** Selects a layer now, or once the webview has said it is ready. */
  select(layerId: string | null): void {
    if (this.ready) this.post({ type: 'select', layerId });
    else this.pendingSelect = layerId;
  }

  /** Shows a comparison now, or once the webview has said it is ready. */
  showComparison(against: CompareAgainst, view: ComparisonView): void {
    this.comparison = { against, view };
    if (this.ready) this.post({ type: 'comparison', comparison: view });
  }

  /** Recomputes the comparison shown against the current text; a failure is shown in the graph's banner. */
  private async refreshComparison(): Promise<void> {
    const c = this.comparison;
    if (!c) return;
    try {
      const view = await comparisonOf(this.host.studio, this.document, c.against, this.token('compare'));
      // Cleared (or replaced) while the server was computing it.
      if (this.comparison !== c) return;
      this.comparison = { against: c.against, view };
      this.post({ type: 'comparison', comparison: view });
    } catch (e) {
      if (e instanceof StaleVersionError || isCancellation(e)) return;
      this.post({ type: 'error', message: `The comparison could not be updated: ${(e as Error).message}` });
    }
  }

  /** Forgets the version last shown and posts a fresh state. */
  refresh(): void {
    this.lastPostedVersion = -1;
    this.schedule();
  }

  private post(body: ToWebviewBody, inReplyTo?: number): void {
    this.channel.post(body, inReplyTo);
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    // Debounced: typing produces one request per pause, not one per keystroke.
    this.timer = setTimeout(() => void this.pushUpdate(), 120);
  }

  /** A fresh token for a request of `kind`, cancelling the one of that kind still in flight. */
  private token(kind: 'viewState' | 'spectrum' | 'preview' | 'compare'): vscode.CancellationToken {
    this.inFlight.get(kind)?.cancel();
    const cts = new vscode.CancellationTokenSource();
    this.inFlight.set(kind, cts);
    return cts.token;
  }

  /** The view state of the current text, from the language server, with the workspace's clips. */
  private async analyse(): Promise<{ state: ViewState | null; reason?: string }> {
    const r = await this.host.studio.request(viewStateRequest, this.document, {}, this.token('viewState'));
    if (!r.state) {
      this.current = undefined;
      return { state: null, reason: r.reason };
    }
    const state: ViewState = { ...r.state, samples: await this.host.samples(this.document.uri) };
    for (const b of state.blocks) if (this.collapsed.has(b.name)) b.collapsed = this.collapsed.get(b.name);
    this.current = state;
    return { state };
  }

  private async pushUpdate(): Promise<void> {
    this.timer = undefined;
    const version = this.document.version;
    // An echo of a version already shown (or a stale timer) is not posted again.
    if (version === this.lastPostedVersion) return;
    try {
      const { state, reason } = await this.analyse();
      // A state of a version the text has left is not shown; the change scheduled the next one.
      if (state ? state.documentVersion !== this.document.version : this.document.version !== version) return;
      if (state) {
        this.lastPostedVersion = state.documentVersion;
        this.post({ type: 'update', documentVersion: state.documentVersion, state });
        void this.refreshComparison();
      } else if (reason) {
        this.post({ type: 'error', message: reason });
      }
    } catch (e) {
      // The text moved on (typing): the change scheduled the next update already.
      if (e instanceof StaleVersionError || isCancellation(e)) return;
      this.host.output.appendLine(`[graph] update of ${this.document.uri.fsPath} failed: ${(e as Error).stack ?? String(e)}`);
      this.post({ type: 'error', message: `The graph could not be updated: ${(e as Error).message}` });
    }
  }

  private async receive(raw: unknown): Promise<void> {
    const message = this.channel.accept(raw);
    if (!message) return;
    try {
      await this.handle(message);
    } catch (e) {
      // A newer request of the same kind replaced this one; its answer is the one shown.
      if (isCancellation(e)) return;
      this.host.output.appendLine(`[graph] ${message.body.type} failed: ${(e as Error).stack ?? String(e)}`);
      this.post({ type: 'error', message: (e as Error).message }, message.messageId);
    }
  }

  /** The state drawn from the current text, asking the server when the one held is older. */
  private async currentState(): Promise<ViewState> {
    if (!this.current || this.current.documentVersion !== this.document.version) {
      const { reason } = await this.analyse();
      if (!this.current) throw new Error(reason ?? 'The pipeline has errors; fix them first (see the Problems panel).');
    }
    return this.current!;
  }

  /**
   * Writes one graph action made against document version `version`: the server computes
   * its edits against exactly that version, and they are applied only while the text is
   * still at it. When the text has moved on, nothing is written, the graph is redrawn
   * from the current text and the user is told to act again on what they now see.
   */
  private async edit(action: SourceEditAction, version: number, what: string): Promise<void> {
    const stale = async (): Promise<never> => {
      const now = this.document.version;
      this.host.output.appendLine(`[graph] refused to ${what}: the graph showed version ${version} of ${this.document.uri.fsPath}, the text is at ${now}`);
      if (this.timer) clearTimeout(this.timer);
      this.lastPostedVersion = -1;
      await this.pushUpdate();
      throw new Error(`The graph was drawn from an older version of the text (${version}; it is now at ${now}), so nothing was written. The graph shows the current text now; try again.`);
    };
    if (version !== this.document.version) return stale();
    let edits: TextEdit[];
    try {
      edits = (await this.host.studio.requestAt(sourceEditRequest, { ...this.host.studio.versioned(this.document), version }, { edit: action })).edits;
    } catch (e) {
      if (e instanceof StaleVersionError) return stale();
      throw e;
    }
    if (this.document.version !== version) return stale();
    await this.applyEdits(edits, what);
  }

  private async applyEdits(edits: readonly TextEdit[], what: string): Promise<void> {
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
        const mismatch = protocolMismatch(body.protocolVersion);
        if (mismatch) {
          this.post({ type: 'init', protocolVersion: PROTOCOL_VERSION, state: null, reason: mismatch }, message.messageId);
          return;
        }
        let init: { state: ViewState | null; reason?: string };
        try {
          init = await this.analyse();
        } catch (e) {
          // The webview waits for its init; an update follows when the text settles.
          if (!(e instanceof StaleVersionError) && !isCancellation(e)) throw e;
          init = { state: null, reason: 'The text is changing; the graph follows when it settles.' };
          this.schedule();
        }
        const { state, reason } = init;
        if (state) this.lastPostedVersion = state.documentVersion;
        this.post({ type: 'init', protocolVersion: PROTOCOL_VERSION, state, ...(reason ? { reason } : {}) }, message.messageId);
        this.ready = true;
        if (this.pendingSelect !== undefined) {
          this.post({ type: 'select', layerId: this.pendingSelect });
          this.pendingSelect = undefined;
        }
        if (this.comparison) this.post({ type: 'comparison', comparison: this.comparison.view });
        return;
      }
      case 'reveal': {
        const state = await this.currentState();
        const r = revealRange(state, body.layerId);
        if (!r) throw new Error(`${body.layerId} is not in pipeline ${state.pipeline}.`);
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
        const { version: _version, ...s } = await this.host.studio.request(layerSpectrumRequest, this.document, { layerId: body.layerId }, this.token('spectrum'));
        this.post({ type: 'spectrum', ...s }, message.messageId);
        return;
      }
      case 'previewCompression': {
        // The rank slider sends one preview per step: the SVD or K-SVD of the one before is cancelled in the server's worker.
        const { version: _version, ...p } = await this.host.studio.request(compressionPreviewRequest, this.document, { layerId: body.layerId, method: body.method }, this.token('preview'));
        this.post({ type: 'compressionPreview', ...p }, message.messageId);
        return;
      }
      case 'applyCompression':
        await this.edit({ kind: 'compress', layerId: body.layerId, method: body.method }, body.documentVersion, `compressed ${body.layerId}`);
        return;
      case 'removeCompression':
        await this.edit({ kind: 'removeCompression', layerId: body.layerId }, body.documentVersion, `removed the compression of ${body.layerId}`);
        return;
      case 'place':
        await this.edit({ kind: 'place', targets: body.targets, processor: body.processor }, body.documentVersion, `placed ${body.targets.join(', ')} on ${body.processor}`);
        return;
      case 'writeExpect':
        await this.edit({ kind: 'expect', head: body.head, label: body.label, fraction: body.fraction }, body.documentVersion, `wrote the observed rate of ${body.head} ${body.label}`);
        return;
      case 'autoPartition':
      case 'runClip':
      case 'evaluateFolder':
      case 'exportBundle': {
        // The graph shows each of these as busy until it ends, so a second one while it runs is not the UI's.
        if (this.commandsRunning.has(body.type)) throw new Error(`${body.type} is already running for this graph; wait for it to finish or cancel it.`);
        this.commandsRunning.add(body.type);
        this.post({ type: 'busy', task: body.type, active: true });
        try {
          const arg = body.type === 'autoPartition' ? { alpha: body.alpha, beta: body.beta } : 'path' in body ? body.path : undefined;
          const reply = await this.host.runCommand(body.type, this.document.uri, arg);
          if (reply) this.post(reply, message.messageId);
        } finally {
          this.commandsRunning.delete(body.type);
          this.post({ type: 'busy', task: body.type, active: false });
        }
        return;
      }
      case 'chooseTarget':
        // Only the read-only ONNX preview offers a target picker; a pipeline's target is its `target` line.
        throw new Error(`The graph of ${this.document.uri.fsPath} has no target picker; change the pipeline's 'target' line or run "Sense: Select Target Device".`);
      case 'clearComparison':
        this.inFlight.get('compare')?.cancel();
        this.comparison = undefined;
        return;
      case 'toggleCollapse':
        // Kept for the blocks the graph shows, so a flood of made-up names cannot grow the map.
        if (this.current?.blocks.some((b) => b.name === body.block)) this.collapsed.set(body.block, body.collapsed);
        return;
    }
  }
}
