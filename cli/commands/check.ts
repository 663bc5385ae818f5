/** `sense check FILE...`: one line per diagnostic; exit 1 if any error. */
import { parseCommandArgs } from '../args';
import { formatDiagnostic, loadSenseFile, UsageError } from '../load';
import type { CommandContext } from '../main';

export const summary = 'check .sense files and print diagnostics (file:line:col: severity CODE: message)';
export const usage = 'sense check FILE...';

/** Runs the command; returns the exit code. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { positionals: files } = parseCommandArgs(args, {}, usage);
  if (files.length === 0) throw new UsageError(`give at least one .sense file; usage: ${usage}`);
  let errors = 0;
  for (const path of files) {
    const file = await loadSenseFile(path);
    const sorted = [...file.diagnostics].sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
    for (const d of sorted) {
      if (d.severity === 1) errors++;
      ctx.out(formatDiagnostic(path, d));
    }
  }
  return errors > 0 ? 1 : 0;
}
