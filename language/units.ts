/**
 * Units of the `.sense` language. Each unit belongs to one dimension and converts to
 * that dimension's base unit by a factor: seconds, hertz, bytes, bytes per second,
 * MAC per second, milliwatts, millijoules, milliamp-hours, volts, decibels, picojoules
 * per byte, and fractions (percent).
 */

/** The physical dimension a setting expects. */
export type Dimension =
  | 'time'
  | 'frequency'
  | 'level'
  | 'power'
  | 'energy'
  | 'bytes'
  | 'bandwidth'
  | 'compute'
  | 'charge'
  | 'voltage'
  | 'fraction'
  | 'energyPerByte'
  | 'count';

interface UnitInfo {
  dimension: Dimension;
  /** Multiply a value in this unit by `factor` to get the dimension's base unit. */
  factor: number;
}

/** Base units: s, Hz, dB, mW, mJ, bytes, bytes/s, MAC/s, mAh, V, fraction (0..1), pJ/byte. */
export const UNITS: Readonly<Record<string, UnitInfo>> = {
  s: { dimension: 'time', factor: 1 },
  ms: { dimension: 'time', factor: 1e-3 },
  us: { dimension: 'time', factor: 1e-6 },
  min: { dimension: 'time', factor: 60 },
  h: { dimension: 'time', factor: 3600 },
  Hz: { dimension: 'frequency', factor: 1 },
  kHz: { dimension: 'frequency', factor: 1e3 },
  MHz: { dimension: 'frequency', factor: 1e6 },
  GHz: { dimension: 'frequency', factor: 1e9 },
  dB: { dimension: 'level', factor: 1 },
  uW: { dimension: 'power', factor: 1e-3 },
  mW: { dimension: 'power', factor: 1 },
  W: { dimension: 'power', factor: 1e3 },
  uJ: { dimension: 'energy', factor: 1e-3 },
  mJ: { dimension: 'energy', factor: 1 },
  J: { dimension: 'energy', factor: 1e3 },
  B: { dimension: 'bytes', factor: 1 },
  KB: { dimension: 'bytes', factor: 1024 },
  MB: { dimension: 'bytes', factor: 1024 ** 2 },
  GB: { dimension: 'bytes', factor: 1024 ** 3 },
  'B/s': { dimension: 'bandwidth', factor: 1 },
  'KB/s': { dimension: 'bandwidth', factor: 1e3 },
  'MB/s': { dimension: 'bandwidth', factor: 1e6 },
  'GB/s': { dimension: 'bandwidth', factor: 1e9 },
  kbps: { dimension: 'bandwidth', factor: 1e3 / 8 },
  Kbps: { dimension: 'bandwidth', factor: 1e3 / 8 },
  Mbps: { dimension: 'bandwidth', factor: 1e6 / 8 },
  Gbps: { dimension: 'bandwidth', factor: 1e9 / 8 },
  'MAC/s': { dimension: 'compute', factor: 1 },
  'KMAC/s': { dimension: 'compute', factor: 1e3 },
  'MMAC/s': { dimension: 'compute', factor: 1e6 },
  'GMAC/s': { dimension: 'compute', factor: 1e9 },
  'TMAC/s': { dimension: 'compute', factor: 1e12 },
  mAh: { dimension: 'charge', factor: 1 },
  Ah: { dimension: 'charge', factor: 1e3 },
  V: { dimension: 'voltage', factor: 1 },
  mV: { dimension: 'voltage', factor: 1e-3 },
  '%': { dimension: 'fraction', factor: 0.01 },
  'pJ/B': { dimension: 'energyPerByte', factor: 1 },
  'nJ/B': { dimension: 'energyPerByte', factor: 1e3 },
};

/** Human names of the dimensions with example units, for diagnostics and completion. */
export const DIMENSION_EXAMPLES: Readonly<Record<Dimension, string>> = {
  time: 'a time (s, ms)',
  frequency: 'a frequency (Hz, kHz)',
  level: 'a level in dB',
  power: 'a power (mW, W)',
  energy: 'an energy (mJ, J)',
  bytes: 'a size (KB, MB, GB)',
  bandwidth: 'a bandwidth (MB/s, GB/s, Mbps)',
  compute: 'a compute rate (GMAC/s, TMAC/s)',
  charge: 'a battery charge (mAh)',
  voltage: 'a voltage (V)',
  fraction: 'a percentage (%)',
  energyPerByte: 'an energy per byte (pJ/B, nJ/B)',
  count: 'a plain number',
};

/** Units of a dimension, in table order, for completion. */
export function unitsOf(dimension: Dimension): string[] {
  return Object.entries(UNITS)
    .filter(([, u]) => u.dimension === dimension)
    .map(([name]) => name);
}

/** The result of reading a quantity: its value in the base unit, or why it could not be read. */
export type UnitCheck =
  | { ok: true; value: number }
  | { ok: false; code: 'missing-unit' | 'unknown-unit' | 'wrong-unit' | 'unexpected-unit'; message: string };

/**
 * Converts `value unit` to the base unit of `dimension`. `count` takes no unit.
 * `what` names the setting in messages ("`rate`").
 */
export function toBase(value: number, unit: string | undefined, dimension: Dimension, what: string): UnitCheck {
  if (dimension === 'count') {
    if (unit !== undefined) {
      return { ok: false, code: 'unexpected-unit', message: `${what} takes a plain number, not '${unit}'.` };
    }
    return { ok: true, value };
  }
  if (unit === undefined) {
    return {
      ok: false,
      code: 'missing-unit',
      message: `${what} needs a unit: expected ${DIMENSION_EXAMPLES[dimension]}, e.g. '${value} ${unitsOf(dimension)[0]}'.`,
    };
  }
  const info = UNITS[unit];
  if (!info) {
    return {
      ok: false,
      code: 'unknown-unit',
      message: `Unknown unit '${unit}' for ${what}: expected ${DIMENSION_EXAMPLES[dimension]}.`,
    };
  }
  if (info.dimension !== dimension) {
    return {
      ok: false,
      code: 'wrong-unit',
      message: `${what} expects ${DIMENSION_EXAMPLES[dimension]}, but '${unit}' is ${DIMENSION_EXAMPLES[info.dimension]}.`,
    };
  }
  return { ok: true, value: value * info.factor };
}
