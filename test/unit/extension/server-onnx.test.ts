/**
 * The studio's ONNX requests in the language server (extension/server/onnx-model.ts through
 * StudioRequests), on models written with the project's ONNX builder: the read-only graph
 * with per-layer and per-processor estimates (MACs checked against in x out of each Gemm),
 * the target picker's devices and a retarget, the refusal list naming node and op, a file
 * that is no model, and Import as Pipeline writing what `sense import` writes (the weights
 * the model's initializers, the text a pipeline `sense check` accepts) and refusing to
 * replace existing files unless asked.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { URI } from 'langium';
import { NodeFileSystem } from 'langium/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResponseError } from 'vscode-languageserver/node';
import { main } from '../../../cli/main';
import { engineEstimator } from '../../../engine/estimate';
import { parseSafetensors } from '../../../engine/weights/safetensors';
import { MeasuredProfiles } from '../../../extension/server/device-profiles';
import { StudioRequests } from '../../../extension/server/studio';
import type { JobRunner } from '../../../extension/server/worker-pool';
import { createSenseServices } from '../../../language/sense-module';
import { ramp, TWO_HEAD, twoHeadModel } from '../../support/small-onnx';

let work: string;
let studio: StudioRequests;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sense-server-onnx-'));
  writeFileSync(join(work, 'two_head.onnx'), twoHeadModel());
  writeFileSync(join(work, 'odd.onnx'), twoHeadModel('Cos'));
  writeFileSync(join(work, 'garbage.onnx'), new TextEncoder().encode('this is not a protobuf model'));
  const profiles = new MeasuredProfiles();
  const services = createSenseServices({ ...NodeFileSystem }, { fileExists: (path) => existsSync(path), estimator: profiles.estimator(engineEstimator) });
  // The ONNX requests run no worker job.
  const jobs = { run: () => Promise.reject(new Error('no job expected')) } as unknown as JobRunner;
  studio = new StudioRequests({ services, profiles, jobs, fileExists: (path) => existsSync(path) });
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const uriOf = (name: string): string => URI.file(join(work, name)).toString();

describe('senseStudio/onnxViewState', () => {
  it('shows the graph the import writes, with per-layer and per-processor estimates on the default target', async () => {
    const r = await studio.onnxViewState({ uri: uriOf('two_head.onnx') });
    if (!r.state) throw new Error(r.reason);
    expect(r.device).toBe('snapdragon800');
    expect(r.devices).toEqual(expect.arrayContaining(['snapdragon800', 'host', 'nrf52840']));
    const { input, trunk, heads } = TWO_HEAD;
    const macs = Object.fromEntries(r.state.layers.map((l) => [l.id, l.macs]));
    // A Gemm of an [out, in] weight and a bias is (in + 1) x out multiply-accumulates (the language counts the bias add as one per output).
    expect(macs).toEqual({ 'trunk.1': (input + 1) * trunk, 'activity.1': (trunk + 1) * heads.activity, 'posture.1': (trunk + 1) * heads.posture });
    expect(r.state.blocks.map((b) => [b.name, b.kind, b.from])).toEqual([
      ['trunk', 'shared', undefined],
      ['activity', 'head', 'trunk'],
      ['posture', 'head', 'trunk'],
    ]);
    for (const l of r.state.layers) expect(l.latencyMs).toBeGreaterThan(0);
    // Each processor's latency is the sum of what runs on it (the features and the layers placed there).
    for (const p of r.state.target.processors) {
      const layers = r.state.layers.filter((l) => l.processor === p.name).reduce((a, l) => a + l.latencyMs, 0);
      const features = r.state.features.processor === p.name ? (r.state.features.latencyMs ?? 0) : 0;
      expect(p.latencyMs).toBeGreaterThanOrEqual(layers + features - 1e-9);
    }
    expect(r.notes.join(' ')).toMatch(/guess/);
  });

  it('estimates the same graph on another built-in device, and refuses a device that is not one', async () => {
    const r = await studio.onnxViewState({ uri: uriOf('two_head.onnx'), device: 'nrf52840' });
    if (!r.state) throw new Error(r.reason);
    expect(r.device).toBe('nrf52840');
    expect(r.state.target.name).toBe('nrf52840');
    expect(r.state.layers.map((l) => l.macs)).toEqual([(TWO_HEAD.input + 1) * TWO_HEAD.trunk, (TWO_HEAD.trunk + 1) * 3, (TWO_HEAD.trunk + 1) * 2]);
    const e = await studio.onnxViewState({ uri: uriOf('two_head.onnx'), device: 'nosuchdevice' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ResponseError);
    expect((e as Error).message).toMatch(/'nosuchdevice' is not a built-in device; choose one of .*snapdragon800/);
  });

  it('lists every node it cannot map with its op and reason, and names a file that is no model', async () => {
    const r = await studio.onnxViewState({ uri: uriOf('odd.onnx') });
    expect(r.state).toBeNull();
    if (r.state) return;
    expect(r.reason).toMatch(/odd\.onnx: 1 part of the model cannot be written/);
    expect(r.refusals).toEqual([expect.objectContaining({ node: 'Cos_odd', opType: 'Cos' })]);
    expect(r.refusals[0].reason.length).toBeGreaterThan(5);
    const g = await studio.onnxViewState({ uri: uriOf('garbage.onnx') });
    expect(g.state).toBeNull();
    if (!g.state) expect(g.reason).toMatch(/garbage\.onnx/);
    const missing = await studio.onnxViewState({ uri: uriOf('absent.onnx') });
    if (!missing.state) expect(missing.reason).toMatch(/absent\.onnx/);
    expect(missing.state).toBeNull();
  });

  it('refuses bad parameters', async () => {
    await expect(studio.onnxViewState({ uri: uriOf('two_head.onnx'), extra: 1 })).rejects.toThrow(/bad parameters/);
    await expect(studio.onnxImport({ uri: 'untitled:model.onnx', overwrite: false })).rejects.toThrow(/not a file on disk/);
    await expect(studio.onnxImport({ uri: uriOf('notes.txt'), overwrite: false })).rejects.toThrow(/not an \.onnx file/);
  });
});

describe('senseStudio/onnxImport', () => {
  it('writes the pipeline and the model\'s weights beside it, and replaces them only when asked', async () => {
    const r = await studio.onnxImport({ uri: uriOf('two_head.onnx'), overwrite: false });
    if (!r.written) throw new Error(`nothing written: ${r.existing.join(', ')}`);
    expect(r.sensePath).toBe(join(work, 'two_head.sense'));
    expect(r.weightsPath).toBe(join(work, 'two_head.safetensors'));
    const text = readFileSync(r.sensePath, 'utf8');
    expect(text).toMatch(/pipeline two_head \{/);
    expect(text).toMatch(/weights "two_head\.safetensors"/);
    const weights = parseSafetensors(readFileSync(r.weightsPath)).tensors;
    // The trunk's Gemm weight, as the model holds it (an [out, in] matrix of the ramp), in some layout: the same values.
    const sorted = (a: ArrayLike<number>): number[] => Array.from(a).sort((x, y) => x - y);
    expect(sorted(weights.get('trunk.1.weight')!.data)).toEqual(sorted(ramp(TWO_HEAD.trunk * TWO_HEAD.input, 1)));
    expect(Array.from(weights.get('posture.1.bias')!.data)).toEqual(Array.from(ramp(2, 6)));

    const out: string[] = [];
    const code = await main(['check', r.sensePath], { out: (s: string) => out.push(s), err: (s: string) => out.push(s) });
    expect(code, out.join('\n')).toBe(0);

    writeFileSync(r.sensePath, '// edited by the user\n');
    const again = await studio.onnxImport({ uri: uriOf('two_head.onnx'), overwrite: false });
    expect(again).toEqual({ written: false, existing: [r.sensePath, r.weightsPath] });
    expect(readFileSync(r.sensePath, 'utf8')).toBe('// edited by the user\n');
    const replaced = await studio.onnxImport({ uri: uriOf('two_head.onnx'), overwrite: true });
    expect(replaced.written).toBe(true);
    expect(readFileSync(r.sensePath, 'utf8')).toBe(text);
  });

  it('writes nothing for a model it cannot map, naming the node', async () => {
    await expect(studio.onnxImport({ uri: uriOf('odd.onnx'), overwrite: false })).rejects.toThrow(/node 'Cos_odd' \(Cos\)/);
    expect(existsSync(join(work, 'odd.sense'))).toBe(false);
    expect(existsSync(join(work, 'odd.safetensors'))).toBe(false);
  });
});
