/**
 * `sense eval FILE|BUNDLE DIR [--json]`: accuracy and confusion matrix per head on a
 * labelled folder `DIR/HEAD/LABEL/*.wav` (or `*.csv` for inertial pipelines).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../load';
import type { CommandContext } from '../main';
import { flagValue, openRunner, positionals, runClipFile } from './run';

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

function listDirs(dir: string): string[] {
  return readdirSync(dir).filter((n) => !n.startsWith('.') && statSync(join(dir, n)).isDirectory()).sort();
}

/** Runs the command; returns the exit code. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const [source, dir] = positionals(args, ['--pipeline']);
  if (!source || !dir) throw new UsageError(`usage: ${usage}`);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${dir}: not a folder; give DIR/HEAD/LABEL/*.wav`);
  const runner = await openRunner(source, ctx, flagValue(args, '--pipeline'));
  try {
    const heads = runner.manifest.heads;
    const ext = runner.manifest.input.kind === 'inertial' ? '.csv' : '.wav';
    const plan: { head: string; label: string; files: string[] }[] = [];
    for (const head of listDirs(dir)) {
      if (!heads[head]) throw new UsageError(`${join(dir, head)}: the pipeline has no head '${head}' (heads: ${Object.keys(heads).join(', ')})`);
      for (const label of listDirs(join(dir, head))) {
        if (!heads[head].labels.includes(label))
          throw new UsageError(`${join(dir, head, label)}: head ${head} has no label '${label}' (labels: ${heads[head].labels.join(', ')})`);
        const files = readdirSync(join(dir, head, label)).filter((f) => f.toLowerCase().endsWith(ext)).sort();
        plan.push({ head, label, files: files.map((f) => join(dir, head, label, f)) });
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
    if (args.includes('--json')) {
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
