import { describe, expect, it } from 'vitest';
import { isCompressible, notCompressibleMessage, svdBreakEvenRank, weightMatrixShape } from '../../../language/layer-shapes';
import type { LayerKind } from '../../../language/pipeline-model';

describe('compressibility and the weight matrix, in one place', () => {
  it('allows exactly the kinds with one weight matrix', () => {
    const kinds: LayerKind[] = ['dense', 'conv1d', 'conv2d', 'maxpool', 'avgpool', 'gru', 'lstm', 'flatten', 'dropout', 'activation', 'batchnorm'];
    expect(kinds.filter((kind) => isCompressible({ kind }))).toEqual(['dense', 'conv1d', 'conv2d']);
    expect(notCompressibleMessage({ id: 'enc.3', kind: 'gru' })).toBe('enc.3 is a gru layer; only dense, conv1d and conv2d layers have weights to compress.');
  });

  it('reshapes dense and conv weights as ONNX stores them', () => {
    // Gemm's weight is (units, input width); Conv's (filters, channels, kh, kw) flattens to (filters, channels x kh x kw).
    expect(weightMatrixShape({ kind: 'dense', units: 1024, inputShape: [3920] })).toEqual([1024, 3920]);
    expect(weightMatrixShape({ kind: 'conv2d', filters: 96, kernel: [11, 11], inputShape: [3, 227, 227] })).toEqual([96, 3 * 11 * 11]);
    expect(weightMatrixShape({ kind: 'conv1d', filters: 16, kernel: [5], inputShape: [40, 98] })).toEqual([16, 200]);
  });

  it('puts the break-even rank where k (m + n) + m first reaches m n + m', () => {
    // 64 x 3920: 64 * 3920 / 3984 = 62.97, so rank 63 costs as much as the dense layer and 62 still saves.
    expect(svdBreakEvenRank(64, 3920)).toBe(63);
    expect(62 * (64 + 3920)).toBeLessThan(64 * 3920);
    expect(63 * (64 + 3920)).toBeGreaterThanOrEqual(64 * 3920);
  });
});
