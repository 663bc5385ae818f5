/**
 * The importer on ONNX written here: the project's own export read back (import is its
 * inverse: the same layers, the same weights, the same outputs on ONNX Runtime), refusals
 * that name every node with its op and reason, and malformed or hostile files (truncated,
 * huge declared tensors, cycles, missing inputs, external data) refused with a clear error
 * within a second.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../cli/main';
import onnxProto from 'onnx-proto';
import '../../../language/polyfills';
import { exportOnnx } from '../../../engine/onnx/export-onnx';
import { GraphBuilder, encodeModel } from '../../../engine/onnx/onnx-builder';
import { importOnnx, OnnxImportError, type ImportResult, type LikePipeline } from '../../../engine/import/import-onnx';
import type { PipelineSpec } from '../../../language/pipeline-model';
import { ortNode, randomWeights, specOf, tempDir } from '../export/helpers';

const { onnx } = onnxProto;

const ROUND_TRIP = `pipeline RoundTrip {
  input audio { rate 8 kHz  window 0.5 s }
  features { frames 32 ms hop 16 ms  logmel 12 bands }
  shared enc { conv1d 6 kernel 3 padding same relu  batchnorm  maxpool 2  gru 8 sequences }
  head a from enc { lstm 5  dense 3 softmax  labels [lo, mid, hi] }
  head b from enc { conv1d 4 kernel 2 stride 2 elu  avgpool global  dense 4 gelu  dense 2 sigmoid  labels [p, q] }
  target snapdragon800
}`;

function likeOf(spec: PipelineSpec): LikePipeline {
  return { source: 'like.sense', input: 'input audio { rate 8 kHz  window 0.5 s }', features: 'features { frames 32 ms hop 16 ms  logmel 12 bands }', target: 'target snapdragon800', featureShape: spec.features.outputShape };
}

function imported(r: ImportResult): Extract<ImportResult, { ok: true }> {
  if (!r.ok) throw new Error(r.message);
  return r;
}

async function runModel(bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<Float32Array[]> {
  const ort = await ortNode();
  const s = await ort.InferenceSession.create(bytes);
  const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, [1, ...shape]) });
  return s.outputNames.map((n) => out[n].data as Float32Array);
}

/** A one-Gemm model reading `[N, width]`, with extra nodes and initializers from `extend`. */
function tinyModel(extend?: (g: GraphBuilder) => string, width = 4): Uint8Array {
  const g = new GraphBuilder();
  g.fresh('x');
  const w = g.float('w', [3, width], new Float32Array(3 * width).fill(0.1));
  const b = g.float('b', [3], new Float32Array(3));
  let y = g.node('Gemm', ['x', w, b], ['h'], { transB: 1 });
  if (extend) y = extend(g);
  return encodeModel(g, { name: 'tiny', inputs: [{ name: 'x', shape: [width] }], outputs: [{ name: y, shape: [3] }] });
}

function refusalOf(bytes: Uint8Array): string {
  const r = importOnnx(bytes, { file: 'model.onnx', name: 'M', weightsFile: 'm.safetensors' });
  if (r.ok) throw new Error('expected a refusal');
  return r.message;
}

function errorOf(bytes: Uint8Array): string {
  const t0 = performance.now();
  try {
    importOnnx(bytes, { file: 'model.onnx', name: 'M', weightsFile: 'm.safetensors' });
  } catch (e) {
    expect(e).toBeInstanceOf(OnnxImportError);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect((e as Error).message.startsWith('model.onnx: ')).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('import of the project\'s own export', () => {
  it('reads back the layers, weights and outputs of an exported pipeline with a shared block, conv, batchnorm, pools, GRU, LSTM and gelu', async () => {
    const spec = await specOf(ROUND_TRIP);
    const weights = randomWeights(spec, 11);
    const model = exportOnnx(spec, weights, { single: true }).partitions[0].model;
    const r = imported(importOnnx(model, { file: 'roundtrip.onnx', name: 'Back', weightsFile: 'back.safetensors', like: likeOf(spec) }));
    expect(r.text).toMatch(/shared trunk \{\s+conv1d 6 kernel 3 padding same relu[^\n]*\n\s+batchnorm[^\n]*\n\s+maxpool 2[^\n]*\n\s+gru 8 sequences/);
    expect(r.text).toMatch(/head a_2 from trunk \{\s+lstm 5[^\n]*\n\s+dense 3 softmax/);
    expect(r.text).toMatch(/head b_4 from trunk \{\s+conv1d 4 kernel 2 stride 2 elu[^\n]*\n\s+avgpool global[^\n]*\n\s+dense 4 gelu[^\n]*\n\s+dense 2 sigmoid/);
    // The same tensors under the importer's block names.
    const rename: Record<string, string> = { enc: 'trunk', a: 'a_2', b: 'b_4' };
    for (const [name, t] of weights) {
      const [block, ...rest] = name.split('.');
      expect(r.weights.get([rename[block], ...rest].join('.'))?.data).toEqual(t.data);
    }
    const back = await specOf(r.text);
    const again = exportOnnx(back, r.weights, { single: true }).partitions[0].model;
    const x = Float32Array.from({ length: spec.features.outputShape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.7));
    const [before, after] = [await runModel(model, x, spec.features.outputShape), await runModel(again, x, spec.features.outputShape)];
    expect(after.map((t) => Array.from(t))).toEqual(before.map((t) => Array.from(t)));
  });
});

describe('refusals', () => {
  it('lists every node it cannot map with its op and reason, and the data-dependent join', () => {
    const bytes = tinyModel((g) => {
      const a = g.node('Abs', ['h'], ['abs']);
      const w = g.float('w2', [3, 3], new Float32Array(9).fill(0.2));
      const m = g.node('MatMul', ['h', w], ['mm']);
      const s = g.node('Add', [a, m], ['sum']);
      return g.node('Erf', [s], ['y']);
    });
    const msg = refusalOf(bytes);
    expect(msg).toContain("node 'Abs_abs' (Abs): Abs is an op the language lacks");
    // The Add joins a refused branch; Erf after it is listed as an op the language lacks.
    expect(msg).toContain("node 'Erf_y' (Erf): Erf is an op the language lacks");
    expect(msg).toMatch(/^model\.onnx: 2 parts of the model cannot be written in the language, so nothing was written:/);
  });

  it('names a model that computes its own front end and points at --like', () => {
    const msg = refusalOf(tinyModel((g) => g.node('DFT', ['h'], ['y'])));
    expect(msg).toMatch(/node 'DFT_y' \(DFT\): the model computes its own feature front end \(DFT\); .*--like PIPELINE\.sense/);
  });

  it('refuses strides, dilations, groups and pads the language cannot state', () => {
    const conv = (attrs: Record<string, number | number[]>): string => {
      const g = new GraphBuilder();
      g.fresh('x');
      const w = g.float('w', [4, 2, 3], new Float32Array(24).fill(0.1));
      g.node('Conv', ['x', w], ['c'], attrs);
      const flat = g.node('Flatten', ['c'], ['f'], { axis: 1 });
      const w2 = g.float('w2', [2, 4 * 8], new Float32Array(64));
      g.node('Gemm', [flat, w2], ['y'], { transB: 1 });
      return refusalOf(encodeModel(g, { name: 'c', inputs: [{ name: 'x', shape: [2, 10] }], outputs: [{ name: 'y', shape: [2] }] }));
    };
    expect(conv({ dilations: [2] })).toMatch(/\(Conv\): a dilated convolution/);
    expect(conv({ pads: [2, 0] })).toMatch(/\(Conv\): pads \[2, 0\] on input \[10\]; the language states 'valid'/);
  });

  it('refuses an Add after a conv that varies along time, which is no bias', () => {
    const g = new GraphBuilder();
    g.fresh('x');
    const w = g.float('w', [4, 2, 3], new Float32Array(24).fill(0.1));
    const c = g.node('Conv', ['x', w], ['c'], {});
    // [4, 8] varies along the 8 output steps too; a bias is [4, 1] (or [4] on a dense layer).
    const shift = g.float('shift', [4, 8], new Float32Array(32).fill(0.5));
    const added = g.node('Add', [c, shift], ['a']);
    const flat = g.node('Flatten', [added], ['f'], { axis: 1 });
    const w2 = g.float('w2', [2, 4 * 8], new Float32Array(64));
    g.node('Gemm', [flat, w2], ['y'], { transB: 1 });
    const msg = refusalOf(encodeModel(g, { name: 'c', inputs: [{ name: 'x', shape: [2, 10] }], outputs: [{ name: 'y', shape: [2] }] }));
    expect(msg).toMatch(/node 'Add_a' \(Add\): it adds a constant \[4, 8\] that does not vary along the layer's 4 outputs alone, so it is not a bias/);
  });
});

describe('malformed and hostile files', () => {
  const good = tinyModel();

  it('refuses an empty, truncated or garbage file clearly, at every cut', () => {
    expect(errorOf(new Uint8Array())).toContain('the file is empty');
    expect(errorOf(new TextEncoder().encode('not an onnx model at all, just text'))).toMatch(/model\.onnx: /);
    for (let cut = 1; cut < good.length; cut += 7) {
      try {
        const r = importOnnx(good.subarray(0, cut), { file: 'model.onnx', name: 'M', weightsFile: 'm.safetensors' });
        // A cut on a field boundary can leave a smaller valid model; it must then be mapped or refused, never crash.
        expect(typeof r.ok).toBe('boolean');
      } catch (e) {
        expect(e).toBeInstanceOf(OnnxImportError);
        expect((e as Error).message).toMatch(/^model\.onnx: /);
      }
    }
  });

  it('refuses a tensor declaring more elements than its data before allocating', () => {
    const model = onnx.ModelProto.decode(good);
    model.graph!.initializer![0].dims = [1 << 20, 1 << 20];
    expect(errorOf(onnx.ModelProto.encode(model).finish())).toMatch(/initializer 'w': of shape \[1048576, 1048576\] needs 4398046511104 bytes of raw data but has 48/);
  });

  it('refuses external data, a cycle, a missing input, two inputs and an old opset', () => {
    const external = onnx.ModelProto.decode(good);
    external.graph!.initializer![0].dataLocation = 1;
    expect(errorOf(onnx.ModelProto.encode(external).finish())).toMatch(/initializer 'w': is stored in an external data file/);

    const cycle = onnx.ModelProto.decode(good);
    cycle.graph!.node!.push({ opType: 'Relu', input: ['r2'], output: ['r1'], name: 'first' }, { opType: 'Relu', input: ['r1'], output: ['r2'], name: 'second' });
    expect(errorOf(onnx.ModelProto.encode(cycle).finish())).toMatch(/the graph has a cycle through nodes 'first', 'second'/);

    const missing = onnx.ModelProto.decode(good);
    missing.graph!.node![0].input![1] = 'ghost';
    expect(errorOf(onnx.ModelProto.encode(missing).finish())).toMatch(/node 'Gemm_h' \(Gemm\) reads 'ghost', which no node, initializer or input produces/);

    const two = onnx.ModelProto.decode(good);
    two.graph!.input!.push({ ...two.graph!.input![0], name: 'x2' });
    expect(errorOf(onnx.ModelProto.encode(two).finish())).toMatch(/the model has 2 inputs \('x', 'x2'\)/);

    const old = onnx.ModelProto.decode(good);
    old.opsetImport![0].version = 9;
    expect(errorOf(onnx.ModelProto.encode(old).finish())).toMatch(/opset 9; the importer reads opsets 11 to 21/);
  });
});

describe('the import command', () => {
  async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('writes the pipeline beside OUT, refuses to replace it without --force, and names a corrupt model', async () => {
    const dir = tempDir('sense-import-cli-');
    const model = join(dir, 'tiny.onnx');
    // 60 inputs: the importer guesses 6 statistics of 10 inertial axes for them.
    writeFileSync(model, tinyModel((g) => g.node('Softmax', ['h'], ['scores'], { axis: -1 }), 60));
    const out = join(dir, 'tiny.sense');
    const first = await cli('import', model, '-o', out);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toContain('note: no --like pipeline: the input and features are a guess that gives [60] (6 statistics of 10 inertial axes)');
    expect(readFileSync(out, 'utf8')).toMatch(/head scores \{\s+dense 3 softmax[^\n]*\n\s+labels \[c0, c1, c2\]/);
    expect(existsSync(join(dir, 'tiny.safetensors'))).toBe(true);
    const again = await cli('import', model, '-o', out);
    expect(again.code).toBe(1);
    expect(again.err).toContain(`${out} already exists; pass --force`);
    expect((await cli('import', model, '-o', out, '--force')).code).toBe(0);
    const corrupt = join(dir, 'corrupt.onnx');
    writeFileSync(corrupt, readFileSync(model).subarray(0, 40));
    const bad = await cli('import', corrupt);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(new RegExp(`^sense import: ${corrupt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    expect(existsSync(join(dir, 'corrupt.sense'))).toBe(false);
  });
});
