/**
 * Node-only helpers that read clips and labelled folders from disk, for the CLI, the
 * studio and tests. The rest of runtime/ takes bytes and runs in the browser too; only this
 * module touches Node's file system (reads through io/user-files, so a FIFO, device,
 * directory or oversized file is refused by name instead of hanging or exhausting memory),
 * and browser bundles must not import it.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describeFileType, MAX_FILE_BYTES, readUserFile, readUserFileSync, resolveUserPath, statUserPath, UserFileError } from '../io/user-files';
import { parseInertialCsv, type InertialRecording } from './inertial';
import { clipExtensions, clipInputOf, sumGateCounts, type BundleRunner, type ClipInput, type ClipResult, type GateCount } from './runner';
import { decodeWav, type DecodedAudio } from './wav';

/** Largest clip file read, in bytes (io/user-files' limit for clips, 1 GiB): larger files are refused before reading. */
export const MAX_CLIP_FILE_BYTES = MAX_FILE_BYTES.clip;

/** Reads a clip file's bytes: a regular file within {@link MAX_CLIP_FILE_BYTES}; errors name the path. */
export function readClipBytes(path: string): Uint8Array {
  return readUserFileSync(path, 'clip');
}

/** Reads and decodes a WAV file; errors name the path (see {@link decodeWav}). */
export function readWavFile(path: string): DecodedAudio {
  return decodeWav(readClipBytes(path), path);
}

/** Reads and parses an inertial CSV file; errors name the path and line (see {@link parseInertialCsv}). */
export function readInertialCsvFile(path: string): InertialRecording {
  return parseInertialCsv(readClipBytes(path), path);
}

/**
 * Reads a clip for the runner: inertial CSV when the name ends in `.csv`, an image when it
 * ends in `.png`, `.jpg` or `.jpeg`, else WAV (see runtime/runner.ts clipInputOf). With
 * `roots` the file must lie inside them, symbolic links followed. Errors are
 * {@link UserFileError}s naming the path.
 */
export async function readClip(path: string, roots?: readonly string[]): Promise<ClipInput> {
  const bytes = await readUserFile(path, 'clip', roots ? { roots } : {});
  return clipInputOf(path, bytes);
}

/** Checks between clips whether a long task should stop. */
export interface Cancellation {
  readonly isCancellationRequested: boolean;
}

/** Thrown when the user cancelled a long task. */
export class CancelledError extends Error {
  constructor() {
    super('Cancelled.');
    this.name = 'CancelledError';
  }
}

/** A labelled folder that is not laid out as DIR/HEAD/LABEL/clips for this pipeline; the message names the place and the fix. */
export class LabelledFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabelledFolderError';
  }
}

/** One head's result on a labelled folder. */
export interface HeadEvaluation {
  labels: string[];
  clips: number;
  correct: number;
  /** correct / clips (0 without clips). */
  accuracy: number;
  /** Clips whose every window was silent: no prediction, so counted as wrong. */
  silent: number;
  /** A gated head: clips on which its gate stayed shut on every window (no prediction, counted as wrong). */
  skipped?: number;
  /** Rows are true labels, columns predicted labels, cells clip counts (silent clips are in no cell). */
  confusion: number[][];
}

/** A labelled folder's evaluation: per head, and the measured latency of every clip. */
export interface FolderEvaluation {
  heads: Record<string, HeadEvaluation>;
  /** Mean per-window latency of each clip, in milliseconds, in the order run. */
  clipLatenciesMs: number[];
  /** Windows run over all clips. */
  windows: number;
  /** Bundles with gated heads: per gated head, on how many windows of every clip run its gate opened, and the expected rate. */
  gates?: Record<string, GateCount>;
}

/** Options of {@link evaluateFolder}. */
export interface EvaluateFolderOptions {
  /** Folders every sub-folder and clip must lie in, symbolic links followed (a folder a message named). */
  roots?: readonly string[];
  /** Progress after each clip. */
  onClip?: (done: number, total: number) => void;
  /** Stops between clips with a {@link CancelledError}. */
  token?: Cancellation;
}

/**
 * Evaluates a labelled folder `dir/HEAD/LABEL/*.wav` (`*.csv` for inertial input, `*.png`,
 * `*.jpg`, `*.jpeg` for image input): per
 * head the accuracy, the silent clips and the confusion matrix. Every folder and clip is
 * checked before the first clip runs: an unknown head or label, or no clips at all, is a
 * {@link LabelledFolderError}; a clip that is not a regular file (a FIFO, a device, a link to
 * nothing or a loop) or a sub-folder outside `roots` is a {@link UserFileError}. Hidden
 * entries are skipped, and clips run in name order.
 */
export async function evaluateFolder(runner: Pick<BundleRunner, 'manifest' | 'runClip'>, dir: string, options: EvaluateFolderOptions = {}): Promise<FolderEvaluation> {
  const { roots, onClip, token } = options;
  const st = statUserPath(dir, 'clip');
  const exts = clipExtensions(runner.manifest.input);
  const layout = `a folder laid out as HEAD/LABEL/clips (${exts.map((e) => `*${e}`).join(', ')} for this pipeline)`;
  if (!st) throw new LabelledFolderError(`${dir}: no such folder; give ${layout}`);
  if (!st.isDirectory()) throw new LabelledFolderError(`${dir} is ${describeFileType(st)}, not ${layout}`);
  const heads = runner.manifest.heads;
  const plan: { head: string; label: string; files: string[] }[] = [];
  for (const head of await subFolders(dir, roots)) {
    if (!heads[head]) throw new LabelledFolderError(`${join(dir, head)}: the pipeline has no head '${head}' (heads: ${Object.keys(heads).join(', ')})`);
    for (const label of await subFolders(join(dir, head), roots)) {
      if (!heads[head].labels.includes(label)) throw new LabelledFolderError(`${join(dir, head, label)}: head ${head} has no label '${label}' (labels: ${heads[head].labels.join(', ')})`);
      plan.push({ head, label, files: await clipsIn(join(dir, head, label), exts) });
    }
  }
  const total = plan.reduce((a, p) => a + p.files.length, 0);
  if (total === 0) throw new LabelledFolderError(`${dir}: no ${exts.join(' or ')} clips found under HEAD/LABEL folders`);
  const result: Record<string, HeadEvaluation> = {};
  const clipLatenciesMs: number[] = [];
  const clipGates: ClipResult['gates'][] = [];
  let windows = 0;
  for (const { head, label, files } of plan) {
    const labels = heads[head].labels;
    const e = (result[head] ??= { labels, clips: 0, correct: 0, accuracy: 0, silent: 0, confusion: labels.map(() => labels.map(() => 0)) });
    for (const f of files) {
      if (token?.isCancellationRequested) throw new CancelledError();
      const r = await runner.runClip(await readClip(f, roots), f);
      clipLatenciesMs.push(r.latencyMs);
      windows += r.windows;
      e.clips++;
      clipGates.push(r.gates);
      const h = r.heads[head];
      if (h) {
        e.confusion[labels.indexOf(label)][labels.indexOf(h.label)]++;
        if (h.label === label) e.correct++;
      } else if (r.skipped?.[head] !== undefined) e.skipped = (e.skipped ?? 0) + 1;
      else e.silent++;
      onClip?.(clipLatenciesMs.length, total);
    }
  }
  for (const e of Object.values(result)) e.accuracy = e.clips === 0 ? 0 : e.correct / e.clips;
  const gates = sumGateCounts(clipGates);
  return { heads: result, clipLatenciesMs, windows, ...(Object.keys(gates).length > 0 ? { gates } : {}) };
}

/** The visible names in `dir`, sorted; a folder that cannot be listed is a {@link UserFileError} naming it. */
async function visibleEntries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  } catch (e) {
    throw new UserFileError(`${dir}: cannot list the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, dir, 'io');
  }
}

/** The visible sub-folders of `dir`; with `roots`, one that leads outside them is refused. */
async function subFolders(dir: string, roots?: readonly string[]): Promise<string[]> {
  const names: string[] = [];
  for (const name of await visibleEntries(dir)) {
    const full = join(dir, name);
    if (!statUserPath(full, 'clip')?.isDirectory()) continue;
    if (roots) resolveUserPath(full, 'clip', roots);
    names.push(name);
  }
  return names;
}

/** The clips ending in one of `exts` in a label folder; one that is not a regular file is refused by name, sub-folders are skipped. */
async function clipsIn(dir: string, exts: readonly string[]): Promise<string[]> {
  const clips: string[] = [];
  for (const name of await visibleEntries(dir)) {
    if (!exts.some((e) => name.toLowerCase().endsWith(e))) continue;
    const path = join(dir, name);
    const st = statUserPath(path, 'clip');
    if (!st) throw new UserFileError(`${path}: a link to nothing; remove it or point it at a clip`, path, 'not-found');
    if (st.isDirectory()) continue;
    if (!st.isFile()) throw new UserFileError(`${path} is ${describeFileType(st)}, not a clip; remove it from the folder`, path, 'not-regular');
    clips.push(path);
  }
  return clips;
}
