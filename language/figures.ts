/**
 * How figures read in hovers, the outline and `sense info`: counts with thousands
 * separators, bytes in binary units (KB = 1024 B, as the language's `KB` unit), and a
 * layer's source-like description (`dense 1024 relu`).
 */
import type { CompressionSpec, LayerSpec } from './pipeline-model';

/** `4056064` -> `4,056,064`. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Bytes in B, KB, MB or GB (binary, 1 KB = 1024 B), three significant figures. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return bytes > 0 ? 'unlimited' : String(bytes);
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : Number(v.toPrecision(3))} ${units[i]}`;
}

/** A time in milliseconds, with a precision that suits its size (`0.0123 ms`, `12.3 ms`). */
export function formatMs(ms: number): string {
  return `${Number(ms.toPrecision(3))} ms`;
}

/** An energy in millijoules, three significant figures. */
export function formatMj(mj: number): string {
  return `${Number(mj.toPrecision(3))} mJ`;
}

/** A rate in MAC/s with the largest SI prefix that keeps the value at least 1 (`6 GMAC/s`). */
export function formatMacsPerS(macsPerS: number): string {
  const prefixes: Array<[number, string]> = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [f, p] of prefixes) if (macsPerS >= f) return `${Number((macsPerS / f).toPrecision(3))} ${p}MAC/s`;
  return `${Number(macsPerS.toPrecision(3))} MAC/s`;
}

/** A bandwidth in bytes per second with SI prefixes (`12.8 GB/s`), as the catalog writes them. */
export function formatBytesPerS(bytesPerS: number): string {
  if (!Number.isFinite(bytesPerS)) return 'unlimited';
  const prefixes: Array<[number, string]> = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [f, p] of prefixes) if (bytesPerS >= f) return `${Number((bytesPerS / f).toPrecision(3))} ${p}B/s`;
  return `${Number(bytesPerS.toPrecision(3))} B/s`;
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
