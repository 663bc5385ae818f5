/**
 * The extension host's pipeline worker (extension/jobs/), driven through its client as the
 * studio drives it, against the in-process runtime as the reference: a clip's
 * probabilities and a folder's accuracies equal those of runtime/runner.ts createRunner on
 * the same weights; an export writes the files writeBundle writes in process; a cancelled
 * evaluation stops with a CancelledError and leaves nothing running (a child process that
 * cancels exits by itself); a bad weights path is the UserFileError naming the file; a
 * worker that dies rejects its job with a message saying so.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPipeline } from '../../../cli/load';
import { buildBundle } from '../../../engine/export/bundle';
import { ORT_WEB_FILES, writeBundle, type BundleAssets } from '../../../engine/export/write-bundle';
import { PipelineJobs } from '../../../extension/jobs/job-client';
import { PipelineWork, type JobContext } from '../../../extension/jobs/pipeline-work';
import type { JobProgress } from '../../../extension/jobs/protocol';
import { documentFiles, readPipelineWeights, type DocumentFiles } from '../../../extension/workspace-files';
import { UserFileError } from '../../../io/user-files';
import type { PipelineSpec } from '../../../language/pipeline-model';
import { CancelledError, evaluateFolder, readClip } from '../../../runtime/node-files';
import { createRunner, type BundleRunner } from '../../../runtime/runner';
import { ortNode } from '../export/helpers';

const root = join(import.meta.dirname, '../../..');
const sensePath = join(root, 'samples/deepear/deepear.sense');
const folder = join(root, 'samples/data/deepear');
const clip = join(folder, 'emotion/happy/happy-0000.wav');
const ortWasmDir = join(root, 'node_modules/onnxruntime-web/dist');
let work: string;
let script: string;
let spec: PipelineSpec;
let files: DocumentFiles;
let reference: BundleRunner;
let jobs: PipelineJobs;

/** The worker bundled as esbuild.mjs bundles dist/pipeline-worker.cjs (onnxruntime-node left outside, found from the repository). */
const workerBuild = (outfile: string): BuildOptions => ({
  entryPoints: [join(root, 'extension/jobs/job-worker.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['onnxruntime-node'],
  define: { 'import.meta.url': '__url' },
  banner: { js: "const __url = require('url').pathToFileURL(__filename).href;" },
  logLevel: 'error',
});

const node = { provider: 'node' as const, searchFrom: [root] };

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sense-jobs-'));
  script = join(work, 'pipeline-worker.cjs');
  await build(workerBuild(script));
  ({ spec } = await loadPipeline(sensePath));
  files = documentFiles(sensePath, [root]);
  const { weights } = await readPipelineWeights(spec, files);
  const built = buildBundle(spec, weights);
  reference = await createRunner({ ort: await ortNode(), backend: 'node', manifest: built.manifest, models: built.models });
  jobs = new PipelineJobs({ script, ortWasmDir });
}, 120_000);

afterAll(async () => {
  await jobs?.dispose();
  await reference?.release();
  rmSync(work, { recursive: true, force: true });
});

describe('pipeline worker', () => {
  it('gives the probabilities of the in-process runner on a sample clip, on onnxruntime-node and -web', async () => {
    const expected = await reference.runClip(await readClip(clip), clip);
    const logs: string[] = [];
    const onProgress = (p: JobProgress): void => void (p.kind === 'log' && logs.push(p.line));
    for (const ort of [node, { provider: 'web' as const }]) {
      const view = await jobs.runClip({ spec, weights: { kind: 'document', files }, ort, clipPath: clip, roots: [root] }, { onProgress });
      expect(view.windows).toBe(expected.windows);
      for (const h of view.heads) {
        const want = expected.heads[h.head];
        expect(h.probabilities).toBeDefined();
        // The same ONNX Runtime gives the same floats; the wasm build may round differently in the last bits.
        h.probabilities!.forEach((p, i) => expect(Math.abs(p - want.probabilities[h.labels[i]])).toBeLessThan(ort.provider === 'node' ? 1e-7 : 1e-5));
      }
    }
    expect(logs).toContain(`using onnxruntime-node ${(await import('onnxruntime-node')).env.versions.node ?? ''} in a worker thread.`);
    expect(logs).toContain('using onnxruntime-web (wasm) in a worker thread.');
  }, 120_000);

  it('evaluates a labelled folder as the in-process evaluateFolder does, with progress per clip', async () => {
    const expected = await evaluateFolder(reference, folder);
    const clips: number[] = [];
    const view = await jobs.evaluateFolder({ spec, weights: { kind: 'document', files }, ort: node, dir: folder }, { onProgress: (p) => void (p.kind === 'clip' && clips.push(p.done)) });
    expect(clips).toEqual(expected.clipLatenciesMs.map((_, i) => i + 1));
    expect(view.windows).toBe(expected.windows);
    for (const h of view.heads) {
      expect(h.accuracy).toBe(expected.heads[h.head].accuracy);
      expect(h.confusion).toEqual(expected.heads[h.head].confusion);
      expect(h.silentClips).toBe(expected.heads[h.head].silent);
    }
  }, 180_000);

  it('stops a cancelled evaluation with a CancelledError and runs the next job', async () => {
    const controller = new AbortController();
    let last = 0;
    const run = jobs.evaluateFolder(
      { spec, weights: { kind: 'document', files }, ort: node, dir: folder },
      {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.kind !== 'clip') return;
          last = p.done;
          if (p.done === 2) controller.abort();
        },
      },
    );
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(last).toBe(2);
    // The worker stopped between clips (or was terminated): the next job answers.
    const view = await jobs.runClip({ spec, weights: { kind: 'document', files }, ort: node, clipPath: clip });
    expect(view.heads.length).toBe(4);
    expect(last).toBe(2);
  }, 120_000);

  it('leaves no thread running after a cancel: a process that cancels an evaluation exits by itself', async () => {
    const driver = join(work, 'cancel-driver.cjs');
    const contents = `
      import { PipelineJobs } from './extension/jobs/job-client';
      const [script, sensePath, dir, rootDir, specJson] = process.argv.slice(2);
      const jobs = new PipelineJobs({ script });
      const controller = new AbortController();
      jobs.evaluateFolder(
        { spec: JSON.parse(specJson), weights: { kind: 'document', files: { sensePath, roots: [rootDir] } }, ort: { provider: 'node', searchFrom: [rootDir] }, dir },
        { signal: controller.signal, onProgress: (p) => { if (p.kind === 'clip') controller.abort(); } },
      ).then(() => console.log('finished'), (e) => console.log(e.name));`;
    await build({ stdin: { contents, resolveDir: root, loader: 'ts' }, outfile: driver, bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['onnxruntime-node'], logLevel: 'error' });
    const specFile = JSON.stringify(spec);
    const r = spawnSync(process.execPath, [driver, script, sensePath, folder, root, specFile], { encoding: 'utf8', timeout: 60_000 });
    expect(r.error).toBeUndefined();
    expect(r.stdout.trim()).toBe('CancelledError');
    expect(r.status).toBe(0);
  }, 120_000);

  it('writes the files an in-process export writes', async () => {
    // A stand-in installation: the export reads the runtime, demo page and wasm files from it.
    const ext = join(work, 'extension');
    mkdirSync(join(ext, 'dist/ort'), { recursive: true });
    mkdirSync(join(ext, 'runtime/demo'), { recursive: true });
    writeFileSync(join(ext, 'dist/runtime.mjs'), '// runtime\n');
    writeFileSync(join(ext, 'runtime/demo/index.html'), '<!doctype html>\n');
    for (const f of ORT_WEB_FILES) writeFileSync(join(ext, 'dist/ort', f), `// ${f}\n`);
    const assets: BundleAssets = {
      runtimeJs: readFileSync(join(ext, 'dist/runtime.mjs')),
      indexHtml: readFileSync(join(ext, 'runtime/demo/index.html')),
      ortFiles: new Map(ORT_WEB_FILES.map((f) => [f, readFileSync(join(ext, 'dist/ort', f))])),
    };
    const { weights } = await readPipelineWeights(spec, files);
    const inProcess = writeBundle(join(work, 'in-process'), buildBundle(spec, weights), assets);
    const written: string[] = [];
    const manifest = await jobs.exportBundle(
      { spec, weights: { kind: 'document', files }, dir: join(work, 'worker'), assets: { kind: 'installed', extensionRoot: ext } },
      { onProgress: (p) => void (p.kind === 'file' && written.push(p.name)) },
    );
    expect(manifest).toEqual(inProcess);
    const names = readdirSync(join(work, 'in-process')).sort();
    expect(readdirSync(join(work, 'worker')).sort()).toEqual(names);
    expect(written.sort()).toEqual(names);
    for (const n of names) expect(readFileSync(join(work, 'worker', n)).equals(readFileSync(join(work, 'in-process', n)))).toBe(true);
  }, 120_000);

  it('rejects a bad weights path with the UserFileError naming the file, and the worker lives on', async () => {
    const started = jobs.workersStarted;
    const bad = { ...spec, weightsPath: 'no-such-weights.safetensors' };
    const run = jobs.runClip({ spec: bad, weights: { kind: 'document', files }, ort: node, clipPath: clip });
    await expect(run).rejects.toBeInstanceOf(UserFileError);
    await expect(run).rejects.toThrow(/samples\/deepear\/no-such-weights\.safetensors/);
    await expect(run).rejects.toMatchObject({ path: join(root, 'samples/deepear/no-such-weights.safetensors'), reason: 'not-found' });
    const view = await jobs.runClip({ spec, weights: { kind: 'document', files }, ort: node, clipPath: clip });
    expect(view.heads.length).toBe(4);
    expect(jobs.workersStarted).toBe(started);
  }, 60_000);

  it('calibrates on onnxruntime-node in the worker, with seeded weights when the weights file is missing', async () => {
    const logs: string[] = [];
    const stages: string[] = [];
    const missing = { ...spec, weightsPath: 'no-such-weights.safetensors' };
    const r = await jobs.calibrate(
      { spec: missing, weights: { kind: 'document', files, ifMissing: 'init' }, runs: 3, searchFrom: [root] },
      { onProgress: (p) => void (p.kind === 'log' ? logs.push(p.line) : p.kind === 'stage' && stages.push(p.message)) },
    );
    expect(logs).toEqual(['DeepEar has no weights file; measuring with seeded initial weights.']);
    expect(stages.length).toBeGreaterThan(0);
    expect(r.profile.machine.runtime).toBe(`onnxruntime-node ${(await import('onnxruntime-node')).env.versions.node ?? ''}`);
    expect(r.endToEnd.measuredMs).toBeGreaterThan(0);
  }, 180_000);

  it('rejects the pending job with a clear message when the worker dies, and starts a fresh one for the next', async () => {
    const dying = join(work, 'dying-worker.cjs');
    writeFileSync(dying, "require('node:worker_threads').parentPort.on('message', () => process.exit(3));\n");
    const doomed = new PipelineJobs({ script: dying });
    try {
      const job = { spec, weights: { kind: 'document' as const, files }, ort: node, clipPath: clip };
      await expect(doomed.runClip(job)).rejects.toThrow('The pipeline worker stopped while running the runClip job (exit code 3)');
      await expect(doomed.runClip(job)).rejects.toThrow(/exit code 3/);
      expect(doomed.workersStarted).toBe(2);
    } finally {
      await doomed.dispose();
    }
  });
});

describe('pipeline work (the worker side, in process)', () => {
  const ctx = (): JobContext => ({ onProgress: () => undefined, cancelled: false, ortWasmDir });

  it('keeps a runner open while the spec and the weights file are unchanged, and opens a new one when the file changes', async () => {
    const ws = join(work, 'ws');
    mkdirSync(ws, { recursive: true });
    copyFileSync(sensePath, join(ws, 'deepear.sense'));
    copyFileSync(join(root, 'samples/deepear/deepear.safetensors'), join(ws, 'deepear.safetensors'));
    const own = documentFiles(join(ws, 'deepear.sense'), [ws]);
    const w = new PipelineWork();
    try {
      const job = { kind: 'runClip' as const, spec, weights: { kind: 'document' as const, files: own }, ort: { provider: 'web' as const }, clipPath: clip };
      const first = await w.run(job, ctx());
      expect(await w.run(job, ctx())).toEqual({ ...first, measuredLatencyMs: expect.any(Number) });
      expect(w.runnersCreated).toBe(1);
      utimesSync(join(ws, 'deepear.safetensors'), new Date(), new Date(Date.now() + 5000));
      await w.run(job, ctx());
      expect(w.runnersCreated).toBe(2);
    } finally {
      await w.dispose();
    }
  }, 120_000);

  it('stops an evaluation between clips once cancelled', async () => {
    const w = new PipelineWork();
    let cancelled = false;
    let clips = 0;
    const c: JobContext = {
      ortWasmDir,
      onProgress: (p) => {
        if (p.kind === 'clip' && ++clips === 3) cancelled = true;
      },
      get cancelled() {
        return cancelled;
      },
    };
    try {
      await expect(w.run({ kind: 'evaluateFolder', spec, weights: { kind: 'document', files }, ort: { provider: 'web' }, dir: folder }, c)).rejects.toBeInstanceOf(CancelledError);
      expect(clips).toBe(3);
    } finally {
      await w.dispose();
    }
  }, 120_000);
});
