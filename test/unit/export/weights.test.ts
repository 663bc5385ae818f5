/**
 * Weights: safetensors read/write against files written by Python (struct + numpy, an
 * independent writer), ONNX initializers against onnx.helper, shape checks against the
 * pipeline, seeded initialisation, and malformed files (truncated, wrong header, huge
 * declared sizes, overlapping offsets, NaN) that must give clear errors, never a crash or hang.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initWeights } from '../../../engine/weights/init';
import { readOnnxWeights } from '../../../engine/weights/onnx-weights';
import { encodeSafetensors, parseSafetensors } from '../../../engine/weights/safetensors';
import { checkWeights, expectedWeights } from '../../../engine/weights/weights';
import { runPython } from '../../support/python';
import { specOf, tempDir } from './helpers';

const PIPELINE = `pipeline W {
  input audio { rate 8 kHz  window 0.5 s }
  features { frames 32 ms hop 16 ms  logmel 12 bands  normalize }
  shared enc { conv1d 4 kernel 3  batchnorm  gru 5  dense 6 relu }
  head h from enc { dense 3 softmax }
  target snapdragon800
  place enc, h on cpu
}`;

function header(json: string, data = new Uint8Array(0), declared?: bigint): Uint8Array {
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declared ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors', () => {
  it('reads F32, F16 and F64 files written by Python and converts them to float32', () => {
    const dir = tempDir();
    const path = join(dir, 'py.safetensors');
    const ref = runPython<{ a: number[]; b: number[]; c: number[] }>(
      String.raw`
import json, sys, struct
import numpy as np
cfg = json.load(sys.stdin)
a = np.arange(6, dtype='<f4').reshape(2, 3) / 7
b = (np.arange(4, dtype='<f2') - 1.5) / 3
c = np.linspace(-1, 1, 5).astype('<f8')
parts = [('a', 'F32', a), ('b', 'F16', b), ('c', 'F64', c)]
header, off, data = {'__metadata__': {'by': 'python'}}, 0, b''
for name, dt, x in parts:
    raw = x.tobytes(); header[name] = {'dtype': dt, 'shape': list(x.shape), 'data_offsets': [off, off + len(raw)]}; off += len(raw); data += raw
h = json.dumps(header).encode()
open(cfg['path'], 'wb').write(struct.pack('<Q', len(h)) + h + data)
print(json.dumps({'a': a.astype(float).ravel().tolist(), 'b': b.astype(float).ravel().tolist(), 'c': c.astype(np.float32).astype(float).tolist()}))
`,
      { path },
    );
    const f = parseSafetensors(new Uint8Array(readFileSync(path)), path);
    expect(f.metadata).toEqual({ by: 'python' });
    expect(f.tensors.get('a')!.shape).toEqual([2, 3]);
    expect([...f.tensors.get('a')!.data]).toEqual(ref.a.map(Math.fround));
    expect([...f.tensors.get('b')!.data]).toEqual(ref.b);
    expect([...f.tensors.get('c')!.data]).toEqual(ref.c);
  });

  it('writes files Python reads back exactly', () => {
    const dir = tempDir();
    const path = join(dir, 'ours.safetensors');
    const t = new Map([
      ['x.weight', { shape: [2, 2], data: Float32Array.from([1.5, -2, 3.25, 1e-7]) }],
      ['y', { shape: [3], data: Float32Array.from([0, 1, 2]) }],
    ]);
    const bytes = encodeSafetensors(t, { pipeline: 'P' });
    writeFileSync(path, bytes);
    const back = runPython<Record<string, { shape: number[]; data: number[] }>>(
      String.raw`
import json, sys, struct
import numpy as np
p = json.load(sys.stdin)['path']
b = open(p, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n]); d = b[8+n:]
assert n % 8 == 0
out = {}
for k, v in h.items():
    if k == '__metadata__': out[k] = v; continue
    s, e = v['data_offsets']; out[k] = {'shape': v['shape'], 'data': np.frombuffer(d[s:e], '<f4').astype(float).tolist()}
print(json.dumps(out))
`,
      { path },
    );
    expect(back['x.weight']).toEqual({ shape: [2, 2], data: [...t.get('x.weight')!.data] });
    expect(back.y.data).toEqual([0, 1, 2]);
    expect(back.__metadata__).toEqual({ pipeline: 'P' });
  });

  const f32 = (n: number) => new Uint8Array(new Float32Array(n).buffer);
  const bad: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /too short/],
    ['truncated length', new Uint8Array(5), /too short/],
    ['header beyond the file', header('{}', new Uint8Array(0), 1000n), /1000-byte JSON header but the file has only 2/],
    ['huge declared header', header('{}', new Uint8Array(0), 2n ** 62n), /more than the 100000000-byte limit/],
    ['invalid JSON', header('{"a": '), /not valid UTF-8 JSON/],
    ['JSON array', header('[1,2]'), /not an object of tensors/],
    ['unsupported dtype', header('{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', new Uint8Array(8)), /tensor 'a' has dtype I64/],
    ['offsets past the end', header('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', f32(2)), /run past the 8-byte data buffer/],
    ['size disagrees with shape', header('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', f32(2)), /shape \[3\] of F32 needs 12 bytes/],
    [
      'overlapping tensors',
      header('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', f32(3)),
      /overlap/,
    ],
    ['huge shape', header('{"a":{"dtype":"F32","shape":[4294967296, 4294967296],"data_offsets":[0,8]}}', f32(2)), /needs .* bytes/],
    ['negative dim', header('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', f32(1)), /non-negative integers/],
    ['NaN weight', header('{"enc.1.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', new Uint8Array(Float32Array.from([1, NaN]).buffer)), /tensor 'enc.1.weight' holds NaN at element 1/],
    ['Inf in F16', header('{"b":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}', Uint8Array.from([0x00, 0x7c])), /tensor 'b' holds Infinity/],
    ['F64 beyond float32', header('{"b":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}', new Uint8Array(Float64Array.from([1e300]).buffer)), /beyond float32 range/],
  ];
  for (const [name, bytes, msg] of bad) {
    it(`rejects ${name} with a clear error`, () => {
      expect(() => parseSafetensors(bytes, 'bad.safetensors')).toThrow(msg);
      expect(() => parseSafetensors(bytes, 'bad.safetensors')).toThrow(/^bad\.safetensors: /);
    });
  }

  it('never crashes or hangs on mutated files (fuzz)', () => {
    const good = encodeSafetensors(new Map([['a', { shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }], ['b', { shape: [1], data: Float32Array.from([7]) }]]));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(good.length), (edits, cut) => {
        const b = good.slice(0, Math.max(cut, 0) || good.length);
        for (const [i, v] of edits) if (i < b.length) b[i] = v;
        try {
          const f = parseSafetensors(b, 'fuzz');
          for (const t of f.tensors.values()) expect(t.data.every(Number.isFinite)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          expect((e as Error).message.startsWith('fuzz: ')).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('weights against the pipeline', () => {
  it('names every tensor by layer with ONNX layouts and checks shapes, naming the layer and both shapes', async () => {
    const spec = await specOf(PIPELINE);
    expect(expectedWeights(spec).map((e) => `${e.name} [${e.shape}]`)).toEqual([
      'enc.1.weight [4,12,3]',
      'enc.1.bias [4]',
      'enc.2.scale [4]',
      'enc.2.bias [4]',
      'enc.2.mean [4]',
      'enc.2.var [4]',
      'enc.3.W [1,15,4]',
      'enc.3.R [1,15,5]',
      'enc.3.B [1,30]',
      'enc.4.weight [6,5]',
      'enc.4.bias [6]',
      'h.1.weight [3,6]',
      'h.1.bias [3]',
      'features.mean [12]',
      'features.std [12]',
    ]);
    const w = initWeights(spec, 5);
    expect(checkWeights(spec, w, 'w.safetensors').warnings).toEqual([]);
    const wrong = new Map(w);
    wrong.set('enc.4.weight', { shape: [5, 6], data: new Float32Array(30) });
    wrong.delete('h.1.bias');
    wrong.set('extra.tensor', { shape: [1], data: new Float32Array(1) });
    expect(() => checkWeights(spec, wrong, 'w.safetensors')).toThrow(/tensor 'enc.4.weight' of layer enc.4 has shape \[5, 6\] but the pipeline needs \[6, 5\]/);
    expect(() => checkWeights(spec, wrong, 'w.safetensors')).toThrow(/missing tensor 'h.1.bias' for layer h.1 \(expected shape \[3\]\)/);
    wrong.set('enc.4.weight', w.get('enc.4.weight')!);
    wrong.set('h.1.bias', w.get('h.1.bias')!);
    expect(checkWeights(spec, wrong, 'w.safetensors').warnings).toEqual(["w.safetensors: tensor 'extra.tensor' is not used by pipeline W (ignored)"]);
    wrong.set('features.std', { shape: [12], data: new Float32Array(12) });
    expect(() => checkWeights(spec, wrong, 'w.safetensors')).toThrow(/standard deviations must be positive/);
  });

  it('initialises deterministically: He for relu layers, Glorot otherwise, identity normalisation', async () => {
    const spec = await specOf(PIPELINE);
    const a = initWeights(spec, 9);
    const b = initWeights(spec, 9);
    const c = initWeights(spec, 10);
    expect([...a.get('enc.4.weight')!.data]).toEqual([...b.get('enc.4.weight')!.data]);
    expect([...a.get('enc.4.weight')!.data]).not.toEqual([...c.get('enc.4.weight')!.data]);
    expect([...a.get('features.std')!.data].every((v) => v === 1)).toBe(true);
    expect([...a.get('features.mean')!.data].every((v) => v === 0)).toBe(true);
    expect([...a.get('enc.2.var')!.data].every((v) => v === 1)).toBe(true);
    // Glorot uniform for h.1 (softmax): |w| <= sqrt(6 / (6 + 3)).
    expect(Math.max(...a.get('h.1.weight')!.data.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / 9));
    // He normal for a large relu layer: sample std near sqrt(2 / fan_in).
    const big = await specOf(PIPELINE.replace('dense 6 relu', 'dense 400 relu'));
    const w = initWeights(big, 1).get('enc.4.weight')!.data;
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(Math.abs(std / Math.sqrt(2 / 5) - 1)).toBeLessThan(0.05);
  });
});

describe('ONNX files as weights', () => {
  it('maps float initializers written by onnx.helper to layers, converting float64 and float16', () => {
    const dir = tempDir();
    const path = join(dir, 'w.onnx');
    runPython(
      String.raw`
import json, sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
p = json.load(sys.stdin)['path']
w = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(3, 2), 'h.1.weight')
b = numpy_helper.from_array(np.array([0.5, -1, 2], dtype=np.float64), 'h.1.bias')
c = helper.make_tensor('half', TensorProto.FLOAT16, [2], [1.5, -0.25])
s = numpy_helper.from_array(np.array([3], dtype=np.int64), 'shape_const')
x = helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 2])
y = helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 3])
g = helper.make_graph([helper.make_node('Gemm', ['x', 'h.1.weight', 'h.1.bias'], ['y'], transB=1)], 'g', [x], [y], [w, b, c, s])
onnx.save(helper.make_model(g), p)
print('{}')
`,
      { path },
    );
    const r = readOnnxWeights(new Uint8Array(readFileSync(path)), path);
    expect(r.tensors.get('h.1.weight')).toEqual({ shape: [3, 2], data: Float32Array.from([0, 1, 2, 3, 4, 5]) });
    expect([...r.tensors.get('h.1.bias')!.data]).toEqual([0.5, -1, 2]);
    expect([...r.tensors.get('half')!.data]).toEqual([1.5, -0.25]);
    expect(r.skipped).toEqual([{ name: 'shape_const', dataType: 7 }]);
    // Truncations of a real model never crash: they decode or fail with the file's name.
    const bytes = new Uint8Array(readFileSync(path));
    for (let cut = 0; cut < bytes.length; cut += 7) {
      try {
        readOnnxWeights(bytes.slice(0, cut), 'cut.onnx');
      } catch (e) {
        expect((e as Error).message).toMatch(/^cut\.onnx: /);
      }
    }
  });

  it('rejects garbage, a huge declared length and NaN initializers with clear errors', () => {
    expect(() => readOnnxWeights(new Uint8Array(0), 'e.onnx')).toThrow(/e\.onnx: the file is empty/);
    expect(() => readOnnxWeights(new TextEncoder().encode('RIFF....WAVEfmt '), 'x.onnx')).toThrow(/x\.onnx: (not a valid ONNX model|the ONNX model has no graph)/);
    // Field 7 (graph), length-delimited, declaring 2^31 bytes that are not there.
    expect(() => readOnnxWeights(Uint8Array.from([0x3a, 0x80, 0x80, 0x80, 0x80, 0x08, 1, 2]), 'huge.onnx')).toThrow(/huge\.onnx: not a valid ONNX model/);
    const nan = runPython<{ b64: string }>(
      String.raw`
import json, sys, base64
import numpy as np
import onnx
from onnx import helper, numpy_helper
w = numpy_helper.from_array(np.array([1, np.nan], dtype=np.float32), 'enc.2.weight')
g = helper.make_graph([], 'g', [], [], [w])
print(json.dumps({'b64': base64.b64encode(helper.make_model(g).SerializeToString()).decode()}))
`,
    );
    expect(() => readOnnxWeights(new Uint8Array(Buffer.from(nan.b64, 'base64')), 'nan.onnx')).toThrow(/nan\.onnx: initializer 'enc.2.weight' holds NaN at element 1/);
  });
});
