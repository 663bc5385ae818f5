/**
 * Accelerated matrix products for the compression algorithms: the same yielded
 * {@link GemmRequest}s that the pure path runs on the TypeScript kernel, run instead on
 * ONNX Runtime's CPU `Gemm` in double precision (MLAS DGEMM with AVX2 FMA, about 25-30
 * GFLOPS on one core of the AMD EPYC dev machine against about 10-13 GFLOPS for the
 * in-thread WebAssembly SIMD kernel and 2-3 GFLOPS for the TypeScript one; the whole SVD
 * gains less, since the tridiagonal reduction's matrix-vector half stays in-thread: see
 * test/bench/svd.bench.ts). Double precision keeps every accuracy
 * guarantee of the pure path (Gram matrices in float32 would lose the small singular values).
 *
 * The ONNX Runtime module is passed in (`onnxruntime-node`, or any module with the same
 * `InferenceSession` / `Tensor` API), so nothing here imports a native package and the pure
 * core stays loadable in a browser worker.
 */
import onnxProto from 'onnx-proto';
import type { OrtModuleLike, OrtSessionLike } from '../../runtime/runner';
import { type GemmRequest, type ProductProvider, runGemm } from './matrix';

export { type ProductProvider, pureProvider, runWith } from './matrix';

const { onnx } = onnxProto;

/** Options of {@link createOrtProvider}. */
export interface OrtProviderOptions {
  /**
   * ONNX Runtime intra-op threads (default 1). Compare against a reference with the same
   * thread count; the pure path is single-threaded.
   */
  threads?: number;
  /**
   * Products with fewer multiply-adds than this (default 2^20) run on the TypeScript kernel:
   * below it, copying into tensors and the session call cost more than the product.
   */
  minMultiplyAdds?: number;
}

/**
 * Creates a provider running products on ONNX Runtime's CPU `Gemm` in float64. One session
 * per sign of alpha, with symbolic shapes, is created once and reused for every size.
 */
export async function createOrtProvider(ort: OrtModuleLike, opts: OrtProviderOptions = {}): Promise<ProductProvider> {
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`createOrtProvider: threads = ${threads} must be a positive integer`);
  const minMacs = opts.minMultiplyAdds ?? 1 << 20;
  const options = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
  let plus: OrtSessionLike, minus: OrtSessionLike;
  try {
    plus = await ort.InferenceSession.create(gemmModel(1), options);
    minus = await ort.InferenceSession.create(gemmModel(-1), options);
  } catch (err) {
    throw new Error(`createOrtProvider: ONNX Runtime could not create a float64 Gemm session (${(err as Error).message}): pass onnxruntime-node, or use the pure path`);
  }
  return {
    name: 'onnxruntime',
    async gemm(r: GemmRequest): Promise<void> {
      if (r.m * r.n * r.p < minMacs || (r.alpha !== 1 && r.alpha !== -1)) {
        runGemm(r);
        return;
      }
      const A = new ort.Tensor('float64', packRows(r.a, r.aOff, r.lda, r.m, r.p), [r.m, r.p]);
      const B = new ort.Tensor('float64', packRows(r.b, r.bOff, r.ldb, r.n, r.p), [r.n, r.p]);
      const C = new ort.Tensor('float64', packRows(r.c, r.cOff, r.ldc, r.m, r.n), [r.m, r.n]);
      const out = await (r.alpha === 1 ? plus : minus).run({ A, B, C });
      const y = out.Y.data as Float64Array;
      for (let i = 0; i < r.m; i++) r.c.set(y.subarray(i * r.n, (i + 1) * r.n), r.cOff + i * r.ldc);
    },
    async release(): Promise<void> {
      await plus.release();
      await minus.release();
    },
  };
}

// The rows x cols block at data[off] with row stride ld, as a contiguous array (a view when it already is one).
function packRows(data: Float64Array, off: number, ld: number, rows: number, cols: number): Float64Array {
  if (ld === cols) return data.subarray(off, off + rows * cols);
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) out.set(data.subarray(off + i * ld, off + i * ld + cols), i * cols);
  return out;
}

// Y = alpha * A * B^T + C, all float64 with symbolic shapes (ONNX Gemm, opset 13).
function gemmModel(alpha: number): Uint8Array {
  const DOUBLE = 11;
  const T = onnx.AttributeProto.AttributeType;
  const info = (name: string, dims: string[]): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: DOUBLE, shape: { dim: dims.map((d) => ({ dimParam: d })) } } },
  });
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'sense-studio engine/compress',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'gemm_nt',
      node: [{
        opType: 'Gemm', input: ['A', 'B', 'C'], output: ['Y'], name: 'gemm',
        attribute: [{ name: 'transB', type: T.INT, i: 1 }, { name: 'alpha', type: T.FLOAT, f: alpha }, { name: 'beta', type: T.FLOAT, f: 1 }],
      }],
      input: [info('A', ['M', 'K']), info('B', ['N', 'K']), info('C', ['M', 'N'])],
      output: [info('Y', ['M', 'N'])],
    },
  }).finish();
}
