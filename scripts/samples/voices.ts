/**
 * Synthetic speakers for the DeepEar sample data: 23 text-to-speech voices (espeak-ng
 * accents and variants with distinct base pitch and rate, CMU flite voices, Festival
 * voices), and a function that speaks a sentence with optional prosody changes and
 * returns 16 kHz mono samples.
 *
 * These are synthetic voices, not recordings of people: a model trained on them learns
 * to tell TTS voices apart, which exercises the pipeline but says nothing about real
 * speaker identification accuracy.
 */
import { join } from 'node:path';
import { runTool, soxFileToSamples } from './tools';

/** One synthetic speaker: which TTS engine and voice, and its fixed voice settings. */
export type Voice =
  | {
      /** Speaker id, also the label folder name. */
      id: string;
      engine: 'espeak-ng';
      /** espeak-ng voice with variant, e.g. `en-us+f3` (`espeak-ng --voices`). */
      voice: string;
      /** espeak-ng base pitch, 0..99 (`-p`). */
      pitch: number;
      /** Speaking rate in words per minute (`-s`). */
      rateWpm: number;
    }
  | {
      id: string;
      engine: 'flite';
      /** flite voice name (`flite -lv`). */
      voice: string;
      /** Fixed pitch shift in cents applied with sox, 0 for none. */
      pitchCents: number;
    }
  | {
      id: string;
      engine: 'festival';
      /** Festival voice function, e.g. `voice_kal_diphone`. */
      voice: string;
      pitchCents: number;
    };

/** The 23 speakers of the `speaker` head, s01..s23. */
export const SPEAKERS: readonly Voice[] = [
  { id: 's01', engine: 'espeak-ng', voice: 'en-us+m1', pitch: 40, rateWpm: 165 },
  { id: 's02', engine: 'espeak-ng', voice: 'en-us+f1', pitch: 60, rateWpm: 160 },
  { id: 's03', engine: 'espeak-ng', voice: 'en+m3', pitch: 35, rateWpm: 150 },
  { id: 's04', engine: 'espeak-ng', voice: 'en+f2', pitch: 70, rateWpm: 170 },
  { id: 's05', engine: 'espeak-ng', voice: 'en-gb-scotland+m4', pitch: 45, rateWpm: 155 },
  { id: 's06', engine: 'espeak-ng', voice: 'en-gb-x-rp+f3', pitch: 55, rateWpm: 145 },
  { id: 's07', engine: 'espeak-ng', voice: 'en-029+m7', pitch: 50, rateWpm: 175 },
  { id: 's08', engine: 'espeak-ng', voice: 'en-gb-x-gbclan+f4', pitch: 65, rateWpm: 160 },
  { id: 's09', engine: 'espeak-ng', voice: 'en-gb-x-gbcwmd+m2', pitch: 25, rateWpm: 140 },
  { id: 's10', engine: 'espeak-ng', voice: 'en-us+f5', pitch: 80, rateWpm: 180 },
  { id: 's11', engine: 'espeak-ng', voice: 'en-us+m6', pitch: 20, rateWpm: 165 },
  { id: 's12', engine: 'espeak-ng', voice: 'en-us+klatt', pitch: 45, rateWpm: 155 },
  { id: 's13', engine: 'espeak-ng', voice: 'en+Annie', pitch: 60, rateWpm: 150 },
  { id: 's14', engine: 'espeak-ng', voice: 'en-us+grandpa', pitch: 30, rateWpm: 130 },
  { id: 's15', engine: 'espeak-ng', voice: 'en+croak', pitch: 40, rateWpm: 150 },
  { id: 's16', engine: 'espeak-ng', voice: 'en-us+Denis', pitch: 50, rateWpm: 170 },
  { id: 's17', engine: 'flite', voice: 'slt', pitchCents: 0 },
  { id: 's18', engine: 'flite', voice: 'rms', pitchCents: 0 },
  { id: 's19', engine: 'flite', voice: 'awb', pitchCents: 0 },
  { id: 's20', engine: 'flite', voice: 'kal16', pitchCents: 0 },
  { id: 's21', engine: 'festival', voice: 'voice_kal_diphone', pitchCents: -300 },
  { id: 's22', engine: 'festival', voice: 'voice_ked_diphone', pitchCents: 0 },
  // Same recorded speaker as flite's slt: shifted up so the two stay distinguishable.
  { id: 's23', engine: 'festival', voice: 'voice_cmu_us_slt_arctic_hts', pitchCents: 250 },
];

/** Prosody changes applied when speaking, relative to the voice's own settings. */
export interface Prosody {
  /** Pitch shift in cents (espeak-ng: mapped to its base pitch; others: sox `pitch`). */
  pitchCents: number;
  /** Speaking-rate factor, 1 for the voice's normal rate. */
  rateFactor: number;
  /** Pitch range (intonation) for espeak-ng's SSML `<prosody range>`; others ignore it. */
  range: 'x-low' | 'low' | 'medium' | 'high' | 'x-high';
}

/** Prosody that leaves the voice unchanged. */
export const NEUTRAL_PROSODY: Prosody = { pitchCents: 0, rateFactor: 1, range: 'medium' };

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Speaks `text` with `voice` and `prosody` and returns 16 kHz mono float samples of
 * the whole utterance (typically 1.5 to 3 s). `tmpDir` is a private scratch folder;
 * `tag` makes the scratch file name unique among concurrent calls.
 */
export async function speak(voice: Voice, text: string, prosody: Prosody, tmpDir: string, tag: string): Promise<Float32Array> {
  const file = join(tmpDir, `${tag}.wav`);
  const effects: string[] = [];
  if (voice.engine === 'espeak-ng') {
    // espeak-ng's -p scale is roughly linear in pitch; 100 cents ~ 4 steps around the middle.
    const pitch = Math.max(0, Math.min(99, Math.round(voice.pitch + prosody.pitchCents / 25)));
    const rate = Math.max(80, Math.min(450, Math.round(voice.rateWpm * prosody.rateFactor)));
    const ssml = `<speak><prosody range="${prosody.range}">${escapeXml(text)}</prosody></speak>`;
    await runTool('espeak-ng', ['-v', voice.voice, '-p', String(pitch), '-s', String(rate), '-m', '-w', file, ssml]);
  } else {
    if (voice.engine === 'flite') {
      await runTool('flite', ['-voice', voice.voice, '-t', text, '-o', file]);
    } else {
      await runTool('text2wave', ['-eval', `(${voice.voice})`, '-o', file], text);
    }
    const cents = voice.pitchCents + prosody.pitchCents;
    if (cents !== 0) effects.push('pitch', String(Math.round(cents)));
    if (prosody.rateFactor !== 1) effects.push('tempo', '-s', prosody.rateFactor.toFixed(3));
  }
  return soxFileToSamples(file, effects);
}
