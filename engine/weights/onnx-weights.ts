/**
 * Weights from an ONNX file: its graph's initializers, mapped to layers by name with the
 * same convention as safetensors (see ./weights). Decoded by ./onnx-decode (the official
 * schema); only the initializers are used, the graph's nodes are ignored.
 */
import { decodeOnnxModel, decodeOnnxTensor, isFloatType } from './onnx-decode';
import type { WeightSet } from './weights';

/** What {@link readOnnxWeights} found. */
export interface OnnxWeights {
  tensors: WeightSet;
  /** Initializers that are not floating point (shape constants, int8 data), by name and ONNX data type. */
  skipped: { name: string; dataType: number }[];
}

/**
 * Reads the floating-point initializers of an ONNX model (`bytes` of a .onnx file) as
 * float32 tensors. Throws an Error starting with `name` for bytes that are not a valid
 * ModelProto (truncated, wrong header, declared lengths beyond the data), an initializer
 * stored in external data, whose data size disagrees with its dims, or that holds a
 * non-finite value (naming the tensor).
 */
export function readOnnxWeights(bytes: Uint8Array, name = 'ONNX data'): OnnxWeights {
  const fail = (msg: string): never => {
    throw new Error(`${name}: ${msg}`);
  };
  const model = decodeOnnxModel(bytes, fail);
  const tensors: WeightSet = new Map();
  const skipped: OnnxWeights['skipped'] = [];
  for (const t of model.graph.initializer ?? []) {
    const tname = t.name ?? '';
    if (!tname) fail('an initializer has no name; weights are mapped to layers by name');
    const dataType = t.dataType ?? 0;
    if (!isFloatType(dataType)) {
      skipped.push({ name: tname, dataType });
      continue;
    }
    const decoded = decodeOnnxTensor(t, (msg) => fail(`initializer '${tname}' ${msg}`));
    // A floating-point type (checked above) decodes to floats.
    const data = decoded.floats!;
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) fail(`initializer '${tname}' holds ${data[bad]} at element ${bad}; weights must be finite (was training diverging?)`);
    tensors.set(tname, { shape: decoded.dims, data });
  }
  return { tensors, skipped };
}
