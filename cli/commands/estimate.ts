/**
 * `sense estimate FILE [--json] [--target DEVICE] [--pipeline NAME] [--profile PROFILE.json]`: per-layer and
 * per-processor tables, transfers, heads and totals of the engine's estimate; `--json`
 * prints the same as one JSON object for scripts. With several files, the pipelines run
 * together on their one device (cli/estimate-together.ts). Exit 1 when the estimate has errors
 * (an op on a processor that cannot run it), else 0; warnings do not change the code.
 */
import { URI } from 'langium';
import { applyProfile, calibrationNotes } from '../../engine/calibrate/profile';
import { parseDeviceProfile } from '../../runtime/device-profile';
import { BUILTIN_DEVICES_URI } from '../../language/builtin-devices';
import type * as ast from '../../language/generated/ast';
import type { DeviceSpec, LayerSpec, PipelineSpec } from '../../language/pipeline-model';
import { estimatePipeline, type Estimate } from '../../engine/estimate';
import { layerSide, processorSide } from '../../engine/diff';
import { layerSpectrum } from '../../engine/auto-compress';
import { rankForEnergy, rankForError } from '../../engine/compress/svd';
import { weightsPathFor } from '../../engine/weights/node-weights';
import { formatBytes, formatHours, formatMj, formatMs, formatNumber } from '../../language/figures';
import { readUserTextSync, statUserPath } from '../../io/user-files';
import { expectPositionals, parseCommandArgs } from '../args';
import { loadPipeline, namingError, pipelineWeights, UsageError, type LoadedFile } from '../load';
import type { CommandContext } from '../main';
import { fixed, table } from '../table';
import { runTogether, type PreparedPipeline } from '../estimate-together';

export const summary = 'estimate latency, energy, memory and battery life of a pipeline on its target (tables, or --json)';
export const usage = 'sense estimate FILE [FILE...] [--json] [--target DEVICE] [--pipeline NAME] [--profile PROFILE.json]';

interface Args {
  file: string;
  /** Every file named; more than one estimates their pipelines together. */
  files: string[];
  json: boolean;
  target?: string;
  pipeline?: string;
  /** A measured device profile (sense calibrate) applied to its processor of the target. */
  profile?: string;
}

function parseArgs(args: string[]): Args {
  const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' }, target: { type: 'string' }, pipeline: { type: 'string' }, profile: { type: 'string' } }, usage);
  expectPositionals(positionals, 1, Number.POSITIVE_INFINITY, 'one or more .sense files', usage);
  if (positionals.length > 1 && values.pipeline !== undefined) throw new UsageError(`--pipeline chooses in one file; with several files give each file one pipeline; usage: ${usage}`);
  return { file: positionals[0], files: positionals, json: values.json ?? false, target: values.target, pipeline: values.pipeline, ...(values.profile !== undefined ? { profile: values.profile } : {}) };
}

/** The device named `name`: one declared in the file, else a built-in. */
export function findDevice(file: LoadedFile, name: string): DeviceSpec {
  const local = file.document.parseResult.value.devices.find((d) => d.name === name);
  const builtinDoc = file.services.shared.workspace.LangiumDocuments.getDocument(URI.parse(BUILTIN_DEVICES_URI));
  const builtins = (builtinDoc?.parseResult.value as ast.Model | undefined)?.devices ?? [];
  const node = local ?? builtins.find((d) => d.name === name);
  if (!node) {
    const names = [...file.document.parseResult.value.devices, ...builtins].map((d) => d.name);
    throw new UsageError(`no device named '${name}'; devices: ${names.join(', ')}.`);
  }
  const lowered = file.services.lowering.Lowering.device(node);
  const errors = lowered.issues.filter((i) => i.severity === 'error');
  if (errors.length > 0) throw new UsageError(`device '${name}' has errors: ${errors.map((e) => e.message).join(' ')}`);
  return lowered.spec;
}

/** The spec on another target: `place` pins naming processors it lacks are dropped (reported in `notes`). */
export function retarget(spec: PipelineSpec, device: DeviceSpec, notes: string[]): PipelineSpec {
  const names = new Set(device.processors.map((p) => p.name));
  const placement: Record<string, string> = {};
  const dropped = new Map<string, string[]>();
  for (const [layer, proc] of Object.entries(spec.placement)) {
    if (names.has(proc)) placement[layer] = proc;
    else dropped.set(proc, [...(dropped.get(proc) ?? []), layer]);
  }
  for (const [proc, layers] of dropped) {
    notes.push(`${device.name} has no processor '${proc}': ${layers.join(', ')} run on ${device.defaultProcessor} instead.`);
  }
  return { ...spec, target: device, placement };
}

/**
 * Ranks of `svd energy N%` / `svd error N%` lines from the layer's real spectrum when the
 * pipeline's weights file exists (the same rule export applies); without weights the IR
 * falls back to its data-free estimate and a note says so.
 */
export function weightsRankResolver(spec: PipelineSpec, sensePath: string, notes: string[]): ((layer: LayerSpec) => number | undefined) | undefined {
  const byCriterion = spec.blocks.flatMap((b) => b.layers).filter((l) => l.compression?.kind === 'svd' && l.compression.criterion !== 'rank');
  if (byCriterion.length === 0) return undefined;
  const path = weightsPathFor(spec, sensePath);
  let present: boolean;
  try {
    present = path !== undefined && statUserPath(path, 'weights') !== undefined;
  } catch (e) {
    throw namingError(e, [sensePath], 1);
  }
  if (!present) {
    notes.push(`no weights file: the ranks of ${byCriterion.map((l) => l.id).join(', ')} are data-free estimates (a random matrix of that shape).`);
    return undefined;
  }
  const { weights } = pipelineWeights(spec, sensePath, (w) => notes.push(w.replace(/^warning: /, '')));
  return (layer) => {
    const c = layer.compression;
    if (c?.kind !== 'svd' || c.criterion === 'rank') return undefined;
    const spectrum = layerSpectrum(layer, weights);
    if (!spectrum) return undefined;
    return Math.max(1, c.criterion === 'energy' ? rankForEnergy(spectrum, c.fraction) : rankForError(spectrum, c.fraction));
  };
}

/** What `sense estimate --json` prints (as {@link estimateJson} builds it). */
export type EstimateJson = ReturnType<typeof estimateJson>;

/** The `--json` object: the fields the issue promises plus heads, transfers, features and issues. */
export function estimateJson(e: Estimate) {
  return {
    pipeline: e.pipeline,
    target: e.target,
    endToEndLatencyMs: e.endToEndLatencyMs,
    expectedLatencyMs: e.expectedLatencyMs,
    energyPerInferenceMj: e.energyPerInferenceMj,
    computeEnergyMj: e.computeEnergyMj,
    transferEnergyMj: e.transferEnergyMj,
    batteryLifeHours: e.batteryLifeHours ?? null,
    inferencesPerHour: e.inferencesPerHour,
    idlePowerMw: e.idlePowerMw,
    averagePowerMw: e.averagePowerMw,
    windowEnergyMj: e.windowEnergyMj,
    averagePowerByCauseMw: e.power.averagePowerByCauseMw,
    addedPowerMw: e.power.addedPowerMw,
    batteryPercentPerDay: e.batteryPercentPerDay ?? null,
    sampler: e.power.sampler,
    wakeLatencyMs: e.power.wakeLatencyMs,
    powerStates: e.power.processors.map((p) => ({ name: p.name, state: p.state, busyMs: p.busyMs, standbyMj: p.standbyMj })),
    budgetMs: e.budgetMs ?? null,
    objective: e.objective,
    processors: e.processors.map((p) => ({ name: p.name, ...processorSide(p), peakActivationBytes: p.peakActivationBytes, remote: p.remote })),
    features: e.features ?? null,
    layers: e.layers.map((l) => ({ layer: l.layerId, ...layerSide(l), startMs: l.startMs, endMs: l.endMs })),
    heads: e.heads,
    transfers: e.transfers.map((t) => ({ tensor: t.tensor, from: t.from, to: t.to, bytes: t.bytes, startMs: t.startMs, endMs: t.endMs, latencyMs: t.latencyMs, energyMj: t.energyMj, assumed: t.assumed })),
    issues: e.issues,
  };
}

/** The human-readable report, one line per entry of the returned array. */
export function estimateText(e: Estimate): string[] {
  const out: string[] = [];
  out.push(`${e.pipeline} on ${e.target}`, '');
  const layerRows: string[][] = [];
  if (e.features) {
    const f = e.features;
    layerRows.push(['features', '-', 'front end', f.processor, String(f.macs), String(f.params), formatBytes(f.weightBytes), fixed(f.latencyMs), fixed(f.energyMj, 4), `${fixed(f.startMs)}-${fixed(f.endMs)}`]);
  }
  for (const l of e.layers) {
    const kind = l.compression ? `${l.kind} (${l.compression.kind}${l.rank !== undefined ? ` k=${l.rank}${l.rankEstimated ? '?' : ''}` : ''})` : l.kind;
    layerRows.push([l.block, l.layerId, kind, l.processor + (l.supported ? '' : ' (!)'), String(l.macs), String(l.params), formatBytes(l.weightBytes), fixed(l.latencyMs), fixed(l.energyMj, 4), `${fixed(l.startMs)}-${fixed(l.endMs)}`]);
  }
  out.push(...table(['block', 'layer', 'kind', 'processor', 'MACs', 'params', 'weights', 'latency ms', 'energy mJ', 'busy ms'], layerRows, [false, false, false, false, true, true, true, true, true, true]));
  if (e.layers.some((l) => l.rankEstimated)) out.push('k=N? : rank estimated without weights (random-matrix bound); give weights for the real rank.');
  out.push('');
  const procRows = e.processors.map((p) => [p.name + (p.remote ? ' (remote)' : ''), String(p.ops), fixed(p.latencyMs), fixed(p.energyMj, 4), formatBytes(p.memoryBytes), formatBytes(p.memoryLimitBytes), Number.isFinite(p.memoryLimitBytes) ? `${((100 * p.memoryBytes) / p.memoryLimitBytes).toFixed(1)} %` : '-']);
  out.push(...table(['processor', 'ops', 'busy ms', 'energy mJ', 'memory', 'limit', 'used'], procRows, [false, true, true, true, true, true, true]));
  if (e.transfers.length > 0) {
    out.push('');
    const rows = e.transfers.map((t) => [t.tensor, `${t.from} -> ${t.to}${t.assumed ? ' (assumed)' : ''}`, formatBytes(t.bytes), fixed(t.latencyMs), fixed(t.energyMj, 4), `${fixed(t.startMs)}-${fixed(t.endMs)}`]);
    out.push(...table(['transfer of', 'route', 'bytes', 'latency ms', 'energy mJ', 'busy ms'], rows, [false, false, true, true, true, true]));
  }
  if (e.heads.length > 0) {
    out.push('');
    const rows = e.heads.map((h) => [h.head, fixed(h.latencyMs), fixed(h.energyMj, 4), h.processors.join(', ')]);
    out.push(...table(['head', 'ready at ms', 'path energy mJ', 'processors'], rows, [false, true, true, false]));
  }
  out.push('');
  out.push(`end-to-end latency     ${formatMs(e.endToEndLatencyMs)}${e.budgetMs !== undefined ? ` (budget ${formatMs(e.budgetMs)})` : ''}`);
  const gated = e.heads.filter((h) => h.firingProbability < 1);
  if (gated.length > 0) {
    // Energy below is the expectation over the gates; the latency above is a window on which every gate opens.
    out.push(`expected latency       ${formatMs(e.expectedLatencyMs)} (gated heads run on ${gated.map((h) => `${h.head} ${formatNumber(100 * h.firingProbability)}%`).join(', ')} of windows)`);
  }
  out.push(`energy per inference   ${formatMj(e.energyPerInferenceMj)} (compute ${formatMj(e.computeEnergyMj)} + transfers ${formatMj(e.transferEnergyMj)})`);
  out.push(`inferences per hour    ${formatNumber(e.inferencesPerHour)}`);
  const c = e.power.averagePowerByCauseMw;
  out.push(`average power          ${formatNumber(e.averagePowerMw)} mW: sampling ${formatNumber(c.sampling)} (${e.power.sampler}), compute ${formatNumber(c.compute)}, transfers ${formatNumber(c.transfers)}, wake-ups ${formatNumber(c.wakeUps)}, idle ${formatNumber(c.idle)}, sleep ${formatNumber(c.sleep)}, baseline ${formatNumber(c.baseline)}`);
  out.push(`processor states       ${e.power.processors.map((p) => `${p.name} ${p.state}`).join(', ')}`);
  out.push(`battery life           ${e.batteryLifeHours !== undefined ? `${formatHours(e.batteryLifeHours)} (${formatNumber(e.batteryEnergyMwh!)} mWh)` : 'no battery on this device'}`);
  if (e.batteryPercentPerDay !== undefined) out.push(`battery per day        ${formatNumber(e.batteryPercentPerDay)}% (what the pipeline adds: ${formatNumber(e.power.addedPowerMw)} mW)`);
  out.push(`objective              ${fixed(e.objective, 4)}`);
  return out;
}

/** `spec` with the measured device profile at `path` applied (engine/calibrate/profile.ts); bad files are UsageErrors. */
function withProfile(spec: PipelineSpec, path: string, notes: string[]): PipelineSpec {
  let text: string;
  try {
    text = readUserTextSync(path, 'profile');
  } catch (e) {
    throw new UsageError(`${(e as Error).message}; give a file written by 'sense calibrate FILE --out ${path}'`);
  }
  try {
    const profile = parseDeviceProfile(text, path);
    if (profile.device !== spec.target.name) notes.push(`${path} was measured for ${profile.device}; applying it to ${spec.target.name}.${profile.processor}.`);
    return applyProfile(spec, profile, path);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Runs the command; returns the exit code. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const a = parseArgs(args);
  if (a.files.length > 1) return runTogether(await Promise.all(a.files.map((f) => prepared(f, a, ctx))), a.json, ctx);
  const { file, spec: own } = await loadPipeline(a.file, a.pipeline);
  const notes: string[] = [];
  const targeted = a.target ? retarget(own, findDevice(file, a.target), notes) : own;
  const spec = a.profile ? withProfile(targeted, a.profile, notes) : targeted;
  const e = estimatePipeline(spec, { rankResolver: weightsRankResolver(spec, a.file, notes) });
  // A kernel-calibrated processor says how sure its figures are (engine/calibrate/kernel-predictor.ts).
  const calibration = calibrationNotes(spec, e);
  notes.push(...(a.json ? calibration.accuracy : []), ...calibration.outside);
  for (const n of notes) ctx.err(`note: ${n}`);
  if (a.json) ctx.out(JSON.stringify(estimateJson(e), null, 2));
  else {
    for (const line of estimateText(e)) ctx.out(line);
    for (const line of calibration.accuracy) ctx.out(`latency accuracy       ${line}`);
    if (e.issues.length > 0) ctx.out('');
  }
  for (const i of e.issues) ctx.err(`${a.file}: ${i.severity} ${i.code}: ${i.message}`);
  return e.issues.some((i) => i.severity === 'error') ? 1 : 0;
}

/** One file's pipeline for a joint estimate, with --target and --profile applied as for one file; its notes go to stderr. */
async function prepared(path: string, a: Args, ctx: CommandContext): Promise<PreparedPipeline> {
  const { file, spec: own } = await loadPipeline(path);
  const notes: string[] = [];
  const targeted = a.target ? retarget(own, findDevice(file, a.target), notes) : own;
  const spec = a.profile ? withProfile(targeted, a.profile, notes) : targeted;
  const rankResolver = weightsRankResolver(spec, path, notes);
  for (const n of notes) ctx.err(`note: ${path}: ${n}`);
  return { file: path, spec, options: rankResolver ? { rankResolver } : {} };
}
