/**
 * Reading ONNX files: a ModelProto decoded with the official schema (onnx.proto compiled by
 * the `onnx-proto` package, protobufjs runtime) and TensorProtos decoded to plain arrays.
 * Shared by `engine/weights/onnx-weights.ts` (initializers as weights) and
 * `engine/import/onnx-graph.ts` (the whole graph), so both refuse the same bad files the
 * same way.
 *
 * A model file is someone else's bytes: every declared size is checked against the bytes
 * present before a buffer is allocated (dims claiming 2^40 elements are an error, not an
 * allocation), and tensors stored in external files are refused (one file is read).
 */
import onnxProto from 'onnx-proto';
import { formatShape } from '../../language/layer-shapes';
import { halfToFloat } from './weights';

const { onnx } = onnxProto;

/** A protobuf int64 as protobufjs gives it: a number, or a Long when it does not fit one. */
export type Int64 = number | { toNumber(): number };

/** The number an int64 field holds (0 when absent); exact while under 2^53. */
export function int64Value(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/** ONNX TensorProto.DataType values read here. */
export const ONNX_TYPE = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11, BFLOAT16: 16 } as const;

const { FLOAT, UINT8, INT8, INT32, INT64, BOOL, FLOAT16, DOUBLE, BFLOAT16 } = ONNX_TYPE;
const WIDTH_BYTES: Record<number, number> = { [FLOAT]: 4, [UINT8]: 1, [INT8]: 1, [INT32]: 4, [INT64]: 8, [BOOL]: 1, [FLOAT16]: 2, [DOUBLE]: 8, [BFLOAT16]: 2 };

/** True for the floating-point data types, which decode to {@link OnnxTensor.floats}. */
export function isFloatType(dataType: number): boolean {
  return dataType === FLOAT || dataType === DOUBLE || dataType === FLOAT16 || dataType === BFLOAT16;
}

/** A decoded tensor: floats for weights, integers for shapes, axes and indices. */
export interface OnnxTensor {
  dims: number[];
  /** Float data (FLOAT, DOUBLE, FLOAT16, BFLOAT16 converted to float32). */
  floats?: Float32Array;
  /** Integer data (INT64, INT32, INT8, UINT8, BOOL), exact while under 2^53. */
  ints?: number[];
}

/** Reports a problem of the file; the caller's function prefixes the file (and the tensor) and throws its own error type. */
export type Fail = (message: string) => never;

/**
 * Decodes `bytes` as a ModelProto that has a graph; calls `fail` for an empty file, bytes
 * protobuf cannot decode (truncated, wrong header, declared lengths beyond the data) and a
 * model without a graph.
 */
export function decodeOnnxModel(bytes: Uint8Array, fail: Fail): onnxProto.onnx.ModelProto & { graph: onnxProto.onnx.IGraphProto } {
  if (bytes.length === 0) fail('the file is empty');
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    return fail(`not a valid ONNX model (${(e as Error).message}); the file is truncated, corrupt or not ONNX`);
  }
  if (!model.graph) return fail('the ONNX model has no graph; it is not a model file or it is corrupt');
  return model as onnxProto.onnx.ModelProto & { graph: onnxProto.onnx.IGraphProto };
}

function bfloat16ToFloat(bits: number): number {
  return new Float32Array(new Uint32Array([(bits & 0xffff) << 16]).buffer)[0];
}

/**
 * Decodes one TensorProto, checking its declared size against its data first; calls `fail`
 * (with a message that continues the tensor's name: "is stored in...", "of shape...") for
 * external data, invalid dims, a data type not listed in {@link ONNX_TYPE}, or data whose
 * size disagrees with the dims.
 */
export function decodeOnnxTensor(t: onnxProto.onnx.ITensorProto, fail: Fail): OnnxTensor {
  if (t.dataLocation === 1 || (t.externalData?.length ?? 0) > 0)
    fail('is stored in an external data file; save the model with its weights inside (onnx.save(model, path, save_as_external_data=False))');
  const dims = (t.dims ?? []).map((d) => int64Value(d as Int64));
  if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`has invalid dims ${formatShape(dims)}`);
  const n = dims.reduce((a, b) => a * b, 1);
  const type = t.dataType ?? 0;
  const width = WIDTH_BYTES[type];
  if (width === undefined) fail(`has ONNX data type ${type}, which Sense Studio does not read (float, double, half, bfloat16, int64, int32, int8, uint8, bool)`);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  if (raw) {
    if (!Number.isSafeInteger(n) || raw.length !== n * width) fail(`of shape ${formatShape(dims)} needs ${n * width} bytes of raw data but has ${raw.length}`);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (isFloatType(type)) {
      const floats = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        if (type === FLOAT) floats[i] = view.getFloat32(i * 4, true);
        else if (type === DOUBLE) floats[i] = view.getFloat64(i * 8, true);
        else if (type === FLOAT16) floats[i] = halfToFloat(view.getUint16(i * 2, true));
        else floats[i] = bfloat16ToFloat(view.getUint16(i * 2, true));
      }
      return { dims, floats };
    }
    const ints = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      if (type === INT64) ints[i] = Number(view.getBigInt64(i * 8, true));
      else if (type === INT32) ints[i] = view.getInt32(i * 4, true);
      else if (type === INT8) ints[i] = view.getInt8(i);
      else ints[i] = view.getUint8(i);
    }
    return { dims, ints };
  }
  // Without raw data the values sit in the typed field; half and bfloat16 bits in int32_data.
  const typed: ArrayLike<number | Int64> =
    type === FLOAT ? (t.floatData ?? []) : type === DOUBLE ? (t.doubleData ?? []) : type === INT64 ? (t.int64Data ?? []) : (t.int32Data ?? []);
  if (typed.length !== n) fail(`of shape ${formatShape(dims)} needs ${n} values but holds ${typed.length}`);
  if (isFloatType(type)) {
    const floats = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = int64Value(typed[i] as Int64);
      floats[i] = type === FLOAT16 ? halfToFloat(v) : type === BFLOAT16 ? bfloat16ToFloat(v) : v;
    }
    return { dims, floats };
  }
  return { dims, ints: Array.from(typed, (v) => int64Value(v as Int64)) };
}
