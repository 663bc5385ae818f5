/**
 * Run on Clip, Evaluate Folder and Export Bundle for the extension host, with the same
 * engine and runtime functions `sense run`, `sense eval` and `sense export` use
 * (engine/export/bundle.ts buildBundle, runtime/runner.ts createRunner,
 * engine/export/write-bundle.ts writeBundle), on the pipeline as the editor holds it
 * (unsaved text included). Results come back in the webview protocol's shapes. No
 * `vscode` import, so unit tests run it in Node.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { buildBundle } from '../engine/export/bundle';
import type { BundleManifest } from '../engine/export/manifest';
import { ORT_WEB_FILES, writeBundle, type BundleAssets } from '../engine/export/write-bundle';
import type { WeightSet } from '../engine/weights/weights';
import type { PipelineSpec } from '../language/pipeline-model';
import { createRunner, type BundleRunner, type OrtModuleLike } from '../runtime/runner';
import type { HeadRun, RunView } from '../webview/protocol';
import { readClip, requireFolder, subFolders } from './workspace-files';

/** Checks that may stop a long task between clips. */
export interface Cancellation {
  readonly isCancellationRequested: boolean;
}

/** Thrown when the user cancelled a long task. */
export class CancelledError extends Error {
  constructor() {
    super('Cancelled.');
    this.name = 'CancelledError';
  }
}

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
 * Evaluates a labelled folder laid out as `sense eval` expects, DIR/HEAD/LABEL/*.wav
 * (or *.csv for inertial input): per head the accuracy and the confusion matrix (rows
 * true labels, columns predicted); a clip whose windows are all silent counts as wrong.
 * `onClip` reports progress; `token` stops between clips. With `roots` (a folder a message
 * named) every sub-folder and clip must lie inside them, symbolic links followed.
 */
export async function evaluateFolderView(runner: BundleRunner, dir: string, options: { roots?: readonly string[]; onClip?: (done: number, total: number) => void; token?: Cancellation } = {}): Promise<RunView> {
  const { roots, onClip, token } = options;
  requireFolder(dir, 'pick a folder laid out as HEAD/LABEL/*.wav.');
  const heads = runner.manifest.heads;
  const ext = runner.manifest.input.kind === 'inertial' ? '.csv' : '.wav';
  const plan: { head: string; label: string; files: string[] }[] = [];
  for (const head of await subFolders(dir, roots)) {
    if (!heads[head]) throw new Error(`${join(dir, head)}: the pipeline has no head '${head}' (heads: ${Object.keys(heads).join(', ')}).`);
    for (const label of await subFolders(join(dir, head), roots)) {
      if (!heads[head].labels.includes(label)) throw new Error(`${join(dir, head, label)}: head ${head} has no label '${label}' (labels: ${heads[head].labels.join(', ')}).`);
      const files = (await readdir(join(dir, head, label))).filter((f) => f.toLowerCase().endsWith(ext)).sort();
      plan.push({ head, label, files: files.map((f) => join(dir, head, label, f)) });
    }
  }
  const total = plan.reduce((a, p) => a + p.files.length, 0);
  if (total === 0) throw new Error(`${dir}: no ${ext} clips under HEAD/LABEL folders.`);
  const result = new Map<string, { labels: string[]; clips: number; correct: number; confusion: number[][] }>();
  let done = 0;
  const latencies: number[] = [];
  let windows = 0;
  for (const { head, label, files } of plan) {
    const labels = heads[head].labels;
    let e = result.get(head);
    if (!e) {
      e = { labels, clips: 0, correct: 0, confusion: labels.map(() => labels.map(() => 0)) };
      result.set(head, e);
    }
    for (const f of files) {
      if (token?.isCancellationRequested) throw new CancelledError();
      const r = await runner.runClip(await readClip(f, roots), f);
      latencies.push(r.latencyMs);
      windows += r.windows;
      e.clips++;
      const h = r.heads[head];
      if (h) {
        e.confusion[labels.indexOf(label)][labels.indexOf(h.label)]++;
        if (h.label === label) e.correct++;
      }
      onClip?.(++done, total);
    }
  }
  latencies.sort((a, b) => a - b);
  return {
    measuredLatencyMs: latencies[Math.floor(latencies.length / 2)] ?? 0,
    windows,
    heads: [...result].map(([head, e]) => ({ head, labels: e.labels, accuracy: e.clips === 0 ? 0 : e.correct / e.clips, confusion: e.confusion })),
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
