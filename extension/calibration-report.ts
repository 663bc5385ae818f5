/**
 * The text the studio shows for a calibration and the device profiles it keeps: the
 * estimated-versus-measured table (as `sense calibrate` prints it) and the resolution of
 * the `senseStudio.deviceProfiles` setting to files. No `vscode` import.
 */
import * as path from 'node:path';
import { parseDeviceProfile } from '../runtime/device-profile';
import { readUserText } from '../io/user-files';

export { calibrationTable } from '../engine/calibrate/report';
import { rewritePlaceLines } from '../engine/partition/place-lines';
import type * as ast from '../language/generated/ast';
import { placeSites } from '../engine/pipeline-text';
import { applyEdits, targetEdits, type PipelineOutline } from './graph-model';
import type { LoadedProfile } from '../engine/calibrate/profile';

/** The file a `senseStudio.deviceProfiles` entry names: absolute, or relative to `baseDir` (the first workspace folder). */
export function profileFilePath(entry: string, baseDir: string | undefined): string {
  return path.isAbsolute(entry) || !baseDir ? entry : path.join(baseDir, entry);
}

/**
 * Reads the device profiles the setting lists (paths absolute or relative to `baseDir`)
 * through io/user-files.ts: regular files only, bounded in size, and with `roots` (the
 * workspace folders, for a list the workspace's own settings hold) inside them. Returns the
 * profiles that parse and one message per entry that does not (naming the file and the
 * fix); never rejects for a bad file.
 */
export async function loadProfiles(paths: readonly unknown[], baseDir: string | undefined, roots?: readonly string[]): Promise<{ profiles: LoadedProfile[]; errors: string[] }> {
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
      text = await readUserText(file, 'profile', roots ? { roots } : {});
    } catch (e) {
      errors.push(`${(e as Error).message} (listed in senseStudio.deviceProfiles); remove it from the setting or run Calibrate Host again.`);
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
