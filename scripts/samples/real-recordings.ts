/**
 * Real recordings kept aside as a test that training never sees: the speech that Debian's
 * alsa-utils ships for speaker tests (/usr/share/sounds/alsa/*.wav, one person saying
 * "Front Center", "Rear Left" and so on, 48 kHz mono, about 1.4 s each) and its Noise.wav,
 * written as a labelled folder for the DeepEar sample's ambient head:
 *
 *   OUT/ambient/voicing/Front_Center.wav ...  (every voice recording: the head's speech label)
 *   OUT/ambient/other/Noise.wav               (steady broadband noise: the generator's `other`
 *                                              holds noise bursts, wind and room tone, the
 *                                              closest of music, traffic, voicing, other)
 *
 * Each file is mixed to mono, resampled to the pipeline's 16 kHz by the runtime's resampler and
 * cut to its 1 s window (the loudest second, the way the generator cuts speech), so `sense eval`
 * scores one window per recording. The audio is GPL-2 (alsa-utils' copyright file), so the
 * clips are generated from the system files on each machine rather than committed.
 *
 *   npx tsx scripts/samples/real-recordings.ts --out /tmp/sense-data/real [--from /usr/share/sounds/alsa]
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { readWavFile } from '../../runtime/node-files';
import { toMonoAt } from '../../runtime/resample';
import { loudestWindow } from '../../engine/train/signal';
import { encodeWav16, writeStagedFile } from './wav';

/** The DeepEar sample's input: 16 kHz, 1 s windows (samples/deepear/deepear.sense). */
const RATE_HZ = 16000;
const WINDOW_SAMPLES = 16000;

/** The ambient label each system file goes to. */
function labelOf(file: string): string {
  return basename(file).toLowerCase() === 'noise.wav' ? 'other' : 'voicing';
}

function main(): void {
  const { values } = parseArgs({ options: { out: { type: 'string' }, from: { type: 'string' } } });
  if (!values.out) throw new Error('usage: npx tsx scripts/samples/real-recordings.ts --out DIR [--from /usr/share/sounds/alsa]');
  const from = values.from ?? '/usr/share/sounds/alsa';
  let names: string[];
  try {
    names = readdirSync(from).filter((n) => n.toLowerCase().endsWith('.wav')).sort();
  } catch {
    throw new Error(`${from}: no such folder; install alsa-utils (apt-get install alsa-utils), which ships the recordings`);
  }
  if (names.length === 0) throw new Error(`${from}: no .wav files; install alsa-utils, which ships the recordings`);
  for (const name of names) {
    const clip = loudestWindow(toMonoAt(readWavFile(join(from, name)), RATE_HZ), WINDOW_SAMPLES);
    const path = join(values.out, 'ambient', labelOf(name), name);
    writeStagedFile(path, encodeWav16(clip, RATE_HZ));
    console.log(`${path}: 1 s at ${RATE_HZ} Hz from ${join(from, name)}`);
  }
}

try {
  main();
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
