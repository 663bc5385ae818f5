/**
 * Node-only helpers that read clips from disk for the CLI and tests. The rest of runtime/
 * takes bytes and runs in the browser too; only this module imports `node:fs`, so browser
 * bundles must not import it.
 */
import { readFileSync, statSync } from 'node:fs';
import { parseInertialCsv, type InertialRecording } from './inertial';
import { decodeWav, type DecodedAudio } from './wav';

/** Largest clip file read, in bytes (1 GiB): larger files are refused before reading. */
export const MAX_CLIP_FILE_BYTES = 1 << 30;

function readBounded(path: string): Uint8Array {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new Error(`${path}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)}); check the path`);
  }
  if (size > MAX_CLIP_FILE_BYTES)
    throw new Error(`${path}: ${size} bytes is larger than the ${MAX_CLIP_FILE_BYTES}-byte limit for one clip; split the recording`);
  return new Uint8Array(readFileSync(path));
}

/** Reads and decodes a WAV file; errors name the path (see {@link decodeWav}). */
export function readWavFile(path: string): DecodedAudio {
  return decodeWav(readBounded(path), path);
}

/** Reads and parses an inertial CSV file; errors name the path and line (see {@link parseInertialCsv}). */
export function readInertialCsvFile(path: string): InertialRecording {
  return parseInertialCsv(readBounded(path), path);
}
