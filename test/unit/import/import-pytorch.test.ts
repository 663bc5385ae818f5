/**
 * `sense import` on models built and exported by PyTorch (Debian's python3-torch) in the test
 * itself (./pytorch-models.py; nothing binary is committed): an MLP with a shared trunk and
 * three heads, a 1-D CNN with batchnorm and pooling over log-mel frames, a GRU and an LSTM
 * over frames, and a 2-D CNN on an image. For each, the imported pipeline's probabilities
 * (`sense run` on a clip; for the image, on a PNG the reference writes, from the pipeline and
 * from its exported bundle) are checked against PyTorch's on the same features (`sense
 * features` of that clip, or the same decoded, resized image) and against ONNX Runtime on the original
 * model, and the exported bundle's models pass onnx.checker (python3-onnx). A model with ops
 * the language lacks is refused naming each such node, and nothing is written.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../../language/polyfills';
import { main } from '../../../cli/main';
import { encodeWav16 } from '../../../runtime/wav';
import { pythonHas, runPython } from '../../support/python';
import { ortNode, tempDir } from '../export/helpers';

const ROOT = join(new URL('.', import.meta.url).pathname, '..', '..', '..');
const WATCH = join(ROOT, 'samples/watch/activity.sense');
const DEEPEAR = join(ROOT, 'samples/deepear/deepear.sense');
const WATCH_CLIP = join(ROOT, 'samples/data/watch/activity/cycling/cycling-0000.csv');
/** The agreement the issue asks for, between PyTorch and the imported pipeline, on probabilities. */
const TOLERANCE = 1e-4;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

type Reference = Record<string, { outputs: Record<string, number[]>; input: number[]; params: number }>;

let dir = '';
let reference: Reference;
let audioClip = '';
const features: Record<string, { shape: number[]; data: number[] }> = {};

function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

/** Probabilities from a head's scores, as the runner makes them for a head without softmax or sigmoid. */
function softmax(logits: readonly number[]): number[] {
  const peak = Math.max(...logits);
  const sum = logits.reduce((a, v) => a + Math.exp(v - peak), 0);
  return logits.map((v) => Math.exp(v - peak) / sum);
}

/** One second of a chirp with noise at 16 kHz: one window of DeepEar's front end, well above its silence threshold. */
function chirp(): Uint8Array {
  let seed = 3;
  const noise = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.05;
  return encodeWav16(Float32Array.from({ length: 16000 }, (_, i) => 0.3 * Math.sin(2 * Math.PI * (200 + 0.1 * i) * (i / 16000)) + noise()), 16000);
}

/** The model's outputs on `input` under ONNX Runtime, by output name. */
async function runOnnx(file: string, input: number[], shape: number[]): Promise<Record<string, number[]>> {
  const ort = await ortNode();
  const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(file)));
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', Float32Array.from(input), [1, ...shape]) };
  const out = await session.run(feeds);
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Array.from(t.data as Float32Array)]));
}

/** Imports `model`, checks that the written pipeline checks, and exports it; returns the paths. */
async function importAndExport(model: string, like?: string): Promise<{ sense: string; bundle: string; text: string }> {
  const sense = join(dir, `${model}.sense`);
  const r = await cli('import', join(dir, `${model}.onnx`), ...(like ? ['--like', like] : []), '-o', sense);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  const bundle = join(dir, `${model}-bundle`);
  const e = await cli('export', sense, '-o', bundle);
  expect(e.err).toBe('');
  expect(e.code).toBe(0);
  return { sense, bundle, text: readFileSync(sense, 'utf8') };
}

/** Runs onnx.checker (IR 8, opset 17 as python3-onnx 1.12 knows them) on every model of a bundle. */
function checkBundle(bundle: string): void {
  const models = readdirSync(bundle).filter((f) => f.endsWith('.onnx')).map((f) => join(bundle, f));
  expect(models.length).toBeGreaterThan(0);
  const checked = runPython<string[]>(
    'import json, sys, onnx\nfiles = json.load(sys.stdin)\nfor f in files: onnx.checker.check_model(onnx.load(f), full_check=True)\nprint(json.dumps(files))',
    models,
  );
  expect(checked).toEqual(models);
}

/** `sense run` on a clip of one window: each head's probabilities in label order. */
async function runClip(sense: string, clip: string): Promise<Record<string, number[]>> {
  const r = await cli('run', sense, clip, '--json');
  expect(r.code).toBe(0);
  const heads = (JSON.parse(r.out) as { clips: { windows: number; heads: Record<string, { probabilities: Record<string, number> }> }[] }).clips[0];
  expect(heads.windows).toBe(1);
  return Object.fromEntries(Object.entries(heads.heads).map(([h, v]) => [h, Object.values(v.probabilities)]));
}

/** Agreement of `sense run` with PyTorch and with ONNX Runtime on the original model; returns the largest difference. */
async function agreement(model: string, like: string, clip: string, feature: string, heads: Record<string, string>): Promise<number> {
  const { sense, bundle } = await importAndExport(model, like);
  checkBundle(bundle);
  const ours = await runClip(sense, clip);
  const original = await runOnnx(join(dir, `${model}.onnx`), features[feature].data, features[feature].shape);
  let worst = 0;
  let ort = 0;
  for (const [output, head] of Object.entries(heads)) {
    const torch = reference[model].outputs[output];
    worst = Math.max(worst, maxAbsDiff(ours[head], torch));
    ort = Math.max(ort, maxAbsDiff(original[output], torch));
  }
  console.log(`import ${model}: max |sense run - PyTorch| = ${worst.toExponential(2)}, max |original on ONNX Runtime - PyTorch| = ${ort.toExponential(2)}`);
  expect(ort).toBeLessThan(TOLERANCE);
  expect(worst).toBeLessThan(TOLERANCE);
  return worst;
}

describe('sense import of PyTorch models', () => {
  beforeAll(async () => {
    expect(pythonHas('torch', 'onnx')).toBe(true);
    dir = tempDir('sense-import-');
    audioClip = join(dir, 'chirp.wav');
    writeFileSync(audioClip, chirp());
    for (const [key, like, clip] of [['watch', WATCH, WATCH_CLIP], ['logmel', DEEPEAR, audioClip]] as const) {
      const r = await cli('features', like, clip, '--json');
      expect(r.code).toBe(0);
      features[key] = JSON.parse(r.out) as { shape: number[]; data: number[] };
    }
    reference = runPython<Reference>(readFileSync(join(ROOT, 'test/unit/import/pytorch-models.py'), 'utf8'), { dir, opset: 17, features }, 300_000);
  }, 600_000);

  it('imports an MLP with a shared trunk and three heads, matching PyTorch', async () => {
    await agreement('mlp', WATCH, WATCH_CLIP, 'watch', { activity: 'activity', transport: 'transport', place: 'place_out' });
    const text = readFileSync(join(dir, 'mlp.sense'), 'utf8');
    expect(text).toMatch(/shared trunk \{\s*dense 32 relu[^\n]*\n\s*dense 16 relu/);
    expect(text.match(/head \w+ from trunk/g)).toEqual(['head activity from trunk', 'head transport from trunk', 'head place_out from trunk']);
    expect(text).toContain('labels [c0, c1, c2, c3, c4]');
  }, 120_000);

  it('imports a 1-D CNN with batchnorm and pooling over log-mel frames', async () => {
    await agreement('cnn1d', DEEPEAR, audioClip, 'logmel', { scene: 'scene' });
    const text = readFileSync(join(dir, 'cnn1d.sense'), 'utf8');
    for (const line of ['conv1d 16 kernel 3 padding same relu', 'maxpool 2', 'batchnorm', 'conv1d 12 kernel 5 leakyrelu', 'avgpool 3 stride 2', 'conv1d 8 kernel 3 stride 2 gelu', 'avgpool global', 'dense 3 softmax'])
      expect(text).toContain(line);
  }, 120_000);

  it('imports a GRU (last state) and an LSTM (last step of the sequence) over frames', async () => {
    await agreement('gru', DEEPEAR, audioClip, 'logmel', { speaker: 'speaker' });
    await agreement('lstm', DEEPEAR, audioClip, 'logmel', { speaker: 'speaker' });
    expect(readFileSync(join(dir, 'gru.sense'), 'utf8')).toMatch(/gru 24\s/);
    expect(readFileSync(join(dir, 'lstm.sense'), 'utf8')).toMatch(/lstm 24\s/);
  }, 120_000);

  it('imports a 2-D CNN on an image input: sense run on a PNG gives PyTorch\'s probabilities, from the pipeline and its bundle', async () => {
    // The test's PNG is 45 x 38 RGBA; the model reads 3 x 32 x 32, so the run decodes, drops
    // alpha, resizes and scales exactly as PyTorch's reference input was made (pytorch-models.py).
    const png = join(dir, 'cnn2d.png');
    const { sense, bundle, text } = await importAndExport('cnn2d');
    expect(text).toContain('input image { size 32 x 32  channels 3 }');
    for (const line of ['conv2d 8 kernel 3 padding same relu', 'maxpool 2', 'batchnorm', 'conv2d 12 kernel 3 tanh', 'avgpool 2', 'flatten', 'dense 10 softmax', 'dense 16 relu'])
      expect(text).toContain(line);
    // The digit head ends in PyTorch's Softmax, written as the layer's activation; the colour
    // head ends in logits, so the runner applies the one softmax (never two).
    expect(text).toMatch(/head colour from \w+ \{\s*dense 16 relu[^\n]*\n\s*dense 3\s*(\/\/[^\n]*)?\n/);
    checkBundle(bundle);
    const { outputs } = reference.cnn2d;
    const torch = { digit: outputs.digit, colour: softmax(outputs.colour) };
    for (const source of [sense, bundle]) {
      const ours = await runClip(source, png);
      const worst = Math.max(maxAbsDiff(ours.digit, torch.digit), maxAbsDiff(ours.colour, torch.colour));
      console.log(`import cnn2d: max |sense run ${source === sense ? 'PIPELINE' : 'BUNDLE'} cnn2d.png - PyTorch| = ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(TOLERANCE);
    }
    const original = await runOnnx(join(dir, 'cnn2d.onnx'), reference.cnn2d.input, [3, 32, 32]);
    expect(maxAbsDiff(original.digit, outputs.digit)).toBeLessThan(TOLERANCE);
  }, 180_000);

  it('reads conv biases written as their own Add, and gives a softmax output that another head reads no second softmax', async () => {
    const { sense, bundle, text } = await importAndExport('gaps');
    checkBundle(bundle);
    // The Adds fold into the convolutions before the activations fuse.
    expect(text).toMatch(/conv2d 6 kernel 3 relu\s*\/\/ [^\n]*Conv[^\n]*Add[^\n]*Relu/);
    expect(text).toMatch(/conv2d 4 kernel 3 tanh\s*\/\/ [^\n]*Conv[^\n]*Add[^\n]*Tanh/);
    // The shared dense layer ends without its softmax, which starts each branch instead.
    expect(text).toMatch(/dense 5\s*\/\//);
    expect(text).toMatch(/head probs from \w+ \{\s*softmax/);
    expect(text).toMatch(/head refined from \w+ \{\s*softmax[^\n]*\n\s*dense 3/);
    const { outputs } = reference.gaps;
    const torch = { probs: outputs.probs, refined: softmax(outputs.refined) };
    const ours = await runClip(sense, join(dir, 'gaps.png'));
    const worst = Math.max(maxAbsDiff(ours.probs, torch.probs), maxAbsDiff(ours.refined, torch.refined));
    console.log(`import gaps: max |sense run gaps.png - PyTorch| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(TOLERANCE);
  }, 120_000);

  it("imports a GRU whose last step is taken with a Slice (out[:, -1:, :])", async () => {
    await agreement('gru_slice', DEEPEAR, audioClip, 'logmel', { speaker: 'speaker' });
    expect(readFileSync(join(dir, 'gru_slice.sense'), 'utf8')).toMatch(/gru 16\s*\/\/[^\n]*Slice/);
  }, 120_000);

  it('refuses a bidirectional GRU or LSTM and a Slice that drops data, naming the node and why', async () => {
    for (const op of ['GRU', 'LSTM']) {
      const model = `bi${op.toLowerCase()}`;
      const bi = await cli('import', join(dir, `${model}.onnx`), '--like', DEEPEAR, '-o', join(dir, `${model}.sense`));
      expect(bi.code).toBe(1);
      expect(bi.err).toMatch(new RegExp(`node '[^']*' \\(${op}\\): a bidirectional ${op}; the language's recurrent layers run forward`));
      expect(existsSync(join(dir, `${model}.sense`))).toBe(false);
    }
    const cut = await cli('import', join(dir, 'slice_data.onnx'), '--like', DEEPEAR, '-o', join(dir, 'slice_data.sense'));
    expect(cut.code).toBe(1);
    expect(cut.err).toMatch(/node '[^']*' \(Slice\): it takes elements 8 to 98 of axis 2 \(size 98\); the language keeps whole tensors/);
    expect(existsSync(join(dir, 'slice_data.sense'))).toBe(false);
  }, 60_000);

  it('takes an imported model through estimate, compress (the spectra of its weights), partition, run and export', async () => {
    const work = join(dir, 'workflow');
    mkdirSync(work);
    const sense = join(work, 'cnn2d.sense');
    expect((await cli('import', join(dir, 'cnn2d.onnx'), '-o', sense)).code).toBe(0);

    const est = await cli('estimate', sense, '--json');
    expect(est.code, est.err).toBe(0);
    const layers = (JSON.parse(est.out) as { layers: { layer: string; params: number; macs: number }[] }).layers;
    // PyTorch's parameters and batchnorm running statistics, counted by PyTorch.
    expect(layers.reduce((a, l) => a + l.params, 0)).toBe(reference.cnn2d.params);
    // By hand: 8 filters, each 3 x 3 x 3 weights and a bias, at every one of the 32 x 32 'same' positions.
    expect(layers.find((l) => l.layer === 'trunk.1')?.macs).toBe(8 * (3 * 3 * 3 + 1) * 32 * 32);

    const comp = await cli('compress', sense, '--params', '60%', '--json', '--write');
    expect(comp.code, comp.err).toBe(0);
    const plan = JSON.parse(comp.out) as { layers: { ref: string; rank?: number; relError: number; errorSource: string; changed: boolean }[] };
    expect(plan.layers.every((l) => l.errorSource === 'weights')).toBe(true);
    const changed = plan.layers.filter((l) => l.changed);
    expect(changed.length).toBeGreaterThan(0);
    // The relative error of each chosen rank from numpy's SVD of the original ONNX initializer.
    const nodes: Record<string, string> = { 'trunk.1': '/net/net.0/Conv', 'trunk.4': '/net/net.4/Conv', 'digit.1': '/digit/digit.0/Gemm', 'colour.1': '/colour/colour.0/Gemm', 'colour.2': '/colour/colour.2/Gemm' };
    const numpy = runPython<number[]>(
      [
        'import json, sys, numpy as np, onnx',
        'from onnx import numpy_helper',
        'q = json.load(sys.stdin)',
        'm = onnx.load(q["model"])',
        'init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}',
        'node = {n.name: n for n in m.graph.node}',
        'out = []',
        'for name, rank in q["layers"]:',
        '    w = init[node[name].input[1]].astype(np.float64)',
        '    s = np.linalg.svd(w.reshape(w.shape[0], -1), compute_uv=False)',
        '    out.append(float(np.sqrt((s[rank:] ** 2).sum() / (s ** 2).sum())))',
        'print(json.dumps(out))',
      ].join('\n'),
      { model: join(dir, 'cnn2d.onnx'), layers: changed.map((l) => [nodes[l.ref], l.rank]) },
    );
    changed.forEach((l, i) => expect(Math.abs(l.relError - numpy[i]), l.ref).toBeLessThan(1e-6));
    const written = readFileSync(sense, 'utf8');
    for (const l of changed) expect(written).toContain(`compress ${l.ref} svd rank ${l.rank}`);

    const part = await cli('partition', sense, '--json');
    expect(part.code, part.err).toBe(0);
    const placement = (JSON.parse(part.out) as { placement: Record<string, string>; feasible: boolean }).placement;
    expect(Object.keys(placement).sort()).toEqual(layers.map((l) => l.layer).sort());

    const ours = await runClip(sense, join(dir, 'cnn2d.png'));
    for (const probs of Object.values(ours)) expect(Math.abs(probs.reduce((a, p) => a + p, 0) - 1)).toBeLessThan(1e-5);
    const bundle = join(work, 'bundle');
    const e = await cli('export', sense, '-o', bundle);
    expect(e.code, e.err).toBe(0);
    checkBundle(bundle);
    // The bundle of the compressed pipeline gives what the compressed pipeline gives.
    const fromBundle = await runClip(bundle, join(dir, 'cnn2d.png'));
    for (const head of Object.keys(ours)) expect(maxAbsDiff(fromBundle[head], ours[head])).toBeLessThan(1e-6);
  }, 180_000);

  it('writes the same pipeline from an opset 11 export as from opset 17 (Squeeze axes as attributes, Softmax over axis 1)', async () => {
    const old = tempDir('sense-import-11-');
    runPython(readFileSync(join(ROOT, 'test/unit/import/pytorch-models.py'), 'utf8'), { dir: old, opset: 11, features }, 300_000);
    for (const [model, like] of [['mlp', WATCH], ['cnn1d', DEEPEAR], ['gru', DEEPEAR], ['lstm', DEEPEAR], ['cnn2d', undefined]] as const) {
      const sense = join(old, `${model}.sense`);
      const r = await cli('import', join(old, `${model}.onnx`), ...(like ? ['--like', like] : []), '-o', sense);
      expect(r.code, r.err).toBe(0);
      const body = (f: string): string => readFileSync(f, 'utf8').replace(/^\/\/ Imported .*\n/, '');
      expect(body(sense)).toBe(body(join(dir, `${model}.sense`)));
    }
  }, 300_000);

  it('refuses a model with ops the language lacks, naming every such node, and writes nothing', async () => {
    const out = join(dir, 'unsupported.sense');
    const r = await cli('import', join(dir, 'unsupported.onnx'), '--like', WATCH, '-o', out);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/node '[^']*Abs[^']*' \(Abs\): Abs is an op the language lacks/);
    expect(r.err).toMatch(/node '[^']*' \(Add\): it joins 2 tensors computed from the input \(a residual connection/);
    expect(r.err).toMatch(/\(LayerNormalization\): LayerNormalization is an op the language lacks/);
    expect(r.err).toContain('nothing was written');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(dir, 'unsupported.safetensors'))).toBe(false);
  }, 60_000);
});
