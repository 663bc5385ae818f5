/**
 * What the pipeline worker does for each job of protocol.ts, with the same engine and
 * runtime functions `sense run`, `sense eval`, `sense export` and `sense calibrate` use
 * (engine/export/bundle.ts buildBundle, runtime/runner.ts createRunner,
 * runtime/node-files.ts evaluateFolder, engine/export/write-bundle.ts writeBundle,
 * engine/calibrate/node-calibrate.ts calibratePipeline). It reads the weights itself
 * (extension/workspace-files.ts, through io/user-files) and keeps the runners of the last
 * two pipelines open, so running clip after clip, or a compressed pipeline and its
 * uncompressed "before", exports and loads each model once. It imports neither `vscode`
 * nor `worker_threads`: job-worker.ts drives it in a worker, and tests can drive it in
 * process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { calibratePipeline } from '../../engine/calibrate/node-calibrate';
import { buildBundle } from '../../engine/export/bundle';
import { ORT_WEB_FILES, writeBundle, type BundleAssets } from '../../engine/export/write-bundle';
import { initWeights } from '../../engine/weights/init';
import type { WeightSet } from '../../engine/weights/weights';
import { statUserPath } from '../../io/user-files';
import type { PipelineSpec } from '../../language/pipeline-model';
import type { BundleManifest } from '../../runtime/bundle-manifest';
import { CancelledError, evaluateFolder, readClip, type FolderEvaluation } from '../../runtime/node-files';
import { loadOrt, loadOrtNode, type LoadedOrt } from '../../runtime/node-ort';
import { createRunner, type BundleRunner, type ClipResult, type GateCount } from '../../runtime/runner';
import type { GateRun, HeadRun, RunView } from '../../webview/protocol';
import type { WorkerJobContext } from '../worker-queue';
import { readPipelineWeights, weightsFileOf } from '../workspace-files';
import type { JobProgress, OrtChoice, PipelineJob, PipelineJobResults, WeightsSource } from './protocol';

/** What a job may call while it runs: report progress, and ask whether it was cancelled (checked between clips, files and calibration steps); and where onnxruntime-web's wasm files are (see protocol.ts PipelineWorkerData). */
export interface JobContext extends WorkerJobContext<JobProgress> {
  ortWasmDir?: string;
}

/** The protocol's gate rates of a run: per gated head, how often its gate opened (absent for a pipeline without gates). */
function gateRuns(gates: Readonly<Record<string, GateCount>> | undefined): { gates?: GateRun[] } {
  const list = Object.entries(gates ?? {}).map(([head, g]) => ({ head, gateHead: g.head, label: g.label, opened: g.opened, windows: g.windows, ...(g.expected !== undefined ? { expected: g.expected } : {}) }));
  return list.length > 0 ? { gates: list } : {};
}

/** The protocol's run view of one clip (per-head probabilities in label order, and how often each gate opened). */
export function clipRunView(manifest: BundleManifest, r: ClipResult): RunView {
  const heads: HeadRun[] = Object.entries(manifest.heads).map(([head, h]) => {
    const result = r.heads[head];
    return { head, labels: h.labels, ...(result ? { probabilities: h.labels.map((l) => result.probabilities[l] ?? 0) } : {}) };
  });
  return { measuredLatencyMs: r.latencyMs, windows: r.windows, heads, ...gateRuns(r.gates) };
}

/** The protocol's run view of a labelled folder: per head the accuracy, the silent clips and the confusion matrix, the median clip latency, and how often each gate opened over every clip. */
export function folderRunView(e: FolderEvaluation): RunView {
  const latencies = [...e.clipLatenciesMs].sort((a, b) => a - b);
  return {
    measuredLatencyMs: latencies[Math.floor(latencies.length / 2)] ?? 0,
    windows: e.windows,
    heads: Object.entries(e.heads).map(([head, h]) => ({ head, labels: h.labels, accuracy: h.accuracy, silentClips: h.silent, confusion: h.confusion })),
    ...gateRuns(e.gates),
  };
}

/** The bundle assets shipped inside the extension: dist/runtime.mjs, the demo page and onnxruntime-web's wasm build in dist/ort/. */
export function extensionBundleAssets(extensionRoot: string): BundleAssets {
  const need = (p: string): Uint8Array => {
    if (!existsSync(p)) throw new Error(`The extension is missing ${p}; reinstall it (or run "npm run build" in a development checkout).`);
    return new Uint8Array(readFileSync(p));
  };
  const ortFiles = new Map<string, Uint8Array>();
  for (const f of ORT_WEB_FILES) ortFiles.set(f, need(join(extensionRoot, 'dist', 'ort', f)));
  return { runtimeJs: need(join(extensionRoot, 'dist', 'runtime.mjs')), indexHtml: need(join(extensionRoot, 'runtime', 'demo', 'index.html')), ortFiles };
}

/** The weights a job names, with the warnings of checking them against the pipeline. */
async function readWeights(spec: PipelineSpec, source: WeightsSource, ctx: JobContext): Promise<WeightSet> {
  if (source.kind === 'init') return initWeights(spec, source.seed);
  if (source.kind === 'tensors') return source.weights;
  const path = weightsFileOf(spec, source.files.sensePath);
  if (source.ifMissing === 'init' && (path === undefined || statUserPath(path, 'weights') === undefined)) {
    // Timing does not depend on the weights' values.
    ctx.onProgress({ kind: 'log', line: `${spec.name} has no weights file; measuring with seeded initial weights.` });
    return initWeights(spec, 1);
  }
  ctx.onProgress({ kind: 'stage', message: 'reading the weights…' });
  const { weights, warnings } = await readPipelineWeights(spec, source.files);
  for (const w of warnings) ctx.onProgress({ kind: 'log', line: `warning: ${w}` });
  return weights;
}

/** What identifies the weights a source gives: the file's path, size and modification time, so an edited file is read again. */
function weightsKey(spec: PipelineSpec, source: WeightsSource): string {
  if (source.kind === 'init') return `init ${source.seed}`;
  if (source.kind === 'tensors') return `tensors ${source.id}`;
  const path = weightsFileOf(spec, source.files.sensePath);
  const st = path === undefined ? undefined : statUserPath(path, 'weights');
  return JSON.stringify([path, source.files.roots, st?.size, st?.mtimeMs, source.ifMissing]);
}

function throwIfCancelled(ctx: JobContext): void {
  if (ctx.cancelled) throw new CancelledError();
}

interface OpenRunner {
  key: string;
  runner: BundleRunner;
}

/**
 * Runs the jobs of protocol.ts one at a time, keeping the last {@link RUNNERS_KEPT}
 * runners open between jobs: a runner is reused when the spec, the weights file (path,
 * size, modification time) and the ONNX Runtime choice are unchanged.
 */
export class PipelineWork {
  private readonly runners: OpenRunner[] = [];
  private readonly orts = new Map<string, Promise<LoadedOrt>>();

  /** How many runners this object has created (for tests: a reused runner adds none). */
  runnersCreated = 0;

  /** Runs `job` and returns its result; failures are thrown as they are (UserFileError, CancelledError, ...). */
  async run<K extends PipelineJob['kind']>(job: Extract<PipelineJob, { kind: K }>, ctx: JobContext): Promise<PipelineJobResults[K]> {
    return (await this.dispatch(job, ctx)) as PipelineJobResults[K];
  }

  /** Releases every open runner. */
  async dispose(): Promise<void> {
    for (const r of this.runners.splice(0)) await r.runner.release();
  }

  private async dispatch(job: PipelineJob, ctx: JobContext): Promise<PipelineJobResults[PipelineJob['kind']]> {
    switch (job.kind) {
      case 'runClip': {
        const runner = await this.runner(job.spec, job.weights, job.ort, ctx);
        throwIfCancelled(ctx);
        ctx.onProgress({ kind: 'stage', message: 'running the clip…' });
        return clipRunView(runner.manifest, await runner.runClip(await readClip(job.clipPath, job.roots), job.clipPath));
      }
      case 'evaluateFolder': {
        const runner = await this.runner(job.spec, job.weights, job.ort, ctx);
        const token = {
          get isCancellationRequested(): boolean {
            return ctx.cancelled;
          },
        };
        const e = await evaluateFolder(runner, job.dir, { ...(job.roots ? { roots: job.roots } : {}), onClip: (done, total) => ctx.onProgress({ kind: 'clip', done, total }), token });
        return folderRunView(e);
      }
      case 'exportBundle': {
        const weights = await readWeights(job.spec, job.weights, ctx);
        throwIfCancelled(ctx);
        ctx.onProgress({ kind: 'stage', message: 'writing the ONNX partitions…' });
        const assets = job.assets.kind === 'installed' ? extensionBundleAssets(job.assets.extensionRoot) : job.assets.assets;
        return writeBundle(job.dir, buildBundle(job.spec, weights), assets, {
          onFileWritten: (name) => {
            // A throw here removes the half-written temporary folder (writeBundle), so the target is left as it was.
            throwIfCancelled(ctx);
            ctx.onProgress({ kind: 'file', name });
          },
        });
      }
      case 'calibrate': {
        const why = "Calibrate Host (ONNX Runtime's per-kernel profiler writes its timings to files only in the Node build; onnxruntime-web, which the extension ships, has none)";
        const { ort, runtime } = await loadOrtNode(job.searchFrom, why);
        const weights = await readWeights(job.spec, job.weights, ctx);
        throwIfCancelled(ctx);
        return calibratePipeline(job.spec, weights, {
          ort,
          runtime,
          runs: job.runs,
          onProgress: (line) => {
            throwIfCancelled(ctx);
            ctx.onProgress({ kind: 'stage', message: line });
          },
        });
      }
    }
  }

  private loadOrt(choice: OrtChoice, ctx: JobContext): Promise<LoadedOrt> {
    const key = JSON.stringify(choice);
    let loaded = this.orts.get(key);
    if (!loaded) {
      const notes: string[] = [];
      loaded = loadOrt({ provider: choice.provider === 'node' ? 'node-or-web' : 'web', searchFrom: choice.searchFrom ?? [], ...(ctx.ortWasmDir ? { wasmDir: ctx.ortWasmDir } : {}), onNote: (n) => notes.push(n) });
      loaded.then(
        (o) => {
          for (const n of notes) ctx.onProgress({ kind: 'log', line: n });
          ctx.onProgress({ kind: 'log', line: `using ${o.runtime} in a worker thread.` });
        },
        () => this.orts.delete(key),
      );
      this.orts.set(key, loaded);
    }
    return loaded;
  }

  /** The runner of `spec` on its weights and ONNX Runtime: the open one when nothing changed, else a new one (the oldest is released). */
  private async runner(spec: PipelineSpec, source: WeightsSource, choice: OrtChoice, ctx: JobContext): Promise<BundleRunner> {
    const key = JSON.stringify([spec, weightsKey(spec, source), choice]);
    const open = this.runners.findIndex((r) => r.key === key);
    if (open >= 0) {
      const [hit] = this.runners.splice(open, 1);
      this.runners.push(hit);
      return hit.runner;
    }
    ctx.onProgress({ kind: 'stage', message: 'loading ONNX Runtime…' });
    const { ort, backend } = await this.loadOrt(choice, ctx);
    const weights = await readWeights(spec, source, ctx);
    throwIfCancelled(ctx);
    ctx.onProgress({ kind: 'stage', message: 'exporting and loading the model…' });
    const built = buildBundle(spec, weights);
    const runner = await createRunner({ ort, backend, manifest: built.manifest, models: built.models });
    this.runnersCreated++;
    this.runners.push({ key, runner });
    while (this.runners.length > RUNNERS_KEPT) await this.runners.shift()!.runner.release();
    return runner;
  }
}

/** Runners kept open between jobs: a compressed pipeline and its uncompressed "before". */
export const RUNNERS_KEPT = 2;
