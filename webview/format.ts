/**
 * The graph's compact shape label and rate. Every other figure the webview shows (times, energies,
 * sizes, counts, battery life, compressions) comes from language/figures.ts, the one
 * formatter the hover, CodeLens, status bar and CLI use too.
 */

/** `[40, 98]` -> `40×98`, the short form an edge label or a node has room for; an empty shape is a scalar. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 0 ? 'scalar' : shape.join('×');
}

/** A rate (0-1) as an `expect` line spells it, `0.3` -> `30%`, `0.304` -> `30.4%`: the graph's gate labels, short enough for an edge. */
export function formatRate(fraction: number): string {
  return `${Number((fraction * 100).toFixed(1))}%`;
}
