/**
 * Chooses the tfjs backend for training: tfjs's WebAssembly backend (`@tensorflow/tfjs-backend-wasm`,
 * SIMD) where it has every kernel the pipeline's gradients need, else tfjs's plain-JS `cpu`
 * backend. tfjs 4.22's wasm backend has no `Conv2DBackpropFilter` kernel (conv1d runs as a
 * conv2d), so pipelines with convolutions train on `cpu`; dense, pooling, batchnorm and
 * recurrent pipelines train on wasm.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { PipelineSpec } from '../../language/pipeline-model';

/** Kernels a layer kind's backward pass needs beyond the common element-wise and matmul ones. */
const GRADIENT_KERNELS: Record<string, string[]> = {
  conv1d: ['Conv2DBackpropFilter', 'Conv2DBackpropInput'],
  conv2d: ['Conv2DBackpropFilter', 'Conv2DBackpropInput'],
  maxpool: ['MaxPoolGrad'],
  avgpool: ['AvgPoolGrad'],
};

/** The kernels `spec`'s layers need that tfjs backend `backend` does not register. */
export function missingKernels(spec: PipelineSpec, backend: string): string[] {
  const need = new Set(spec.blocks.flatMap((b) => b.layers.flatMap((l) => (l.global ? [] : (GRADIENT_KERNELS[l.kind] ?? [])))));
  return [...need].filter((k) => !tf.getKernel(k, backend));
}

/** Selects and initialises the training backend for `spec`; returns its name and why. */
export async function useTrainingBackend(spec: PipelineSpec): Promise<{ backend: string; reason: string }> {
  const missing = missingKernels(spec, 'wasm');
  const backend = missing.length === 0 ? 'wasm' : 'cpu';
  if (tf.getBackend() !== backend) {
    const ok = await tf.setBackend(backend);
    if (!ok) throw new Error(`could not initialise the tfjs ${backend} backend`);
  }
  await tf.ready();
  return { backend, reason: missing.length === 0 ? 'wasm has every kernel' : `wasm lacks ${missing.join(', ')}` };
}
