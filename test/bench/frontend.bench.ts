/**
 * Audio front end per 1 s clip at 16 kHz (25 ms frames, 10 ms hop, n_fft 512, 40 bands):
 * our log-mel and MFCC 13 (+2 deltas) against torchaudio 0.13 on the same clip, whose
 * median is measured inside one Python process (torch limited to one thread, as our code
 * runs on one), plus resampling 1 s of 44.1 kHz audio against scipy.signal.resample_poly
 * and decoding 60 s of 16-bit WAV. Prints medians and ratios; asserts nothing.
 */
import { featureOutputShape } from '../../language/feature-shapes';
import type { FeatureStep, InputSpec } from '../../language/pipeline-model';
import { computeFeatures } from '../../runtime/features';
import { resample } from '../../runtime/resample';
import { decodeWav, encodeWav16 } from '../../runtime/wav';
import { runPython } from '../support/python';
import { medianMs, report } from './util';

const PY = String.raw`
import sys, json, time, math
import numpy as np, torch, torchaudio, scipy.signal
torch.set_num_threads(1)
inp = json.load(sys.stdin)
x = torch.tensor(inp['x'], dtype=torch.float32)
x44 = np.array(inp['x44'], dtype=np.float64)
kw = dict(n_fft=512, win_length=400, hop_length=160, f_min=0.0, f_max=8000.0, n_mels=40, center=False,
          power=2.0, norm=None, mel_scale='htk', window_fn=torch.hann_window)
mel = torchaudio.transforms.MelSpectrogram(sample_rate=16000, **kw)
mfcc = torchaudio.transforms.MFCC(sample_rate=16000, n_mfcc=13, norm='ortho', log_mels=True, melkwargs=kw)
pad = torch.nn.functional.pad
def logmel():
    with torch.no_grad():
        return torch.log(mel(pad(x, (56, 56))) + 1e-6)
def mfcc_d():
    with torch.no_grad():
        m = mfcc(pad(x, (56, 56)))
        d = torchaudio.functional.compute_deltas(m)
        return torch.cat([m, d, torchaudio.functional.compute_deltas(d)], 0)
def res():
    return scipy.signal.resample_poly(x44, 160, 441)
def median_ms(f, runs=201):
    for _ in range(10): f()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter(); f(); ts.append((time.perf_counter() - t0) * 1000)
    return sorted(ts)[len(ts) // 2]
print(json.dumps({'logmel': median_ms(logmel), 'mfcc': median_ms(mfcc_d), 'resample': median_ms(res)}))
`;

/** Runs the front-end benchmark and prints medians and ratios. */
export async function run(): Promise<void> {
  const input: InputSpec = { kind: 'audio', rateHz: 16000, windowS: 1, hopS: 1, channels: 1 };
  let s = 1;
  const x = Float32Array.from({ length: 16000 }, (_, i) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return 0.3 * Math.sin((2 * Math.PI * (200 + i / 8) * i) / 16000) + 0.05 * (s / 2 ** 32 - 0.5);
  });
  const x44 = Float32Array.from({ length: 44100 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / 44100));
  const frames: FeatureStep = { kind: 'frames', lengthS: 0.025, hopS: 0.01 };
  const logmelSteps: FeatureStep[] = [frames, { kind: 'logmel', bands: 40, fminHz: 0 }];
  const mfccSteps: FeatureStep[] = [frames, { kind: 'mfcc', coeffs: 13, bands: 40, deltas: 2, fminHz: 0 }];
  const logmelSpec = { steps: logmelSteps, outputShape: featureOutputShape(input, logmelSteps) };
  const mfccSpec = { steps: mfccSteps, outputShape: featureOutputShape(input, mfccSteps) };

  const oursLogmel = await medianMs(() => computeFeatures(input, logmelSpec, x), 201, 10);
  const oursMfcc = await medianMs(() => computeFeatures(input, mfccSpec, x), 201, 10);
  const oursResample = await medianMs(() => resample(x44, 44100, 16000), 51, 5);
  const wav60 = encodeWav16(new Float32Array(16000 * 60).map((_, i) => 0.5 * Math.sin(i / 10)), 16000);
  const oursDecode = await medianMs(() => decodeWav(wav60), 21, 3);

  const ref = runPython<{ logmel: number; mfcc: number; resample: number }>(PY, { x: Array.from(x), x44: Array.from(x44) });
  const ratio = (a: number, b: number) => `torchaudio/scipy ${b.toFixed(3)} ms, ours/ref = ${(a / b).toFixed(2)}x`;
  report('log-mel 40 bands, 1 s @ 16 kHz (ours)', oursLogmel, ratio(oursLogmel, ref.logmel));
  report('MFCC 13 + deltas 2, 1 s @ 16 kHz (ours)', oursMfcc, ratio(oursMfcc, ref.mfcc));
  report('resample 1 s 44.1 -> 16 kHz (ours)', oursResample, ratio(oursResample, ref.resample));
  report('decode 60 s 16-bit mono WAV (ours)', oursDecode, '(wavefile 11 measured 82 ms)');
}
