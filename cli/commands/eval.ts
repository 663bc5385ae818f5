/**
 * `sense eval FILE|BUNDLE DIR [--json]`: accuracy and confusion matrix per head on a
 * labelled folder `DIR/HEAD/LABEL/*.wav` (`*.csv` for inertial pipelines, `*.png` or `*.jpg` for image pipelines).
 */
import { evaluateFolder, LabelledFolderError, type FolderEvaluation, type HeadEvaluation } from '../../runtime/node-files';
import { expectPositionals, parseCommandArgs } from '../args';
import { namingError, UsageError } from '../load';
import type { CommandContext } from '../main';
import { gateLines, openRunner } from './run';
import { formatPercent } from '../../language/figures';

export const summary = 'evaluate on a labelled folder DIR/HEAD/LABEL/*.wav|*.csv|*.png|*.jpg: accuracy and confusion matrix per head (--json)';
export const usage = 'sense eval FILE.sense|BUNDLE DIR [--json] [--pipeline NAME]';

/** Per-head evaluation: rows of `confusion` are true labels, columns predicted labels (runtime/node-files.ts). */
export type HeadEval = HeadEvaluation;

/** Runs the command; returns the exit code. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' }, pipeline: { type: 'string' } }, usage);
  expectPositionals(positionals, 2, 2, 'a .sense file or bundle and a folder', usage);
  const [source, dir] = positionals;
  const runner = await openRunner(source, ctx, values.pipeline);
  try {
    let result: Record<string, HeadEval>;
    let gates: FolderEvaluation['gates'];
    try {
      ({ heads: result, gates } = await evaluateFolder(runner, dir));
    } catch (e) {
      // A folder laid out wrongly is a usage error; a clip that cannot be read or decoded names itself.
      throw e instanceof LabelledFolderError ? new UsageError(e.message) : namingError(e, [dir], 1);
    }
    if (values.json) {
      ctx.out(JSON.stringify({ heads: result, ...(gates ? { gates } : {}) }, null, 2));
      return 0;
    }
    for (const [head, e] of Object.entries(result)) {
      ctx.out(`${head}: accuracy ${formatPercent(e.accuracy)} (${e.correct}/${e.clips}${e.silent ? `, ${e.silent} silent` : ''}${e.skipped ? `, ${e.skipped} skipped by its gate` : ''})`);
      const w = Math.max(8, ...e.labels.map((l) => l.length)) + 1;
      ctx.out(`  ${'true\\pred'.padEnd(w)}${e.labels.map((l) => l.padStart(w)).join('')}`);
      e.labels.forEach((l, i) => ctx.out(`  ${l.padEnd(w)}${e.confusion[i].map((n) => String(n).padStart(w)).join('')}`));
    }
    for (const line of gateLines([{ gates }])) ctx.out(line);
    return 0;
  } finally {
    await runner.release();
  }
}
