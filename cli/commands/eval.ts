/**
 * `sense eval FILE|BUNDLE DIR [--json]`: accuracy and confusion matrix per head on a
 * labelled folder `DIR/HEAD/LABEL/*.wav` (or `*.csv` for inertial pipelines).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describeFileType, statUserPath } from '../../io/user-files';
import { expectPositionals, parseCommandArgs } from '../args';
import { namingError, UsageError } from '../load';
import type { CommandContext } from '../main';
import { openRunner, runClipFile } from './run';

export const summary = 'evaluate on a labelled folder DIR/HEAD/LABEL/*.wav|*.csv: accuracy and confusion matrix per head (--json)';
export const usage = 'sense eval FILE.sense|BUNDLE DIR [--json] [--pipeline NAME]';

/** Per-head evaluation: rows of `confusion` are true labels, columns predicted labels. */
export interface HeadEval {
  labels: string[];
  clips: number;
  correct: number;
  accuracy: number;
  /** Clips whose every window was silent (no prediction; counted as wrong). */
  silent: number;
  confusion: number[][];
}

/** What is at `path` (links followed), with loops and unreadable entries as a {@link UsageError} naming it. */
function entryAt(path: string): ReturnType<typeof statUserPath> {
  try {
    return statUserPath(path, 'clip');
  } catch (e) {
    throw namingError(e, [path], 2);
  }
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => !n.startsWith('.'))
      .sort();
  } catch (e) {
    throw new UsageError(`${dir}: cannot list the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function listDirs(dir: string): string[] {
  return entries(dir).filter((n) => entryAt(join(dir, n))?.isDirectory());
}

/**
 * The clips with extension `ext` in a label folder. A clip that is not a regular file (a FIFO,
 * a device, a dangling link) is refused by name rather than opened; folders are skipped.
 */
function listClips(dir: string, ext: string): string[] {
  const clips: string[] = [];
  for (const n of entries(dir)) {
    if (!n.toLowerCase().endsWith(ext)) continue;
    const path = join(dir, n);
    const st = entryAt(path);
    if (!st) throw new UsageError(`${path}: a link to nothing; remove it or point it at a clip`);
    if (st.isDirectory()) continue;
    if (!st.isFile()) throw new UsageError(`${path} is ${describeFileType(st)}, not a clip; remove it from the folder`);
    clips.push(path);
  }
  return clips;
}

/** Runs the command; returns the exit code. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' }, pipeline: { type: 'string' } }, usage);
  expectPositionals(positionals, 2, 2, 'a .sense file or bundle and a folder', usage);
  const [source, dir] = positionals;
  if (!entryAt(dir)?.isDirectory()) throw new UsageError(`${dir}: not a folder; give DIR/HEAD/LABEL/*.wav`);
  const runner = await openRunner(source, ctx, values.pipeline);
  try {
    const heads = runner.manifest.heads;
    const ext = runner.manifest.input.kind === 'inertial' ? '.csv' : '.wav';
    const plan: { head: string; label: string; files: string[] }[] = [];
    for (const head of listDirs(dir)) {
      if (!heads[head]) throw new UsageError(`${join(dir, head)}: the pipeline has no head '${head}' (heads: ${Object.keys(heads).join(', ')})`);
      for (const label of listDirs(join(dir, head))) {
        if (!heads[head].labels.includes(label))
          throw new UsageError(`${join(dir, head, label)}: head ${head} has no label '${label}' (labels: ${heads[head].labels.join(', ')})`);
        plan.push({ head, label, files: listClips(join(dir, head, label), ext) });
      }
    }
    if (plan.every((p) => p.files.length === 0)) throw new UsageError(`${dir}: no ${ext} clips found under HEAD/LABEL folders`);
    const result: Record<string, HeadEval> = {};
    for (const { head, label, files } of plan) {
      const labels = heads[head].labels;
      const e = (result[head] ??= { labels, clips: 0, correct: 0, accuracy: 0, silent: 0, confusion: labels.map(() => labels.map(() => 0)) });
      for (const f of files) {
        const r = await runClipFile(runner, f);
        e.clips++;
        const h = r.heads[head];
        if (!h) {
          e.silent++;
          continue;
        }
        e.confusion[labels.indexOf(label)][labels.indexOf(h.label)]++;
        if (h.label === label) e.correct++;
      }
    }
    for (const e of Object.values(result)) e.accuracy = e.clips === 0 ? 0 : e.correct / e.clips;
    if (values.json) {
      ctx.out(JSON.stringify({ heads: result }, null, 2));
      return 0;
    }
    for (const [head, e] of Object.entries(result)) {
      ctx.out(`${head}: accuracy ${(e.accuracy * 100).toFixed(1)}% (${e.correct}/${e.clips}${e.silent ? `, ${e.silent} silent` : ''})`);
      const w = Math.max(8, ...e.labels.map((l) => l.length)) + 1;
      ctx.out(`  ${'true\\pred'.padEnd(w)}${e.labels.map((l) => l.padStart(w)).join('')}`);
      e.labels.forEach((l, i) => ctx.out(`  ${l.padEnd(w)}${e.confusion[i].map((n) => String(n).padStart(w)).join('')}`));
    }
    return 0;
  } finally {
    await runner.release();
  }
}
