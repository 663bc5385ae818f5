/** Shared helpers of the training tests: pipelines from text, seeded sine clips, the wasm backend. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadPipeline } from '../../../cli/load';
import type { PipelineSpec } from '../../../language/pipeline-model';
import { mulberry32 } from '../../../engine/compress/random';
import type { TrainExample } from '../../../engine/train/trainer';

/** A fresh temporary folder. */
export function tempDir(prefix = 'sense-train-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes `text` to a temporary `.sense` file and returns its checked pipeline and path. */
export async function pipelineFromText(text: string): Promise<{ spec: PipelineSpec; path: string }> {
  const path = join(tempDir(), 'p.sense');
  writeFileSync(path, text);
  const { spec } = await loadPipeline(path);
  return { spec, path };
}

/** Selects tfjs's backend for a test ('wasm' unless the pipeline needs 'cpu'). */
export async function useBackend(name: 'wasm' | 'cpu'): Promise<void> {
  if (tf.getBackend() !== name) await tf.setBackend(name);
  await tf.ready();
}

/** Frequencies of the three sine classes of the toy task, Hz. */
export const SINE_CLASSES_HZ = [300, 900, 2000];

/** One 0.25 s clip at 8 kHz: a sine of class `label` with random phase, amplitude and white noise. */
export function sineClip(label: number, rng: () => number, samples = 2000, rateHz = 8000): Float32Array {
  const f = SINE_CLASSES_HZ[label] * (0.95 + 0.1 * rng());
  const a = 0.1 + 0.4 * rng();
  const phase = 2 * Math.PI * rng();
  const out = new Float32Array(samples);
  for (let i = 0; i < samples; i++) out[i] = a * Math.sin((2 * Math.PI * f * i) / rateHz + phase) + 0.05 * (2 * rng() - 1);
  return out;
}

/** `perClass` seeded sine examples per class for head `head`. */
export function sineExamples(head: string, perClass: number, seed: number): TrainExample[] {
  const rng = mulberry32(seed);
  const out: TrainExample[] = [];
  for (let label = 0; label < SINE_CLASSES_HZ.length; label++)
    for (let i = 0; i < perClass; i++) out.push({ clip: `${head}/${label}/${i}`, head, label, window: sineClip(label, rng) });
  return out;
}

/** The toy audio pipeline: 8 kHz, 0.25 s, 16 log-mel bands, a small shared MLP and the given heads. */
export const SINE_PIPELINE = `
pipeline Tones {
  input audio { rate 8 kHz  window 0.25 s }
  features { frames 32 ms hop 16 ms  logmel 16 bands  normalize }
  shared body { flatten  dense 16 relu }
  head tone from body { dense 3 softmax  labels [low, mid, high] }
  head loud from body { dense 2 softmax  labels [quiet, loud] }
  target snapdragon800
  weights "tones.safetensors"
}
`;
