/**
 * The optimizing commands of the studio: Auto-Partition (palette and the graph's button),
 * Auto-Compress, Calibrate Host and Import Device Profile. Each plan is asked of the
 * language server (senseStudio/partitionPlan, compressionPlan), which plans in a worker
 * thread, so the extension host's event loop, which every extension shares, never waits on
 * a search; the plan comes with its edits against the version it was made from, written
 * as ONE WorkspaceEdit, so one Undo takes it back. Both show a cancellable notification
 * whose Cancel cancels the request (and stops the worker). A pipeline whose optimum is hard
 * to prove stops at the partitioner's time limit (AUTO_PARTITION_TIME_LIMIT_MS, 2 s), and
 * the message says the plan written is the best found, not proven optimal.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CompressTarget } from '../engine/auto-compress';
import { formatDeviceProfile, parseDeviceProfile } from '../runtime/device-profile';
import { formatInUnit, formatMj, formatMs } from '../language/figures';
import { readUserText, writeUserFileAtomic } from '../io/user-files';
import type { LoadedProfile } from '../engine/calibrate/profile';
import type { PipelineSpec } from '../language/pipeline-model';
import { targetText } from './auto-plans';
import { calibrationTable, loadProfiles } from './calibration-report';
import { abortSignalOf, calibrateHostIn, pipelineJobs } from './run-pipeline';
import { toWorkspaceEdit } from './graph-editor';
import { compressionPlanRequest, estimateRequest, partitionPlanRequest } from './lsp-ext';
import { isCancellation, type StudioClient } from './studio-client';
import type { DocumentFiles } from './workspace-files';

/** What the plan commands need from the rest of the extension. */
export interface PlanCommandsHost {
  studio: StudioClient;
  output: vscode.OutputChannel;
  /** The checked spec of the document's pipeline (the server refuses one with errors, naming `what`), or its copy retargeted to `host`. */
  pipelineSpec(doc: vscode.TextDocument, what: string, options?: { retargetToHost?: boolean }): Promise<PipelineSpec>;
  requireTrust(what: string): boolean;
  /** The `.sense` file of `doc` on disk and the folders the files it names must lie in. */
  files(doc: vscode.TextDocument): DocumentFiles;
  /** Called after the device profiles changed, so the status bar and graphs re-estimate. */
  profilesChanged(): void;
}

/** The setting that lists the measured device profiles to apply. */
export const DEVICE_PROFILES_SETTING = 'deviceProfiles';

/** Creates the plan commands; `register` is the extension's command registration (errors become messages). */
export function createPlanCommands(host: PlanCommandsHost) {
  const { output } = host;

  const applyOne = async (doc: vscode.TextDocument, version: number, edits: Parameters<typeof toWorkspaceEdit>[1], what: string): Promise<void> => {
    if (doc.version !== version) throw new Error(`${what}: the document changed while planning; run it again.`);
    if (edits.length > 0 && !(await vscode.workspace.applyEdit(toWorkspaceEdit(doc.uri, edits)))) throw new Error(`VS Code refused the edit of ${what}; is the file read-only?`);
  };

  /**
   * Asks the server for the plan of command `what` for `doc` under a cancellable
   * notification; Cancel cancels the request. A plan made for a version the text has left
   * is computed again for the current text (once; a text still changing is refused when
   * the edits are applied). Returns undefined when the user cancelled; a refusal becomes an
   * error naming the command.
   */
  const askPlan = async <R extends { version: number }>(what: 'Auto-Partition' | 'Auto-Compress', title: string, doc: vscode.TextDocument, ask: (token: vscode.CancellationToken) => Promise<R>): Promise<R | undefined> => {
    const plan = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (_progress, token) => {
      try {
        // A plan of a version the text left while it was computed is asked again, once, of the current text.
        const first = await ask(token);
        return first.version === doc.version ? first : await ask(token);
      } catch (e) {
        if (token.isCancellationRequested && isCancellation(e)) return undefined;
        throw new Error(`${what}: ${(e as Error).message}`);
      }
    });
    if (plan === undefined) output.appendLine(`[${what}] cancelled.`);
    return plan;
  };

  /** Auto-Partition: α/β from the graph's sliders, else the pipeline's `optimize` line, else the settings. */
  const autoPartition = async (uri: vscode.Uri, weights?: { alpha: number; beta: number }): Promise<void> => {
    const doc = await vscode.workspace.openTextDocument(uri);
    const cfg = vscode.workspace.getConfiguration('senseStudio');
    const optimize = weights ? { optimize: { energyWeight: weights.alpha, latencyWeight: weights.beta } } : { defaultOptimize: { energyWeight: cfg.get<number>('objective.energyWeight', 0.5), latencyWeight: cfg.get<number>('objective.latencyWeight', 0.5) } };
    const plan = await askPlan('Auto-Partition', `Sense: searching for the best placement of ${vscode.workspace.asRelativePath(doc.uri, false)}`, doc, (token) => host.studio.request(partitionPlanRequest, doc, optimize, token));
    if (!plan) return;
    const r = plan.result;
    const o = r.optimize;
    const note = plan.optimalityNote;
    output.appendLine(`[autoPartition] ${plan.pipeline} on ${plan.target}: α ${o.energyWeight} β ${o.latencyWeight}${o.budgetMs !== undefined ? ` within ${o.budgetMs} ms` : ''}; planned in ${plan.tookMs.toFixed(1)} ms (${r.nodes} nodes, ${r.exact ? 'exact' : note})`);
    for (const st of plan.statements) output.appendLine(`[autoPartition]   ${st}`);
    for (const m of r.messages) output.appendLine(`[autoPartition] infeasible: ${m}`);
    await applyOne(doc, plan.version, plan.edits, 'Auto-Partition');
    const b = plan.before;
    const a = plan.after;
    const figures = `objective ${b.objective.toFixed(4)} → ${a.objective.toFixed(4)} (α ${o.energyWeight}, β ${o.latencyWeight}; latency ${formatMs(b.endToEndLatencyMs)} → ${formatMs(a.endToEndLatencyMs)}, energy ${formatMj(b.energyPerInferenceMj)} → ${formatMj(a.energyPerInferenceMj)})`;
    const lines = `${plan.statements.length} place line${plan.statements.length === 1 ? '' : 's'}`;
    if (!r.feasible) {
      const found = r.exact ? 'no placement meets every constraint, wrote the best one' : `${note}; found no placement that meets every constraint, wrote the best one`;
      void vscode.window.showWarningMessage(`Sense Auto-Partition: ${figures}; ${found} (${lines}). ${r.messages.join(' ')}`);
    } else if (!r.exact) {
      // Not proven: a warning, so the user knows a better placement may exist.
      void vscode.window.showWarningMessage(`Sense Auto-Partition: ${figures}; ${note}. ${plan.edits.length === 0 ? 'No better placement than the file’s was found, nothing to change.' : `Wrote ${lines}.`}`);
    } else if (plan.edits.length === 0) {
      void vscode.window.showInformationMessage(`Sense Auto-Partition: ${figures}; the file's placement is already optimal, nothing to change.`);
    } else {
      void vscode.window.showInformationMessage(`Sense Auto-Partition: ${figures}; wrote ${lines}.`);
    }
  };

  const autoCompress = async (uri?: vscode.Uri): Promise<void> => {
    if (!uri) throw new Error('Open a .sense file first.');
    const doc = await vscode.workspace.openTextDocument(uri);
    const { pipelines } = await host.studio.request(estimateRequest, doc, {});
    // The pipeline the graph shows: the first that lowered, else the first.
    const p = pipelines.find((x) => x.target !== undefined) ?? pipelines[0];
    if (!p) throw new Error(`Auto-Compress: ${vscode.workspace.asRelativePath(doc.uri)} declares no pipeline.`);
    const e = p.totals;
    if (!e) throw new Error(`Auto-Compress: ${p.estimateError ?? `pipeline ${p.name} has errors; fix them first (see the Problems panel).`}`);
    const kind = await vscode.window.showQuickPick(
      [
        { label: 'Fit a processor', detail: "Every layer placed on the processor fits its memory (weights and activations).", id: 'fit' as const },
        { label: 'Within N ms', detail: e ? `End-to-end latency within a limit; now ${formatMs(e.endToEndLatencyMs)}.` : 'End-to-end latency within a limit.', id: 'within' as const },
        { label: 'Energy N mJ', detail: e ? `Energy per inference within a limit; now ${formatMj(e.energyPerInferenceMj)}.` : 'Energy per inference within a limit.', id: 'energy' as const },
      ],
      { title: `Auto-Compress ${p.name}: meet which target with the least error?` },
    );
    if (!kind) return;
    let target: CompressTarget;
    if (kind.id === 'fit') {
      const pick = await vscode.window.showQuickPick(
        (p.processors ?? []).map((x) => ({ label: x.name, description: x.memoryLimitBytes !== undefined ? `${formatInUnit(x.memoryBytes, 'bytes')} of ${formatInUnit(x.memoryLimitBytes, 'bytes')}` : '' })),
        { title: 'Fit which processor’s memory?' },
      );
      if (!pick) return;
      target = { kind: 'fit', processor: pick.label };
    } else {
      const now = kind.id === 'within' ? e?.endToEndLatencyMs : e?.energyPerInferenceMj;
      const unit = kind.id === 'within' ? 'ms' : 'mJ';
      const text = await vscode.window.showInputBox({
        title: kind.id === 'within' ? 'End-to-end latency limit (ms)' : 'Energy per inference limit (mJ)',
        value: now !== undefined ? String(Number((now * 0.8).toPrecision(3))) : '',
        prompt: now !== undefined ? `Now ${kind.id === 'within' ? formatMs(now) : formatMj(now)}.` : undefined,
        validateInput: (v) => (Number(v.replace(unit, '').trim()) > 0 ? undefined : `A positive number of ${unit}`),
      });
      if (!text) return;
      const value = Number(text.replace(unit, '').trim());
      target = kind.id === 'within' ? { kind: 'within', latencyMs: value } : { kind: 'energy', energyMj: value };
    }
    const plan = await askPlan('Auto-Compress', `Sense: Auto-Compress ${p.name} to ${targetText(target)}`, doc, (token) => host.studio.request(compressionPlanRequest, doc, { pipeline: p.name, target }, token));
    if (!plan) return;
    const fromWeights = plan.fromWeights;
    const r = plan.result;
    const source = fromWeights ? 'from the weights’ singular values' : 'data-free (no weights file; real weights are usually more compressible)';
    output.appendLine(`[autoCompress] ${p.name}: ${targetText(target)}; ${r.feasible ? 'feasible' : 'infeasible'}; error ${(100 * r.estimatedError).toFixed(2)} % ${source}`);
    for (const l of r.layers) output.appendLine(`[autoCompress]   ${l.ref.padEnd(14)} ${l.rows}x${l.cols} ${l.rank !== undefined ? `rank ${l.rank}` : 'uncompressed'} params ${l.paramsBefore} -> ${l.paramsAfter}${l.changed ? ' (changed)' : ''}`);
    const metric = `${formatInUnit(r.before.metric, r.unit)} → ${formatInUnit(r.after.metric, r.unit)} (limit ${formatInUnit(r.limit, r.unit)})`;
    if (!r.feasible) {
      output.appendLine(`[autoCompress] closest plan: ${r.lines.join('; ')}`);
      const choice = await vscode.window.showWarningMessage(
        `Sense Auto-Compress: no plan on the rank grid can ${targetText(target)}; the closest (${r.lines.length} layer${r.lines.length === 1 ? '' : 's'} at their most saving ranks) reaches ${formatInUnit(r.after.metric, r.unit)} against ${formatInUnit(r.limit, r.unit)}. Nothing was written. Relax the target, place layers elsewhere (Auto-Partition) or remove layers.`,
        'Show Closest Plan',
      );
      if (choice) output.show(true);
      return;
    }
    if (plan.edits.length === 0) {
      void vscode.window.showInformationMessage(`Sense Auto-Compress: the file as written already meets “${targetText(target)}” (${formatInUnit(r.before.metric, r.unit)}); nothing to change.`);
      return;
    }
    await applyOne(doc, plan.version, plan.edits, 'Auto-Compress');
    void vscode.window.showInformationMessage(`Sense Auto-Compress: wrote ${r.lines.length} compress line${r.lines.length === 1 ? '' : 's'}; ${metric}, estimated error ${(100 * r.estimatedError).toFixed(2)} % (${fromWeights ? 'from the weights' : 'data-free'}).`);
  };

  const calibrateHost = async (uri?: vscode.Uri): Promise<void> => {
    if (!uri) throw new Error('Open a .sense file first.');
    if (!host.requireTrust('Calibrate Host')) return;
    const doc = await vscode.workspace.openTextDocument(uri);
    if (doc.uri.scheme !== 'file') throw new Error(`Calibrate Host needs the .sense file and its weights on disk; this is a virtual file (${doc.uri.scheme}:).`);
    const ownSpec = await host.pipelineSpec(doc, 'Calibrate Host');
    const own = { name: ownSpec.name, spec: ownSpec };
    // Calibration measures this machine: the same pipeline retargeted to the built-in `host` (by the language server).
    const spec = await host.pipelineSpec(doc, 'Calibrate Host', { retargetToHost: true });
    const runs = 30;
    // Measured in the pipeline worker (extension/jobs/): onnxruntime-node from next to the
    // extension or the workspace, the weights file or, when there is none, seeded weights.
    const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Sense: calibrating host on ${own.name}`, cancellable: true }, (progress, token) =>
      calibrateHostIn(pipelineJobs(), spec, host.files(doc), runs, {
        searchFrom: [vscode.workspace.getWorkspaceFolder(doc.uri)?.uri.fsPath, path.dirname(doc.uri.fsPath)].filter((x): x is string => x !== undefined),
        signal: abortSignalOf(token),
        onLog: (line) => output.appendLine(`[calibrate] ${line}`),
        onProgress: (line) => {
          output.appendLine(`[calibrate] ${line}`);
          progress.report({ message: `${line}…` });
        },
      }),
    );
    output.appendLine(`[calibrate] ${own.name} on this machine (${os.cpus()[0]?.model ?? 'unknown CPU'}):`);
    for (const l of calibrationTable(result)) output.appendLine(`  ${l}`);
    output.show(true);
    const file = path.join(path.dirname(doc.uri.fsPath), `${path.basename(doc.uri.fsPath, '.sense')}.host-profile.json`);
    writeUserFileAtomic(file, formatDeviceProfile(result.profile), 'profile', { roots: host.files(doc).roots });
    output.appendLine(`[calibrate] wrote ${file}`);
    const e = result.endToEnd;
    const choice = await vscode.window.showInformationMessage(
      `Sense: calibrated ${result.profile.device}.${result.profile.processor}; one window measured ${formatMs(e.measuredMs)}, estimated ${formatMs(e.beforeMs)} before and ${formatMs(e.afterMs)} after. Saved ${vscode.workspace.asRelativePath(file, false)}.`,
      'Apply Profile',
      'Open Profile',
    );
    if (choice === 'Apply Profile') await addProfile(file);
    else if (choice === 'Open Profile') await vscode.window.showTextDocument(vscode.Uri.file(file));
  };

  /**
   * Adds a profile file to `senseStudio.deviceProfiles`: in the workspace's settings,
   * relative, when it lies in the first workspace folder (those entries are read confined
   * to the workspace); else in the user's settings, absolute.
   */
  const addProfile = async (file: string): Promise<void> => {
    const profile = parseDeviceProfile(await readUserText(file, 'profile'), file);
    const folder = vscode.workspace.workspaceFolders?.[0];
    const inside = folder !== undefined && !path.relative(folder.uri.fsPath, file).startsWith('..') && !path.isAbsolute(path.relative(folder.uri.fsPath, file));
    const entry = inside ? path.relative(folder.uri.fsPath, file).split(path.sep).join('/') : file;
    const target = inside ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    const cfg = vscode.workspace.getConfiguration('senseStudio');
    const held = cfg.inspect<unknown[]>(DEVICE_PROFILES_SETTING);
    const list = ((inside ? held?.workspaceValue : held?.globalValue) ?? []).filter((x) => x !== entry);
    await cfg.update(DEVICE_PROFILES_SETTING, [...list, entry], target);
    output.appendLine(`[profile] applying ${entry}: ${profile.device}.${profile.processor} measured ${profile.measuredAt} on ${profile.machine.cpu}`);
    await reloadProfiles();
    void vscode.window.showInformationMessage(`Sense: estimates on ${profile.device} now use the measured ${profile.processor} profile ${entry}.`);
  };

  const importDeviceProfile = async (uri?: vscode.Uri): Promise<void> => {
    const chosen = uri?.path.endsWith('.json') ? [uri] : await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Device profile': ['json'] }, title: 'Import a measured device profile (sense calibrate --out, or the bundle page’s Profile button)' });
    const file = chosen?.[0];
    if (!file) return;
    await addProfile(file.fsPath);
  };

  let reloads = 0;
  let applied: readonly LoadedProfile[] = [];
  /**
   * Reads the setting's profiles (the language server gets them through profilesChanged, in
   * the senseStudio/deviceProfiles notification); bad files are reported, not fatal. In
   * Restricted Mode nothing is read (the setting is a restricted configuration, and a
   * repository must not make the studio open files before it is trusted). A list held in the
   * workspace's settings is read confined to the workspace folders; the user's own list is
   * not. When reloads overlap, the last one started wins. Never rejects: a failure becomes a
   * message.
   */
  const reloadProfiles = (): Promise<void> =>
    applyProfiles().catch((e: unknown) => {
      output.appendLine(`[profile] the measured device profiles were not reloaded: ${(e as Error).stack ?? String(e)}`);
      void vscode.window.showWarningMessage(`Sense Studio: the measured device profiles were not reloaded (${(e as Error).message}).`);
    });
  const applyProfiles = async (): Promise<void> => {
    const generation = ++reloads;
    const folders = vscode.workspace.workspaceFolders?.map((f) => f.uri.fsPath) ?? [];
    let profiles: Awaited<ReturnType<typeof loadProfiles>>['profiles'] = [];
    let errors: string[] = [];
    if (vscode.workspace.isTrusted) {
      const held = vscode.workspace.getConfiguration('senseStudio').inspect<unknown[]>(DEVICE_PROFILES_SETTING);
      const fromWorkspace = held?.workspaceFolderValue ?? held?.workspaceValue;
      const entries = fromWorkspace ?? held?.globalValue ?? [];
      ({ profiles, errors } = await loadProfiles(Array.isArray(entries) ? entries : [entries], folders[0], fromWorkspace ? folders : undefined));
    } else {
      output.appendLine('[profile] Restricted Mode: the measured device profiles are read once the workspace is trusted.');
    }
    if (generation !== reloads) return;
    applied = profiles;
    for (const e of errors) {
      output.appendLine(`[profile] ${e}`);
      void vscode.window.showWarningMessage(`Sense Studio: ${e}`);
    }
    if (profiles.length > 0) output.appendLine(`[profile] measured device profiles: ${profiles.map((p) => `${p.source} (${p.profile.device}.${p.profile.processor})`).join(', ')}`);
    host.profilesChanged();
  };

  /** The measured device profiles read last (the ones the language server applies). */
  const profiles = (): readonly LoadedProfile[] => applied;

  return { autoPartition, autoCompress, calibrateHost, importDeviceProfile, reloadProfiles, profiles };
}
