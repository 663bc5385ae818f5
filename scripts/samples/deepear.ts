/**
 * Synthetic audio clips for the DeepEar sample pipeline (Lane et al., UbiComp 2015):
 * four heads on 1 s windows of 16 kHz mono audio. Everything here is synthesised
 * (text-to-speech voices, sox tones, seeded noise); nothing is a recording. See
 * scripts/samples/README.md for what each label really contains.
 */
import { Rng } from './prng';
import { makeSentence } from './sentences';
import { addInto, dbToGain, fadeEdges, limitPeak, loudestWindow, mixAtSnr, scaleToRms } from '../../engine/train/signal';
import { AUDIO_RATE_HZ, soxEffects, soxSynth } from './tools';
import { NEUTRAL_PROSODY, SPEAKERS, speak, type Prosody, type Voice } from './voices';

/** Samples in one clip: 1 s at 16 kHz. */
export const CLIP_SAMPLES = AUDIO_RATE_HZ;

/** The DeepEar heads and their labels, in output-unit order. */
export const DEEPEAR_HEADS = {
  ambient: ['music', 'traffic', 'voicing', 'other'],
  emotion: ['neutral', 'happy', 'sad', 'angry', 'afraid'],
  stress: ['calm', 'stressed'],
  speaker: SPEAKERS.map((s) => s.id),
} as const satisfies Record<string, readonly string[]>;

/** Name of a DeepEar head. */
export type DeepEarHead = keyof typeof DEEPEAR_HEADS;

/** Heads whose clips are speech, and so get noisy mixed-condition variants. */
export const SPEECH_HEADS: readonly DeepEarHead[] = ['emotion', 'stress', 'speaker'];

/** Scratch space for one clip's external tool calls. */
export interface ClipContext {
  /** Private temporary folder. */
  tmpDir: string;
  /** Unique prefix for scratch files of this clip. */
  tag: string;
}

/** One generated clip: its samples and a JSON-serialisable description of how it was made. */
export interface AudioClip {
  /** Exactly {@link CLIP_SAMPLES} samples in [-1, 1]. */
  samples: Float32Array;
  /** Generation parameters (voice, sentence, prosody, sound sources), for the manifest. */
  params: Record<string, unknown>;
}

const T = 1 / AUDIO_RATE_HZ;

function fit(x: Float32Array): Float32Array {
  const out = new Float32Array(CLIP_SAMPLES);
  out.set(x.subarray(0, CLIP_SAMPLES));
  return out;
}

function whiteNoise(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.gaussian();
  return x;
}

function lowpass(x: Float32Array, cutoffHz: number): Float32Array {
  const a = Math.exp((-2 * Math.PI * cutoffHz) / AUDIO_RATE_HZ);
  const y = new Float32Array(x.length);
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    s = (1 - a) * (x[i] as number) + a * s;
    y[i] = s;
  }
  return y;
}

function highpass(x: Float32Array, cutoffHz: number): Float32Array {
  const lp = lowpass(x, cutoffHz);
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = (x[i] as number) - (lp[i] as number);
  return y;
}

/** Pink-ish noise: the sum of octave-spaced low-passed white noises (Voss-style). */
function pinkNoise(rng: Rng, n: number): Float32Array {
  const y = new Float32Array(n);
  for (const f of [40, 160, 640, 2560, 7000]) {
    const band = lowpass(whiteNoise(rng, n), f);
    const g = Math.sqrt(f);
    for (let i = 0; i < n; i++) y[i] = (y[i] as number) + (band[i] as number) * g;
  }
  return y;
}

function midiHz(note: number): number {
  return 440 * 2 ** ((note - 69) / 12);
}

function setLevel(x: Float32Array, rmsDbfs: number): Float32Array {
  return limitPeak(scaleToRms(x, dbToGain(rmsDbfs)));
}

async function music(rng: Rng, _ctx: ClipContext): Promise<AudioClip> {
  const bpm = rng.uniform(80, 160);
  const beatS = 60 / bpm;
  const eighthS = beatS / 2;
  const root = rng.int(48, 59);
  const minor = rng.chance(0.4);
  const scale = minor ? [0, 2, 3, 5, 7, 8, 10] : [0, 2, 4, 5, 7, 9, 11];
  const chordTimbre = rng.pick(['pluck', 'sine', 'triangle', 'square', 'sawtooth']);
  const leadTimbre = rng.pick(['pluck', 'sine', 'triangle']);
  const drums = rng.chance(0.75);
  const startS = -rng.uniform(0, beatS);
  const out = new Float32Array(CLIP_SAMPLES);
  const chords: number[] = [];
  for (let t = startS; t < 1; t += 2 * beatS) {
    const degree = rng.pick([0, 3, 4, 5]);
    chords.push(degree);
    const notes = [0, 2, 4].map((k) => {
      const idx = degree + k;
      return root - 12 + (scale[idx % 7] as number) + 12 * Math.floor(idx / 7);
    });
    const durS = 2 * beatS;
    const effects = ['fade', 'q', '0.005', durS.toFixed(4), (durS * 0.3).toFixed(4)];
    if (chordTimbre === 'square' || chordTimbre === 'sawtooth') effects.push('lowpass', '1500');
    const tone = await soxSynth(durS, notes.flatMap((m) => [chordTimbre, midiHz(m).toFixed(2)]), effects, 3);
    addInto(out, tone, Math.round(t * AUDIO_RATE_HZ), 0.35);
  }
  const melody: number[] = [];
  for (let t = startS; t < 1; t += eighthS) {
    if (!rng.chance(0.7)) continue;
    const note = root + 12 + (rng.pick(scale) as number);
    melody.push(note);
    const durS = eighthS * 0.95;
    const tone = await soxSynth(durS, [leadTimbre, midiHz(note).toFixed(2)], ['fade', 'q', '0.005', durS.toFixed(4), (durS * 0.5).toFixed(4)]);
    addInto(out, tone, Math.round(t * AUDIO_RATE_HZ), 0.3);
  }
  if (drums) {
    const kickLen = Math.round(0.15 * AUDIO_RATE_HZ);
    const kick = new Float32Array(kickLen);
    let phase = 0;
    for (let i = 0; i < kickLen; i++) {
      const f = 45 + 105 * Math.exp(-i / (0.03 * AUDIO_RATE_HZ));
      phase += 2 * Math.PI * f * T;
      kick[i] = Math.sin(phase) * Math.exp(-i / (0.05 * AUDIO_RATE_HZ));
    }
    let beat = 0;
    for (let t = startS; t < 1; t += eighthS, beat++) {
      const at = Math.round(t * AUDIO_RATE_HZ);
      if (beat % 2 === 0) addInto(out, kick, at, 0.6);
      else {
        const hat = highpass(whiteNoise(rng, Math.round(0.04 * AUDIO_RATE_HZ)), 6000);
        for (let i = 0; i < hat.length; i++) hat[i] = (hat[i] as number) * Math.exp(-i / (0.008 * AUDIO_RATE_HZ));
        addInto(out, hat, at, 0.25);
      }
    }
  }
  const reverberance = rng.int(10, 60);
  const wet = fit(await soxEffects(out, ['reverb', String(reverberance)]));
  const levelDb = rng.uniform(-24, -14);
  return {
    samples: setLevel(wet, levelDb),
    params: { source: 'sox synth chords + melody, seeded drums, sox reverb', bpm: round(bpm), root, minor, chordTimbre, leadTimbre, drums, chords, melody, reverberance, levelDbfs: round(levelDb) },
  };
}

async function traffic(rng: Rng, _ctx: ClipContext): Promise<AudioClip> {
  const n = CLIP_SAMPLES;
  const out = new Float32Array(n);
  // Distant traffic: brown noise (integrated white) with slow amplitude modulation.
  const amHz = rng.uniform(0.1, 0.6);
  const amPhase = rng.uniform(0, 2 * Math.PI);
  const amDepth = rng.uniform(0.2, 0.6);
  let b = 0;
  for (let i = 0; i < n; i++) {
    b = 0.997 * b + 0.06 * rng.gaussian();
    out[i] = b * (1 + amDepth * Math.sin(2 * Math.PI * amHz * i * T + amPhase));
  }
  const rumble = lowpass(pinkNoise(rng, n), 600);
  addInto(out, rumble, 0, 0.02);
  // Passing vehicles: engine harmonics with Doppler shift and 1/r level, plus tyre noise.
  const cars: Array<Record<string, number>> = [];
  const count = rng.int(0, 3);
  const c = 343;
  for (let k = 0; k < count; k++) {
    const t0 = rng.uniform(-0.3, 1.3);
    const speed = rng.uniform(8, 25);
    const dist = rng.uniform(3, 20);
    const f0 = rng.uniform(25, 70);
    cars.push({ closestS: round(t0), speedMps: round(speed), distanceM: round(dist), engineHz: round(f0) });
    const tyre = lowpass(whiteNoise(rng, n), rng.uniform(600, 1500));
    let phase = 0;
    for (let i = 0; i < n; i++) {
      const x = speed * (i * T - t0);
      const r = Math.hypot(x, dist);
      const radial = (speed * x) / r;
      phase += 2 * Math.PI * f0 * (c / (c + radial)) * T;
      let s = 0;
      for (let h = 1; h <= 6; h++) s += Math.sin(h * phase) / h;
      out[i] = (out[i] as number) + (3 / r) * (0.25 * s + 0.6 * (speed / 15) * (tyre[i] as number));
    }
  }
  const horn = rng.chance(0.12);
  if (horn) {
    const start = rng.int(0, n - 4800);
    for (let i = 0; i < 4800; i++) {
      const t = i * T;
      const sq = Math.sign(Math.sin(2 * Math.PI * 420 * t)) + Math.sign(Math.sin(2 * Math.PI * 510 * t));
      out[start + i] = (out[start + i] as number) + 0.05 * sq * Math.min(1, i / 160, (4800 - i) / 160);
    }
  }
  const cutoff = rng.int(1500, 4000);
  const shaped = fit(await soxEffects(out, ['highpass', '20', 'lowpass', String(cutoff)]));
  const levelDb = rng.uniform(-28, -16);
  return {
    samples: setLevel(shaped, levelDb),
    params: { source: 'seeded brown/pink noise with slow AM, Doppler-shifted passing vehicles, sox filters', amHz: round(amHz), cars, horn, lowpassHz: cutoff, levelDbfs: round(levelDb) },
  };
}

const ALL_VOICES: readonly Voice[] = SPEAKERS;

async function voicing(rng: Rng, ctx: ClipContext): Promise<AudioClip> {
  const count = rng.int(2, 5);
  const out = new Float32Array(CLIP_SAMPLES);
  const talkers: Array<Record<string, unknown>> = [];
  for (let k = 0; k < count; k++) {
    const voice = rng.pick(ALL_VOICES);
    const text = makeSentence(rng);
    const speech = await speak(voice, text, NEUTRAL_PROSODY, ctx.tmpDir, `${ctx.tag}-v${k}`);
    const seg = scaleToRms(loudestWindow(speech, CLIP_SAMPLES), 0.1);
    const gainDb = rng.uniform(-12, 0);
    const offset = rng.int(-CLIP_SAMPLES / 2, CLIP_SAMPLES / 2);
    addInto(out, seg, offset, dbToGain(gainDb));
    talkers.push({ voice: voice.id, text, gainDb: round(gainDb), offsetS: round(offset * T) });
  }
  addInto(out, lowpass(pinkNoise(rng, CLIP_SAMPLES), 400), 0, 0.002);
  const reverberance = rng.int(20, 70);
  const room = fit(await soxEffects(out, ['reverb', String(reverberance), 'lowpass', '3800']));
  const levelDb = rng.uniform(-28, -16);
  return {
    samples: setLevel(room, levelDb),
    params: { source: 'babble of several TTS voices, sox reverb', talkers, reverberance, levelDbfs: round(levelDb) },
  };
}

async function other(rng: Rng, _ctx: ClipContext): Promise<AudioClip> {
  const n = CLIP_SAMPLES;
  const out = new Float32Array(n);
  const kinds = ['noise-bursts', 'clicks', 'hum', 'room-tone', 'wind', 'beeps'] as const;
  const chosen = [rng.pick(kinds)];
  if (rng.chance(0.4)) chosen.push(rng.pick(kinds));
  const details: Array<Record<string, unknown>> = [];
  for (const kind of chosen) {
    if (kind === 'noise-bursts') {
      const bursts = rng.int(1, 4);
      for (let k = 0; k < bursts; k++) {
        const len = rng.int(800, 4800);
        const burst = whiteNoise(rng, len);
        const g = rng.uniform(0.05, 0.3);
        fadeEdges(burst, 80);
        addInto(out, burst, rng.int(0, n - len), g);
      }
      details.push({ kind, bursts });
    } else if (kind === 'clicks') {
      const clicks = rng.int(3, 12);
      for (let k = 0; k < clicks; k++) {
        const f = rng.uniform(1000, 4000);
        const decay = rng.uniform(0.002, 0.01) * AUDIO_RATE_HZ;
        const len = Math.round(decay * 5);
        const click = new Float32Array(len);
        for (let i = 0; i < len; i++) click[i] = Math.sin(2 * Math.PI * f * i * T) * Math.exp(-i / decay);
        addInto(out, click, rng.int(0, n - len), rng.uniform(0.1, 0.5));
      }
      details.push({ kind, clicks });
    } else if (kind === 'hum') {
      const mainsHz = rng.pick([50, 60]);
      const amps = [1, 0.5, 0.3, 0.15, 0.1].map((a) => a * rng.uniform(0.5, 1.5));
      const noise = lowpass(whiteNoise(rng, n), 2000);
      for (let i = 0; i < n; i++) {
        let s = 0;
        amps.forEach((a, h) => (s += a * Math.sin(2 * Math.PI * mainsHz * (h + 1) * i * T)));
        out[i] = (out[i] as number) + 0.05 * s + 0.01 * (noise[i] as number);
      }
      details.push({ kind, mainsHz });
    } else if (kind === 'room-tone') {
      addInto(out, lowpass(pinkNoise(rng, n), 1000), 0, 0.001);
      details.push({ kind });
    } else if (kind === 'wind') {
      const gustHz = rng.uniform(0.3, 1.5);
      const noise = lowpass(pinkNoise(rng, n), rng.uniform(200, 800));
      for (let i = 0; i < n; i++) out[i] = (out[i] as number) + 0.01 * (noise[i] as number) * (1.2 + Math.sin(2 * Math.PI * gustHz * i * T));
      details.push({ kind, gustHz: round(gustHz) });
    } else {
      const beeps = rng.int(1, 3);
      const f = rng.uniform(800, 3000);
      const len = rng.int(1600, 4800);
      for (let k = 0; k < beeps; k++) {
        const beep = new Float32Array(len);
        for (let i = 0; i < len; i++) beep[i] = Math.sin(2 * Math.PI * f * i * T);
        fadeEdges(beep, 80);
        addInto(out, beep, rng.int(0, n - len), 0.2);
      }
      details.push({ kind, beeps, hz: round(f) });
    }
  }
  // Every real microphone has a noise floor; it also keeps "other" from being digital silence.
  addInto(out, pinkNoise(rng, n), 0, 0.0002);
  const quiet = chosen.length === 1 && chosen[0] === 'room-tone';
  const levelDb = quiet ? rng.uniform(-48, -42) : rng.uniform(-36, -20);
  return { samples: setLevel(out, levelDb), params: { source: 'seeded noises, clicks, hum, beeps, room tone', sounds: details, levelDbfs: round(levelDb) } };
}

/** Prosody and sox effects that stand in for one emotion or stress label. */
interface Style {
  prosody: Prosody;
  gainDb: number;
  effects: string[];
}

function jitterBend(rng: Rng, cents: number): string[] {
  // sox bend: a chain of short pitch bends of random size, an F0 jitter stand-in.
  const args: string[] = [];
  for (let k = 0; k < 24; k++) {
    // sox rejects a bend of 0 cents.
    const c = Math.round(rng.uniform(-cents, cents)) || 1;
    args.push(`0,${c},0.06`);
  }
  return ['bend', ...args];
}

function emotionStyle(label: string, rng: Rng): Style {
  switch (label) {
    case 'neutral':
      return { prosody: { pitchCents: rng.uniform(-100, 100), rateFactor: rng.uniform(0.95, 1.05), range: 'medium' }, gainDb: rng.uniform(-1, 1), effects: [] };
    case 'happy':
      return { prosody: { pitchCents: rng.uniform(300, 500), rateFactor: rng.uniform(1.1, 1.25), range: rng.pick(['high', 'x-high'] as const) }, gainDb: rng.uniform(2, 4), effects: ['treble', '3'] };
    case 'sad':
      return { prosody: { pitchCents: rng.uniform(-300, -150), rateFactor: rng.uniform(0.7, 0.85), range: rng.pick(['x-low', 'low'] as const) }, gainDb: rng.uniform(-8, -5), effects: ['lowpass', '2500'] };
    case 'angry':
      return { prosody: { pitchCents: rng.uniform(100, 300), rateFactor: rng.uniform(1.15, 1.3), range: 'x-high' }, gainDb: rng.uniform(6, 8), effects: ['overdrive', String(rng.int(5, 12))] };
    case 'afraid':
      return {
        prosody: { pitchCents: rng.uniform(400, 700), rateFactor: rng.uniform(1.2, 1.4), range: 'high' },
        gainDb: rng.uniform(-2, 0),
        effects: [...jitterBend(rng, 60), 'tremolo', rng.uniform(5, 8).toFixed(2), String(rng.int(30, 50))],
      };
    default:
      throw new Error(`Unknown emotion label "${label}".`);
  }
}

function stressStyle(label: string, rng: Rng): Style {
  if (label === 'calm') {
    return { prosody: { pitchCents: rng.uniform(-100, 0), rateFactor: rng.uniform(0.85, 0.95), range: rng.pick(['low', 'medium'] as const) }, gainDb: rng.uniform(-3, 0), effects: [] };
  }
  if (label === 'stressed') {
    return {
      prosody: { pitchCents: rng.uniform(200, 400), rateFactor: rng.uniform(1.15, 1.3), range: rng.pick(['high', 'x-high'] as const) },
      gainDb: rng.uniform(2, 5),
      effects: [...jitterBend(rng, 35), 'tremolo', rng.uniform(6, 10).toFixed(2), String(rng.int(10, 25))],
    };
  }
  throw new Error(`Unknown stress label "${label}".`);
}

const ESPEAK_VOICES = SPEAKERS.filter((v) => v.engine === 'espeak-ng');

async function styledSpeech(rng: Rng, ctx: ClipContext, style: Style): Promise<AudioClip> {
  const voice = rng.pick(ESPEAK_VOICES);
  const text = makeSentence(rng);
  let speech = await speak(voice, text, style.prosody, ctx.tmpDir, ctx.tag);
  speech = await soxEffects(speech, style.effects);
  const levelDb = -20 + style.gainDb;
  return {
    samples: setLevel(loudestWindow(speech, CLIP_SAMPLES), levelDb),
    params: {
      source: 'espeak-ng TTS with prosody changes (a synthetic stand-in, not acted or natural emotion)',
      voice: voice.id,
      text,
      pitchCents: round(style.prosody.pitchCents),
      rateFactor: round(style.prosody.rateFactor),
      range: style.prosody.range,
      effects: style.effects.join(' '),
      levelDbfs: round(levelDb),
    },
  };
}

async function speakerClip(rng: Rng, ctx: ClipContext, label: string): Promise<AudioClip> {
  const voice = SPEAKERS.find((v) => v.id === label);
  if (!voice) throw new Error(`Unknown speaker label "${label}"; expected s01..s23.`);
  const text = makeSentence(rng);
  const prosody: Prosody = { pitchCents: rng.uniform(-50, 50), rateFactor: rng.uniform(0.95, 1.05), range: 'medium' };
  const speech = await speak(voice, text, prosody, ctx.tmpDir, ctx.tag);
  const levelDb = rng.uniform(-23, -17);
  return {
    samples: setLevel(loudestWindow(speech, CLIP_SAMPLES), levelDb),
    params: { source: `${voice.engine} TTS voice ${voice.voice}`, text, pitchCents: round(prosody.pitchCents), rateFactor: round(prosody.rateFactor), levelDbfs: round(levelDb) },
  };
}

/**
 * Generates one clip for `head`/`label` from `rng`. The result depends only on the
 * random stream, not on other clips or on timing.
 */
export async function generateDeepEarClip(head: DeepEarHead, label: string, rng: Rng, ctx: ClipContext): Promise<AudioClip> {
  if (!(DEEPEAR_HEADS[head] as readonly string[]).includes(label)) {
    throw new Error(`"${label}" is not a label of the DeepEar head "${head}" (labels: ${DEEPEAR_HEADS[head].join(', ')}).`);
  }
  switch (head) {
    case 'ambient':
      if (label === 'music') return music(rng, ctx);
      if (label === 'traffic') return traffic(rng, ctx);
      if (label === 'voicing') return voicing(rng, ctx);
      return other(rng, ctx);
    case 'emotion':
      return styledSpeech(rng, ctx, emotionStyle(label, rng));
    case 'stress':
      return styledSpeech(rng, ctx, stressStyle(label, rng));
    case 'speaker':
      return speakerClip(rng, ctx, label);
  }
}

/**
 * Makes a noisy variant of a speech clip for mixed-condition training: a background
 * (synthetic traffic, music or other noise, chosen by `rng`) added at `snrDb`.
 */
export async function noisyVariant(clean: Float32Array, snrDb: number, rng: Rng, ctx: ClipContext): Promise<AudioClip> {
  const kind = rng.pick(['traffic', 'music', 'other'] as const);
  const bg = kind === 'traffic' ? await traffic(rng, ctx) : kind === 'music' ? await music(rng, ctx) : await other(rng, ctx);
  return { samples: mixAtSnr(clean, bg.samples, snrDb), params: { snrDb, background: kind } };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
