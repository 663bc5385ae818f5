/**
 * Writes a PyTorch project (./project.ts) into a folder: created if absent, each file
 * replaced atomically through io/user-files, so a failed write leaves the previous file.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { resolveUserPath, statUserPath, UserFileError, writeUserFileAtomic } from '../../io/user-files';
import type { ProjectFile } from './project';

/**
 * Writes `files` under `dir`. Throws a {@link UserFileError} naming the path when `dir`
 * is something other than a folder or a file cannot be written.
 */
export function writePytorchProject(dir: string, files: readonly ProjectFile[]): void {
  const real = resolveUserPath(dir, 'text');
  const st = statUserPath(real, 'text');
  if (st && !st.isDirectory()) throw new UserFileError(`${dir} exists and is not a folder; give a folder for the PyTorch project`, dir, 'not-regular');
  try {
    mkdirSync(real, { recursive: true });
  } catch (e) {
    throw new UserFileError(`${dir}: cannot create the folder (${(e as Error).message})`, dir, 'io');
  }
  for (const f of files) writeUserFileAtomic(join(real, f.name), f.data, f.name.endsWith('.safetensors') ? 'weights' : 'text');
}
