/**
 * Run on Clip, Evaluate Folder and Export Bundle for the extension host, with the same
 * engine and runtime functions `sense run`, `sense eval` and `sense export` use
 * (engine/export/bundle.ts buildBundle, runtime/runner.ts createRunner,
 * engine/export/write-bundle.ts writeBundle), on the pipeline as the editor holds it
 * (unsaved text included). Results come back in the webview protocol's shapes. No
 * `vscode` import, so unit tests run it in Node.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBundle } from '../engine/export/bundle';
import type { BundleManifest } from '../runtime/bundle-manifest';
import { ORT_WEB_FILES, writeBundle, type BundleAssets } from '../engine/export/write-bundle';
import type { WeightSet } from '../engine/weights/weights';
import type { PipelineSpec } from '../language/pipeline-model';
import { evaluateFolder, readClip, type EvaluateFolderOptions } from '../runtime/node-files';
import { createRunner, type BundleRunner, type OrtModuleLike } from '../runtime/runner';
import type { HeadRun, RunView } from '../webview/protocol';

export { CancelledError, type Cancellation } from '../runtime/node-files';

/** The same spec without any `compress` line: the "before" of a before/after comparison. */
export function withoutCompression(spec: PipelineSpec): PipelineSpec {
  return { ...spec, blocks: spec.blocks.map((b) => ({ ...b, layers: b.layers.map(({ compression: _unused, ...l }) => l) })) };
}

/** True when any layer is compressed. */
export function isCompressed(spec: PipelineSpec): boolean {
  return spec.blocks.some((b) => b.layers.some((l) => l.compression !== undefined));
}

/** Exports `spec` in memory and opens a runner on `ort`. */
export async function openRunner(spec: PipelineSpec, weights: WeightSet, ort: OrtModuleLike, backend: 'node' | 'web'): Promise<BundleRunner> {
  const built = buildBundle(spec, weights);
  return createRunner({ ort, backend, manifest: built.manifest, models: built.models });
}

/**
 * Runs one clip and returns the protocol's run view (per-head probabilities in label order).
 * With `roots` the clip must lie inside them (a path a message named).
 */
export async function runClipView(runner: BundleRunner, path: string, roots?: readonly string[]): Promise<RunView> {
  const r = await runner.runClip(await readClip(path, roots), path);
  const heads: HeadRun[] = Object.entries(runner.manifest.heads).map(([head, h]) => {
    const result = r.heads[head];
    return { head, labels: h.labels, ...(result ? { probabilities: h.labels.map((l) => result.probabilities[l] ?? 0) } : {}) };
  });
  return { measuredLatencyMs: r.latencyMs, windows: r.windows, heads };
}

/**
 * Evaluates a labelled folder as `sense eval` does (runtime/node-files.ts evaluateFolder,
 * DIR/HEAD/LABEL/*.wav or *.csv) and returns the protocol's run view: per head the
 * accuracy, the silent clips and the confusion matrix, and the median clip latency.
 * `onClip` reports progress; `token` stops between clips. With `roots` (a folder a message
 * named) every sub-folder and clip must lie inside them, symbolic links followed.
 */
export async function evaluateFolderView(runner: BundleRunner, dir: string, options: EvaluateFolderOptions = {}): Promise<RunView> {
  const e = await evaluateFolder(runner, dir, options);
  const latencies = [...e.clipLatenciesMs].sort((a, b) => a - b);
  return {
    measuredLatencyMs: latencies[Math.floor(latencies.length / 2)] ?? 0,
    windows: e.windows,
    heads: Object.entries(e.heads).map(([head, h]) => ({ head, labels: h.labels, accuracy: h.accuracy, silentClips: h.silent, confusion: h.confusion })),
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

/** Exports `spec` with its weights to `dir` (atomically, by writeBundle) and returns the manifest. */
export function exportBundleTo(spec: PipelineSpec, weights: WeightSet, dir: string, assets: BundleAssets, onFile?: (name: string) => void): BundleManifest {
  return writeBundle(dir, buildBundle(spec, weights), assets, onFile ? { onFileWritten: onFile } : {});
}
