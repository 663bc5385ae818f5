/**
 * `sense diff OLD NEW [--json] [--all] [--pipeline NAME]`: what changed between two versions of
 * a pipeline, by the engine's estimate of each (the same as `sense estimate`): per layer
 * (matched by id, `encoder.2`), per processor, per head and in total, parameters, MACs, weights,
 * latency, energy, memory, battery life, and held-out accuracy where both versions have a
 * training record. OLD (or NEW) may be `git:REV:PATH`, the file as it was at a git revision,
 * read with `git show` (no shell); PATH is relative to the current directory, as a file
 * argument is.
 */
import { basename, join, relative } from 'node:path';
import type { PipelineSpec } from '../../language/pipeline-model';
import { estimatePipeline, type Estimate } from '../../engine/estimate';
import { diffEstimates, type HeadAccuracy, type LayerSide, type PipelineDiff } from '../../engine/diff';
import { weightsPathFor } from '../../engine/weights/node-weights';
import { describeCompression, formatBytes, formatCount, formatDelta, formatHours, formatMj, formatMs, formatNumber, formatPercent, formatSigned } from '../../language/figures';
import { GitRevisionError, readAtRevision, runGit } from '../../io/git-revision';
import { MAX_FILE_BYTES, readUserTextSync, statUserPath } from '../../io/user-files';
import { expectPositionals, parseCommandArgs } from '../args';
import { choosePipeline, loadSenseFile, lowerSenseText, senseRoots, UsageError, type LoadedFile } from '../load';
import type { CommandContext } from '../main';
import { fixed, table } from '../table';
import { weightsRankResolver } from './estimate';
import { trainingRecordPath } from './train';

export const summary = 'compare two versions of a pipeline (OLD may be git:REV:PATH): per-layer, per-processor and total changes of parameters, MACs, latency, energy, memory, battery and accuracy (--json)';
export const usage = 'sense diff OLD NEW [--json] [--all] [--pipeline NAME]   (OLD or NEW may be git:REV:PATH)';

/** A file at a git revision, as `git:REV:PATH` names it. */
interface GitSource {
  rev: string;
  /** The file's folder in the working tree, where git runs, so `REV:./NAME` is relative to it. */
  dir: string;
  name: string;
}

/** One side of the comparison: its label in messages, its text and the path weights resolve against. */
interface Side {
  label: string;
  file: LoadedFile;
  spec: PipelineSpec;
  /** The path the `.sense` file's relative paths (its weights line) resolve against. */
  sensePath: string;
  git?: GitSource;
}

/** `git:REV:PATH` split into the revision and the path, or undefined for a plain file argument. */
export function parseGitSpec(arg: string): { rev: string; path: string } | undefined {
  if (!arg.startsWith('git:')) return undefined;
  const rest = arg.slice('git:'.length);
  const colon = rest.indexOf(':');
  const rev = colon < 0 ? '' : rest.slice(0, colon);
  const path = colon < 0 ? '' : rest.slice(colon + 1);
  if (rev === '' || path === '') throw new UsageError(`'${arg}' needs a revision and a path, such as git:HEAD:pipeline.sense; usage: ${usage}`);
  if (rev.startsWith('-')) throw new UsageError(`'${arg}': a revision cannot start with '-'`);
  return { rev, path };
}

/** The text of `path` at `rev` (io/git-revision.ts), its refusals as the command's errors (exit code 1). */
async function readSideAtRevision(arg: string, rev: string, path: string): Promise<{ text: string; source: GitSource }> {
  try {
    const { text, dir, name } = await readAtRevision(path, rev, arg);
    return { text, source: { rev, dir, name } };
  } catch (e) {
    if (e instanceof GitRevisionError) throw new UsageError(e.message, 1);
    throw e;
  }
}

/** Loads one side: a file, or `git:REV:PATH` lowered as if it lay where PATH is (so its weights line resolves there). */
async function loadSide(arg: string, pipelineName: string | undefined): Promise<Side> {
  const gitSpec = parseGitSpec(arg);
  if (!gitSpec) {
    const { file, spec } = choosePipeline(await loadSenseFile(arg), pipelineName);
    return { label: arg, file, spec, sensePath: arg };
  }
  const { text, source } = await readSideAtRevision(arg, gitSpec.rev, gitSpec.path);
  // A document of its own beside the working-tree file, so both sides can be open at once.
  const sensePath = join(source.dir, `${basename(source.name, '.sense')}@${source.rev.replace(/[^\w.-]/g, '_')}.sense`);
  const lowered = await lowerSenseText(sensePath, text);
  const { file, spec } = choosePipeline({ ...lowered, path: arg }, pipelineName);
  return { label: arg, file, spec, sensePath, git: source };
}

/** The held-out accuracy per head of a training record's text, or a reason it has none. */
function recordAccuracy(text: string, spec: PipelineSpec, where: string): HeadAccuracy | string {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch (e) {
    return `${where} is not JSON (${(e as Error).message})`;
  }
  const r = record as { pipeline?: unknown; valAccuracy?: Record<string, { accuracy?: unknown }> };
  if (r.pipeline !== spec.name) return `${where} is the record of pipeline '${String(r.pipeline)}', not ${spec.name}`;
  if (typeof r.valAccuracy !== 'object' || r.valAccuracy === null) return `${where} has no valAccuracy`;
  const out: Record<string, number> = {};
  for (const [head, v] of Object.entries(r.valAccuracy)) if (typeof v?.accuracy === 'number' && v.accuracy >= 0 && v.accuracy <= 1) out[head] = v.accuracy;
  return out;
}

/**
 * The training record (`sense train`'s NAME.training.json beside the weights) of one side: from
 * the working tree for a file, from the same revision for `git:`. Undefined when there is none;
 * a record that cannot be used is a note, since the estimate does not need it.
 */
async function sideRecord(side: Side, notes: string[]): Promise<{ text: string; accuracy: HeadAccuracy; where: string } | undefined> {
  const weights = weightsPathFor(side.spec, side.sensePath);
  if (!weights) return undefined;
  const path = trainingRecordPath(weights);
  let text: string;
  let where: string;
  if (side.git) {
    const { rev, dir } = side.git;
    where = `${relative(process.cwd(), path)} at ${rev}`;
    try {
      await runGit(dir, ['cat-file', '-e', `${rev}:./${relative(dir, path)}`], { maxBytes: MAX_FILE_BYTES.json });
      text = await runGit(dir, ['show', `${rev}:./${relative(dir, path)}`], { maxBytes: MAX_FILE_BYTES.json + 1 });
    } catch {
      return undefined;
    }
  } else {
    where = relative(process.cwd(), path);
    try {
      if (!statUserPath(path, 'json')) return undefined;
      text = readUserTextSync(path, 'json', { roots: senseRoots(side.sensePath) });
    } catch (e) {
      notes.push(`no accuracy for ${side.label}: ${(e as Error).message}`);
      return undefined;
    }
  }
  const accuracy = recordAccuracy(text, side.spec, where);
  if (typeof accuracy === 'string') {
    notes.push(`no accuracy for ${side.label}: ${accuracy}`);
    return undefined;
  }
  return { text, accuracy, where };
}

/** The estimate of one side, as `sense estimate` computes it (ranks of `svd energy N%` from the weights when present). */
function estimateSide(side: Side, notes: string[]): Estimate {
  const sideNotes: string[] = [];
  const rankResolver = weightsRankResolver(side.spec, side.sensePath, sideNotes);
  if (rankResolver && side.git) sideNotes.push(`the ranks of its 'svd energy/error' lines come from the weights in the working tree, not from ${side.git.rev}.`);
  notes.push(...sideNotes.map((n) => `${side.label}: ${n}`));
  return estimatePipeline(side.spec, { rankResolver });
}

/** The `--json` object: the engine's comparison with both sides' labels and the notes. */
export function diffJson(d: PipelineDiff, labels: { before: string; after: string }, notes: readonly string[]): Record<string, unknown> {
  return { before: labels.before, after: labels.after, ...d, notes };
}

/** `a -> b`, or `a` alone when they are equal. */
function change(a: string, b: string): string {
  return a === b ? a : `${a} -> ${b}`;
}

function compressionText(s: LayerSide | null): string {
  if (!s) return '-';
  if (!s.compression) return 'none';
  const rank = s.compression.kind === 'svd' && s.compression.criterion !== 'rank' && s.rank !== undefined ? ` (k=${s.rank}${s.rankEstimated ? '?' : ''})` : '';
  return describeCompression(s.compression) + rank;
}

/** A total as `before -> after (relative change)`; a side without the figure (a target without a battery) reads `absent`. */
function totalLine(label: string, before: number | null, after: number | null, format: (x: number) => string, absent = 'none'): string {
  const text = before === null || after === null ? `${before === null ? absent : format(before)} -> ${after === null ? absent : format(after)}` : `${format(before)} -> ${format(after)} (${formatDelta(before, after)})`;
  return `${label.padEnd(23)}${text}`;
}

/** The human-readable report: changed (or, with `all`, every) layer, processors, heads, totals. */
export function diffText(d: PipelineDiff, labels: { before: string; after: string }, all: boolean): string[] {
  const out: string[] = [];
  out.push(`${d.pipeline.before} (${labels.before}) -> ${d.pipeline.after} (${labels.after})`);
  out.push(`target ${change(d.target.before, d.target.after)}`, '');
  const layers = all ? d.layers : d.layers.filter((l) => l.status !== 'same');
  if (layers.length === 0) out.push('no layer changed.');
  else {
    const rows = layers.map((l) => [
      l.id,
      l.status,
      change(l.before?.kind ?? '-', l.after?.kind ?? '-'),
      change(l.before?.processor ?? '-', l.after?.processor ?? '-'),
      change(compressionText(l.before), compressionText(l.after)),
      formatSigned(l.paramsDelta, formatCount),
      formatSigned(l.macsDelta, formatCount),
      formatSigned(l.weightBytesDelta, formatBytes),
      formatSigned(l.latencyMsDelta, (x) => fixed(x)),
      formatSigned(l.energyMjDelta, (x) => fixed(x, 4)),
    ]);
    out.push(...table(['layer', 'status', 'kind', 'processor', 'compression', 'params', 'MACs', 'weights', 'latency ms', 'energy mJ'], rows, [false, false, false, false, false, true, true, true, true, true]));
    if (!all) out.push(`(${d.layers.length - layers.length} unchanged layer${d.layers.length - layers.length === 1 ? '' : 's'} not shown; --all lists them)`);
  }
  out.push('');
  const procRows = d.processors.map((p) => [
    p.name,
    p.status,
    formatSigned(p.opsDelta, formatCount),
    formatSigned(p.latencyMsDelta, (x) => fixed(x)),
    formatSigned(p.energyMjDelta, (x) => fixed(x, 4)),
    change(p.before ? formatBytes(p.before.memoryBytes) : '-', p.after ? formatBytes(p.after.memoryBytes) : '-'),
    formatSigned(p.memoryBytesDelta, formatBytes),
  ]);
  out.push(...table(['processor', 'status', 'ops', 'busy ms', 'energy mJ', 'memory', 'memory change'], procRows, [false, false, true, true, true, true, true]));
  if (d.heads.length > 0) {
    out.push('');
    const headRows = d.heads.map((h) => [
      h.head,
      h.status + (h.moved ? ' (moved)' : ''),
      change(h.before?.processors.join(', ') ?? '-', h.after?.processors.join(', ') ?? '-'),
      h.readyMsDelta === null ? '-' : formatSigned(h.readyMsDelta, (x) => fixed(x)),
      h.pathEnergyMjDelta === null ? '-' : formatSigned(h.pathEnergyMjDelta, (x) => fixed(x, 4)),
      h.accuracyDelta === null ? '-' : `${formatPercent(h.before!.accuracy!)} -> ${formatPercent(h.after!.accuracy!)} (${formatSigned(h.accuracyDelta * 100, (x) => x.toFixed(1))} pt)`,
    ]);
    out.push(...table(['head', 'status', 'processors', 'ready ms', 'path energy mJ', 'held-out accuracy'], headRows, [false, false, false, true, true, false]));
  }
  const t = d.total;
  out.push('');
  out.push(totalLine('end-to-end latency', t.before.latencyMs, t.after.latencyMs, formatMs));
  out.push(totalLine('energy per inference', t.before.energyPerInferenceMj, t.after.energyPerInferenceMj, formatMj));
  out.push(totalLine('average power', t.before.averagePowerMw, t.after.averagePowerMw, (x) => `${formatNumber(x)} mW`));
  out.push(totalLine('battery life', t.before.batteryLifeHours, t.after.batteryLifeHours, formatHours, 'no battery'));
  out.push(totalLine('parameters', t.before.params, t.after.params, formatCount));
  out.push(totalLine('MACs', t.before.macs, t.after.macs, formatCount));
  out.push(totalLine('weights', t.before.weightBytes, t.after.weightBytes, formatBytes));
  out.push(totalLine('memory', t.before.memoryBytes, t.after.memoryBytes, formatBytes));
  return out;
}

/** Runs the command; returns the exit code (1 when either estimate has errors, as `sense estimate`). */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' }, all: { type: 'boolean' }, pipeline: { type: 'string' } }, usage);
  expectPositionals(positionals, 2, 2, 'two versions of a pipeline, OLD and NEW', usage);
  const notes: string[] = [];
  const sides: Side[] = [];
  const estimates: Estimate[] = [];
  // One side at a time: a `git:` side is lowered and estimated before the other is opened.
  for (const arg of positionals) {
    const side = await loadSide(arg, values.pipeline);
    sides.push(side);
    estimates.push(estimateSide(side, notes));
  }
  const [before, after] = sides;
  let records = [await sideRecord(before, notes), await sideRecord(after, notes)];
  if (!records[0] || !records[1]) notes.push('held-out accuracy: not compared; it needs a training record (sense train) on both sides.');
  else if (records[0].text === records[1].text) {
    // One record read twice measures the weights once; a change of zero would claim a compression or placement cost nothing.
    notes.push(`held-out accuracy: not compared; both versions have the same training record (${records[1].where}), which measures the trained weights, not this change.`);
    records = [undefined, undefined];
  } else notes.push(`held-out accuracy: from the training records ${records[0].where} and ${records[1].where} (sense train), of the uncompressed weights.`);
  const d = diffEstimates(estimates[0], estimates[1], { before: records[0]?.accuracy, after: records[1]?.accuracy });
  const labels = { before: before.label, after: after.label };
  if (values.json) ctx.out(JSON.stringify(diffJson(d, labels, notes), null, 2));
  else for (const line of diffText(d, labels, values.all ?? false)) ctx.out(line);
  for (const n of notes) ctx.err(`note: ${n}`);
  let failed = false;
  sides.forEach((s, i) => {
    for (const issue of estimates[i].issues.filter((x) => x.severity === 'error')) {
      ctx.err(`${s.label}: error ${issue.code}: ${issue.message}`);
      failed = true;
    }
  });
  return failed ? 1 : 0;
}
