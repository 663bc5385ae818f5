/**
 * ONNX export against independent references: every partition model passes
 * onnx.checker.check_model (Debian's python3-onnx 1.12, IR 8 / opset 17), and the
 * partitions chained by ONNX Runtime give the same head outputs as a numpy forward pass
 * of the same weights (test/unit/export/helpers.ts NUMPY_FORWARD), for every layer kind
 * and compression. The unpartitioned model, run at batch 3, agrees with the chained
 * partitions.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportOnnx } from '../../../engine/onnx/export-onnx';
import { encodeSafetensors } from '../../../engine/weights/safetensors';
import { checkWeights } from '../../../engine/weights/weights';
import { mulberry32 } from '../../../engine/compress/random';
import { runPython } from '../../support/python';
import type { BundleManifest } from '../../../runtime/bundle-manifest';
import { buildBundle } from '../../../engine/export/bundle';
import { createRunner } from '../../../runtime/runner';
import { flat, maxAbsDiff, nested, NUMPY_FORWARD, ortNode, randomWeights, referenceLayers, specOf, tempDir } from './helpers';

const CASES: { name: string; text: string; partitions: number; tol: number }[] = [
  {
    name: 'MLP with svd, int8 and sparse dense layers on three processors',
    partitions: 3,
    tol: 2e-4,
    text: `pipeline Mlp {
      input audio { rate 8 kHz  window 0.5 s }
      features { frames 32 ms hop 16 ms  logmel 12 bands  normalize }
      shared encoder { flatten  dense 48 relu  dense 40 tanh  dense 32 sigmoid }
      head a from encoder { dense 24 gelu  elu  dense 5 softmax  labels [l1, l2, l3, l4, l5] }
      head b from encoder { dense 16 leakyrelu  dense 3 sigmoid }
      target snapdragon800
      compress encoder.2 svd rank 6
      compress encoder.3 int8
      compress a.1 sparse atoms 12 nonzeros 3
      compress a.3 int8
      compress b.1 svd energy 90 %
      place encoder on dsp
      place a on gpu
      place b on cpu
    }`,
  },
  {
    name: 'conv1d (same/valid, stride), pools, batchnorm, global pool, dense on a sequence',
    partitions: 2,
    tol: 2e-4,
    text: `pipeline Conv {
      input audio { rate 8 kHz  window 0.5 s }
      features { frames 32 ms hop 16 ms  logmel 10 bands }
      shared trunk { conv1d 8 kernel 5 stride 2 padding same relu  batchnorm  maxpool 3 stride 2  conv1d 6 kernel 3 padding valid sigmoid  avgpool 2 }
      head seq from trunk { dense 4 relu  flatten  dense 3 softmax }
      head pooled from trunk { conv1d 5 kernel 3 padding same  dropout 0.5  avgpool global  dense 2 softmax }
      target snapdragon800
      compress trunk.4 svd rank 3
      compress pooled.1 int8
      place pooled on gpu
    }`,
  },
  {
    name: 'gru (sequences) and lstm (last state), then dense',
    partitions: 1,
    tol: 2e-4,
    text: `pipeline Rnn {
      input audio { rate 8 kHz  window 0.25 s }
      features { frames 32 ms hop 16 ms  mfcc 6 coeffs 12 bands deltas 1 }
      shared enc { gru 7 sequences  lstm 5 }
      head out from enc { dense 3 softmax }
      target snapdragon800
      place enc, out on cpu
    }`,
  },
  {
    name: 'conv2d image pipeline with sparse, svd and int8 kernels',
    partitions: 2,
    tol: 3e-4,
    text: `pipeline Img {
      input image { size 12 x 10  channels 3 }
      shared enc { conv2d 6 kernel 3 padding same relu  maxpool 2  conv2d 8 kernel 3 x 2 stride 2 padding same  batchnorm  conv2d 4 kernel 1 relu  maxpool global }
      head cls from enc { dense 3 softmax }
      target snapdragon800
      compress enc.1 sparse atoms 4 nonzeros 2
      compress enc.3 svd rank 3
      compress enc.5 int8
      place enc.4, enc.5, enc.6, cls on gpu
    }`,
  },
];

describe('ONNX export matches numpy and passes the ONNX checker', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const spec = await specOf(c.text);
      const weights = randomWeights(spec, 11);
      expect(checkWeights(spec, weights, 'test').warnings).toEqual([]);
      const dir = tempDir();
      const wpath = join(dir, 'w.safetensors');
      writeFileSync(wpath, encodeSafetensors(weights));
      const parts = exportOnnx(spec, weights);
      const single = exportOnnx(spec, weights, { single: true });
      expect(parts.partitions.length).toBe(c.partitions);
      expect(single.partitions.length).toBe(1);
      const models = [...parts.partitions, ...single.partitions].map((p, i) => {
        const path = join(dir, `${i}-${p.id}.onnx`);
        writeFileSync(path, p.model);
        return path;
      });
      const rng = mulberry32(3);
      const batch = 3;
      const shape = spec.features.outputShape;
      const per = shape.reduce((a, b) => a * b, 1);
      const x = Float32Array.from({ length: batch * per }, () => 2 * rng() - 1);
      const ref = runPython<{ heads: Record<string, unknown>; relErrors: Record<string, number> }>(NUMPY_FORWARD, {
        weights: wpath,
        blocks: referenceLayers(spec),
        x: nested(x, [batch, ...shape]),
        models,
      });
      // The compression export reports the same relative error numpy measures on the factors.
      for (const r of parts.compression) {
        expect(Math.abs(r.relError - ref.relErrors[r.layerId]), r.layerId).toBeLessThan(1e-4);
      }
      const ort = await ortNode();
      // Chained partitions through the runtime's runner, one example at a time.
      const manifest = {
        pipeline: spec.name,
        features: { steps: [], outputShape: shape, tensor: 'features' },
        partitions: parts.partitions.map((p) => ({ id: p.id, processor: p.processor, providers: ['cpu'], model: `${p.id}.onnx`, layers: p.layerIds, inputs: p.inputs, outputs: p.outputs })),
        heads: {},
      } as unknown as BundleManifest;
      const runner = await createRunner({ ort, backend: 'node', manifest, models: new Map(parts.partitions.map((p) => [`${p.id}.onnx`, p.model])), warmup: false });
      const chained: Record<string, number[]> = {};
      for (let n = 0; n < batch; n++) {
        const t = await runner.runPartitions(x.slice(n * per, (n + 1) * per));
        for (const [head, out] of Object.entries(parts.headOutputs)) (chained[head] ??= []).push(...t.get(out.name)!);
      }
      await runner.release();
      for (const head of Object.keys(parts.headOutputs)) {
        const want = flat(ref.heads[head]);
        expect(chained[head].length).toBe(want.length);
        expect(maxAbsDiff(chained[head], want), `${head} vs numpy`).toBeLessThan(c.tol);
      }
      // The single model at batch 3 equals the chained partitions.
      const s = single.partitions[0];
      const session = await ort.InferenceSession.create(s.model);
      const out = await session.run({ features: new ort.Tensor('float32', x, [batch, ...shape]) });
      for (const [head, ref2] of Object.entries(single.headOutputs)) {
        const got = out[ref2.name];
        expect(got.dims).toEqual([batch, ...ref2.shape]);
        expect(maxAbsDiff(got.data as Float32Array, chained[head]), `${head} single vs partitioned`).toBeLessThan(1e-5);
      }
      await session.release();
    });
  }

  it('builds a bundle manifest with partitions, providers, heads, normalisation and estimates', async () => {
    const spec = await specOf(CASES[0].text);
    const b = buildBundle(spec, randomWeights(spec, 2));
    const m = b.manifest;
    expect(m.partitions.map((p) => [p.id, p.processor])).toEqual([['p0', 'dsp'], ['p1', 'gpu'], ['p2', 'cpu']]);
    expect(m.partitions[0].providers).toEqual(['qnn', 'nnapi', 'coreml', 'cpu']);
    expect(m.partitions[1].providers).toEqual(['webgpu', 'cpu']);
    expect(m.partitions[2].providers).toEqual(['xnnpack', 'cpu']);
    expect(m.partitions[0].inputs).toEqual([{ name: 'features', shape: [12, 30] }]);
    expect(m.partitions[0].outputs).toEqual([{ name: 'encoder.4', shape: [32] }]);
    expect(m.heads.a).toEqual({ labels: ['l1', 'l2', 'l3', 'l4', 'l5'], output: 'a.3', shape: [5], activation: 'softmax' });
    expect(m.heads.b.labels).toEqual(['class0', 'class1', 'class2']);
    expect(m.normalization!.mean).toHaveLength(12);
    expect(m.estimates!.layers.map((l) => l.processor)).toContain('gpu');
  });
});
