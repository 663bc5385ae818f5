/** `sense fmt [--check] FILE...`: rewrites files in the canonical layout (language/sense-formatter.ts). */
import { formatSenseDocument } from '../../language/sense-formatter';
import { parseCommandArgs } from '../args';
import { formatDiagnostic, loadSenseFile, UsageError, writeSenseFile } from '../load';
import type { CommandContext } from '../main';

/** Langium's codes for lexer and parser errors, the ones that stop formatting. */
const SYNTAX_CODES: ReadonlySet<string> = new Set(['lexing-error', 'parsing-error']);

export const summary = 'format .sense files in place; --check lists the files that are not formatted and exits 1';
export const usage = 'sense fmt [--check] FILE...';

/** Runs the command; returns the exit code (1: a file is not formatted under --check, or has syntax errors). */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals: files } = parseCommandArgs(args, { check: { type: 'boolean' } }, usage);
  const check = values.check ?? false;
  if (files.length === 0) throw new UsageError(`give at least one .sense file; usage: ${usage}`);
  let status = 0;
  for (const path of files) {
    const file = await loadSenseFile(path);
    const formatted = formatSenseDocument(file.document);
    if (formatted === undefined) {
      const syntax = file.diagnostics.filter((d) => SYNTAX_CODES.has((d.data as { code?: string } | undefined)?.code ?? ''));
      ctx.err(`sense fmt: ${path} has syntax errors and was not formatted; fix them first:`);
      for (const d of syntax) ctx.err(formatDiagnostic(path, d));
      status = 1;
      continue;
    }
    if (formatted === file.text) continue;
    if (check) {
      ctx.out(path);
      status = 1;
    } else {
      writeSenseFile(path, formatted);
      ctx.out(`formatted ${path}`);
    }
  }
  return status;
}
