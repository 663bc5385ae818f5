/**
 * The safetensors format (https://huggingface.co/docs/safetensors), read and written by hand.
 *
 * Layout: an unsigned 64-bit little-endian header length N, N bytes of UTF-8 JSON
 * (`{"NAME": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 * "__metadata__": {string: string}}`), then the data buffer; offsets are relative to its
 * start. Hand-written because the format is tiny and no maintained npm reader validates
 * hostile input: we need every declared size checked against the bytes present before
 * anything is allocated, so a truncated or malicious file gives a clear error, never a
 * crash, a hang or a multi-gigabyte allocation. Checks follow the reference Rust reader
 * (huggingface/safetensors `SafeTensors::deserialize`): the header length fits the file
 * and a 100 MB cap, the JSON is an object, each entry's byte range equals its shape times
 * its dtype size, ranges lie inside the buffer, do not overlap and cover it exactly.
 *
 * Supported dtypes: F32, F16, BF16 and F64, all converted to float32. Non-finite values
 * are rejected with the tensor's name.
 */
import { formatShape } from '../../language/layer-shapes';
import { elementsOf, halfToFloat, type WeightSet, type WeightTensor } from './weights';

/** Largest JSON header accepted, in bytes (the reference reader's limit). */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

const DTYPE_BYTES: Record<string, number> = { F16: 2, BF16: 2, F32: 4, F64: 8 };

/** A parsed safetensors file: its tensors as float32 and its `__metadata__` strings. */
export interface SafetensorsFile {
  tensors: WeightSet;
  metadata: Record<string, string>;
}

/**
 * Parses safetensors bytes. `name` (the file name) starts every error message. Throws an
 * Error naming the problem for a file that is truncated, has a header length beyond the
 * file, invalid or non-object JSON, an entry without a valid dtype/shape/offsets, an
 * unsupported dtype, byte ranges that disagree with the shape, overlap, leave gaps or run
 * past the end, or a non-finite value (naming the tensor and element).
 */
export function parseSafetensors(bytes: Uint8Array, name = 'safetensors data'): SafetensorsFile {
  const fail = (msg: string): never => {
    throw new Error(`${name}: ${msg}`);
  };
  if (bytes.length < 8) fail(`only ${bytes.length} bytes: too short for a safetensors header length (8 bytes); the file is empty or truncated`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > MAX_SAFETENSORS_HEADER_BYTES) fail(`declares a ${headerLen}-byte JSON header, more than the ${MAX_SAFETENSORS_HEADER_BYTES}-byte limit; this is not a safetensors file or it is corrupt`);
  if (8 + headerLen > bytes.length) fail(`declares a ${headerLen}-byte JSON header but the file has only ${bytes.length - 8} bytes after the length; the file is truncated or not safetensors`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`the header is not valid UTF-8 JSON (${(e as Error).message}); the file is corrupt or not safetensors`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('the JSON header is not an object of tensors');
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { key: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [key, raw] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} must be a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) fail(`tensor '${key}': the entry is not an object`);
    if (typeof e.dtype !== 'string') fail(`tensor '${key}': missing dtype`);
    const dtype = e.dtype as string;
    if (!(dtype in DTYPE_BYTES)) fail(`tensor '${key}' has dtype ${dtype}; supported are F32, F16, BF16 and F64 (convert the weights to float32)`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor '${key}': shape must be a list of non-negative integers`);
    const shape = e.shape as number[];
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor '${key}': data_offsets must be two non-negative integers`);
    const [begin, end] = off as number[];
    if (end < begin) fail(`tensor '${key}': data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLen) fail(`tensor '${key}': data_offsets [${begin}, ${end}] run past the ${dataLen}-byte data buffer; the file is truncated`);
    const elements = elementsOf(shape);
    if (!Number.isSafeInteger(elements) || elements * DTYPE_BYTES[dtype] !== end - begin)
      fail(`tensor '${key}': shape ${formatShape(shape)} of ${dtype} needs ${elements * DTYPE_BYTES[dtype]} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
    entries.push({ key, dtype, shape, begin, end });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin < at) fail(`tensor '${e.key}': data_offsets [${e.begin}, ${e.end}] overlap another tensor's bytes`);
    if (e.begin > at) fail(`tensor '${e.key}': ${e.begin - at} unused bytes before its data at offset ${e.begin}; the buffer must be covered exactly`);
    at = e.end;
  }
  if (at !== dataLen) fail(`the data buffer has ${dataLen} bytes but the tensors cover ${at}; the file is corrupt`);
  const tensors: WeightSet = new Map();
  for (const e of entries) {
    const n = elementsOf(e.shape);
    const src = new DataView(bytes.buffer, bytes.byteOffset + dataStart + e.begin, e.end - e.begin);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let v: number;
      if (e.dtype === 'F32') v = src.getFloat32(i * 4, true);
      else if (e.dtype === 'F64') v = src.getFloat64(i * 8, true);
      else if (e.dtype === 'F16') v = halfToFloat(src.getUint16(i * 2, true));
      else v = new Float32Array(new Uint32Array([src.getUint16(i * 2, true) << 16]).buffer)[0];
      if (!Number.isFinite(v) || (e.dtype === 'F64' && !Number.isFinite(Math.fround(v))))
        fail(`tensor '${e.key}' holds ${v} at element ${i}${e.dtype === 'F64' ? ' (or a value beyond float32 range)' : ''}; weights must be finite (was training diverging?)`);
      data[i] = v;
    }
    tensors.set(e.key, { shape: e.shape, data });
  }
  return { tensors, metadata };
}

/**
 * Encodes a weight set as safetensors (float32, tensors in the map's order), with an
 * optional `__metadata__` of strings. The header is padded with spaces to a multiple of 8
 * bytes, as the reference writer does, so the data stays aligned.
 */
export function encodeSafetensors(tensors: ReadonlyMap<string, WeightTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [key, t] of tensors) {
    if (t.data.length !== elementsOf(t.shape)) throw new Error(`encodeSafetensors: tensor '${key}' has ${t.data.length} values but shape ${formatShape(t.shape)}`);
    header[key] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.length * 4] };
    offset += t.data.length * 4;
  }
  let json = JSON.stringify(header);
  const raw = new TextEncoder().encode(json);
  json += ' '.repeat((8 - (raw.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    for (let i = 0; i < t.data.length; i++) view.setFloat32(at + i * 4, t.data[i], true);
    at += t.data.length * 4;
  }
  return out;
}
