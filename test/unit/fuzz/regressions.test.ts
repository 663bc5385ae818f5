/**
 * Inputs the fuzz harness found that once crashed the product, each reduced to its
 * cause and checked for the clear error that replaced the crash.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import onnxProto from 'onnx-proto';
import { readOnnxWeights } from '../../../engine/weights/onnx-weights';
import { buildBundle } from '../../../engine/export/bundle';
import { initWeights } from '../../../engine/weights/init';
import { parseInertialCsv } from '../../../runtime/inertial';
import { createRunner } from '../../../runtime/runner';
import { ortNode, randomWeights, specOf } from '../export/helpers';
import { buildDocument, createSenseServices } from '../../../language/sense-module';
import { expectClearError } from './oracle';

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
});
