/**
 * Inputs the fuzz harness found that once crashed the product, each reduced to its
 * cause and checked for the clear error that replaced the crash.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import onnxProto from 'onnx-proto';
import { encode as encodePng } from 'fast-png';
import { encode as encodeJpeg } from 'jpeg-js';
import { crc32 } from 'node:zlib';
import { imageInputTensor } from '../../../runtime/image';
import { readOnnxWeights } from '../../../engine/weights/onnx-weights';
import { buildBundle } from '../../../engine/export/bundle';
import { initWeights } from '../../../engine/weights/init';
import { parseInertialCsv } from '../../../runtime/inertial';
import { createRunner } from '../../../runtime/runner';
import { ortNode, randomWeights, specOf } from '../export/helpers';
import { buildDocument, createSenseServices } from '../../../language/sense-module';
import { allocatedDuring, expectClearError } from './oracle';

const { onnx } = onnxProto;
const ROOT = join(new URL('.', import.meta.url).pathname, '..', '..', '..');

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

/** A 13 x 11 RGB PNG (8 bits) and a 13 x 11 baseline JPEG, written here. */
function rgbPng(): Uint8Array {
  return encodePng({ width: 13, height: 11, channels: 3, depth: 8, data: Uint8Array.from({ length: 13 * 11 * 3 }, (_, i) => (i * 37) & 255) });
}
function rgbJpeg(): Uint8Array {
  return new Uint8Array(encodeJpeg({ width: 13, height: 11, data: Uint8Array.from({ length: 13 * 11 * 4 }, (_, i) => (i * 37) & 255) }, 90).data);
}

/** `png` with a chunk of `type` and `data` (its CRC correct) inserted after IHDR. */
function withChunk(png: Uint8Array, type: string, data: number[]): Uint8Array {
  const body = Uint8Array.from([...new TextEncoder().encode(type), ...data]);
  const chunk = new Uint8Array(8 + body.length);
  new DataView(chunk.buffer).setUint32(0, data.length);
  chunk.set(body, 4);
  new DataView(chunk.buffer).setUint32(4 + body.length, crc32(body));
  return Uint8Array.from([...png.subarray(0, 33), ...chunk, ...png.subarray(33)]);
}

/** The offset of a JPEG's segment with `marker`, walking from the start. */
function jpegSegment(jpg: Uint8Array, marker: number): number {
  let at = 2;
  while (jpg[at + 1] !== marker) at += 2 + ((jpg[at + 2] << 8) | jpg[at + 3]);
  return at;
}

const RGB = { channels: 3, height: 12, width: 12 };

function modelWithInitializer(init: onnxProto.onnx.ITensorProto): Uint8Array {
  return onnx.ModelProto.encode({ irVersion: 8, graph: { name: 'g', initializer: [init] } }).finish();
}

describe('fuzz regressions', () => {
  // Fuzz case onnx seed 1056: dims claiming 2^37 elements made readOnnxWeights allocate
  // them before comparing with the 8 bytes of data, and V8 threw a RangeError.
  const cases: [string, onnxProto.onnx.ITensorProto, RegExp][] = [
    ['raw data', { rawData: new Uint8Array(8) }, /needs 549755813888 bytes of raw data but has 8/],
    ['float data', { floatData: [1, 2] }, /needs 137438953472 values but holds 2/],
  ];
  it.each(cases)('an initializer whose dims claim more elements than its %s holds is a clear error naming the file', (_, data, message) => {
    const bytes = modelWithInitializer({ name: 'enc.1.weight', dataType: 1, dims: [2 ** 37], ...data });
    const error = thrown(() => readOnnxWeights(bytes, 'model.onnx'));
    expectClearError(error, 'readOnnxWeights', 'model.onnx');
    expect((error as Error).message).toMatch(message);
  });

  // Fuzz case csv seed 10342: a reading of 9e99 is a finite double, became Infinity in the
  // float32 features, and every head answered NaN.
  it('a sensor reading beyond float32 features is a clear error naming the file and line', () => {
    const error = thrown(() => parseInertialCsv('t,ax,ay\n0,1,2\n0.02,9e99,2\n', 'walk.csv'));
    expectClearError(error, 'parseInertialCsv', 'walk.csv');
    expect((error as Error).message).toMatch(/^walk\.csv, line 3: column 'ax' holds 9e\+99/);
    // Ordinary magnitudes, barometric pressure in pascals included, still parse.
    expect(parseInertialCsv('ax,p\n-39.9,101325\n', 'ok.csv').rows).toBe(1);
  });

  // Fuzz case onnx seed 11914: a model whose conv bias has the wrong size loads in ONNX
  // Runtime but fails its first run, and the runner's warm-up let that error out without
  // naming the bundle.
  it('a bundle whose model loads but cannot run is refused at creation, naming the bundle', async () => {
    const spec = await specOf(`pipeline Broken {
      input audio { rate 8 kHz  window 0.25 s }
      features { frames 32 ms hop 16 ms  logmel 8 bands }
      shared enc { conv1d 4 kernel 3 relu  flatten }
      head h from enc { dense 3 softmax }
      target snapdragon800
    }`);
    const bundle = buildBundle(spec, randomWeights(spec, 2));
    const [file, bytes] = [...bundle.models][0];
    const model = onnx.ModelProto.decode(bytes);
    const bias = model.graph!.initializer!.find((t) => t.name === 'enc.1.bias')!;
    bias.dims = [2];
    bias.rawData = new Uint8Array(8);
    const models = new Map([[file, onnx.ModelProto.encode(model).finish()]]);
    let error: unknown;
    try {
      await createRunner({ ort: await ortNode(), backend: 'node', manifest: bundle.manifest, models, sessionOptions: { logSeverityLevel: 4 } });
    } catch (e) {
      error = e;
    }
    expectClearError(error, 'createRunner', 'bundle Broken');
    expect((error as Error).message).toMatch(/^bundle Broken: ONNX Runtime cannot run the partitions on zero features .*bias/s);
  });

  // Found while writing the test above: a pipeline with shared blocks and no head exported
  // to models without outputs, which ONNX Runtime refuses to run ("At least one output
  // should be requested").
  it('export refuses a pipeline without a head', async () => {
    const spec = await specOf(`pipeline Headless {
      input audio { rate 8 kHz  window 0.25 s }
      features { frames 32 ms hop 16 ms  logmel 8 bands }
      shared enc { flatten  dense 3 softmax }
      target snapdragon800
    }`);
    const error = thrown(() => buildBundle(spec, initWeights(spec)));
    expectClearError(error, 'export', 'export: pipeline Headless has no head');
  });

  // Fuzz case sense seed 831 (of the 2,000-case run with --seed 7): a head whose `from`
  // does not parse leaves its layers without a kind, and a compress line without a method
  // on one of them made the not-compressible check report on an undefined node, so
  // Langium's validator threw inside check.
  it('a compress line without a method on a head that did not parse is a syntax error, not a failing check', async () => {
    const services = createSenseServices();
    const doc = await buildDocument(
      services,
      `pipeline P {
  input audio { rate 16 kHz  window 1 s }
  features { frames 25 ms hop 10 ms  logmel 40 bands }
  shared encoder { flatten  dense 64 relu }
  head out fromx encoder { dense 4 softmax }
  target snapdragon800
  compress out.1 atoms 8 nonzeros 16
}`,
      'file:///regression-831.sense',
    );
    const messages = (doc.diagnostics ?? []).map((d) => String(d.message));
    expect(messages.filter((m) => m.startsWith('An error occurred'))).toEqual([]);
    expect(doc.parseResult.parserErrors.length).toBeGreaterThan(0);
  });

  // Fuzz cases sense 20263963 (`dense 1e308 relu` in the watch sample: an Infinity
  // estimate) and 20279499 (`dense 1000000000` then `dense 9e99`: compress allocated a
  // spectrum of 10^9 values and the case hung) of the 100,000-case run: counts are bounded.
  it.each(['1e308', '9e99', '1000001'])('dense %s is an invalid-number error, not an estimate', async (units) => {
    const services = createSenseServices();
    const text = readFileSync(join(ROOT, 'samples/watch/activity.sense'), 'utf8').replace('dense 64 relu', `dense ${units} relu`);
    const doc = await buildDocument(services, text, 'file:///regression-count.sense');
    const errors = (doc.diagnostics ?? []).filter((d) => d.severity === 1);
    expect(errors.map((d) => [d.code, d.range.start.line + 1])).toEqual([['invalid-number', 21]]);
    expect(String(errors[0].message)).toContain('from 1 to 1000000');
  });

  // Fuzz cases sense 20280315 (`rate 1e308 Hz`), 20283299 and 20300723 (`window 1e308 s`)
  // of the 100,000-case run: the window's sample count overflowed to Infinity and the
  // estimate came out Infinity or NaN. Rate × window is bounded; so is the hop.
  const inputCases: [string, string, string, RegExp][] = [
    ['rate 1e308 Hz', 'samples/watch/activity.sense', 'rate 50 Hz', /window \(2\.56 s at 1e\+308 Hz\) holds more than the 16777216 samples/],
    ['window 1e308 s', 'samples/watch/activity.sense', 'window 2.56 s', /window \(1e\+308 s at 50 Hz\) holds more than the 16777216 samples/],
    ['window 1e308 s', 'samples/deepear/deepear.sense', 'window 1 s', /window \(1e\+308 s at 16000 Hz\) holds more than/],
    ['hop 1e-9 s', 'samples/watch/activity.sense', 'hop 1.28 s', /hop of 1e-9 s is under one sample at 50 Hz/],
  ];
  it.each(inputCases)('%s in %s is a feature-shape error on the input, not an estimate', async (setting, sample, original, message) => {
    const services = createSenseServices();
    const text = readFileSync(join(ROOT, sample), 'utf8');
    expect(text).toContain(original);
    const doc = await buildDocument(services, text.replace(original, setting), 'file:///regression-window.sense');
    const errors = (doc.diagnostics ?? []).filter((d) => d.severity === 1);
    expect(errors.map((d) => d.code)).toEqual(['feature-shape']);
    expect(String(errors[0].message)).toMatch(message);
  });

  // Fuzz cases image 222, 256 (and 215 and 50 more of the first 300-case run): a chunk whose
  // length runs past the end of the file reached fast-png, which read outside its buffer
  // ('Offset is outside the bounds of the DataView', 'Invalid typed array length: 605').
  it('a PNG chunk declaring more bytes than the file holds is refused naming the file and the chunk', () => {
    const png = rgbPng();
    new DataView(png.buffer).setUint32(33, png.length);
    const error = thrown(() => imageInputTensor(png, RGB, 'cut.png'));
    expectClearError(error, 'imageInputTensor', 'cut.png');
    expect((error as Error).message).toBe(`cut.png: the PNG is truncated or corrupt: chunk IDAT at byte 33 declares ${png.length} bytes; ${png.length - 45} remain`);
  });

  // Fuzz case image 221: 363 bytes whose IHDR declares 8192 x 512 RGB pixels made fast-png
  // allocate 25 MB before finding the data short. Deflate expands at most 1032 times, so the
  // declared size is now checked against the compressed bytes first.
  it('a PNG whose compressed data cannot hold its declared size is refused before any allocation', () => {
    const png = rgbPng();
    const idatBytes = new DataView(png.buffer).getUint32(33);
    new DataView(png.buffer).setUint32(16, 8192);
    new DataView(png.buffer).setUint32(20, 512);
    const { error, bytes } = allocatedDuring(() => imageInputTensor(png, RGB, 'big.png'));
    expectClearError(error, 'imageInputTensor', 'big.png');
    // 512 rows of a filter byte and 8192 x 3 samples.
    expect((error as Error).message).toBe(`big.png: the PNG is truncated or corrupt: its ${idatBytes} bytes of compressed data cannot hold the 8192 x 512 pixels its header declares (12583424 bytes; deflate expands at most 1032 times)`);
    expect(bytes).toBeLessThan(2 ** 16);
  });

  // The same for JPEG: jpeg-js allocates every block of the declared frame before decoding a scan.
  it('a JPEG whose scan data cannot hold its declared size is refused before any allocation', () => {
    const jpg = rgbJpeg();
    const sof = jpegSegment(jpg, 0xc0);
    jpg.set([5000 >> 8, 5000 & 255, 5000 >> 8, 5000 & 255], sof + 5);
    const { error, bytes } = allocatedDuring(() => imageInputTensor(jpg, RGB, 'big.jpg'));
    expectClearError(error, 'imageInputTensor', 'big.jpg');
    // Three components at 4:4:4, each 625 x 625 blocks of 8 x 8.
    expect((error as Error).message).toMatch(/^big\.jpg: the JPEG is truncated or corrupt: its \d+ bytes of scan data cannot hold the 1171875 blocks of the 5000 x 5000 pixels/);
    expect(bytes).toBeLessThan(2 ** 16);
  });

  // Fuzz case image 218: a scan naming a component the frame does not have made jpeg-js
  // throw 'Cannot set properties of undefined'; a decoder's built-in error is now reported
  // as the file's inconsistency, not with the decoder's internals.
  it('a JPEG scan of a component the frame does not declare is a clear error naming the file', () => {
    const jpg = rgbJpeg();
    jpg[jpegSegment(jpg, 0xda) + 5] = 9;
    const error = thrown(() => imageInputTensor(jpg, RGB, 'scan.jpg'));
    expectClearError(error, 'imageInputTensor', 'scan.jpg');
    expect((error as Error).message).toBe('scan.jpg: the JPEG is truncated or corrupt (its data is inconsistent with its headers)');
  });

  // Fuzz case image 225 and others: header fields PNG does not define are refused by name.
  it.each([
    [24, 4, 'colour type 2 cannot have bit depth 4 (allowed: 8, 16)'],
    [25, 7, 'colour type 7 is not one of 0, 2, 3, 4, 6'],
    [28, 2, 'compression, filter and interlace methods are 0, 0, 2; PNG defines 0, 0 and 0 or 1'],
  ])('a PNG with IHDR byte %i set to %i is refused: %s', (at, value, message) => {
    const png = rgbPng();
    png[at] = value;
    expect(() => imageInputTensor(png, RGB, 'h.png')).toThrow(`h.png: the PNG is truncated or corrupt: ${message}`);
  });

  // Found while writing the image target: an RGB PNG may carry a suggested palette (PLTE),
  // and its presence made the RGB samples be read as palette indices ('Incorrect index of
  // palette color'). Only colour type 3 is a palette image.
  it('an RGB PNG with a suggested palette is read as RGB', () => {
    const png = encodePng({ width: 2, height: 1, channels: 3, depth: 8, data: Uint8Array.of(255, 0, 0, 0, 0, 255) });
    const tensor = imageInputTensor(withChunk(png, 'PLTE', [0, 255, 0, 10, 20, 30]), { channels: 3, height: 1, width: 2 }, 'plte.png');
    // Channels first: red [1, 0], green [0, 0], blue [0, 1].
    expect([...tensor]).toEqual([1, 0, 0, 0, 0, 1]);
  });

  // Fuzz cases image 103277, 109512, 116837 of the 20,000-case run: an Adam7-interlaced
  // palette PNG at 1, 2 or 4 bits decodes in fast-png to one byte per pixel, and fast-png's
  // palette conversion then threw a RangeError ('wrong data size. Found 48, expected 12').
  // Grey images at those depths decoded the same way and were read as packed samples.
  it.each([1, 2, 4])('an Adam7-interlaced PNG at %i bits per sample is refused naming the file', (depth) => {
    const png = encodePng({ width: 16, height: 3, channels: 1, depth: depth as 1 | 2 | 4, data: new Uint8Array((16 * depth) / 8 * 3), palette: [[0, 0, 0], [255, 255, 255]] });
    png[28] = 1;
    const error = thrown(() => imageInputTensor(png, RGB, 'adam7.png'));
    expectClearError(error, 'imageInputTensor', 'adam7.png');
    expect((error as Error).message).toBe(`adam7.png: the PNG is Adam7-interlaced at ${depth} bits per sample, which is not read; save it without interlacing or at 8 bits`);
  });

  // Fuzz case image 109171: a palette index past the palette's entries; fast-png's
  // conversion threw outside the decoder's error handling, so the message did not name the file.
  it('a palette index past the palette is a clear error naming the file', () => {
    const png = encodePng({ width: 4, height: 1, channels: 1, depth: 2, data: Uint8Array.of(0b00011011), palette: [[0, 0, 0], [255, 255, 255]] });
    const error = thrown(() => imageInputTensor(png, RGB, 'index.png'));
    expectClearError(error, 'imageInputTensor', 'index.png');
    expect((error as Error).message).toBe('index.png: the PNG is truncated or corrupt (Incorrect index of palette color)');
  });
});
