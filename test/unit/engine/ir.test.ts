/**
 * IR transforms of compression, with parameter and MAC counts worked out by hand, and
 * the data-free SVD rank checked against numpy on random Gaussian matrices.
 */
import { describe, expect, it } from 'vitest';
import { buildIr, randomMatrixRank } from '../../../engine/ir';
import { pythonHas, runPython } from '../../../test/support/python';
import { specOf } from './spec-of';

const pipeline = (layers: string, compress: string, input = 'size 1 x 200  channels 1'): string => `
  pipeline P {
    input image { ${input} }
    shared enc { flatten  ${layers} }
    target host
    ${compress}
  }`;

describe('compression in the IR', () => {
  it('svd rank k splits a dense layer into in -> k -> out with k(in + out) + out parameters', async () => {
    const ir = buildIr(await specOf(pipeline('dense 100 relu', 'compress enc.2 svd rank 10')));
    const [a, b] = ir.layerOps['enc.2'].map((id) => ir.ops.find((o) => o.id === id)!);
    expect([a.kind, b.kind]).toEqual(['svd-in', 'svd-out']);
    expect(a.outputShape).toEqual([10]);
    expect(a.params).toBe(200 * 10);
    expect(a.macs).toBe(200 * 10);
    expect(b.params).toBe(10 * 100 + 100);
    expect(b.macs).toBe(10 * 100 + 100); // plus relu on 100 outputs
    expect(a.params + b.params).toBe(10 * (200 + 100) + 100);
    expect(b.inputs).toEqual([a.id]);
    expect(b.supportKinds).toEqual(['dense', 'relu']);
  });

  it('svd on conv2d: k filters of the kernel, then a 1x1 convolution k -> filters', async () => {
    const ir = buildIr(await specOf(`
      pipeline P {
        input image { size 10 x 10  channels 4 }
        shared enc { conv2d 8 kernel 3  flatten }
        target host
        compress enc.1 svd rank 2
      }`));
    const [a, b] = ir.layerOps['enc.1'].map((id) => ir.ops.find((o) => o.id === id)!);
    const positions = 8 * 8;
    expect(a.outputShape).toEqual([2, 8, 8]);
    expect(a.params).toBe(2 * 4 * 9);
    expect(a.macs).toBe(2 * 4 * 9 * positions);
    expect(b.params).toBe(8 * 2 + 8);
    expect(b.macs).toBe(8 * 2 * positions);
    expect(b.outputShape).toEqual([8, 8, 8]);
  });

  it('sparse atoms N nonzeros S: dense dictionary (N x in) then CSR codes (S per output), as ksvd.ts factors W ~ C D', async () => {
    const ir = buildIr(await specOf(pipeline('dense 100 relu', 'compress enc.2 sparse atoms 20 nonzeros 3')));
    const [dict, codes] = ir.layerOps['enc.2'].map((id) => ir.ops.find((o) => o.id === id)!);
    expect(dict.kind).toBe('dictionary');
    expect(dict.macs).toBe(20 * 200);
    expect(dict.params).toBe(20 * 200);
    expect(dict.outputShape).toEqual([20]);
    expect(codes.kind).toBe('sparse-codes');
    expect(codes.inputs).toEqual([dict.id]);
    expect(codes.macs).toBe(3 * 100 + 100); // 3 nonzeros per output row, plus relu
    expect(codes.params).toBe(3 * 100 + 100);
    // CSR: value + column index per nonzero, 101 row pointers, 100 float biases.
    expect(codes.weightBytes).toBe(3 * 100 * 8 + 101 * 4 + 100 * 4);
  });

  it('int8: one byte per weight, float biases and one float scale per output channel', async () => {
    const ir = buildIr(await specOf(pipeline('dense 100', 'compress enc.2 int8')));
    const op = ir.ops.find((o) => o.id === 'enc.2')!;
    expect(op.weightBytes).toBe(200 * 100 + 100 * 4 + 100 * 4);
    expect(op.macs).toBe(200 * 100);
  });

  it('svd energy asks the rank resolver and otherwise flags the random-matrix estimate', async () => {
    const spec = await specOf(pipeline('dense 100', 'compress enc.2 svd energy 90%'));
    const resolved = buildIr(spec, { rankResolver: (l) => (l.id === 'enc.2' ? 7 : undefined) });
    const a = resolved.ops.find((o) => o.id === 'enc.2/svd-in')!;
    expect(a.rank).toBe(7);
    expect(a.rankEstimated).toBe(false);
    const estimated = buildIr(spec).ops.find((o) => o.id === 'enc.2/svd-in')!;
    expect(estimated.rankEstimated).toBe(true);
    expect(estimated.rank).toBe(randomMatrixRank(100, 200, 0.9));
    // `svd error e` keeps 1 - e^2 of the energy (relative Frobenius error e).
    const err = buildIr(await specOf(pipeline('dense 100', 'compress enc.2 svd error 30%'))).ops.find((o) => o.id === 'enc.2/svd-in')!;
    expect(err.rank).toBe(randomMatrixRank(100, 200, 1 - 0.3 * 0.3));
  });

  it('traces every layer op to its source range and keeps a topological order', async () => {
    const ir = buildIr(await specOf(pipeline('dense 100', 'compress enc.2 svd rank 5')));
    const seen = new Set<string>();
    for (const op of ir.ops) {
      for (const i of op.inputs) expect(seen.has(i)).toBe(true);
      seen.add(op.id);
      if (op.layerId) expect(op.range).toBeDefined();
    }
  });
});

describe('data-free rank (Marchenko–Pastur) against numpy', () => {
  it('matches the rank random Gaussian matrices need for an energy fraction', () => {
    expect(pythonHas('numpy')).toBe(true);
    const cases = [
      [256, 256, 0.9],
      [400, 200, 0.9],
      [1024, 300, 0.5],
      [300, 600, 0.99],
    ] as const;
    const ranks = runPython<number[]>(
      `
import json, sys, numpy as np
rng = np.random.default_rng(1)
out = []
for m, n, f in json.load(sys.stdin):
    ks = []
    for _ in range(3):
        s = np.linalg.svd(rng.standard_normal((m, n)), compute_uv=False)
        e = np.cumsum(s**2) / np.sum(s**2)
        ks.append(int(np.searchsorted(e, f) + 1))
    out.append(float(np.mean(ks)))
print(json.dumps(out))
`,
      cases,
    );
    cases.forEach(([m, n, f], i) => {
      const ours = randomMatrixRank(m, n, f);
      // Finite matrices fluctuate around the limit law: within 2 % of min(m, n).
      expect(Math.abs(ours - ranks[i])).toBeLessThanOrEqual(0.02 * Math.min(m, n) + 1);
    });
  });
});
