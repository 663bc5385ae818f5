/**
 * The bundle runner on both ONNX Runtimes: onnxruntime-node and onnxruntime-web (wasm
 * backend, run in Node) give the same outputs; silent windows skip the DNN; a clip's
 * prediction is the mean of its voiced windows; the page's entry point (openBundle)
 * fetches a bundle over HTTP and refuses a model whose SHA-256 differs.
 */
import { createServer, type Server } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle } from '../../../engine/export/bundle';
import { writeBundle } from '../../../engine/export/write-bundle';
import { computeFeatures } from '../../../runtime/features';
import { createRunner, executionProviders, type BundleRunner, type OrtModuleLike } from '../../../runtime/runner';
import { openBundle } from '../../../runtime/bundle-entry';
import { encodeWav16 } from '../../../runtime/wav';
import { maxAbsDiff, ortNode, randomWeights, specOf, tempDir } from '../export/helpers';

const PIPELINE = `pipeline Tiny {
  input audio { rate 8 kHz  window 0.5 s }
  features { silence below -45 dB  frames 32 ms hop 16 ms  logmel 12 bands  normalize }
  shared enc { conv1d 6 kernel 3 padding same relu  maxpool 2  flatten  dense 16 relu }
  head a from enc { dense 8 tanh  dense 3 softmax  labels [music, speech, noise] }
  head b from enc { dense 2 sigmoid  labels [in, out] }
  target snapdragon800
  place enc, a on dsp
  place b on cpu
}`;

function tone(seconds: number, rateHz: number, amp: number, hz: number, silentFrom = Infinity, silentTo = -Infinity): Float32Array {
  return Float32Array.from({ length: Math.round(seconds * rateHz) }, (_, i) => (i / rateHz >= silentFrom && i / rateHz < silentTo ? 0 : amp * Math.sin((2 * Math.PI * hz * i) / rateHz) + 0.01 * Math.sin(i * 1.7)));
}

let nodeRunner: BundleRunner;
let webRunner: BundleRunner;
let ortWeb: OrtModuleLike & { env: { wasm: { numThreads: number } } };
let bundle: ReturnType<typeof buildBundle>;

beforeAll(async () => {
  const spec = await specOf(PIPELINE);
  const weights = randomWeights(spec, 4);
  bundle = buildBundle(spec, weights);
  ortWeb = (await import('onnxruntime-web')) as unknown as typeof ortWeb;
  ortWeb.env.wasm.numThreads = 1;
  nodeRunner = await createRunner({ ort: await ortNode(), backend: 'node', manifest: bundle.manifest, models: bundle.models });
  webRunner = await createRunner({ ort: ortWeb, backend: 'web', manifest: bundle.manifest, models: bundle.models });
});

afterAll(async () => {
  await nodeRunner?.release();
  await webRunner?.release();
});

describe('runner', () => {
  it('gives the same head probabilities on onnxruntime-node and onnxruntime-web', async () => {
    const wav = encodeWav16(tone(1.2, 16000, 0.3, 700), 16000);
    const n = await nodeRunner.runClip({ kind: 'wav', bytes: wav }, 'tone.wav');
    const w = await webRunner.runClip({ kind: 'wav', bytes: wav }, 'tone.wav');
    expect(n.windows).toBe(2);
    expect(n.silent).toBe(false);
    for (const head of ['a', 'b']) {
      const pn = Object.values(n.heads[head].probabilities);
      const pw = Object.values(w.heads[head].probabilities);
      expect(maxAbsDiff(pn, pw), head).toBeLessThan(1e-5);
      expect(n.heads[head].label).toBe(w.heads[head].label);
    }
    // Softmax heads sum to one; the sigmoid head's labels are independent probabilities.
    expect(Object.values(n.heads.a.probabilities).reduce((s, p) => s + p, 0)).toBeCloseTo(1, 5);
    expect(Object.keys(n.heads.b.probabilities)).toEqual(['in', 'out']);
    // Raw partition outputs agree as well, tensor by tensor.
    const f = nodeRunner.features(tone(0.5, 8000, 0.2, 300));
    const tn = await nodeRunner.runPartitions(f.data);
    const tw = await webRunner.runPartitions(f.data);
    for (const [name, data] of tn) expect(maxAbsDiff(data, tw.get(name)!), name).toBeLessThan(1e-5);
  });

  it('applies the normalisation statistics at the normalize step', async () => {
    const x = tone(0.5, 8000, 0.2, 440);
    const raw = computeFeatures(bundle.manifest.input, bundle.manifest.features, x);
    const norm = nodeRunner.features(x);
    const { mean, std } = bundle.manifest.normalization!;
    const frames = raw.shape[1];
    for (let r = 0; r < raw.shape[0]; r++) {
      for (let t = 0; t < frames; t += 7) expect(norm.data[r * frames + t]).toBeCloseTo((raw.data[r * frames + t] - mean[r]) / std[r], 4);
    }
  });

  it('skips the DNN on silent windows and averages the voiced ones', async () => {
    const silent = await nodeRunner.runClip({ kind: 'audio', audio: { sampleRateHz: 8000, channels: [new Float32Array(4000)] } }, 'zeros');
    expect(silent).toMatchObject({ silent: true, windows: 1, silentWindows: 1, heads: {} });
    expect(silent.perWindow[0].dnnMs).toBe(0);
    // Three windows, the middle one silent.
    const x = tone(1.5, 8000, 0.3, 500, 0.5, 1.0);
    const r = await nodeRunner.runClip({ kind: 'audio', audio: { sampleRateHz: 8000, channels: [x] } }, 'mixed');
    expect(r.windows).toBe(3);
    expect(r.silentWindows).toBe(1);
    expect(r.perWindow.map((w) => w.silent)).toEqual([false, true, false]);
    const w0 = await nodeRunner.runWindow(x.subarray(0, 4000));
    const w2 = await nodeRunner.runWindow(x.subarray(8000, 12000));
    for (const label of ['music', 'speech', 'noise']) {
      expect(r.heads.a.probabilities[label]).toBeCloseTo((w0.heads.a.probabilities[label] + w2.heads.a.probabilities[label]) / 2, 6);
    }
  });

  it('rejects clips of the wrong kind and malformed WAV with the clip name', async () => {
    await expect(nodeRunner.runClip({ kind: 'csv', bytes: new TextEncoder().encode('t,ax\n0,1\n') }, 'walk.csv')).rejects.toThrow(/walk\.csv: pipeline Tiny takes audio input, not an inertial CSV/);
    await expect(nodeRunner.runClip({ kind: 'wav', bytes: new Uint8Array(10) }, 'short.wav')).rejects.toThrow(/^short\.wav: /);
  });

  it('maps preferred providers to those the host has, CPU last', () => {
    expect(executionProviders({ providers: ['qnn', 'nnapi', 'coreml', 'cpu'] }, 'node')).toEqual(['cpu']);
    expect(executionProviders({ providers: ['qnn', 'cpu'] }, 'node', ['qnn', 'cpu'])).toEqual(['qnn', 'cpu']);
    expect(executionProviders({ providers: ['webgpu', 'cpu'] }, 'web')).toEqual(['wasm']);
    expect(executionProviders({ providers: ['webgpu', 'cpu'] }, 'web', ['webgpu', 'wasm'])).toEqual(['webgpu', 'wasm']);
    expect(executionProviders({ providers: ['xnnpack', 'cpu'] }, 'web', ['webgpu', 'wasm'])).toEqual(['wasm']);
  });
});

describe('openBundle (the demo page entry) over HTTP with onnxruntime-web', () => {
  let server: Server;
  let base: string;
  let dir: string;

  beforeAll(async () => {
    dir = join(tempDir(), 'bundle');
    const assets = { runtimeJs: new TextEncoder().encode('// runtime'), indexHtml: new TextEncoder().encode('<!doctype html>'), ortFiles: new Map<string, Uint8Array>() };
    writeBundle(dir, bundle, assets);
    server = createServer((req, res) => {
      const name = (req.url ?? '/').slice(1);
      try {
        res.end(readFileSync(join(dir, name)));
      } catch {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('loads the bundle, checks hashes and predicts like the in-memory runner', async () => {
    const runner = await openBundle(ortWeb, base);
    try {
      const wav = encodeWav16(tone(0.5, 8000, 0.25, 900), 8000);
      const a = await runner.runClip({ kind: 'wav', bytes: wav }, 'c.wav');
      const b = await nodeRunner.runClip({ kind: 'wav', bytes: wav }, 'c.wav');
      expect(maxAbsDiff(Object.values(a.heads.a.probabilities), Object.values(b.heads.a.probabilities))).toBeLessThan(1e-5);
    } finally {
      await runner.release();
    }
  });

  it('refuses a model whose SHA-256 differs from the manifest', async () => {
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    m.files['p1.onnx'].sha256 = '0'.repeat(64);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    await expect(openBundle(ortWeb, base)).rejects.toThrow(/p1\.onnx: SHA-256 [0-9a-f]{64} differs from the manifest's 0{64}/);
    await expect(openBundle(ortWeb, `${base}missing/`)).rejects.toThrow(/manifest\.json: HTTP 404/);
  });
});
