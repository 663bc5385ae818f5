/**
 * How figures read wherever a person sees them: hover, CodeLens, the outline, completion,
 * diagnostics, the graph editor, the status bar and the CLI. One convention, so one figure
 * reads the same everywhere:
 *
 * - Sizes in binary units with IEC labels (1 KiB = 1024 B, 1 MiB = 2^20 B, 1 GiB = 2^30 B).
 *   The language's own `KB`, `MB` and `GB` are binary (language/units.ts), so `memory 64 MB`
 *   reads back as `64 MiB`.
 * - Rates in decimal (SI) factors, as the language's rate units are: `12.8 GB/s` is
 *   12.8 x 10^9 B/s, `6 GMAC/s` is 6 x 10^9 MAC/s; the labels are the language's own.
 * - Three significant digits with trailing zeros dropped (`1.96 ms`, `2 ms`, `0.0123 ms`);
 *   a value of 1000 or more in its unit is rounded to a whole number (`1234 ms`).
 * - Times in milliseconds and energies in millijoules, whatever their size; battery life in
 *   hours below 48 h and in days from 48 h (`47.5 h`, `9.38 days`).
 *
 * The file imports no Langium, so the webview bundles it too.
 */
import type { CompressionSpec, LayerSpec } from './pipeline-model';

/** Hours from which {@link formatHours} counts in days. */
const DAYS_FROM_HOURS = 48;

/**
 * A number by the one rule of this module: three significant digits with trailing zeros
 * dropped, and whole numbers from 1000 up (`1.96`, `2`, `0.0123`, `1234`).
 */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 1000) return String(Math.round(x));
  return String(Number(x.toPrecision(3)));
}

/** `4056064` -> `4,056,064`: an exact count, as hover and `sense info` show parameters. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A count for a small space, as the graph's nodes show it: exact below 10,000, else `12.3 k`, `1.23 M`, `4.06 G`. */
export function formatCountShort(n: number): string {
  const abs = Math.abs(n);
  if (!Number.isFinite(n) || abs < 1e4) return String(Math.round(n));
  const [factor, prefix] = abs >= 1e9 ? [1e9, 'G'] : abs >= 1e6 ? [1e6, 'M'] : [1e3, 'k'];
  return `${formatNumber(n / factor)} ${prefix}`;
}

/** Bytes in B, KiB, MiB, GiB or TiB (binary, 1 KiB = 1024 B); an unbounded size (Infinity) is `unlimited`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return bytes > 0 ? 'unlimited' : String(bytes);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? Math.round(v) : formatNumber(v)} ${units[i]}`;
}

/** A time in milliseconds (`0.0123 ms`, `1.96 ms`, `1234 ms`). */
export function formatMs(ms: number): string {
  return `${formatNumber(ms)} ms`;
}

/** An energy in millijoules (`0.0632 mJ`, `1.78 mJ`). */
export function formatMj(mj: number): string {
  return `${formatNumber(mj)} mJ`;
}

/** A battery life: hours below 48 h, days from 48 h (`47.5 h`, `9.38 days`); an endless one is `unlimited`. */
export function formatHours(hours: number): string {
  if (!Number.isFinite(hours)) return hours > 0 ? 'unlimited' : String(hours);
  return hours >= DAYS_FROM_HOURS ? `${formatNumber(hours / 24)} days` : `${formatNumber(hours)} h`;
}

/**
 * An accuracy or a probability as a percentage with one decimal (`0.9` -> `90.0%`,
 * `0.8964` -> `89.6%`): fixed decimals, unlike the other figures, so the accuracy before and
 * after a compression, and the probabilities of one clip, line up and compare digit by digit.
 */
export function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

/** A figure in one of the units the engine reports a plan's metric in (engine/auto-compress.ts). */
export function formatInUnit(value: number, unit: 'bytes' | 'ms' | 'mJ'): string {
  return unit === 'bytes' ? formatBytes(value) : unit === 'ms' ? formatMs(value) : formatMj(value);
}

/** A signed relative change from `before` to `after` (`-73.4%`, `+5%`, `±0%`). */
export function formatDelta(before: number, after: number): string {
  if (before === 0) return after === 0 ? '±0%' : '+∞';
  const pct = ((after - before) / before) * 100;
  return `${pct > 0 ? '+' : pct < 0 ? '−' : '±'}${formatNumber(Math.abs(pct))}%`;
}

/** A signed absolute change (`+1,024`, `−3.5 mJ`, `±0`): the sign as {@link formatDelta} writes it, then `format` of its size. */
export function formatSigned(x: number, format: (abs: number) => string): string {
  return `${x > 0 ? '+' : x < 0 ? '−' : '±'}${format(Math.abs(x))}`;
}

/** `value` in the largest of `prefixes` (decimal factors, largest first) that keeps it at least 1, then `unit`. */
function withSiPrefix(value: number, prefixes: ReadonlyArray<readonly [number, string]>, unit: string): string {
  for (const [factor, prefix] of prefixes) if (value >= factor) return `${formatNumber(value / factor)} ${prefix}${unit}`;
  return `${formatNumber(value)} ${unit}`;
}

/** A rate in MAC/s with the largest SI prefix that keeps the value at least 1 (`6 GMAC/s`). */
export function formatMacsPerS(macsPerS: number): string {
  return withSiPrefix(macsPerS, [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'K']], 'MAC/s');
}

/** A bandwidth in bytes per second with SI prefixes (`12.8 GB/s`), as the language writes them; Infinity is `unlimited`. */
export function formatBytesPerS(bytesPerS: number): string {
  if (!Number.isFinite(bytesPerS)) return 'unlimited';
  return withSiPrefix(bytesPerS, [[1e9, 'G'], [1e6, 'M'], [1e3, 'K']], 'B/s');
}

/** A layer as it reads in the source, without its name: `conv2d 96 kernel 11 x 11 stride 4 relu`. */
export function describeLayer(layer: LayerSpec): string {
  const act = layer.activation && layer.kind !== 'activation' ? ` ${layer.activation}` : '';
  switch (layer.kind) {
    case 'dense':
      return `dense ${layer.units}${act}`;
    case 'gru':
    case 'lstm':
      return `${layer.kind} ${layer.units}${layer.sequences ? ' sequences' : ''}`;
    case 'conv1d':
    case 'conv2d': {
      const k = (layer.kernel ?? []).join(' x ');
      return `${layer.kind} ${layer.filters} kernel ${k}${layer.stride && layer.stride !== 1 ? ` stride ${layer.stride}` : ''}${layer.padding === 'same' ? ' padding same' : ''}${act}`;
    }
    case 'maxpool':
    case 'avgpool':
      return layer.global ? `${layer.kind} global` : `${layer.kind} ${(layer.poolSize ?? []).join(' x ')}${layer.stride !== undefined ? ` stride ${layer.stride}` : ''}`;
    case 'dropout':
      return `dropout ${layer.dropoutRate}`;
    case 'activation':
      return layer.activation ?? 'activation';
    default:
      return layer.kind;
  }
}

/** A compression as the `compress` line writes it: `svd rank 256`, `svd energy 95%`, `int8`. */
export function describeCompression(c: CompressionSpec): string {
  switch (c.kind) {
    case 'svd':
      return c.criterion === 'rank' ? `svd rank ${c.rank}` : `svd ${c.criterion} ${Number((c.fraction * 100).toPrecision(4))}%`;
    case 'sparse':
      return `sparse atoms ${c.atoms} nonzeros ${c.nonzeros}`;
    case 'int8':
      return 'int8';
  }
}
