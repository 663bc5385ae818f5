/**
 * Plain-text tables for the CLI's reports. A table's numeric cells are written with a fixed
 * number of decimals so a column lines up on its decimal point; the unit is in the column's
 * header. Figures that stand alone in a sentence use language/figures.ts instead.
 */

/** A table cell: `x` with `digits` decimals (a non-finite value as `Infinity`/`NaN`). */
export function fixed(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/** The lines of a table: the header, a rule of dashes, then one line a row; `rightAligned[i]` pads column i on the left. */
export function table(headers: string[], rows: string[][], rightAligned: boolean[]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (rightAligned[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
