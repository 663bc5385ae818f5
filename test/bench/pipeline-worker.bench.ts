/**
 * The extension host's responsiveness while the studio evaluates a labelled folder and
 * exports a bundle: the maximum event-loop delay (perf_hooks.monitorEventLoopDelay, 10 ms
 * resolution) of this thread while DeepEar (samples/deepear, its trained weights) runs on
 * samples/data/deepear's clips with onnxruntime-web (the studio's default provider), once in
 * process as the extension host used to, once in the pipeline worker (dist/pipeline-worker.cjs,
 * built by `npm run bench`). The issue's goal is a maximum under 50 ms for every studio
 * action; the in-process figure is the reference measured in the same run, and an idle
 * second of this thread the noise floor of a shared machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadPipeline } from '../../cli/load';
import { buildBundle } from '../../engine/export/bundle';
import { writeBundle } from '../../engine/export/write-bundle';
import { extensionPipelineJobs } from '../../extension/run-pipeline';
import { extensionBundleAssets } from '../../extension/jobs/pipeline-work';
import { documentFiles, readPipelineWeights } from '../../extension/workspace-files';
import { evaluateFolder } from '../../runtime/node-files';
import { loadOrtWeb } from '../../runtime/node-ort';
import { createRunner } from '../../runtime/runner';
import { report } from './util';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** Runs `fn` while sampling this thread's event-loop delay; returns the wall time and the largest delay, in milliseconds. */
async function watched(fn: () => Promise<unknown>): Promise<{ wallMs: number; maxDelayMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  // The histogram records nothing until its timer has fired once: a block started at once would go unseen.
  await new Promise((r) => setTimeout(r, 25));
  const t0 = performance.now();
  await fn();
  const wallMs = performance.now() - t0;
  // A delay is recorded when the sampling timer finally fires: give it two periods, so a block at the very end counts.
  await new Promise((r) => setTimeout(r, 25));
  h.disable();
  return { wallMs, maxDelayMs: h.max / 1e6 };
}

export async function run(): Promise<void> {
  const sensePath = join(root, 'samples/deepear/deepear.sense');
  const folder = join(root, 'samples/data/deepear');
  const { spec } = await loadPipeline(sensePath);
  const files = documentFiles(sensePath, [root]);
  const out = mkdtempSync(join(tmpdir(), 'sense-bench-jobs-'));
  const jobs = extensionPipelineJobs(root);
  try {
    // The noise floor: this thread idle for a second, on a machine other processes share.
    const idle = await watched(() => new Promise((r) => setTimeout(r, 1000)));
    const { ort } = await loadOrtWeb(join(root, 'dist/ort'));
    // In process, as the extension host ran it: read the weights, export in memory, open, evaluate.
    const inEval = await watched(async () => {
      const { weights } = await readPipelineWeights(spec, files);
      const built = buildBundle(spec, weights);
      const runner = await createRunner({ ort, backend: 'web', manifest: built.manifest, models: built.models });
      await evaluateFolder(runner, folder);
      await runner.release();
    });
    const inExport = await watched(async () => {
      const { weights } = await readPipelineWeights(spec, files);
      writeBundle(join(out, 'in-process'), buildBundle(spec, weights), extensionBundleAssets(root));
    });
    // In the worker, started cold (its own ONNX Runtime, weights and export), as the studio's first run is.
    const workerEval = await watched(() => jobs.evaluateFolder({ spec, weights: { kind: 'document', files }, ort: { provider: 'web' }, dir: folder }));
    const workerEvalWarm = await watched(() => jobs.evaluateFolder({ spec, weights: { kind: 'document', files }, ort: { provider: 'web' }, dir: folder }));
    const workerExport = await watched(() => jobs.exportBundle({ spec, weights: { kind: 'document', files }, dir: join(out, 'worker'), assets: { kind: 'installed', extensionRoot: root } }));
    const line = (name: string, r: { wallMs: number; maxDelayMs: number }, ref?: { maxDelayMs: number }): void =>
      report(`${name}: max event-loop delay`, r.maxDelayMs, `(wall ${r.wallMs.toFixed(0)} ms${ref ? `; in process ${ref.maxDelayMs.toFixed(1)} ms, ratio ${(ref.maxDelayMs / r.maxDelayMs).toFixed(1)}` : ''})`);
    line('idle thread (noise floor)', idle);
    line('evaluate folder (68 clips), in process', inEval);
    line('evaluate folder (68 clips), worker, cold', workerEval, inEval);
    line('evaluate folder (68 clips), worker, runner kept', workerEvalWarm, inEval);
    line('export bundle, in process', inExport);
    line('export bundle, worker', workerExport, inExport);
  } finally {
    await jobs.dispose();
    rmSync(out, { recursive: true, force: true });
  }
}
