/**
 * The one loader of ONNX Runtime in Node, for the CLI, the studio's pipeline worker
 * (extension/jobs/) and calibration. Two builds exist: onnxruntime-node (native CPU, with
 * the per-kernel profiler calibration needs; an optional native package the extension's
 * VSIX does not ship, so it may live in the user's workspace instead) and onnxruntime-web
 * (WebAssembly, shipped in the extension, whose wasm files must be found by path when the
 * module is bundled away from its package). The runner (runner.ts) takes either as an
 * injected {@link OrtModuleLike}; this module only finds and loads them, and says in
 * words which one it loaded so callers can log it.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OrtModuleLike } from './runner';

/** Which ONNX Runtime build runs a pipeline: the runner's `backend`. */
export type OrtBackend = 'node' | 'web';

/** A loaded ONNX Runtime and how to describe it. */
export interface LoadedOrt {
  ort: OrtModuleLike;
  backend: OrtBackend;
  /** Name and version for logs and device profiles: `onnxruntime-node 1.30.0`, `onnxruntime-web (wasm)`. */
  runtime: string;
}

/** Options of {@link loadOrt}. */
export interface LoadOrtOptions {
  /**
   * `node` requires onnxruntime-node (an Error saying how to install it otherwise);
   * `web` loads onnxruntime-web; `node-or-web` tries onnxruntime-node and falls back to
   * onnxruntime-web, reporting why through `onNote`.
   */
  provider: OrtBackend | 'node-or-web';
  /**
   * Folders whose `node_modules` are searched for onnxruntime-node after the copy next to
   * the caller (the workspace folder, the `.sense` file's folder), in order.
   */
  searchFrom?: readonly string[];
  /** The folder holding onnxruntime-web's `ort-wasm-*.mjs`/`.wasm` files, when the module is bundled away from its package (the extension's `dist/ort/`). */
  wasmDir?: string;
  /** Why a fallback happened, in a sentence. */
  onNote?: (line: string) => void;
}

/** The message of a missing onnxruntime-node; `why` says what needs it. */
export class OrtNotFoundError extends Error {
  constructor(why: string) {
    super(`${why} needs onnxruntime-node, which is not installed next to Sense Studio or in the workspace. Install it in the workspace (ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node) and try again.`);
    this.name = 'OrtNotFoundError';
  }
}

/** The module itself, whether a bundler or Node handed back the namespace or its `default`. */
function moduleOf(mod: unknown): OrtModuleLike {
  const m = mod as { default?: OrtModuleLike } & Partial<OrtModuleLike>;
  return m.InferenceSession ? (m as OrtModuleLike) : m.default!;
}

/** The version onnxruntime-node reports about itself (`env.versions.node`), or '' when it does not. */
function nodeVersionOf(ort: OrtModuleLike): string {
  return (ort as unknown as { env?: { versions?: { node?: string } } }).env?.versions?.node ?? '';
}

/**
 * Loads onnxruntime-node: the copy the caller's own module resolution finds, else the first
 * one under `searchFrom`. Throws {@link OrtNotFoundError} (`why` names the feature that
 * needs it) when there is none.
 */
export async function loadOrtNode(searchFrom: readonly string[] = [], why = 'This command'): Promise<LoadedOrt> {
  const loaded = (ort: OrtModuleLike): LoadedOrt => {
    const version = nodeVersionOf(ort);
    return { ort, backend: 'node', runtime: `onnxruntime-node${version ? ` ${version}` : ''}` };
  };
  try {
    return loaded(moduleOf(await import('onnxruntime-node')));
  } catch {
    // Not next to the caller (the extension's VSIX ships only onnxruntime-web); try the folders given.
  }
  for (const base of searchFrom) {
    try {
      return loaded(moduleOf(createRequire(join(base, 'package.json'))('onnxruntime-node')));
    } catch {
      // Not installed under this folder; try the next one.
    }
  }
  throw new OrtNotFoundError(why);
}

/**
 * Loads onnxruntime-web's WebAssembly build, single-threaded (its threads would need
 * cross-origin isolation in a browser and add nothing for one window at a time), with its
 * wasm files taken from `wasmDir` when given.
 */
export async function loadOrtWeb(wasmDir?: string): Promise<LoadedOrt> {
  const web = moduleOf(await import('onnxruntime-web')) as OrtModuleLike & { env: { wasm: { numThreads: number; wasmPaths?: string } } };
  web.env.wasm.numThreads = 1;
  if (wasmDir !== undefined) web.env.wasm.wasmPaths = `${pathToFileURL(wasmDir).href}/`;
  return { ort: web, backend: 'web', runtime: 'onnxruntime-web (wasm)' };
}

/** Loads the ONNX Runtime `options.provider` asks for (see {@link LoadOrtOptions}). */
export async function loadOrt(options: LoadOrtOptions): Promise<LoadedOrt> {
  if (options.provider === 'web') return loadOrtWeb(options.wasmDir);
  if (options.provider === 'node') return loadOrtNode(options.searchFrom, 'Running on onnxruntime-node');
  try {
    return await loadOrtNode(options.searchFrom);
  } catch (e) {
    options.onNote?.(`onnxruntime-node is not available (${(e as Error).message}); using onnxruntime-web.`);
    return loadOrtWeb(options.wasmDir);
  }
}
