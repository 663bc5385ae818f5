/** `sense fmt [--check] FILE...`: rewrites files in the canonical layout (language/sense-formatter.ts). */
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { formatSenseDocument } from '../../language/sense-formatter';
import { formatDiagnostic, loadSenseFile } from '../load';
import type { CommandContext } from '../main';

/** Langium's codes for lexer and parser errors, the ones that stop formatting. */
const SYNTAX_CODES: ReadonlySet<string> = new Set(['lexing-error', 'parsing-error']);

export const summary = 'format .sense files in place; --check lists the files that are not formatted and exits 1';
export const usage = 'sense fmt [--check] FILE...';

/** Writes `text` to `path` through a temporary file in the same folder, so a crash never leaves half a file. */
export function writeFileAtomic(path: string, text: string): void {
  const full = resolve(path);
  const temp = join(dirname(full), `.${basename(full)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, text, 'utf8');
    renameSync(temp, full);
  } catch (e) {
    try {
      unlinkSync(temp);
    } catch {
      // The temporary file was never created; nothing to clean up.
    }
    throw e;
  }
}

/** Runs the command; returns the exit code (1: a file is not formatted under --check, or has syntax errors). */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const check = args.includes('--check');
  const unknown = args.filter((a) => a.startsWith('-') && a !== '--check');
  const files = args.filter((a) => !a.startsWith('-'));
  if (unknown.length > 0 || files.length === 0) {
    ctx.err(`usage: ${usage}${unknown.length > 0 ? ` (unknown option ${unknown.join(', ')})` : ''}`);
    return 2;
  }
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
      writeFileAtomic(path, formatted);
      ctx.out(`formatted ${path}`);
    }
  }
  return status;
}
