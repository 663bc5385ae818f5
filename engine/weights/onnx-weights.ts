/**
 * Weights from an ONNX file: its graph's initializers, mapped to layers by name with the
 * same convention as safetensors (see ./weights). Decoded with the official schema
 * (onnx.proto compiled by the `onnx-proto` package, protobufjs runtime); only the
 * initializers are used, the graph's nodes are ignored.
 */
import onnxProto from 'onnx-proto';
import { formatShape } from '../../language/layer-shapes';
import { elementsOf, halfToFloat, type WeightSet } from './weights';

const { onnx } = onnxProto;

/** ONNX TensorProto.DataType values read as weights. */
const FLOAT = 1, FLOAT16 = 10, DOUBLE = 11, BFLOAT16 = 16;

/** What {@link readOnnxWeights} found. */
export interface OnnxWeights {
  tensors: WeightSet;
  /** Initializers that are not floating point (shape constants, int8 data), by name and ONNX data type. */
  skipped: { name: string; dataType: number }[];
}

type Int64 = number | { toNumber(): number };

function toNumber(v: Int64): number {
  return typeof v === 'number' ? v : v.toNumber();
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
  if (bytes.length === 0) fail('the file is empty');
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    return fail(`not a valid ONNX model (${(e as Error).message}); the file is truncated, corrupt or not ONNX`);
  }
  if (!model.graph) fail('the ONNX model has no graph; it is not a model file or it is corrupt');
  const tensors: WeightSet = new Map();
  const skipped: OnnxWeights['skipped'] = [];
  for (const t of model.graph!.initializer ?? []) {
    const tname = t.name ?? '';
    if (!tname) fail('an initializer has no name; weights are mapped to layers by name');
    const dataType = t.dataType ?? 0;
    if (![FLOAT, FLOAT16, DOUBLE, BFLOAT16].includes(dataType)) {
      skipped.push({ name: tname, dataType });
      continue;
    }
    if (t.dataLocation === 1) fail(`initializer '${tname}' is stored in an external data file; save the model with its weights inside (onnx.save(model, path, save_as_external_data=False))`);
    const shape = (t.dims ?? []).map((d) => toNumber(d as Int64));
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`initializer '${tname}' has invalid dims ${formatShape(shape)}`);
    const n = elementsOf(shape);
    const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
    const width = dataType === DOUBLE ? 8 : dataType === FLOAT ? 4 : 2;
    // The size is checked against the data before allocating: corrupt dims can claim more elements than memory holds.
    if (raw && raw.length !== n * width) fail(`initializer '${tname}' of shape ${formatShape(shape)} needs ${n * width} bytes of raw data but has ${raw.length}`);
    const src: ArrayLike<number> | undefined = raw
      ? undefined
      : dataType === FLOAT ? (t.floatData ?? []) : dataType === DOUBLE ? (t.doubleData ?? []) : (t.int32Data ?? []).map((v) => decode16(v, dataType));
    if (src && src.length !== n) fail(`initializer '${tname}' of shape ${formatShape(shape)} needs ${n} values but holds ${src.length}`);
    const data = new Float32Array(n);
    if (raw) {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let i = 0; i < n; i++) {
        if (dataType === FLOAT) data[i] = view.getFloat32(i * 4, true);
        else if (dataType === DOUBLE) data[i] = view.getFloat64(i * 8, true);
        else data[i] = decode16(view.getUint16(i * 2, true), dataType);
      }
    } else {
      for (let i = 0; i < n; i++) data[i] = src![i];
    }
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) fail(`initializer '${tname}' holds ${data[bad]} at element ${bad}; weights must be finite (was training diverging?)`);
    tensors.set(tname, { shape, data });
  }
  return { tensors, skipped };
}

function decode16(bits: number, dataType: number): number {
  if (dataType === BFLOAT16) return new Float32Array(new Uint32Array([(bits & 0xffff) << 16]).buffer)[0];
  return halfToFloat(bits);
}
