/**
 * Node-only helpers that read clips from disk for the CLI and tests. The rest of runtime/
 * takes bytes and runs in the browser too; only this module imports Node's file system (through
 * io/user-files, so a FIFO, device, directory or oversized file is refused by name instead of
 * hanging or exhausting memory), and browser bundles must not import it.
 */
import { MAX_FILE_BYTES, readUserFileSync } from '../io/user-files';
import { parseInertialCsv, type InertialRecording } from './inertial';
import { decodeWav, type DecodedAudio } from './wav';

/** Largest clip file read, in bytes (io/user-files' limit for clips, 1 GiB): larger files are refused before reading. */
export const MAX_CLIP_FILE_BYTES = MAX_FILE_BYTES.clip;

/** Reads a clip file's bytes: a regular file within {@link MAX_CLIP_FILE_BYTES}; errors name the path. */
export function readClipBytes(path: string): Uint8Array {
  return readUserFileSync(path, 'clip');
}

/** Reads and decodes a WAV file; errors name the path (see {@link decodeWav}). */
export function readWavFile(path: string): DecodedAudio {
  return decodeWav(readClipBytes(path), path);
}

/** Reads and parses an inertial CSV file; errors name the path and line (see {@link parseInertialCsv}). */
export function readInertialCsvFile(path: string): InertialRecording {
  return parseInertialCsv(readClipBytes(path), path);
}
