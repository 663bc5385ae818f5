/**
 * Pipelines no calibration saw, for judging a kernel predictor (test/bench/calibrate.bench.ts
 * and test/unit/calibrate/held-out.test.ts): seeded random `.sense` pipelines on `host` over
 * every layer kind the runtime bundles (dense, conv1d, maxpool, avgpool, global pools,
 * batchnorm, GRU, LSTM, standalone activations, dropout, flatten, SVD-compressed dense and
 * conv1d) behind random audio and inertial front ends (log-mel, MFCC with deltas, deltas,
 * normalize, silence, stacking, statistics, raw windows). Widths, lengths, kernel sizes and
 * FFT sizes are drawn afresh, so they are not the kernel suite's shapes.
 */
import { mulberry32 } from '../../engine/compress/random';

/** One generated pipeline: its name and `.sense` text. */
export interface HeldOutPipeline {
  name: string;
  text: string;
}

/** `count` random pipelines from `seed` (deterministic). */
export function randomPipelines(count: number, seed: number): HeldOutPipeline[] {
  const rng = mulberry32(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
  const act = (): string => pick(['', ' relu', ' relu', ' tanh', ' sigmoid', ' gelu', ' elu']);
  const out: HeldOutPipeline[] = [];
  for (let n = 0; n < count; n++) {
    const name = `HeldOut${seed}x${n}`;
    const layers: string[] = [];
    let input: string;
    let features: string[];
    // The front end's output: a [rows, length] map, or a vector (statistics).
    let rows: number;
    let length: number;
    if (rng() < 0.55) {
      const rate = pick([8000, 16000, 16000, 22050]);
      const windowS = pick([0.5, 0.75, 1, 1.5]);
      input = `input audio { rate ${rate} Hz  window ${windowS} s }`;
      const frameMs = pick([20, 25, 30, 40, 50]);
      const hopMs = Math.round(frameMs * pick([0.4, 0.5, 0.75]));
      features = [];
      if (rng() < 0.4) features.push('silence below -55 dB');
      features.push(`frames ${frameMs} ms hop ${hopMs} ms`);
      const frameLen = Math.round((rate * frameMs) / 1000);
      length = Math.floor((Math.round(rate * windowS) - frameLen) / Math.round((rate * hopMs) / 1000)) + 1;
      if (rng() < 0.5) {
        rows = pick([24, 32, 40, 48, 64]);
        features.push(`logmel ${rows} bands`);
        if (rng() < 0.4) {
          const order = int(1, 2);
          features.push(`deltas ${order}`);
          rows *= 1 + order;
        }
      } else {
        const coeffs = pick([12, 13, 20]);
        const deltas = int(0, 2);
        features.push(`mfcc ${coeffs} coeffs ${pick([26, 32, 40])} bands${deltas ? ` deltas ${deltas}` : ''}`);
        rows = coeffs * (1 + deltas);
      }
      features.push('normalize');
      if (rng() < 0.3) {
        const k = int(2, 4);
        features.push(`stack ${k}`);
        rows *= k;
        length -= k - 1;
      }
    } else {
      const rate = pick([25, 50, 64, 100, 200]);
      const windowS = pick([1, 2, 2.56, 4]);
      const axes = pick([
        ['accelerometer [x, y, z]', 3],
        ['accelerometer [x, y, z]  gyroscope [x, y, z]', 6],
        ['accelerometer [x, y, z]  gyroscope [x, y, z]  magnetometer [x, y, z]', 9],
      ] as const);
      input = `input inertial { rate ${rate} Hz  window ${windowS} s  ${axes[0]} }`;
      rows = axes[1];
      length = Math.round(rate * windowS);
      if (rng() < 0.35) {
        const stats = ['mean', 'std', 'min', 'max', 'rms', 'range', 'median', 'energy', 'zcr', 'skew', 'kurtosis'].filter(() => rng() < 0.5);
        if (stats.length === 0) stats.push('mean', 'std');
        features = [`stats ${stats.join(', ')}`, 'normalize'];
        rows *= stats.length;
        length = 0;
      } else {
        features = ['raw'];
        if (rng() < 0.3) features.push('normalize');
      }
    }
    if (length > 0) {
      // Sequence layers on [rows, length].
      const depth = int(1, 4);
      for (let i = 0; i < depth && length >= 4; i++) {
        const r = rng();
        if (r < 0.45) {
          const k = Math.min(pick([1, 3, 5, 7]), length);
          const filters = pick([8, 16, 24, 32, 48, 64, 96, 128]);
          const same = rng() < 0.5;
          layers.push(`conv1d ${filters} kernel ${k}${same ? ' padding same' : ''}${act()}`);
          rows = filters;
          if (!same) length = length - k + 1;
        } else if (r < 0.6) {
          layers.push(`${pick(['maxpool', 'avgpool'])} 2`);
          length = Math.floor(length / 2);
        } else if (r < 0.7) layers.push(pick(['batchnorm', 'relu', 'tanh', 'sigmoid', 'dropout 0.2']));
        else if (length <= 300) {
          const units = pick([16, 24, 32, 48, 64, 96, 128]);
          layers.push(`${pick(['gru', 'lstm'])} ${units} sequences`);
          rows = units;
        }
      }
      const end = rng();
      if (end < 0.3 && length <= 300) {
        const units = pick([16, 32, 64, 100]);
        layers.push(`${pick(['gru', 'lstm'])} ${units}`);
        rows = units;
      } else if (end < 0.6 || rows * length > 16384) layers.push(`${pick(['maxpool', 'avgpool'])} global`);
      else {
        layers.push('flatten');
        rows *= length;
      }
    }
    // Dense layers on the vector.
    const dense = int(1, 3);
    for (let i = 0; i < dense; i++) layers.push(`dense ${pick([16, 32, 64, 128, 200, 256, 384, 512, 768, 1024])}${act()}`);
    if (rng() < 0.25) layers.push(pick(['dropout 0.3', 'relu']));
    layers.push(`dense ${int(2, 12)} softmax`);
    const compress: string[] = [];
    const denseIndex = layers.findIndex((l, i) => l.startsWith('dense') && i < layers.length - 1);
    if (denseIndex >= 0 && rng() < 0.3) compress.push(`compress out.${denseIndex + 1} svd rank ${pick([8, 16, 32])}`);
    out.push({
      name,
      text: `pipeline ${name} {\n  ${input}\n  features {\n    ${features.join('\n    ')}\n  }\n  head out {\n    ${layers.join('\n    ')}\n  }\n  target host\n${compress.map((c) => `  ${c}\n`).join('')}}\n`,
    });
  }
  return out;
}
