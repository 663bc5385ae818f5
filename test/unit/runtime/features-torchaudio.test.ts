/**
 * Log-mel and MFCC (with deltas) against torchaudio 0.13 on real WAV files made here:
 * a stereo sine sweep, white noise and espeak-ng speech (22.05 kHz, resampled). The
 * reference reads each file with torchaudio.load, mixes to mono, resamples with
 * scipy.signal.resample_poly and runs torchaudio's MelSpectrogram / MFCC on the window
 * zero-padded as runtime/features.ts documents (center=False, HTK, periodic Hann, power 2,
 * ln(mel + 1e-6), DCT-II ortho), then torchaudio.functional.compute_deltas.
 *
 * Tolerances: log-mel max |ours - torchaudio| < 1e-3 over every bin with mel energy
 * above 1e-4 (a relative energy error of 0.1%), and < 5e-3 everywhere including deltas
 * (near the floor float32 rounding in torch's FFT dominates); MFCC and its deltas max abs
 * difference < 5e-3. Measured when written: 7e-4 worst (sweep), 1e-4 above the floor.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureOutputShape } from '../../../language/feature-shapes';
import type { FeatureStep, InputSpec } from '../../../language/pipeline-model';
import { audioWindows, computeFeatures } from '../../../runtime/features';
import { toMonoAt } from '../../../runtime/resample';
import { decodeWav, encodeWav16 } from '../../../runtime/wav';
import { pythonHas, runPython } from '../../support/python';

const REFERENCE = String.raw`
import sys, json, math
import numpy as np, torch, torchaudio, scipy.signal
torch.set_num_threads(1)
inp = json.load(sys.stdin)
wav, sr = torchaudio.load(inp['path'])
x = wav.mean(0).double().numpy()
rate = inp['rate']
if sr != rate:
    g = math.gcd(sr, rate)
    x = scipy.signal.resample_poly(x, rate // g, sr // g)
x = torch.tensor(x, dtype=torch.float32)
c = inp['config']
win, hop, nfft = c['frameLen'], c['hop'], c['fftSize']
left = (nfft - win) // 2
right = nfft - win - left
mel_kwargs = dict(sample_rate=rate, n_fft=nfft, win_length=win, hop_length=hop, f_min=c['fminHz'],
                  f_max=c['fmaxHz'], n_mels=c['bands'], center=False, power=2.0, norm=None,
                  mel_scale='htk', window_fn=torch.hann_window)
out = []
for start in inp['starts']:
    w = torch.nn.functional.pad(x[start:start + inp['samples']], (left, right))
    if c['kind'] == 'mfcc':
        kw = dict(mel_kwargs); sample_rate = kw.pop('sample_rate')
        t = torchaudio.transforms.MFCC(sample_rate=sample_rate, n_mfcc=c['coeffs'], dct_type=2, norm='ortho',
                                       log_mels=True, melkwargs=kw)
        y = t(w)
    else:
        y = torch.log(torchaudio.transforms.MelSpectrogram(**mel_kwargs)(w) + 1e-6)
    parts = [y]
    for _ in range(c['deltas']):
        parts.append(torchaudio.functional.compute_deltas(parts[-1], win_length=5))
    y = torch.cat(parts, 0)
    out.append({'shape': list(y.shape), 'data': y.reshape(-1).tolist()})
print(json.dumps(out))
`;

interface Case {
  name: string;
  file: string;
  rateHz: number;
  steps: FeatureStep[];
}

let dir = '';

function sweep(rateHz: number, seconds: number, f0: number, f1: number, amp: number): Float32Array {
  const n = Math.round(rateHz * seconds);
  const out = new Float32Array(n);
  const k = Math.log(f1 / f0) / seconds;
  for (let i = 0; i < n; i++) {
    const t = i / rateHz;
    out[i] = amp * Math.sin(((2 * Math.PI * f0) / k) * (Math.exp(k * t) - 1));
  }
  return out;
}

function noise(n: number, amp: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = amp * (s / 2 ** 31 - 1);
  }
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sense-features-'));
  writeFileSync(join(dir, 'sweep-stereo-44k.wav'), encodeWav16([sweep(44100, 2.2, 50, 20000, 0.6), sweep(44100, 2.2, 80, 15000, 0.3)], 44100));
  writeFileSync(join(dir, 'noise-16k.wav'), encodeWav16(noise(16000 * 2, 0.5, 7), 16000));
  execFileSync('espeak-ng', ['-w', join(dir, 'speech.wav'), 'The quick brown fox jumps over the lazy dog near the river bank'], { stdio: 'pipe' });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const frames = (fftSize?: number): FeatureStep => ({ kind: 'frames', lengthS: 0.025, hopS: 0.01, ...(fftSize ? { fftSize } : {}) });

const cases: Case[] = [
  { name: 'log-mel 40 bands, sweep (stereo 44.1 kHz -> 16 kHz)', file: 'sweep-stereo-44k.wav', rateHz: 16000, steps: [frames(), { kind: 'logmel', bands: 40, fminHz: 0 }] },
  { name: 'log-mel 64 bands 20-7600 Hz n_fft 1024, noise', file: 'noise-16k.wav', rateHz: 16000, steps: [frames(1024), { kind: 'logmel', bands: 64, fminHz: 20, fmaxHz: 7600 }] },
  { name: 'log-mel 40 bands + deltas 2, speech (22.05 -> 16 kHz)', file: 'speech.wav', rateHz: 16000, steps: [frames(), { kind: 'logmel', bands: 40, fminHz: 0 }, { kind: 'deltas', order: 2 }] },
  { name: 'MFCC 13 of 40 bands + deltas 2, speech (22.05 -> 16 kHz)', file: 'speech.wav', rateHz: 16000, steps: [frames(), { kind: 'mfcc', coeffs: 13, bands: 40, deltas: 2, fminHz: 0 }] },
  { name: 'MFCC 20 of 26 bands, speech at 8 kHz', file: 'speech.wav', rateHz: 8000, steps: [frames(), { kind: 'mfcc', coeffs: 20, bands: 26, deltas: 0, fminHz: 0 }] },
  { name: 'MFCC 13 of 40 bands + deltas 1, sweep', file: 'sweep-stereo-44k.wav', rateHz: 16000, steps: [frames(), { kind: 'mfcc', coeffs: 13, bands: 40, deltas: 1, fminHz: 0 }] },
];

describe('log-mel and MFCC match torchaudio', () => {
  it('has the Python reference modules', () => {
    expect(pythonHas('numpy', 'scipy', 'torch', 'torchaudio')).toBe(true);
  });

  for (const c of cases) {
    it(c.name, () => {
      const input: InputSpec = { kind: 'audio', rateHz: c.rateHz, windowS: 1, hopS: 0.5, channels: 1 };
      const outputShape = featureOutputShape(input, c.steps);
      const path = join(dir, c.file);
      const signal = toMonoAt(decodeWav(new Uint8Array(readFileSync(path)), c.file), c.rateHz);
      const windows = audioWindows(signal, input);
      expect(windows.length).toBeGreaterThanOrEqual(2);
      const ours = windows.map((w) => computeFeatures(input, { steps: c.steps, outputShape }, w));
      const fr = c.steps[0] as Extract<FeatureStep, { kind: 'frames' }>;
      const spectral = c.steps[1] as Extract<FeatureStep, { kind: 'logmel' | 'mfcc' }>;
      const frameLen = Math.round(c.rateHz * fr.lengthS);
      const config = {
        kind: spectral.kind,
        frameLen,
        hop: Math.round(c.rateHz * fr.hopS),
        fftSize: fr.fftSize ?? 2 ** Math.ceil(Math.log2(frameLen)),
        bands: spectral.bands,
        fminHz: spectral.fminHz,
        fmaxHz: spectral.fmaxHz ?? c.rateHz / 2,
        coeffs: spectral.kind === 'mfcc' ? spectral.coeffs : 0,
        deltas: spectral.kind === 'mfcc' ? spectral.deltas : ((c.steps[2] as { order?: number } | undefined)?.order ?? 0),
      };
      const hop = Math.round(c.rateHz * input.hopS);
      const ref = runPython<{ shape: number[]; data: number[] }[]>(REFERENCE, {
        path,
        rate: c.rateHz,
        samples: c.rateHz,
        starts: windows.map((_, i) => i * hop),
        config,
      });
      expect(ref.length).toBe(ours.length);
      let maxDiff = 0;
      let maxDiffAbove = 0;
      for (let w = 0; w < ours.length; w++) {
        expect(ours[w].shape).toEqual(ref[w].shape);
        expect(ours[w].shape).toEqual(outputShape);
        const base = spectral.kind === 'logmel' ? spectral.bands * outputShape[1] : 0;
        ref[w].data.forEach((r, i) => {
          const d = Math.abs(ours[w].data[i] - r);
          maxDiff = Math.max(maxDiff, d);
          // For log-mel rows (not their deltas), also track bins clearly above the floor.
          if (i < base && r > Math.log(1e-4)) maxDiffAbove = Math.max(maxDiffAbove, d);
        });
      }
      if (spectral.kind === 'logmel') {
        expect(maxDiffAbove).toBeLessThan(1e-3);
        expect(maxDiff).toBeLessThan(5e-3);
      } else {
        expect(maxDiff).toBeLessThan(5e-3);
      }
    });
  }
});
