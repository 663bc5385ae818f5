/**
 * Shared helpers of the language tests: services, document building, and the inline
 * diagnostic markers the fixtures under fixtures/diagnostics/ use.
 *
 * Marker syntax (comments, so they never change what the parser sees):
 *
 *   place encodr on dsp
 *   //    ^^^^^^ error unresolved-block
 *
 * A caret line marks the nearest line above it that is not itself a marker: the carets
 * cover the diagnostic's range (start column to end column, one line). A range that
 * starts in column 0 or 1, or spans lines, is written explicitly with 1-based positions:
 *
 *   //@ error missing-input 1:10-1:15
 */
import { URI, type LangiumDocument } from 'langium';
import type { Diagnostic } from 'vscode-languageserver-types';
import { buildDocument, createSenseServices } from '../../../language/sense-module';
import type { PipelineEstimator } from '../../../language/estimator';
import type * as ast from '../../../language/generated/ast';

/** The services of one test file. */
export type Services = ReturnType<typeof createSenseServices>;

/** Services with an optional estimator (tests inject a fake one). */
export function makeServices(estimator?: PipelineEstimator): Services {
  return createSenseServices(undefined, { fileExists: () => false, ...(estimator ? { estimator } : {}) });
}

let counter = 0;

/** Builds `text` as a new document with a `file:` URI (so the weights check runs). */
export async function build(services: Services, text: string, name = `doc${++counter}.sense`): Promise<LangiumDocument<ast.Model>> {
  return buildDocument(services, text, URI.file(`/fixtures/${name}`).toString());
}

/** A diagnostic reduced to what fixtures state: severity, code and range (1-based). */
export interface Expected {
  severity: 'error' | 'warning' | 'info';
  code: string;
  range: string;
}

const SEVERITY: Record<number, Expected['severity']> = { 1: 'error', 2: 'warning', 3: 'info' };

/** `L:C-L:C`, 1-based, as markers and failure messages print ranges. */
export function rangeText(d: Pick<Diagnostic, 'range'>): string {
  const { start, end } = d.range;
  return `${start.line + 1}:${start.character + 1}-${end.line + 1}:${end.character + 1}`;
}

/** The code of a diagnostic, whether Langium put it in `code` or `data.code`. */
export function codeOf(d: Diagnostic): string {
  return String(d.code ?? (d.data as { code?: string } | undefined)?.code ?? '');
}

/** Reduces diagnostics to comparable strings, sorted. */
export function actualOf(diagnostics: Diagnostic[]): string[] {
  return diagnostics.map((d) => `${SEVERITY[d.severity ?? 1]} ${codeOf(d)} ${rangeText(d)}`).sort();
}

const CARET = /^(\s*\/\/\s*)(\^+)\s+(error|warning|info)\s+([a-z0-9-]+)\s*$/;
const EXPLICIT = /^\s*\/\/@\s+(error|warning|info)\s+([a-z0-9-]+)\s+(\d+:\d+-\d+:\d+)\s*$/;

/** The expectations written in a fixture, as sorted strings comparable with {@link actualOf}. */
export function expectedOf(text: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  let target = -1;
  lines.forEach((line, i) => {
    const caret = CARET.exec(line);
    const explicit = EXPLICIT.exec(line);
    if (caret) {
      const start = caret[1].length;
      const end = start + caret[2].length;
      out.push(`${caret[3]} ${caret[4]} ${target + 1}:${start + 1}-${target + 1}:${end + 1}`);
    } else if (explicit) {
      out.push(`${explicit[1]} ${explicit[2]} ${explicit[3]}`);
    } else target = i;
  });
  return out.sort();
}

/** Writes markers for `diagnostics` under their lines: used to author fixtures, then checked by eye. */
export function annotate(text: string, diagnostics: Diagnostic[]): string {
  const lines = text.split('\n');
  const under = new Map<number, string[]>();
  for (const d of diagnostics) {
    const { start, end } = d.range;
    const sev = SEVERITY[d.severity ?? 1];
    const marker =
      start.line === end.line && start.character >= 2 && end.character > start.character
        ? `//${' '.repeat(start.character - 2)}${'^'.repeat(end.character - start.character)} ${sev} ${codeOf(d)}`
        : `//@ ${sev} ${codeOf(d)} ${rangeText(d)}`;
    under.set(start.line, [...(under.get(start.line) ?? []), marker]);
  }
  return lines.flatMap((l, i) => [l, ...(under.get(i) ?? [])]).join('\n');
}
