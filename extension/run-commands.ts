/**
 * Run on Clip, Evaluate Folder and Export Bundle as the commands and the graph's buttons
 * start them, and the demo page of an exported bundle. The work itself runs in the pipeline
 * worker (run-pipeline.ts, extension/jobs/), never on the extension host's thread, which
 * every other extension shares; this module picks the inputs, shows cancellable progress
 * and reports the result.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatPercent } from '../language/figures';
import type { PipelineSpec } from '../language/pipeline-model';
import { gateRateOffers, type GateRateOffer, type RunView, type ToWebviewBody } from '../webview/protocol';
import { statUserPath } from '../io/user-files';
import { serveBundleFolder, type DemoServer } from './demo-server';
import { abortSignalOf, CancelledError, exportBundleInWorker, runPipelineViews } from './run-pipeline';
import type { StudioContext } from './studio-context';
import { resolveInRoots } from './workspace-files';

/** The commands the graph's buttons send (webview/protocol.ts). */
export type GraphCommand = 'runClip' | 'evaluateFolder' | 'exportBundle' | 'autoPartition';

/** What the run commands offer the graph editor and the command palette. */
export interface RunCommands {
  /** Runs a graph button's command; errors and cancellation become the protocol's error reply. */
  runCommand(command: GraphCommand, uri: vscode.Uri, arg?: unknown): Promise<ToWebviewBody | undefined>;
  /** Exports the document's pipeline into `outDir`, or a folder the user names. */
  exportBundle(uri: vscode.Uri, outDir?: string): Promise<ToWebviewBody | undefined>;
  /** Serves an exported bundle's folder and opens its demo page in the browser. */
  openDemoPage(folder: string): Promise<void>;
}

/** The action that writes a run's observed gate rates as `expect` lines. */
const WRITE_OBSERVED_RATE = 'Write observed rate';

/** One line per head: its best label and probability, its accuracy on a folder, or silence. */
function describeRun(view: RunView): string {
  return view.heads
    .map((h) => {
      if (h.probabilities) {
        const best = h.probabilities.indexOf(Math.max(...h.probabilities));
        return `${h.head}: ${h.labels[best]} ${(h.probabilities[best] * 100).toFixed(0)}%`;
      }
      return h.accuracy !== undefined ? `${h.head}: ${formatPercent(h.accuracy)} accurate` : `${h.head}: silent`;
    })
    .join(' · ');
}

/** A folder the user typed for an export: absolute, or relative to the document's workspace folder. */
function resolveInWorkspace(doc: vscode.TextDocument, rel: string): string {
  if (path.isAbsolute(rel)) return rel;
  const folder = vscode.workspace.getWorkspaceFolder(doc.uri);
  return folder ? path.join(folder.uri.fsPath, rel) : path.resolve(path.dirname(doc.uri.fsPath), rel);
}

/** Creates the run commands; `autoPartition` is the plan command the graph's Auto-Partition button runs. */
export function createRunCommands(ctx: StudioContext, autoPartition: (uri: vscode.Uri, weights?: { alpha: number; beta: number }) => Promise<void>): RunCommands {
  const { context, output, jobs } = ctx;

  /** The checked pipeline of a document on disk, ready to run: refuses errors, virtual files and Restricted Mode. */
  const runnablePipeline = async (doc: vscode.TextDocument, what: string): Promise<{ name: string; spec: PipelineSpec }> => {
    if (doc.uri.scheme !== 'file') throw new Error(`${what} needs the .sense file and its weights on disk; this is a virtual file (${doc.uri.scheme}:).`);
    const spec = await ctx.pipelineSpec(doc, what);
    return { name: spec.name, spec };
  };

  const pickInput = async (doc: vscode.TextDocument, kind: 'clip' | 'folder'): Promise<{ path: string; confined: boolean } | undefined> => {
    const s = await ctx.samples(doc.uri);
    const items = (kind === 'clip' ? s.clips : s.folders).map((label) => ({ label }));
    const browse = { label: kind === 'clip' ? '$(folder-opened) Choose a file…' : '$(folder-opened) Choose a folder…' };
    const pick = await vscode.window.showQuickPick([...items, browse], { title: kind === 'clip' ? 'Run on which clip?' : 'Evaluate which labelled folder (HEAD/LABEL/*.wav)?', matchOnDescription: true });
    if (!pick) return undefined;
    if (pick !== browse) return { path: pick.label, confined: true };
    const chosen = await vscode.window.showOpenDialog(kind === 'clip' ? { canSelectMany: false, filters: { Clips: ['wav', 'csv'] } } : { canSelectFiles: false, canSelectFolders: true, canSelectMany: false });
    // What the user picked in a dialog is theirs to read, wherever it is.
    return chosen?.[0] ? { path: chosen[0].fsPath, confined: false } : undefined;
  };

  const runOrEvaluate = async (uri: vscode.Uri, kind: 'clip' | 'folder', given?: string): Promise<ToWebviewBody | undefined> => {
    const doc = await vscode.workspace.openTextDocument(uri);
    const what = kind === 'clip' ? 'Run on Clip' : 'Evaluate Folder';
    if (!ctx.requireTrust(what)) return { type: 'error', message: 'Restricted Mode: trust the workspace to run the pipeline.' };
    const p = await runnablePipeline(doc, what);
    // A path a webview message or a command argument names stays inside the workspace.
    const input = given !== undefined ? { path: given, confined: true } : await pickInput(doc, kind);
    if (!input) return undefined;
    const files = ctx.documentFiles(doc);
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
    for (const g of result.after.gates ?? []) output.appendLine(`[run] gate ${g.head} (when ${g.gateHead} is ${g.label}): opened on ${g.opened} of ${g.windows} windows; ${g.expected !== undefined ? `expected ${formatPercent(g.expected)}` : 'no expect line'}`);
    void offerObservedRates(doc, p.name, `Sense: ${path.basename(target)} — ${describeRun(result.after)} (${result.after.measuredLatencyMs.toFixed(1)} ms per window)`, gateRateOffers(result.after));
    return { type: 'runResult', input: { kind, path: relPath.slice(0, 4096) }, after: result.after, ...(result.before ? { before: result.before } : {}) };
  };

  /**
   * Shows a run's summary; when a gate's observed rate differs from its `expect` line (or it has
   * none), offers "Write observed rate", which writes the lines through the language server
   * against the current text (asked again once when it moves on, as every command's edit).
   */
  const offerObservedRates = async (doc: vscode.TextDocument, pipeline: string, summary: string, offers: readonly GateRateOffer[]): Promise<void> => {
    if (offers.length === 0) {
      await vscode.window.showInformationMessage(summary);
      return;
    }
    const rates = offers.map((o) => `${o.head} ${o.label} ${formatPercent(o.fraction)} (${o.opened} of ${o.windows} windows; ${o.expected !== undefined ? `expect line ${formatPercent(o.expected)}` : 'no expect line'})`);
    const choice = await vscode.window.showInformationMessage(`${summary}. Observed gate rate${offers.length === 1 ? '' : 's'}: ${rates.join(', ')}.`, WRITE_OBSERVED_RATE);
    if (choice !== WRITE_OBSERVED_RATE) return;
    try {
      for (const o of offers) await ctx.writeAction(doc, { kind: 'expect', head: o.head, label: o.label, fraction: o.fraction });
      output.appendLine(`[run] wrote the observed gate rates into ${pipeline}: ${rates.join(', ')}`);
    } catch (e) {
      void vscode.window.showErrorMessage(`Sense Studio: the observed rate was not written: ${(e as Error).message}`);
    }
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

  const exportBundle = async (uri: vscode.Uri, outDir?: string): Promise<ToWebviewBody | undefined> => {
    const doc = await vscode.workspace.openTextDocument(uri);
    if (!ctx.requireTrust('Export Bundle')) return { type: 'error', message: 'Restricted Mode: trust the workspace to export.' };
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
      return exportBundleInWorker(jobs, p.spec, ctx.documentFiles(doc), target, context.extensionPath, {
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

  const runCommand = async (command: GraphCommand, uri: vscode.Uri, arg?: unknown): Promise<ToWebviewBody | undefined> => {
    try {
      if (command === 'autoPartition') {
        const w = arg as { alpha?: unknown; beta?: unknown } | undefined;
        await autoPartition(uri, w && typeof w.alpha === 'number' && typeof w.beta === 'number' ? { alpha: w.alpha, beta: w.beta } : undefined);
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

  return { runCommand, exportBundle, openDemoPage };
}
