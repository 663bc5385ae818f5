/**
 * The text of a calibration, as `sense calibrate` prints it and the studio's Calibrate
 * Host shows it: the estimated-versus-measured table per layer, the end-to-end line and
 * the fitted figures (also as ready-to-paste `.sense` processor settings).
 */
import type { CalibrationResult } from './node-calibrate';
import type { KernelSuiteResult } from './node-kernel-suite';
import { heldOutText } from './kernel-predictor';
import { profileSettingsText } from './profile';

function pct(estimatedMs: number, measuredMs: number): string {
  if (!(measuredMs > 0)) return '-';
  const e = (100 * (estimatedMs - measuredMs)) / measuredMs;
  return `${e >= 0 ? '+' : ''}${e.toFixed(1)}%`;
}

/** A latency in ms as the calibration text prints it: 4 decimals under 10 ms, else 2. */
export function ms(x: number): string {
  return x >= 10 ? x.toFixed(2) : x.toFixed(4);
}

/**
 * The per-layer table of a calibration: measured latency, the catalog estimate before and
 * the fitted estimate after, each with its relative error; then the end-to-end line and
 * the fitted figures. One string per line.
 */
export function calibrationTable(r: Pick<CalibrationResult, 'profile' | 'rows' | 'endToEnd'>): string[] {
  const p = r.profile;
  const out = [`${p.device}.${p.processor} on ${p.machine.cpu} (${p.machine.runtime}), median of ${p.runs ?? '?'} runs`, ''];
  const head = ['layer', 'kind', 'MACs', 'bytes', 'measured ms', 'before ms', 'err', 'after ms', 'err'];
  const rows = r.rows.map((x) => [x.id, x.kind, String(x.macs), String(x.bytes), ms(x.measuredMs), ms(x.beforeMs), pct(x.beforeMs, x.measuredMs), ms(x.afterMs), pct(x.afterMs, x.measuredMs)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  out.push(line(head), ...rows.map(line), '');
  const e = r.endToEnd;
  out.push(`end to end (one window)  measured ${ms(e.measuredMs)} ms  before ${ms(e.beforeMs)} ms (${pct(e.beforeMs, e.measuredMs)})  after ${ms(e.afterMs)} ms (${pct(e.afterMs, e.measuredMs)})`);
  const frontend = p.frontendMacsPerS !== undefined ? `, front end ${(p.frontendMacsPerS / 1e9).toFixed(3)} GMAC/s` : '';
  const dispatch = p.dispatchMs !== undefined ? `, dispatch ${(p.dispatchMs * 1000).toFixed(1)} us per partition run` : '';
  out.push(`fitted ${p.processor}: compute ${(p.computeMacsPerS / 1e9).toFixed(3)} GMAC/s, bandwidth ${(p.bandwidthBytesPerS / 1e9).toFixed(3)} GB/s, overhead ${(p.overheadMs * 1000).toFixed(2)} us${frontend}${dispatch}`);
  out.push(`as .sense settings of processor ${p.processor}: ${profileSettingsText(p)}`);
  return out;
}

/**
 * The text of a kernel-suite calibration (`sense calibrate --device host`): per kernel
 * kind, the kernels measured, the fitted roofline and correction range, the held-out
 * error; then the whole predictor's held-out figures, the dispatch cost and the suite's time.
 */
export function kernelSuiteTable(r: Pick<KernelSuiteResult, 'profile' | 'suiteS'>): string[] {
  const p = r.profile;
  const k = p.kernelPredictor!;
  const out = [`${p.device}.${p.processor} on ${p.machine.cpu} (${p.machine.runtime}): kernel suite, median of ${p.runs ?? '?'} runs per layer kernel`, ''];
  const head = ['kind', 'kernels', 'overhead us', 'GMAC/s', 'GB/s', 'correction', 'held-out err'];
  const rate = (msPer: number, scale: number): string => (msPer > 0 ? (1 / msPer / scale).toFixed(3) : '-');
  const rows = Object.entries(k.kinds).map(([kind, m]) => {
    const factors = m.correctionLogFactor.map(Math.exp);
    const corr = factors.length === 0 ? '-' : `x${Math.min(...factors).toFixed(2)}..${Math.max(...factors).toFixed(2)}`;
    return [kind, String(m.samples), (m.overheadMs * 1000).toFixed(2), rate(m.msPerMac, 1e6), rate(m.msPerByte, 1e6), corr, m.heldOutMedianAbsErrorPct === undefined ? '-' : `±${m.heldOutMedianAbsErrorPct.toFixed(1)}%`];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  out.push(line(head), ...rows.map(line), '');
  out.push(`held-out kernels: ${heldOutText(k)}`);
  if (p.dispatchMs !== undefined) out.push(`dispatch ${(p.dispatchMs * 1000).toFixed(1)} us per partition run (window CPU time minus the predicted kernels and front-end steps)`);
  out.push(`suite took ${r.suiteS.toFixed(1)} s`);
  return out;
}
