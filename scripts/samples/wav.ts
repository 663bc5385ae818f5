/**
 * A minimal WAV (RIFF, PCM 16-bit) writer and reader for the sample generator, and its
 * file writer. Kept here, not in runtime/, so the generator has no dependency
 * on code that ships in bundles.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeUserFileAtomic } from '../../io/user-files';

/**
 * Encodes mono samples in [-1, 1] as a 16-bit PCM WAV file (44-byte canonical header).
 * Samples are clipped to [-1, 1] and rounded to the nearest integer step (no dither,
 * so equal input gives byte-identical files).
 */
export function encodeWav16(samples: Float32Array, rateHz: number): Buffer {
  if (!Number.isInteger(rateHz) || rateHz <= 0) throw new Error(`encodeWav16: sample rate must be a positive integer in Hz, got ${rateHz}.`);
  const dataBytes = samples.length * 2;
  const buf = Buffer.alloc(44 + dataBytes);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + dataBytes, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(rateHz, 24);
  buf.writeUInt32LE(rateHz * 2, 28); // byte rate
  buf.writeUInt16LE(2, 32); // block align
  buf.writeUInt16LE(16, 34); // bits per sample
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < samples.length; i++) {
    const x = Math.max(-1, Math.min(1, samples[i] as number));
    buf.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(x * 32767))), 44 + 2 * i);
  }
  return buf;
}

/** A decoded mono 16-bit WAV file. */
export interface DecodedWav {
  /** Sample rate in Hz. */
  rateHz: number;
  /** Samples scaled to [-1, 1] (int16 / 32767). */
  samples: Float32Array;
}

/**
 * Decodes a mono 16-bit PCM WAV file (as written by {@link encodeWav16}; other chunks
 * before `data` are skipped). Throws naming `source` when the file is not of that kind.
 */
export function decodeWav16(buf: Buffer, source = 'WAV data'): DecodedWav {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error(`${source}: not a RIFF/WAVE file.`);
  }
  let off = 12;
  let rateHz = 0;
  let fmtOk = false;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      const format = buf.readUInt16LE(body);
      const channels = buf.readUInt16LE(body + 2);
      rateHz = buf.readUInt32LE(body + 4);
      const bits = buf.readUInt16LE(body + 14);
      if (format !== 1 || channels !== 1 || bits !== 16) {
        throw new Error(`${source}: expected mono 16-bit PCM, got format ${format}, ${channels} channel(s), ${bits} bits; convert it with sox first.`);
      }
      fmtOk = true;
    } else if (id === 'data') {
      if (!fmtOk) throw new Error(`${source}: the data chunk comes before the fmt chunk.`);
      const n = Math.floor(Math.min(size, buf.length - body) / 2);
      const samples = new Float32Array(n);
      for (let i = 0; i < n; i++) samples[i] = buf.readInt16LE(body + 2 * i) / 32767;
      return { rateHz, samples };
    }
    off = body + size + (size % 2);
  }
  throw new Error(`${source}: no data chunk found.`);
}

/**
 * Writes a generated file atomically (io/user-files' writeUserFileAtomic: a temporary file in
 * the same folder, fsynced, renamed over `path`), creating the parent folders first, so a
 * reader never sees a half-written clip.
 */
export function writeStagedFile(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeUserFileAtomic(path, data, path.endsWith('.json') ? 'json' : 'clip');
}
