/**
 * Node-only reading of labelled training data: the layout the sample generator writes
 * (scripts/samples/README.md), `DATA/HEAD/LABEL/*.wav` for audio pipelines and
 * `DATA/HEAD/LABEL/*.csv` for inertial ones, and folders of noise clips for
 * mixed-condition synthesis. Clips are decoded and cut into windows by runtime/ (the same
 * code the studio and the exported runtime use); only this module touches the file system.
 */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describeFileType, statUserPath } from '../../io/user-files';
import type { BlockSpec, PipelineSpec } from '../../language/pipeline-model';
import { audioWindows } from '../../runtime/features';
import { inertialWindows } from '../../runtime/inertial';
import { readInertialCsvFile, readWavFile } from '../../runtime/node-files';
import { toMonoAt } from '../../runtime/resample';
import type { Window } from './features';
import type { TrainExample } from './trainer';

/** Labelled data read from a folder. */
export interface LabelledData {
  examples: TrainExample[];
  /** Class names per head, in output order. */
  labels: Record<string, string[]>;
  /** Clips per head. */
  clips: Record<string, number>;
  /** Things the user should know that do not stop training (ignored folders, heads without data). */
  warnings: string[];
}

/** Options of {@link readLabelledData}. */
export interface ReadDataOptions {
  /** Only these heads (all of the pipeline's heads found in the folder when undefined). */
  heads?: string[];
  /** Keeps a clip when true (given its file name); every clip when undefined. */
  acceptFile?: (fileName: string) => boolean;
}

function isDir(p: string): boolean {
  try {
    return statUserPath(p, 'clip')?.isDirectory() ?? false;
  } catch {
    return false;
  }
}

/** Throws an Error naming `path` unless it is a regular file (links followed); nothing is opened. */
function requireClipFile(path: string): void {
  const st = statUserPath(path, 'clip');
  if (!st) throw new Error(`${path}: a link to nothing; remove it or point it at a clip`);
  if (!st.isFile()) throw new Error(`${path} is ${describeFileType(st)}, not a clip; remove it from the folder`);
}

function sortedEntries(dir: string): string[] {
  return readdirSync(dir).filter((n) => !n.startsWith('.')).sort();
}

/** Cuts one clip file into the pipeline's windows (audio: mono at the input's rate). */
export function clipWindows(spec: PipelineSpec, path: string): Window[] {
  const input = spec.input;
  if (input.kind === 'audio') return audioWindows(toMonoAt(readWavFile(path), input.rateHz), input);
  if (input.kind === 'inertial') return inertialWindows(readInertialCsvFile(path), input);
  throw new Error(`${path}: pipeline ${spec.name} reads images; 'sense train' reads WAV (audio) and CSV (inertial) clips only`);
}

function labelsOfHead(block: BlockSpec, folders: string[], headDir: string): string[] {
  const width = block.outputShape[0];
  if (block.labels) {
    const unknown = folders.filter((f) => !block.labels!.includes(f));
    if (unknown.length > 0)
      throw new Error(`${headDir}: folder${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `'${u}'`).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not a label of head ${block.name} (labels: ${block.labels.join(', ')}); rename ${unknown.length > 1 ? 'them' : 'it'} or add the label to the pipeline`);
    return block.labels;
  }
  if (folders.length !== width)
    throw new Error(`${headDir}: head ${block.name} has ${width} outputs but the folder holds ${folders.length} label folders (${folders.join(', ')}); give the head 'labels [...]' or make the folders match`);
  return folders;
}

/**
 * Reads `dir/HEAD/LABEL/*` for the pipeline's heads. A head folder the pipeline does not
 * have, or a pipeline head without a folder, gives a warning; a label folder that is not a
 * label of its head, a head without labels whose folder count differs from its width, an
 * empty head, a clip of the wrong kind or an unreadable clip give an Error naming the path
 * and the fix.
 */
export function readLabelledData(spec: PipelineSpec, dir: string, opts: ReadDataOptions = {}): LabelledData {
  if (!statUserPath(dir, 'clip')) throw new Error(`${dir}: no such folder; give a data folder laid out as HEAD/LABEL/clip files (see scripts/samples/README.md)`);
  if (!isDir(dir)) throw new Error(`${dir} is a file; give a data folder laid out as HEAD/LABEL/clip files`);
  if (spec.input.kind === 'image') throw new Error(`pipeline ${spec.name} reads images; 'sense train' reads WAV (audio) and CSV (inertial) clips only`);
  const ext = spec.input.kind === 'audio' ? '.wav' : '.csv';
  const headBlocks = spec.blocks.filter((b) => b.kind === 'head');
  const warnings: string[] = [];
  for (const h of opts.heads ?? []) {
    if (!headBlocks.some((b) => b.name === h)) throw new Error(`--heads: pipeline ${spec.name} has no head '${h}' (heads: ${headBlocks.map((b) => b.name).join(', ')})`);
  }
  const wanted = headBlocks.filter((b) => !opts.heads || opts.heads.includes(b.name));
  const present = sortedEntries(dir).filter((n) => isDir(join(dir, n)));
  for (const n of present) if (!headBlocks.some((b) => b.name === n)) warnings.push(`${join(dir, n)}: pipeline ${spec.name} has no head '${n}'; folder ignored`);
  const examples: TrainExample[] = [];
  const labels: Record<string, string[]> = {};
  const clips: Record<string, number> = {};
  for (const block of wanted) {
    const headDir = join(dir, block.name);
    if (!isDir(headDir)) {
      const msg = `${dir}: no '${block.name}' folder, so head ${block.name} gets no labels (its layers keep their initial weights)`;
      if (opts.heads) throw new Error(`${msg}; remove it from --heads or add the folder`);
      warnings.push(msg);
      continue;
    }
    const folders = sortedEntries(headDir).filter((n) => isDir(join(headDir, n)));
    const names = labelsOfHead(block, folders, headDir);
    labels[block.name] = names;
    clips[block.name] = 0;
    for (const folder of folders) {
      const labelDir = join(headDir, folder);
      const files = sortedEntries(labelDir).filter((f) => !isDir(join(labelDir, f)));
      const wrong = files.filter((f) => !f.toLowerCase().endsWith(ext) && !f.toLowerCase().endsWith('.json'));
      if (wrong.length > 0) warnings.push(`${labelDir}: ${wrong.length} file(s) that are not ${ext} ignored (e.g. ${wrong[0]})`);
      const label = names.indexOf(folder);
      for (const f of files.filter((x) => x.toLowerCase().endsWith(ext) && (!opts.acceptFile || opts.acceptFile(x)))) {
        const path = join(labelDir, f);
        requireClipFile(path);
        for (const window of clipWindows(spec, path)) examples.push({ clip: path, head: block.name, label, window });
        clips[block.name]++;
      }
    }
    if (clips[block.name] === 0) throw new Error(`${headDir}: no ${ext} clips in its label folders; generate data (npm run samples:generate) or remove the folder`);
    const missing = names.filter((n) => !folders.includes(n));
    if (missing.length > 0) warnings.push(`${headDir}: no folder for label${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; the head never sees ${missing.length > 1 ? 'them' : 'it'}`);
  }
  if (examples.length === 0)
    throw new Error(`${dir}: no clips for any head of pipeline ${spec.name} (heads: ${headBlocks.map((b) => b.name).join(', ')}); expected ${dir}/HEAD/LABEL/*${ext}`);
  return { examples, labels, clips, warnings };
}

/**
 * Every file under the folder `dir` (recursively, sorted, hidden entries skipped) whose name
 * ends in `ext` (case-insensitive), each checked to be a regular file (links followed).
 * Throws an Error naming the path when one is a link to nothing or not a file.
 */
export function clipFilesUnder(dir: string, ext: string): string[] {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const n of sortedEntries(d)) {
      const p = join(d, n);
      if (isDir(p)) walk(p);
      else if (n.toLowerCase().endsWith(ext)) {
        requireClipFile(p);
        files.push(p);
      }
    }
  };
  walk(dir);
  return files;
}

/** Reads every WAV under `dir` (recursively, sorted) as mono at `rateHz`, for noise mixing. */
export function readNoiseClips(dir: string, rateHz: number): { signals: Float32Array[]; files: string[] } {
  if (!isDir(dir)) throw new Error(`--noise-dir ${dir}: no such folder; give a folder of background-noise WAV files`);
  const files = clipFilesUnder(dir, '.wav');
  if (files.length === 0) throw new Error(`--noise-dir ${dir}: no .wav files in it or its subfolders`);
  const signals = files.map((f) => toMonoAt(readWavFile(f), rateHz)).filter((s) => s.some((v) => v !== 0));
  if (signals.length === 0) throw new Error(`--noise-dir ${dir}: every WAV is silent; noise must have energy to set an SNR`);
  return { signals, files: files.map((f) => relative(dir, f)) };
}

/**
 * Reads every clip of the pipeline's kind under `dir` (recursively, sorted; `.wav` for audio,
 * `.csv` for inertial) as unlabeled windows for pre-training: folder names are ignored, so a
 * labelled `HEAD/LABEL/` tree serves as well as a flat folder. Throws an Error naming `dir` and
 * the fix when it is missing, a file, or holds no clip of the kind (saying which other clips it found).
 */
export function readUnlabeledWindows(spec: PipelineSpec, dir: string): { windows: Window[]; clips: number } {
  if (!statUserPath(dir, 'clip')) throw new Error(`--pretrain ${dir}: no such folder; give a folder of unlabeled clips`);
  if (!isDir(dir)) throw new Error(`--pretrain ${dir} is a file; give a folder of unlabeled clips`);
  if (spec.input.kind === 'image') throw new Error(`--pretrain: pipeline ${spec.name} reads images; pre-training reads WAV (audio) and CSV (inertial) clips only`);
  const ext = spec.input.kind === 'audio' ? '.wav' : '.csv';
  const files = clipFilesUnder(dir, ext);
  if (files.length === 0) {
    const other = ext === '.wav' ? '.csv' : '.wav';
    const found = clipFilesUnder(dir, other).length;
    const hint = found > 0 ? `; it holds ${found} ${other} file(s), but pipeline ${spec.name} reads ${spec.input.kind} (${ext}) clips` : '';
    throw new Error(`--pretrain ${dir}: no ${ext} clips in it or its subfolders${hint}`);
  }
  const windows: Window[] = [];
  for (const f of files) {
    try {
      windows.push(...clipWindows(spec, f));
    } catch (e) {
      throw new Error(`--pretrain: ${(e as Error).message}`);
    }
  }
  if (windows.length === 0) throw new Error(`--pretrain ${dir}: its ${files.length} clip(s) are all shorter than one ${spec.input.kind} window`);
  return { windows, clips: files.length };
}
