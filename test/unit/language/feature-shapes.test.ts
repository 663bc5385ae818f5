/**
 * The shared feature shape rules (language/feature-shapes.ts), data-driven: each row is
 * an input, feature steps and the shape DESIGN.md's rules give, worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { FeatureShapeError, featureOutputShape } from '../../../language/feature-shapes';
import type { FeatureStep, InputSpec } from '../../../language/pipeline-model';

const audio: InputSpec = { kind: 'audio', rateHz: 16000, windowS: 1, hopS: 1, channels: 1 };
const imu: InputSpec = {
  kind: 'inertial',
  rateHz: 50,
  windowS: 2.56,
  hopS: 1.28,
  sensors: [
    { kind: 'accelerometer', axes: ['x', 'y', 'z'] },
    { kind: 'gyroscope', axes: ['x', 'y', 'z', 'magnitude'] },
  ],
};
const frames: FeatureStep = { kind: 'frames', lengthS: 0.025, hopS: 0.01 };

const good: [string, InputSpec, FeatureStep[], number[]][] = [
  ['DeepEar log-mel: 98 frames of 40 bands', audio, [{ kind: 'silence', thresholdDb: -50 }, frames, { kind: 'logmel', bands: 40, fminHz: 0 }, { kind: 'normalize' }], [40, 98]],
  ['MFCC 13 with 2 deltas', audio, [frames, { kind: 'mfcc', coeffs: 13, bands: 40, deltas: 2, fminHz: 0 }], [39, 98]],
  ['log-mel then deltas 1 then stack 5', audio, [frames, { kind: 'logmel', bands: 40, fminHz: 0 }, { kind: 'deltas', order: 1 }, { kind: 'stack', frames: 5 }], [400, 94]],
  ['frames only', audio, [frames], [400, 98]],
  ['raw audio', audio, [{ kind: 'raw' }], [1, 16000]],
  ['no steps', audio, [], [1, 16000]],
  ['22.05 kHz, 0.5 s window, 30 ms frames, 15 ms hop', { ...audio, rateHz: 22050, windowS: 0.5 }, [{ kind: 'frames', lengthS: 0.03, hopS: 0.015 }, { kind: 'logmel', bands: 64, fminHz: 20 }], [64, 32]],
  ['inertial stats (axis-major)', imu, [{ kind: 'stats', stats: ['mean', 'std', 'zcr'] }], [21]],
  ['inertial raw', imu, [{ kind: 'raw' }, { kind: 'normalize' }], [7, 128]],
  ['inertial raw + deltas 2', imu, [{ kind: 'deltas', order: 2 }], [21, 128]],
  ['image', { kind: 'image', height: 224, width: 224, channels: 3, hopS: 1 }, [], [3, 224, 224]],
];

const bad: [string, InputSpec, FeatureStep[], RegExp, number][] = [
  ['logmel without frames', audio, [{ kind: 'logmel', bands: 40, fminHz: 0 }], /needs framed audio/, 0],
  ['frame longer than window', { ...audio, windowS: 0.02 }, [frames], /400-sample frame does not fit in the 320-sample window/, 0],
  ['framing inertial', imu, [frames], /framing applies to audio input/, 0],
  ['silence on inertial', imu, [{ kind: 'silence', thresholdDb: -50 }], /audio input only/, 0],
  ['more coeffs than bands', audio, [frames, { kind: 'mfcc', coeffs: 41, bands: 40, deltas: 0, fminHz: 0 }], /1 <= coeffs <= bands/, 1],
  ['fmax above Nyquist', audio, [frames, { kind: 'logmel', bands: 40, fminHz: 0, fmaxHz: 9000 }], /fmax <= 8000 Hz/, 1],
  ['stack too many', audio, [frames, { kind: 'logmel', bands: 40, fminHz: 0 }, { kind: 'stack', frames: 99 }], /cannot stack 99 frames of 98/, 2],
  ['fft size below frame', audio, [{ ...frames, fftSize: 256 } as FeatureStep, { kind: 'logmel', bands: 40, fminHz: 0 }], /fft size 256 is shorter than the 400-sample frame/, 0],
  ['fft size not a power of two', audio, [{ ...frames, fftSize: 500 } as FeatureStep], /power of two/, 0],
  ['deltas on a stats vector', imu, [{ kind: 'stats', stats: ['mean'] }, { kind: 'deltas', order: 1 }], /needs a \[features, time\] map/, 1],
  ['inertial with no axis', { ...imu, sensors: [] }, [], /lists no sensor axis/, -1],
  ['features on an image', { kind: 'image', height: 2, width: 2, channels: 1, hopS: 1 }, [{ kind: 'normalize' }], /image input takes no feature steps/, 0],
];

describe('featureOutputShape', () => {
  for (const [name, input, steps, shape] of good) {
    it(`gives ${JSON.stringify(shape)} for ${name}`, () => {
      expect(featureOutputShape(input, steps)).toEqual(shape);
    });
  }
  for (const [name, input, steps, message, stepIndex] of bad) {
    it(`rejects ${name}`, () => {
      let err: unknown;
      try {
        featureOutputShape(input, steps);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FeatureShapeError);
      expect((err as FeatureShapeError).message).toMatch(message);
      expect((err as FeatureShapeError).stepIndex).toBe(stepIndex);
    });
  }
});
