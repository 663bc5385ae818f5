/**
 * The `sense` command line as the unit tests drive it: `main` run in this process with its
 * output and error lines collected, and the text of a pipeline without the lines a command
 * writes (`place`, `compress`), for checking that `--write` changed nothing else.
 */
import { main } from '../../cli/main';

/** One `sense` invocation: its exit code, and what it printed, joined and as lines. */
export interface SenseRun {
  code: number;
  out: string;
  err: string;
  outLines: string[];
  errLines: string[];
}

/** Runs `sense ...argv` in this process. */
export async function sense(...argv: string[]): Promise<SenseRun> {
  const outLines: string[] = [];
  const errLines: string[] = [];
  const code = await main(argv, { out: (l) => outLines.push(l), err: (l) => errLines.push(l) });
  return { code, out: outLines.join('\n'), err: errLines.join('\n'), outLines, errLines };
}

/** `text` without the lines that start (after indentation) with the keyword `keyword`. */
export function withoutLines(text: string, keyword: string): string {
  const starts = new RegExp(`^\\s*${keyword}\\b`);
  return text
    .split('\n')
    .filter((l) => !starts.test(l))
    .join('\n');
}
