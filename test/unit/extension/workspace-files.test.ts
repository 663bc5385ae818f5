/**
 * The extension host's reads of files that documents, settings and webview messages name,
 * against a hostile repository: FIFOs as weights, clip and profile, `/dev/zero`, symbolic
 * links out of the workspace, `..` paths. Every case must end promptly in an error naming
 * the path, and nothing outside the workspace may be opened.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProfiles } from '../../../extension/calibration-report';
import { layerSpectrum, WeightsCache } from '../../../extension/compression-preview';
import { documentFiles, readPipelineWeights, resolveInRoots } from '../../../extension/workspace-files';
import { evaluateFolder, readClip } from '../../../runtime/node-files';
import { loadPipeline } from '../../../cli/load';
import { UserFileSystemProvider } from '../../../extension/server/user-file-system';
import { URI } from 'langium';
import type { BundleRunner } from '../../../runtime/runner';
import type { PipelineSpec } from '../../../language/pipeline-model';

const root = join(import.meta.dirname, '../../..');
let base: string;
let ws: string;
let outside: string;
let spec: PipelineSpec;

/** A `.sense` spec with its weights line replaced. */
const withWeights = (weightsPath: string): PipelineSpec => ({ ...spec, weightsPath });

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'sense-ws-files-'));
  ws = join(base, 'ws');
  outside = join(base, 'outside');
  mkdirSync(join(ws, 'deepear'), { recursive: true });
  mkdirSync(outside);
  copyFileSync(join(root, 'samples/deepear/deepear.sense'), join(ws, 'deepear/deepear.sense'));
  copyFileSync(join(root, 'samples/deepear/deepear.safetensors'), join(ws, 'deepear/deepear.safetensors'));
  copyFileSync(join(root, 'samples/deepear/deepear.safetensors'), join(outside, 'secret.safetensors'));
  writeFileSync(join(outside, 'secret.wav'), 'RIFF not really');
  execFileSync('mkfifo', [join(ws, 'fifo.safetensors'), join(ws, 'fifo.wav'), join(ws, 'fifo.json')]);
  symlinkSync(join(outside, 'secret.safetensors'), join(ws, 'out.safetensors'));
  symlinkSync(outside, join(ws, 'out-dir'));
  symlinkSync('/dev/zero', join(ws, 'zero.wav'));
  // A labelled folder whose label folder is a link out of the workspace.
  mkdirSync(join(ws, 'eval/ambient'), { recursive: true });
  symlinkSync(outside, join(ws, 'eval/ambient/music'));
  ({ spec } = await loadPipeline(join(ws, 'deepear/deepear.sense')));
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('workspace files', () => {
  it('confines a document to the workspace folders, or to its own folder outside them', () => {
    expect(documentFiles(join(ws, 'deepear/deepear.sense'), [ws]).roots).toEqual([ws]);
    expect(documentFiles(join(outside, 'x.sense'), [ws]).roots).toEqual([ws, outside]);
  });

  it('reads the weights the .sense file names inside the workspace', async () => {
    const files = documentFiles(join(ws, 'deepear/deepear.sense'), [ws]);
    const { weights } = await readPipelineWeights(spec, files);
    expect(weights.size).toBeGreaterThan(0);
  });

  it.each([
    ['a FIFO', '../fifo.safetensors', /FIFO/],
    ['a link out of the workspace', '../out.safetensors', /outside the folder/],
    ['a .. path out of the workspace', '../../outside/secret.safetensors', /outside the folder/],
    ['an absolute path outside', '/dev/zero', /outside the folder/],
  ])('refuses weights that are %s, naming the path', async (_name, weightsPath, message) => {
    const files = documentFiles(join(ws, 'deepear/deepear.sense'), [ws]);
    const t0 = performance.now();
    await expect(readPipelineWeights(withWeights(weightsPath), files)).rejects.toThrow(message);
    await expect(layerSpectrum(new WeightsCache(), withWeights(weightsPath), files, 'encoder.2')).rejects.toThrow(message);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('refuses clips named by a message that are FIFOs, devices or outside, and leaves the outside untouched', async () => {
    const atimeBefore = statSync(join(outside, 'secret.wav')).atimeMs;
    await expect(readClip(resolveInRoots('fifo.wav', [ws], 'clip'), [ws])).rejects.toThrow(/FIFO/);
    expect(() => resolveInRoots('zero.wav', [ws], 'clip')).toThrow(/outside the folder/);
    expect(() => resolveInRoots('out-dir/secret.wav', [ws], 'clip')).toThrow(/outside the folder/);
    expect(() => resolveInRoots('../outside/secret.wav', [ws], 'clip')).toThrow(/outside the folder/);
    await expect(readClip(join(ws, 'out-dir/secret.wav'), [ws])).rejects.toThrow(/outside the folder/);
    expect(statSync(join(outside, 'secret.wav')).atimeMs).toBe(atimeBefore);
  });

  it('refuses a labelled folder whose label folder links out of the workspace before running anything', async () => {
    const runner = {
      manifest: { input: { kind: 'audio' }, heads: { ambient: { labels: ['music'] } } },
      runClip: () => {
        throw new Error('no clip may run');
      },
    } as unknown as BundleRunner;
    await expect(evaluateFolder(runner, join(ws, 'eval'), { roots: [ws] })).rejects.toThrow(/eval\/ambient\/music: resolves to .*outside the folder/);
    await expect(evaluateFolder(runner, join(ws, 'fifo.wav'), { roots: [ws] })).rejects.toThrow(/fifo\.wav is a FIFO \(named pipe\), not a folder/);
  });

  it('reports device profiles that are FIFOs, /dev/zero or (for workspace settings) outside, without hanging', async () => {
    const t0 = performance.now();
    const { profiles, errors } = await loadProfiles(['fifo.json', '/dev/zero', 'out-dir/x.json'], ws, [ws]);
    expect(profiles).toEqual([]);
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/fifo\.json is a FIFO.*senseStudio\.deviceProfiles/);
    expect(errors[1]).toMatch(/\/dev\/zero: resolves to \/dev\/zero, outside the folder/);
    expect(errors[2]).toMatch(/outside the folder/);
    // The user's own list is not confined, but a character device is still refused.
    const own = await loadProfiles(['/dev/zero'], ws);
    expect(own.errors[0]).toMatch(/\/dev\/zero is a character device/);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('the language server loads a FIFO or an oversized .sense file as a comment saying why, and a regular one as is', async () => {
    const logged: string[] = [];
    const fs = new UserFileSystemProvider((m) => logged.push(m));
    execFileSync('mkfifo', [join(ws, 'fifo.sense')]);
    writeFileSync(join(ws, 'huge.sense'), '');
    truncateSync(join(ws, 'huge.sense'), 17 * 1024 * 1024);
    const t0 = performance.now();
    expect(await fs.readFile(URI.file(join(ws, 'fifo.sense')))).toMatch(/^\/\/ Sense Studio did not load this file: .*fifo\.sense is a FIFO/);
    expect(fs.readFileSync(URI.file(join(ws, 'huge.sense')))).toMatch(/^\/\/ Sense Studio did not load this file: .*huge\.sense: 17825792 bytes is larger than the 16777216-byte limit/);
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(logged).toHaveLength(2);
    expect(await fs.readFile(URI.file(join(ws, 'deepear/deepear.sense')))).toContain('pipeline DeepEar');
  });
});
