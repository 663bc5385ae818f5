/**
 * Small ONNX models written with the project's own ONNX builder, for the studio's ONNX
 * preview and Import as Pipeline (test/unit/extension/server-onnx.test.ts and the real
 * VS Code test). The weights are a seeded ramp, so a test can check them after import.
 */
import { GraphBuilder, encodeModel } from '../../engine/onnx/onnx-builder';

/** The layers of {@link twoHeadModel}: input width, trunk width and each head's width. */
export const TWO_HEAD = { input: 12, trunk: 16, heads: { activity: 3, posture: 2 } } as const;

/** Deterministic weights: a ramp in [-0.5, 0.5) with `seed` shifting it. */
export function ramp(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (((i * 37 + seed * 11) % 101) / 101) - 0.5);
}

/**
 * An MLP as PyTorch exports one: `x` [N, 12] -> Gemm 16 + Relu (the shared trunk) -> two
 * heads, `activity` (Gemm 3 + Softmax) and `posture` (Gemm 2 + Sigmoid). With `extraOp`
 * the trunk ends in that op (one the language lacks, such as `Cos`), so the import refuses it.
 */
export function twoHeadModel(extraOp?: string): Uint8Array {
  const { input, trunk, heads } = TWO_HEAD;
  const g = new GraphBuilder();
  g.fresh('x');
  const w1 = g.float('trunk.0.weight', [trunk, input], ramp(trunk * input, 1));
  const b1 = g.float('trunk.0.bias', [trunk], ramp(trunk, 2));
  g.node('Gemm', ['x', w1, b1], ['h0'], { transB: 1 });
  let h = g.node('Relu', ['h0'], ['h']);
  if (extraOp) h = g.node(extraOp, [h], ['odd']);
  const outputs: { name: string; shape: number[] }[] = [];
  for (const [i, [name, width]] of Object.entries(heads).entries()) {
    const w = g.float(`${name}.weight`, [width, trunk], ramp(width * trunk, 3 + i));
    const b = g.float(`${name}.bias`, [width], ramp(width, 5 + i));
    g.node('Gemm', [h, w, b], [`${name}_logits`], { transB: 1 });
    g.node(name === 'activity' ? 'Softmax' : 'Sigmoid', [`${name}_logits`], [name], name === 'activity' ? { axis: 1 } : {});
    outputs.push({ name, shape: [width] });
  }
  return encodeModel(g, { name: 'two_head', inputs: [{ name: 'x', shape: [input] }], outputs });
}
