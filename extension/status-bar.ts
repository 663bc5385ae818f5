/**
 * The status bar item: the estimate of the active `.sense` document's pipeline (target,
 * end-to-end latency, energy per inference; budget, measured profiles and battery life in
 * the tooltip), as the language server computes it (senseStudio/estimate). A click selects
 * the target device.
 */
import * as vscode from 'vscode';
import { formatHours, formatMj, formatMs } from '../language/figures';
import { estimateRequest } from './lsp-ext';
import { StaleVersionError, type StudioClient } from './studio-client';

/** What the status bar needs from the rest of the extension. */
export interface StatusBarHost {
  studio: StudioClient;
  output: vscode.OutputChannel;
  /** The .sense document of the active text editor or the focused graph editor. */
  activeDocument(): vscode.TextDocument | undefined;
}

/** Creates the status bar item and keeps it current; returns the function that refreshes it (debounced). */
export function registerStatusBar(context: vscode.ExtensionContext, host: StatusBarHost): () => void {
  const status = vscode.window.createStatusBarItem('senseStudio.estimate', vscode.StatusBarAlignment.Right, 100);
  status.name = 'Sense Studio estimate';
  status.command = 'senseStudio.selectTarget';
  context.subscriptions.push(status);
  let statusTimer: ReturnType<typeof setTimeout> | undefined;
  const refresh = (): void => {
    if (statusTimer) clearTimeout(statusTimer);
    statusTimer = setTimeout(() => void updateStatus(), 150);
  };
  const updateStatus = async (): Promise<void> => {
    const doc = host.activeDocument();
    if (!doc) {
      status.hide();
      return;
    }
    try {
      const { pipelines } = await host.studio.request(estimateRequest, doc, {});
      // The pipeline the graph shows: the first that lowered, else the first.
      const p = pipelines.find((x) => x.target !== undefined) ?? pipelines[0];
      if (!p) throw new Error(`${vscode.workspace.asRelativePath(doc.uri)} declares no pipeline.`);
      const e = p.totals;
      if (!e || p.target === undefined) {
        status.text = `$(circuit-board) ${p.target ?? 'no target'} $(warning)`;
        status.tooltip = p.estimateError ?? 'No estimate.';
      } else {
        status.text = `$(circuit-board) ${p.target}${p.profiles ? ' (measured)' : ''} · ${formatMs(e.endToEndLatencyMs)} · ${formatMj(e.energyPerInferenceMj)}`;
        status.tooltip = new vscode.MarkdownString(
          [
            `**${p.name}** on **${p.target}** (estimate)`,
            '',
            `- End-to-end latency: ${formatMs(e.endToEndLatencyMs)}${e.budgetMs !== undefined ? ` (budget ${formatMs(e.budgetMs)})` : ''}`,
            `- Energy per inference: ${formatMj(e.energyPerInferenceMj)}`,
            ...(p.profiles ? [`- Measured device profile${p.profiles.length === 1 ? '' : 's'}: ${p.profiles.join(', ')}`] : []),
            ...(e.batteryLifeHours !== undefined && Number.isFinite(e.batteryLifeHours) ? [`- Battery life: ${formatHours(e.batteryLifeHours)}`] : []),
            '',
            'Click to select the target device.',
          ].join('\n'),
        );
      }
      status.show();
    } catch (err) {
      // The text moved on while the server estimated it; that change refreshes the status again.
      if (err instanceof StaleVersionError) return;
      host.output.appendLine(`[status] ${(err as Error).message}`);
      status.hide();
    }
  };
  context.subscriptions.push(
    vscode.window.onDidChangeActiveTextEditor(refresh),
    vscode.window.tabGroups.onDidChangeTabs(refresh),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document === host.activeDocument()) refresh();
    }),
  );
  refresh();
  return refresh;
}
