/**
 * Bundle folders and the CLI: atomic export (an injected failure leaves no folder and no
 * temporary), refusal to replace a non-bundle folder, hash checks on reading, and the
 * commands init-weights, export, run (human and --json), features --json and eval.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as esbuild from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../../language/polyfills';
import { main } from '../../../cli/main';
import { buildBundle } from '../../../engine/export/bundle';
import { readBundle, writeBundle, type BundleAssets } from '../../../engine/export/write-bundle';
import { encodeWav16 } from '../../../runtime/wav';
import { randomWeights, specOf, tempDir } from './helpers';

const TEXT = `pipeline Cli {
  input audio { rate 8 kHz  window 0.5 s }
  features { silence below -50 dB  frames 32 ms hop 16 ms  logmel 10 bands  normalize }
  shared enc { flatten  dense 12 relu }
  head kind from enc { dense 3 softmax  labels [music, speech, noise] }
  head who from enc { dense 2 softmax  labels [alice, bob] }
  target snapdragon800
  weights "cli.safetensors"
  place enc on dsp
}`;

const ASSETS: BundleAssets = { runtimeJs: new TextEncoder().encode('// rt'), indexHtml: new TextEncoder().encode('<!doctype html>'), ortFiles: new Map() };

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function tone(seconds: number, hz: number, amp = 0.3): Uint8Array {
  return encodeWav16(Float32Array.from({ length: Math.round(seconds * 16000) }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / 16000)), 16000);
}

describe('bundle folders', () => {
  it('leaves no folder and no temporary when export fails midway', async () => {
    const spec = await specOf(TEXT);
    const b = buildBundle(spec, randomWeights(spec));
    const parent = tempDir();
    const dir = join(parent, 'out');
    expect(() =>
      writeBundle(dir, b, ASSETS, {
        onFileWritten: (name) => {
          if (name === 'p0.onnx') throw new Error('disk full (simulated)');
        },
      }),
    ).toThrow(/disk full/);
    expect(readdirSync(parent)).toEqual([]);
    // A first export succeeds; a failing second one keeps the first intact.
    const m1 = writeBundle(dir, b, ASSETS);
    const before = readFileSync(join(dir, 'manifest.json'), 'utf8');
    expect(() => writeBundle(dir, b, ASSETS, { onFileWritten: (n) => { if (n === 'manifest.json') throw new Error('killed'); } })).toThrow(/killed/);
    expect(readFileSync(join(dir, 'manifest.json'), 'utf8')).toBe(before);
    expect(readdirSync(parent)).toEqual(['out']);
    // Re-export over a bundle replaces it; every file is listed with its hash.
    const m2 = writeBundle(dir, b, ASSETS);
    expect(m2.files).toEqual(m1.files);
    expect(Object.keys(m2.files).sort()).toEqual(['index.html', 'p0.onnx', 'p1.onnx', 'runtime.js']);
    expect(readBundle(dir).models.size).toBe(2);
  });

  it('removes the parent folders it created when an export fails, and points at a bundle stranded by a killed replace', async () => {
    const spec = await specOf(TEXT);
    const b = buildBundle(spec, randomWeights(spec));
    const parent = tempDir();
    const deep = join(parent, 'a', 'b', 'out');
    expect(() => writeBundle(deep, b, ASSETS, { onFileWritten: () => { throw new Error('disk full (simulated)'); } })).toThrow(/disk full/);
    expect(readdirSync(parent)).toEqual([]);
    // A process killed between the two renames of a replace leaves DIR.old-XXXX and no DIR.
    writeBundle(join(parent, 'out'), b, ASSETS);
    renameSync(join(parent, 'out'), join(parent, 'out.old-x1y2z3'));
    expect(() => readBundle(join(parent, 'out'))).toThrow(/out: no such folder; an export that replaced it was interrupted, and the previous bundle is at .*out\.old-x1y2z3/);
  });

  it('refuses to replace a folder that is not a bundle, and detects edited models', async () => {
    const spec = await specOf(TEXT);
    const b = buildBundle(spec, randomWeights(spec));
    const parent = tempDir();
    mkdirSync(join(parent, 'docs'));
    writeFileSync(join(parent, 'docs', 'thesis.tex'), 'precious');
    expect(() => writeBundle(join(parent, 'docs'), b, ASSETS)).toThrow(/is a folder that is not a Sense Studio bundle.*refusing to replace it/);
    expect(readFileSync(join(parent, 'docs', 'thesis.tex'), 'utf8')).toBe('precious');
    writeFileSync(join(parent, 'file'), 'x');
    expect(() => writeBundle(join(parent, 'file'), b, ASSETS)).toThrow(/file exists and is a regular file, not a folder/);
    const dir = join(parent, 'b');
    writeBundle(dir, b, ASSETS);
    const p0 = readFileSync(join(dir, 'p0.onnx'));
    p0[p0.length - 1] ^= 1;
    writeFileSync(join(dir, 'p0.onnx'), p0);
    expect(() => readBundle(dir)).toThrow(/p0\.onnx: SHA-256 differs from the manifest/);
    expect(() => readBundle(parent)).toThrow(/no manifest\.json; this is not a bundle/);
  });
});

describe('sense CLI', () => {
  const dir = tempDir('sense-cli-');
  const file = join(dir, 'cli.sense');
  beforeAll(async () => {
    writeFileSync(file, TEXT);
    writeFileSync(join(dir, 'tone.wav'), tone(1.0, 440));
    writeFileSync(join(dir, 'quiet.wav'), tone(0.5, 440, 0));
    // `sense export` copies dist/runtime.mjs; build it the way esbuild.mjs does when absent.
    const root = join(dirname(new URL(import.meta.url).pathname), '..', '..', '..');
    if (!existsSync(join(root, 'dist', 'runtime.mjs'))) {
      await esbuild.build({ entryPoints: [join(root, 'runtime/bundle-entry.ts')], outfile: join(root, 'dist/runtime.mjs'), bundle: true, platform: 'browser', format: 'esm', target: 'es2022', logLevel: 'warning' });
    }
  });

  it('init-weights writes seeded weights and refuses to overwrite without --force', async () => {
    const r = await cli('init-weights', file, '--seed', '4');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/cli\.safetensors: 8 tensors, \d+ parameters, seed 4/);
    const first = readFileSync(join(dir, 'cli.safetensors'));
    expect((await cli('init-weights', file)).err).toMatch(/cli\.safetensors already exists \(written by sense init-weights\); pass --force/);
    expect((await cli('init-weights', file, '--seed', '4', '--force')).code).toBe(0);
    expect(readFileSync(join(dir, 'cli.safetensors')).equals(first)).toBe(true);
    expect((await cli('init-weights', file, '--seed', 'x')).err).toMatch(/--seed needs a non-negative integer/);
  });

  it('runs a .sense file and its exported bundle with the same results', async () => {
    await cli('init-weights', file, '--seed', '4', '--force');
    const json = await cli('run', file, join(dir, 'tone.wav'), join(dir, 'quiet.wav'), '--json');
    expect(json.code, json.err).toBe(0);
    const parsed = JSON.parse(json.out) as { clips: { clip: string; latencyMs: number; silent: boolean; heads: Record<string, { label: string; probabilities: Record<string, number> }> }[] };
    expect(parsed.clips).toHaveLength(2);
    const [t, q] = parsed.clips;
    expect(t.clip).toBe(join(dir, 'tone.wav'));
    expect(t.latencyMs).toBeGreaterThan(0);
    expect(Object.keys(t.heads)).toEqual(['kind', 'who']);
    expect(Object.keys(t.heads.kind.probabilities)).toEqual(['music', 'speech', 'noise']);
    expect(q.silent).toBe(true);
    expect(q.heads).toEqual({});
    const out = join(dir, 'bundle');
    const ex = await cli('export', file, '-o', out);
    expect(ex.code, ex.err).toBe(0);
    expect(ex.out).toMatch(/p0\.onnx\s+dsp/);
    expect(readdirSync(out).sort()).toEqual(['index.html', 'manifest.json', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm', 'ort.wasm.bundle.min.mjs', 'p0.onnx', 'p1.onnx', 'runtime.js']);
    const fromBundle = JSON.parse((await cli('run', out, join(dir, 'tone.wav'), '--json')).out) as typeof parsed;
    for (const head of ['kind', 'who']) {
      for (const [label, p] of Object.entries(t.heads[head].probabilities)) expect(fromBundle.clips[0].heads[head].probabilities[label]).toBeCloseTo(p, 6);
    }
    const human = await cli('run', out, join(dir, 'tone.wav'), '--top', '2');
    expect(human.out).toMatch(/ms per window \(2 windows\)\n {2}kind {9}\w+ \d+\.\d% {2}\w+ \d+\.\d%\n {2}who/);
    expect((await cli('export', file, '-o', dir)).err).toMatch(/not a Sense Studio bundle/);
  });

  it('prints the features the first layer sees', async () => {
    const r = await cli('features', file, join(dir, 'tone.wav'), '--json');
    expect(r.code, r.err).toBe(0);
    const f = JSON.parse(r.out) as { shape: number[]; data: number[] };
    expect(f.shape).toEqual([10, 30]);
    expect(f.data).toHaveLength(300);
    expect((await cli('features', file, join(dir, 'tone.wav'), '--window', '5')).err).toMatch(/has 2 window\(s\); --window 5 is out of range/);
  });

  it('evaluates a labelled folder per head', async () => {
    const data = join(dir, 'eval');
    for (const [head, label, hz] of [['kind', 'music', 440], ['kind', 'noise', 3000], ['who', 'bob', 200]] as const) {
      mkdirSync(join(data, head, label), { recursive: true });
      writeFileSync(join(data, head, label, 'a.wav'), tone(0.5, hz));
      writeFileSync(join(data, head, label, 'b.wav'), tone(0.5, hz + 50));
    }
    const r = await cli('eval', file, data, '--json');
    expect(r.code, r.err).toBe(0);
    const e = JSON.parse(r.out) as { heads: Record<string, { clips: number; correct: number; accuracy: number; confusion: number[][] }> };
    expect(e.heads.kind.clips).toBe(4);
    expect(e.heads.kind.confusion.flat().reduce((a, b) => a + b, 0)).toBe(4);
    expect(e.heads.kind.confusion[1]).toEqual([0, 0, 0]);
    expect(e.heads.kind.accuracy).toBe(e.heads.kind.correct / 4);
    expect(e.heads.who.clips).toBe(2);
    mkdirSync(join(data, 'kind', 'jazz'));
    expect((await cli('eval', file, data)).err).toMatch(/head kind has no label 'jazz' \(labels: music, speech, noise\)/);
  });

  it('gives clear errors for missing or mismatched weights and bad clips', async () => {
    const other = join(dir, 'other.sense');
    writeFileSync(other, TEXT.replace('cli.safetensors', 'missing.safetensors'));
    const r = await cli('run', other, join(dir, 'tone.wav'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/missing\.safetensors: no such weights file; .*'weights' line.*sense init-weights/);
    writeFileSync(join(dir, 'wide.sense'), TEXT.replace('dense 12 relu', 'dense 13 relu'));
    const w = await cli('run', join(dir, 'wide.sense'), join(dir, 'tone.wav'));
    expect(w.err).toMatch(/tensor 'enc.2.weight' of layer enc.2 has shape \[12, 300\] but the pipeline needs \[13, 300\]/);
    writeFileSync(join(dir, 'bad.wav'), 'RIFF');
    expect((await cli('run', file, join(dir, 'bad.wav'))).err).toMatch(/bad\.wav: only 4 bytes/);
    expect((await cli('run', file, join(dir, 'nope.wav'))).err).toMatch(/nope\.wav: no such clip; check the path/);
  });
});
