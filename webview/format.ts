/** Number and shape formatting for the graph editor (compact, with units). */

/** `[40, 98]` -> `40×98`; an empty shape is a scalar. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 0 ? 'scalar' : shape.join('×');
}

/** 1234567 -> `1.23 M`; small counts stay exact. */
export function formatCount(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  return String(Math.round(n));
}

/** Milliseconds with a precision that suits the magnitude. */
export function formatMs(ms: number): string {
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  if (ms >= 0.1) return `${ms.toFixed(2)} ms`;
  return `${(ms * 1000).toFixed(0)} µs`;
}

/** Millijoules, switching to microjoules below 0.1 mJ. */
export function formatMj(mj: number): string {
  if (mj >= 100) return `${mj.toFixed(0)} mJ`;
  if (mj >= 0.1) return `${mj.toFixed(2)} mJ`;
  return `${(mj * 1000).toFixed(1)} µJ`;
}

/** Bytes in binary units. */
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  if (bytes >= 2 ** 10) return `${(bytes / 2 ** 10).toFixed(1)} KiB`;
  return `${Math.round(bytes)} B`;
}

/** Hours as `h`, or days beyond 48 h. */
export function formatHours(h: number): string {
  return h >= 48 ? `${(h / 24).toFixed(1)} days` : `${h.toFixed(1)} h`;
}

/** A signed relative change: `-73.4%`. */
export function formatDelta(before: number, after: number): string {
  if (before === 0) return after === 0 ? '±0%' : '+∞';
  const pct = ((after - before) / before) * 100;
  return `${pct > 0 ? '+' : pct < 0 ? '−' : '±'}${Math.abs(pct).toFixed(1)}%`;
}

/** A compression method in the words of the `compress` line. */
export function formatCompression(c: { kind: string; criterion?: string; rank?: number; fraction?: number; atoms?: number; nonzeros?: number }): string {
  if (c.kind === 'svd' && c.criterion === 'rank') return `svd rank ${c.rank}`;
  if (c.kind === 'svd' && c.criterion === 'energy') return `svd energy ${((c.fraction ?? 0) * 100).toFixed(0)}%`;
  if (c.kind === 'svd') return `svd error ${((c.fraction ?? 0) * 100).toFixed(1)}%`;
  if (c.kind === 'sparse') return `ksvd ${c.atoms} atoms ${c.nonzeros} nonzeros`;
  return c.kind;
}
