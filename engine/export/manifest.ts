/**
 * The engine's side of the bundle manifest: which ONNX Runtime execution providers each
 * partition asks for. The manifest's format and reader belong to the runtime that reads it
 * (runtime/bundle-manifest.ts); its types are re-exported here for the
 * command line and the extension, which name this module.
 */

/**
 * Preferred execution providers for a processor, by its role in the device catalog:
 * - a `gpu` processor: WebGPU in browsers, then CPU;
 * - a `dsp` or `npu` processor (Hexagon DSP/HTP, Apple/Android NPUs): QNN (Qualcomm), NNAPI
 *   (Android), CoreML (Apple), then CPU;
 * - a `cpu`, `host`, `mcu` or other processor: XNNPACK (optimised ARM/x86 kernels), then CPU;
 * - a remote (cloud) processor: CPU (a server's ONNX Runtime).
 * ONNX Runtime names: 'cpu', 'xnnpack', 'webgpu', 'qnn', 'nnapi', 'coreml'.
 */
export function providersFor(processor: string, remote = false): string[] {
  const name = processor.toLowerCase();
  if (remote) return ['cpu'];
  if (name.includes('gpu')) return ['webgpu', 'cpu'];
  if (name.includes('dsp') || name.includes('npu') || name.includes('hexagon') || name.includes('htp')) return ['qnn', 'nnapi', 'coreml', 'cpu'];
  return ['xnnpack', 'cpu'];
}
