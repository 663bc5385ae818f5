/**
 * The text the studio shows for a calibration and the device profiles it keeps: the
 * estimated-versus-measured table (as `sense calibrate` prints it) and the resolution of
 * the `senseStudio.deviceProfiles` setting to files. No `vscode` import.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { CalibrationResult } from '../engine/calibrate/node-calibrate';
import { parseDeviceProfile, profileSettingsText } from '../engine/calibrate/profile';
import { rewritePlaceLines } from '../engine/partition/place-lines';
import type * as ast from '../language/generated/ast';
import { placeSites } from '../engine/pipeline-text';
import { applyEdits, targetEdits, type PipelineOutline } from './graph-model';
import type { LoadedProfile } from './sense-analysis';

function pct(estimatedMs: number, measuredMs: number): string {
  if (!(measuredMs > 0)) return '-';
  const e = (100 * (estimatedMs - measuredMs)) / measuredMs;
  return `${e >= 0 ? '+' : ''}${e.toFixed(1)}%`;
}

function ms(x: number): string {
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

/** The file a `senseStudio.deviceProfiles` entry names: absolute, or relative to `baseDir` (the first workspace folder). */
export function profileFilePath(entry: string, baseDir: string | undefined): string {
  return path.isAbsolute(entry) || !baseDir ? entry : path.join(baseDir, entry);
}

/**
 * Reads the device profiles the setting lists (paths absolute or relative to `baseDir`).
 * Returns the profiles that parse and one message per file that does not (naming it and
 * the fix); never throws for a bad file.
 */
export function loadProfiles(paths: readonly unknown[], baseDir: string | undefined): { profiles: LoadedProfile[]; errors: string[] } {
  const profiles: LoadedProfile[] = [];
  const errors: string[] = [];
  for (const entry of paths) {
    if (typeof entry !== 'string' || entry.trim() === '') {
      errors.push(`senseStudio.deviceProfiles holds ${JSON.stringify(entry)}, which is not a file path; remove it from the setting.`);
      continue;
    }
    const file = profileFilePath(entry, baseDir);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      errors.push(`${file}: cannot read this device profile (listed in senseStudio.deviceProfiles); remove it from the setting or run Calibrate Host again.`);
      continue;
    }
    try {
      profiles.push({ source: entry, profile: parseDeviceProfile(text, file) });
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  return { profiles, errors };
}

/**
 * `text` without the `place` lines of `node` (every other byte stays): Calibrate Host
 * removes them after retargeting to `host`, whose one processor runs every layer, as
 * `sense calibrate` drops placements the device cannot honour.
 */
export function withoutPlaceLines(text: string, node: ast.Pipeline): string {
  return node.placements.length > 0 ? rewritePlaceLines(text, placeSites(text, node), []) : text;
}

/** The document's text with its `target` line naming the built-in device `host` (inserted when there is none). */
export function hostTargetText(text: string, outline: PipelineOutline): string {
  return applyEdits(text, targetEdits(text, outline, 'host'));
}
