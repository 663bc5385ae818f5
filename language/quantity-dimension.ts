/**
 * Which physical dimension a quantity in the source expects, from where it stands
 * (`rate 16 kHz` is a frequency, `memory 64 MB` a size). Completion, hover and the
 * missing-unit code action use it; the mapping mirrors the one lowering checks with
 * (language/lower.ts), so a unit offered here is a unit lowering accepts.
 */
import * as ast from './generated/ast';
import type { Dimension } from './units';

/** Input settings and their dimensions, as lowering reads them. */
export const INPUT_SETTING_DIMENSIONS: Readonly<Record<string, Dimension>> = { rate: 'frequency', window: 'time', hop: 'time', channels: 'count', period: 'time' };

/** Processor settings and their dimensions, as lowering reads them. */
export const PROCESSOR_SETTING_DIMENSIONS: Readonly<Record<string, Dimension>> = {
  compute: 'compute',
  memory: 'bytes',
  bandwidth: 'bandwidth',
  power: 'power',
  idle: 'power',
  overhead: 'time',
  transfer: 'energyPerByte',
  dispatch: 'time',
  frontend: 'compute',
  sleep: 'power',
  wake: 'energy',
  wakelatency: 'time',
  tail: 'time',
  sampling: 'power',
};

/** Device settings and their dimensions, as lowering reads them. */
export const DEVICE_SETTING_DIMENSIONS: Readonly<Record<string, Dimension>> = { baseline: 'power' };

/** Link settings and their dimensions, as lowering reads them. */
export const LINK_SETTING_DIMENSIONS: Readonly<Record<string, Dimension>> = {
  bandwidth: 'bandwidth',
  latency: 'time',
  rtt: 'time',
  power: 'power',
  transfer: 'energyPerByte',
};

/**
 * The dimension the quantity `q` must have, or undefined when its place is unknown
 * (a quantity in a broken document whose container did not parse).
 */
export function quantityDimension(q: ast.Quantity): Dimension | undefined {
  const c = q.$container as ast.Quantity['$container'] | undefined;
  if (!c) return undefined;
  if (ast.isSetting(c)) return INPUT_SETTING_DIMENSIONS[c.key];
  if (ast.isProcessorSetting(c)) return PROCESSOR_SETTING_DIMENSIONS[c.key];
  if (ast.isLinkSetting(c)) return LINK_SETTING_DIMENSIONS[c.key];
  if (ast.isDeviceSetting(c)) return DEVICE_SETTING_DIMENSIONS[c.key];
  if (ast.isSilenceStep(c)) return 'level';
  if (ast.isFramesStep(c)) return 'time';
  if (ast.isLogMelStep(c)) return 'frequency';
  if (ast.isSvdMethod(c)) return c.criterion === 'rank' ? 'count' : 'fraction';
  if (ast.isOptimize(c)) return 'time';
  if (ast.isExpect(c)) return 'fraction';
  if (ast.isBattery(c)) return q.$containerProperty === 'voltage' ? 'voltage' : 'charge';
  return undefined;
}

/**
 * The unit a quick fix proposes first for a bare number, chosen so that typical
 * values read naturally (`rate 16` is more likely kHz than Hz for audio, but Hz for
 * inertial sensors, so frequency offers both; the first is the preferred fix).
 */
export const PREFERRED_UNITS: Readonly<Record<Dimension, readonly string[]>> = {
  time: ['ms', 's'],
  frequency: ['Hz', 'kHz'],
  level: ['dB'],
  power: ['mW', 'W'],
  energy: ['mJ', 'J'],
  bytes: ['MB', 'KB', 'GB'],
  bandwidth: ['MB/s', 'GB/s', 'Mbps'],
  compute: ['GMAC/s', 'MMAC/s', 'TMAC/s'],
  charge: ['mAh'],
  voltage: ['V'],
  fraction: ['%'],
  energyPerByte: ['pJ/B'],
  count: [],
};
