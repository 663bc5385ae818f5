/**
 * Writes the kernel suite page of `sense calibrate --device NAME --page DIR`: a folder that,
 * served over HTTP and opened in a phone's or a watch's browser, runs the kernel suite there
 * (./web-kernel-suite.ts) and hands the user the fitted profile. Like a bundle it is
 * self-contained and works offline: index.html (runtime/demo/calibrate.html), calibrate.js
 * (dist/calibrate-page.mjs, built by esbuild.mjs from ./web-kernel-suite.ts), the
 * onnxruntime-web files a bundle carries, and suite.json (the suite lowered for the
 * device). Each file is written atomically through io/user-files; an existing folder is
 * replaced only when it is empty or such a page (it holds a suite.json of the plan's kind),
 * so a typo cannot overwrite a user's folder.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readUserFileSync, readUserTextSync, statUserPath, UserFileError, writeUserFileAtomic } from '../../io/user-files';
import { installationRoot, ortWebFiles } from '../export/write-bundle';
import { SUITE_PLAN_KIND, type SuitePlan } from './web-kernel-suite';

/** Options of {@link writeCalibratePage}. */
export interface CalibratePageOptions {
  /** The page's script (default dist/calibrate-page.mjs of this installation); tests build it from source. */
  calibrateJsPath?: string;
}

function isCalibratePage(dir: string): boolean {
  try {
    return (JSON.parse(readUserTextSync(join(dir, 'suite.json'), 'json')) as { kind?: string }).kind === SUITE_PLAN_KIND;
  } catch {
    return false;
  }
}

/**
 * Writes the page for `plan` to `dir` (see the module header) and returns the names of the
 * files written. Throws a UserFileError naming `dir` when it is a file or a folder holding
 * something else, and an Error with the fix when the page's script has not been built.
 */
export function writeCalibratePage(dir: string, plan: SuitePlan, opts: CalibratePageOptions = {}): string[] {
  const st = statUserPath(dir, 'json');
  if (st && !st.isDirectory()) throw new UserFileError(`${dir} exists and is not a folder; choose a new or empty folder for the page`, dir, 'not-regular');
  if (st && readdirSync(dir).length > 0 && !isCalibratePage(dir))
    throw new UserFileError(`${dir} is a folder that is not a kernel suite page (no suite.json of kind ${SUITE_PLAN_KIND}); refusing to write into it. Choose a new or empty folder`, dir, 'exists');
  const root = installationRoot();
  const script = opts.calibrateJsPath ?? join(root, 'dist', 'calibrate-page.mjs');
  if (!existsSync(script)) throw new Error(`calibrate: the page's script ${script} is missing; run "npm run build" in ${root} first`);
  mkdirSync(dir, { recursive: true });
  const files = new Map<string, Uint8Array | string>([
    ['index.html', readUserFileSync(join(root, 'runtime', 'demo', 'calibrate.html'), 'text')],
    ['calibrate.js', readUserFileSync(script, 'text')],
    ...ortWebFiles(root),
    // suite.json last: a folder holding it is a complete page.
    ['suite.json', `${JSON.stringify(plan)}\n`],
  ]);
  for (const [name, data] of files) writeUserFileAtomic(join(dir, name), data, name.endsWith('.json') ? 'json' : 'text');
  return [...files.keys()];
}
