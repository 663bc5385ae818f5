import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { NEUTRAL_PROSODY, SPEAKERS, speak, type Voice } from '../../../scripts/samples/voices';

// espeak-ng 1.51 loads libpulse even when it writes a file. In a HOME where libpulse has
// no runtime folder yet (and with no XDG_RUNTIME_DIR), libpulse names a new folder with
// 12 or more draws from the C library's rand(), which espeak-ng's breath noise also
// draws from. These tests recreate that state on purpose, once for espeak-ng alone and
// once for the generator's own calls, which must not notice it.

const root = mkdtempSync(join(tmpdir(), 'samples-env-test-'));
let fresh = 0;

function freshDir(): string {
  const dir = join(root, `d${fresh++}`);
  mkdirSync(dir);
  return dir;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The sound-server settings that would let libpulse skip its runtime folder. */
const PULSE_VARIABLES = ['XDG_RUNTIME_DIR', 'PULSE_SERVER', 'PULSE_RUNTIME_PATH'];

/** s04, s06 and s10: the espeak-ng variants with breath noise (f2, f3, f5). */
const BREATHY: Voice[] = SPEAKERS.filter((v) => ['s04', 's06', 's10'].includes(v.id));
const TEXT = 'where did you put the ancient river boat in the morning?';

/** Runs espeak-ng with exactly `env` (PATH added) and returns the WAV file's sha256. */
function espeakHash(voice: string, home: string, tmp: string): string {
  const file = join(tmp, 'out.wav');
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, TMPDIR: tmp, LC_ALL: 'C.UTF-8' };
  const r = spawnSync('espeak-ng', ['-v', voice, '-w', file, TEXT], { env, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return sha256(readFileSync(file));
}

describe('external tools of the sample generator', () => {
  afterEach(() => vi.unstubAllEnvs());
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('this espeak-ng changes its breathy voices when libpulse first sets up a HOME (the condition the next test forces)', () => {
    const tmp = freshDir();
    const settled = freshDir();
    espeakHash('en+f2', settled, tmp);
    const reference = espeakHash('en+f2', settled, tmp);
    // A settled HOME repeats itself; a fresh one does not match it.
    expect(espeakHash('en+f2', settled, tmp)).toBe(reference);
    const forced = espeakHash('en+f2', freshDir(), tmp);
    expect(forced, 'espeak-ng gave the same audio in a fresh HOME: this espeak-ng or libpulse no longer shares rand(), so the next test shows nothing').not.toBe(reference);
  });

  it('gives the breathy espeak-ng voices the same samples whatever HOME, TMPDIR and sound-server settings the caller has', async () => {
    expect(BREATHY.map((v) => v.voice)).toEqual(['en+f2', 'en-gb-x-rp+f3', 'en-us+f5']);
    const scratch = freshDir();
    const settledHome = freshDir();
    const settledTmp = freshDir();
    const run = async (voice: Voice, home: string, tmp: string, tag: string): Promise<string> => {
      vi.stubEnv('HOME', home);
      vi.stubEnv('TMPDIR', tmp);
      for (const name of PULSE_VARIABLES) vi.stubEnv(name, undefined);
      const samples = await speak(voice, TEXT, NEUTRAL_PROSODY, scratch, tag);
      vi.unstubAllEnvs();
      return sha256(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
    };
    for (const voice of BREATHY) {
      // Twice in the settled HOME, so that libpulse (were it consulted) has its folder.
      await run(voice, settledHome, settledTmp, `${voice.id}-warm`);
      const reference = await run(voice, settledHome, settledTmp, `${voice.id}-settled`);
      const forced = await run(voice, freshDir(), freshDir(), `${voice.id}-fresh`);
      expect(forced, `${voice.id} (${voice.voice}) in a fresh HOME`).toBe(reference);
    }
  });
});
