/**
 * Issue 5 "Must show": the exported compressed model's outputs differ from the original's
 * by what the error predicts, and the estimates drop as `sense estimate` shows.
 *
 * Set-up: one linear dense layer y = W x + b holding DeepEar's trained first encoder
 * layer (W 256 x 3920 from samples/deepear/deepear.safetensors), exported to ONNX
 * uncompressed, with `svd rank 16` and with `svd energy 90%`, and run by onnxruntime-node
 * on the same batch X of 128 seeded inputs.
 *
 * The quantity predicted, for rank k with W_k the rank-k truncated SVD of W:
 *   measured  = ||Y_k - Y||_F / ||Y - b 1^T||_F = ||(W - W_k) X||_F / ||W X||_F
 *   predicted = suggestRankFromActivations(W, X).errorByRank[k - 1] (the same activations),
 * equal up to float32 rounding. The data-free figure relativeErrorAtRank(spectrum, k) =
 * ||W - W_k||_F / ||W||_F (Eckart–Young) is the error of the weights themselves; numpy
 * (Debian's python3-numpy) computes both independently, and the ONNX initializers are
 * counted with python3-onnx to check the parameter counts the estimate reports.
 */
import '../../../language/polyfills';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sense } from '../../support/sense-cli';
import { mulberry32, gaussian } from '../../../engine/compress/random';
import { rankForEnergy, relativeErrorAtRank, singularValues, suggestRankFromActivations } from '../../../engine/compress/svd';
import { estimatePipeline } from '../../../engine/estimate';
import { exportOnnx } from '../../../engine/onnx/export-onnx';
import { encodeSafetensors } from '../../../engine/weights/safetensors';
import { readWeightsFile } from '../../../engine/weights/node-weights';
import type { WeightSet } from '../../../engine/weights/weights';
import { specOf } from '../engine/spec-of';
import { runPython } from '../../support/python';
import type { OrtModuleLike } from '../../../runtime/runner';

const PROBE = (compress: string): string => `
pipeline Probe {
  input audio { rate 16 kHz  window 1 s }
  features { frames 25 ms hop 10 ms  logmel 40 bands }
  head h { flatten  dense 256 }
  target snapdragon800
  weights "probe.safetensors"
  ${compress}
}
`;

const BATCH = 128;
const IN = 3920, OUT = 256;

async function ort(): Promise<OrtModuleLike> {
  const mod = (await import('onnxruntime-node')) as unknown as OrtModuleLike & { default?: OrtModuleLike };
  return mod.InferenceSession ? mod : mod.default!;
}

const NUMPY = `import json, sys, numpy as np, onnx
from onnx import numpy_helper
d = json.load(sys.stdin)
W = np.array(d['W'], dtype=np.float64)
X = np.array(d['X'], dtype=np.float64)          # in x batch
U, s, Vt = np.linalg.svd(W, full_matrices=False)
out = {'weightError': {}, 'outputError': {}, 'params': {}}
WX = W @ X
for k in d['ranks']:
    Wk = (U[:, :k] * s[:k]) @ Vt[:k]
    out['weightError'][str(k)] = float(np.linalg.norm(W - Wk) / np.linalg.norm(W))
    out['outputError'][str(k)] = float(np.linalg.norm((W - Wk) @ X) / np.linalg.norm(WX))
e = np.cumsum(s ** 2) / np.sum(s ** 2)
out['energy90Rank'] = int(np.argmax(e >= 0.9) + 1)
for name, path in d['models'].items():
    m = onnx.load(path)
    onnx.checker.check_model(m)
    out['params'][name] = int(sum(numpy_helper.to_array(t).size for t in m.graph.initializer))
print(json.dumps(out))`;

function relFrobenius(a: Float32Array, b: Float32Array, denom: Float64Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += denom[i] ** 2;
  }
  return Math.sqrt(num / den);
}

describe('compressed export vs prediction (trained weights, onnxruntime-node, numpy)', () => {
  it('output error equals the activation prediction; weight error equals Eckart–Young; estimates drop', async () => {
    const trained = readWeightsFile('samples/deepear/deepear.safetensors');
    const weights: WeightSet = new Map([
      ['h.2.weight', trained.get('encoder.2.weight')!],
      ['h.2.bias', trained.get('encoder.2.bias')!],
    ]);
    const Wf = weights.get('h.2.weight')!.data;
    const bias = weights.get('h.2.bias')!.data;
    const W = { rows: OUT, cols: IN, data: Float64Array.from(Wf) };
    const spectrum = singularValues(W);
    const k90 = rankForEnergy(spectrum, 0.9);

    const rng = mulberry32(5);
    const xRows = Float32Array.from({ length: BATCH * IN }, () => gaussian(rng)); // batch x in, as ONNX takes it
    const X = { rows: IN, cols: BATCH, data: new Float64Array(IN * BATCH) };
    for (let n = 0; n < BATCH; n++) for (let i = 0; i < IN; i++) X.data[i * BATCH + n] = xRows[n * IN + i];
    const prediction = suggestRankFromActivations(W, X, 0).errorByRank;

    const dir = mkdtempSync(join(tmpdir(), 'sense-compress-flow-'));
    writeFileSync(join(dir, 'probe.safetensors'), encodeSafetensors(weights));
    const variants = { original: '', rank16: 'compress h.2 svd rank 16', energy90: 'compress h.2 svd energy 90%' } as const;
    const runtime = await ort();
    const outputs: Record<string, Float32Array> = {};
    const models: Record<string, string> = {};
    const ranks: Record<string, number | undefined> = {};
    const estimates: Record<string, ReturnType<typeof estimatePipeline>> = {};
    for (const [name, line] of Object.entries(variants)) {
      const spec = await specOf(PROBE(line));
      const exported = exportOnnx(spec, weights, { single: true });
      const report = exported.compression.find((c) => c.layerId === 'h.2');
      ranks[name] = report?.rank;
      // The export's own report is the Eckart–Young error of the weights at its rank.
      if (report) expect(report.relError).toBeCloseTo(relativeErrorAtRank(spectrum, report.rank!), 5);
      const path = join(dir, `${name}.onnx`);
      writeFileSync(path, exported.partitions[0].model);
      models[name] = path;
      const session = await runtime.InferenceSession.create(exported.partitions[0].model);
      const result = await session.run({ features: new runtime.Tensor('float32', xRows, [BATCH, 40, 98]) });
      outputs[name] = result[exported.headOutputs.h.name].data as Float32Array;
      await session.release();
      // The estimate with the rank export used (the weights' spectrum decides `svd energy`).
      estimates[name] = estimatePipeline(spec, { rankResolver: () => report?.rank });
      writeFileSync(join(dir, `${name}.sense`), PROBE(line));
    }
    expect(ranks.rank16).toBe(16);
    expect(ranks.energy90).toBe(k90);

    const ref = runPython<{ weightError: Record<string, number>; outputError: Record<string, number>; energy90Rank: number; params: Record<string, number> }>(NUMPY, {
      W: Array.from({ length: OUT }, (_, i) => Array.from(Wf.subarray(i * IN, (i + 1) * IN))),
      X: Array.from({ length: IN }, (_, i) => Array.from(X.data.subarray(i * BATCH, (i + 1) * BATCH))),
      ranks: [16, k90],
      models,
    });
    expect(ref.energy90Rank).toBe(k90);

    // W X without the bias, per output element in ONNX's batch x out layout.
    const wx = new Float64Array(BATCH * OUT);
    for (let n = 0; n < BATCH; n++) for (let o = 0; o < OUT; o++) wx[n * OUT + o] = outputs.original[n * OUT + o] - bias[o];
    for (const name of ['rank16', 'energy90'] as const) {
      const k = ranks[name]!;
      const measured = relFrobenius(outputs[name], outputs.original, wx);
      // Predicted on the same activations, by our code and by numpy: float32 inference rounding only.
      expect(Math.abs(measured - prediction[k - 1]), `${name} vs activation prediction`).toBeLessThan(2e-4);
      expect(Math.abs(prediction[k - 1] - ref.outputError[String(k)])).toBeLessThan(1e-9);
      // The data-free figure is the weights' Eckart–Young error, as numpy computes it.
      expect(Math.abs(relativeErrorAtRank(spectrum, k) - ref.weightError[String(k)])).toBeLessThan(1e-9);
      expect(measured).toBeGreaterThan(0.01);
    }

    // Estimates: the parameters the estimate counts are the ONNX initializers; MACs, latency and energy drop.
    for (const name of ['original', 'rank16', 'energy90'] as const) {
      expect(estimates[name].layers[1].params, name).toBe(ref.params[name]);
    }
    expect(ref.params.rank16).toBe(16 * IN + 16 * OUT + OUT);
    for (const name of ['rank16', 'energy90'] as const) {
      const before = estimates.original, after = estimates[name];
      expect(after.layers[1].params).toBeLessThan(before.layers[1].params);
      expect(after.layers[1].macs).toBeLessThan(before.layers[1].macs);
      expect(after.layers[1].latencyMs).toBeLessThan(before.layers[1].latencyMs);
      expect(after.energyPerInferenceMj).toBeLessThan(before.energyPerInferenceMj);
    }
    // `sense estimate` of the files shows the same figures for an explicit rank.
    for (const name of ['original', 'rank16'] as const) {
      const r = await sense('estimate', join(dir, `${name}.sense`), '--json');
      expect(r.code, r.err).toBe(0);
      const e = JSON.parse(r.out) as { energyPerInferenceMj: number; endToEndLatencyMs: number; layers: { params: number; macs: number }[] };
      expect(e.layers[1].params).toBe(estimates[name].layers[1].params);
      expect(e.layers[1].macs).toBe(estimates[name].layers[1].macs);
      expect(e.energyPerInferenceMj).toBe(estimates[name].energyPerInferenceMj);
      expect(e.endToEndLatencyMs).toBe(estimates[name].endToEndLatencyMs);
    }
  });
});
