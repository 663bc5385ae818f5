import { describe, expect, it } from 'vitest';
import { formatBytes, formatBytesPerS, formatCount, formatCountShort, formatDelta, formatHours, formatInUnit, formatMacsPerS, formatMj, formatMs, formatNumber } from '../../../language/figures';
import { UNITS } from '../../../language/units';

// Expected strings are written out by hand from the rule in figures.ts's header.
describe('figures: one convention', () => {
  it('keeps three significant digits and whole numbers from 1000', () => {
    expect(formatNumber(1.956)).toBe('1.96');
    expect(formatNumber(2.0)).toBe('2');
    expect(formatNumber(0.012345)).toBe('0.0123');
    expect(formatNumber(999.4)).toBe('999');
    expect(formatNumber(1234.6)).toBe('1235');
    expect(formatNumber(-0.5)).toBe('-0.5');
  });

  it('writes times in ms and energies in mJ at every size', () => {
    expect(formatMs(1.956)).toBe('1.96 ms');
    expect(formatMs(2)).toBe('2 ms');
    expect(formatMs(0.000045)).toBe('0.000045 ms');
    expect(formatMs(12345)).toBe('12345 ms');
    expect(formatMj(0.06321)).toBe('0.0632 mJ');
    expect(formatMj(1.7849)).toBe('1.78 mJ');
  });

  it('writes sizes in binary units, so a size the language reads back the same', () => {
    expect(formatBytes(900)).toBe('900 B');
    expect(formatBytes(1024)).toBe('1 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    // `memory 64 MB` in a .sense file is 64 x 2^20 bytes (language/units.ts).
    expect(formatBytes(64 * UNITS.MB.factor)).toBe('64 MiB');
    expect(formatBytes(4015104 * 4)).toBe('15.3 MiB'); // 16,060,416 / 1,048,576 = 15.316
    expect(formatBytes(3 * 2 ** 30)).toBe('3 GiB');
    expect(formatBytes(Infinity)).toBe('unlimited');
  });

  it('writes rates with decimal prefixes, as the language reads them', () => {
    expect(formatBytesPerS(12.8 * UNITS['GB/s'].factor)).toBe('12.8 GB/s');
    expect(formatBytesPerS(500)).toBe('500 B/s');
    expect(formatBytesPerS(Infinity)).toBe('unlimited');
    expect(formatMacsPerS(6 * UNITS['GMAC/s'].factor)).toBe('6 GMAC/s');
    expect(formatMacsPerS(2500)).toBe('2.5 KMAC/s');
  });

  it('writes battery life in hours below 48 h and in days from 48 h', () => {
    expect(formatHours(42)).toBe('42 h');
    expect(formatHours(47.94)).toBe('47.9 h');
    expect(formatHours(48)).toBe('2 days');
    expect(formatHours(225.2)).toBe('9.38 days'); // 225.2 / 24 = 9.383
    expect(formatHours(Infinity)).toBe('unlimited');
  });

  it('counts exactly for hovers and briefly for graph nodes', () => {
    expect(formatCount(4056064)).toBe('4,056,064');
    expect(formatCountShort(9999)).toBe('9999');
    expect(formatCountShort(205824)).toBe('206 k');
    expect(formatCountShort(1049600)).toBe('1.05 M');
    expect(formatCountShort(4.2e9)).toBe('4.2 G');
  });

  it('formats a plan metric and a relative change by the same rule', () => {
    expect(formatInUnit(2 ** 21, 'bytes')).toBe('2 MiB');
    expect(formatInUnit(1.2345, 'ms')).toBe('1.23 ms');
    expect(formatInUnit(0.45678, 'mJ')).toBe('0.457 mJ');
    expect(formatDelta(2, 1)).toBe('−50%');
    expect(formatDelta(3, 4)).toBe('+33.3%');
    expect(formatDelta(0, 0)).toBe('±0%');
  });
});
