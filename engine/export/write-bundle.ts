/**
 * Node-only bundle I/O: writes an in-memory bundle (./bundle.ts) to a folder with the
 * runtime, onnxruntime-web's wasm build and the demo page, atomically; reads a bundle
 * folder back, checking every file's SHA-256.
 *
 * Atomicity: everything is written into `DIR.tmp-XXXX` next to DIR, then renamed into
 * place. An interrupted export leaves at most that temporary folder (removed on any
 * error we can catch), never a half-written DIR. An existing DIR is replaced only when it
 * is empty or a bundle (it has a manifest.json of kind `sense-bundle`); any other folder
 * is refused, so a typo cannot wipe a user's directory.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE_KIND, validateManifest, type BundleManifest } from './manifest';
import type { BuiltBundle } from './bundle';

/** Files of onnxruntime-web copied into every bundle (its wasm build, so the page works offline). */
export const ORT_WEB_FILES = ['ort.wasm.bundle.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

/** The non-model files a bundle carries. */
export interface BundleAssets {
  /** The runtime as an ES module (dist/runtime.mjs, built by esbuild.mjs). */
  runtimeJs: Uint8Array;
  /** The demo page. */
  indexHtml: Uint8Array;
  /** onnxruntime-web files by name. */
  ortFiles: Map<string, Uint8Array>;
}

function findUp(start: string, probe: (dir: string) => boolean): string | undefined {
  let dir = start;
  for (;;) {
    if (probe(dir)) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * Locates the assets: dist/runtime.mjs and runtime/demo/index.html of the Sense Studio
 * installation this code runs from (found by walking up to its package.json), and
 * onnxruntime-web from node_modules. `runtimePath` overrides the runtime's location.
 * Throws with the fix when the runtime has not been built.
 */
export function defaultAssets(runtimePath?: string): BundleAssets {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = findUp(here, (d) => {
    const p = join(d, 'package.json');
    return existsSync(p) && /"name":\s*"sense-studio"/.test(readFileSync(p, 'utf8'));
  });
  if (!root) throw new Error(`export: cannot find the Sense Studio installation above ${here}`);
  const runtime = runtimePath ?? join(root, 'dist', 'runtime.mjs');
  if (!existsSync(runtime)) throw new Error(`export: the bundle runtime ${runtime} is missing; run "npm run build" in ${root} first`);
  const page = join(root, 'runtime', 'demo', 'index.html');
  if (!existsSync(page)) throw new Error(`export: the demo page template ${page} is missing; the installation is incomplete`);
  const require = createRequire(join(root, 'package.json'));
  const ortDir = dirname(require.resolve('onnxruntime-web'));
  const ortFiles = new Map<string, Uint8Array>();
  for (const f of ORT_WEB_FILES) {
    const p = join(ortDir, f);
    if (!existsSync(p)) throw new Error(`export: onnxruntime-web file ${p} is missing; reinstall onnxruntime-web`);
    ortFiles.set(f, new Uint8Array(readFileSync(p)));
  }
  return { runtimeJs: new Uint8Array(readFileSync(runtime)), indexHtml: new Uint8Array(readFileSync(page)), ortFiles };
}

/** SHA-256 of bytes as lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function isBundleDir(dir: string): boolean {
  const m = join(dir, 'manifest.json');
  if (!existsSync(m)) return false;
  try {
    return (JSON.parse(readFileSync(m, 'utf8')) as { kind?: string }).kind === BUNDLE_KIND;
  } catch {
    return false;
  }
}

/** Options of {@link writeBundle}. */
export interface WriteBundleOptions {
  /** Called after each file is written (progress; tests inject failures here). */
  onFileWritten?: (name: string) => void;
}

/**
 * Writes `bundle` with `assets` to `dir` atomically (see the module comment) and returns
 * the final manifest, whose `files` holds every other file's SHA-256 and size. Throws when
 * `dir` exists and is neither empty nor a bundle, or when a write fails (nothing is left).
 */
export function writeBundle(dir: string, bundle: BuiltBundle, assets: BundleAssets, opts: WriteBundleOptions = {}): BundleManifest {
  const target = resolve(dir);
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new Error(`${dir} exists and is a file; choose a folder for the bundle`);
    if (readdirSync(target).length > 0 && !isBundleDir(target))
      throw new Error(`${dir} is a folder that is not a Sense Studio bundle (no manifest.json of kind ${BUNDLE_KIND}); refusing to replace it. Choose a new or empty folder`);
  }
  const files = new Map<string, Uint8Array>([...bundle.models, ['runtime.js', assets.runtimeJs], ['index.html', assets.indexHtml], ...assets.ortFiles]);
  const manifest: BundleManifest = {
    ...bundle.manifest,
    files: Object.fromEntries([...files].map(([name, bytes]) => [name, { sha256: sha256Hex(bytes), bytes: bytes.length }])),
  };
  mkdirSync(dirname(target), { recursive: true });
  const tmp = mkdtempSync(join(dirname(target), `${basename(target)}.tmp-`));
  // mkdtemp creates the folder private (0700); a bundle is meant to be served and shared.
  chmodSync(tmp, 0o755);
  try {
    for (const [name, bytes] of files) {
      writeFileSync(join(tmp, name), bytes);
      opts.onFileWritten?.(name);
    }
    writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    opts.onFileWritten?.('manifest.json');
    if (existsSync(target)) {
      const old = `${tmp}.old`;
      renameSync(target, old);
      try {
        renameSync(tmp, target);
      } catch (e) {
        renameSync(old, target);
        throw e;
      }
      rmSync(old, { recursive: true, force: true });
    } else renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return manifest;
}

/**
 * Reads a bundle folder: validates manifest.json and checks every model's SHA-256.
 * Throws an Error naming the folder and the fix for a missing, foreign or corrupt bundle.
 */
export function readBundle(dir: string): { manifest: BundleManifest; models: Map<string, Uint8Array> } {
  const mpath = join(dir, 'manifest.json');
  if (!existsSync(mpath)) throw new Error(`${dir}: no manifest.json; this is not a bundle (create one with 'sense export FILE -o ${dir}')`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(mpath, 'utf8'));
  } catch (e) {
    throw new Error(`${mpath}: not valid JSON (${(e as Error).message}); re-export the bundle`);
  }
  const manifest = validateManifest(json, mpath);
  const models = new Map<string, Uint8Array>();
  for (const p of manifest.partitions) {
    const path = join(dir, p.model);
    if (!existsSync(path)) throw new Error(`${path}: missing; the bundle is incomplete, re-export it`);
    const bytes = new Uint8Array(readFileSync(path));
    const want = manifest.files[p.model];
    if (want.sha256 !== sha256Hex(bytes)) throw new Error(`${path}: SHA-256 differs from the manifest; the bundle is corrupt or was edited, re-export it`);
    models.set(p.model, bytes);
  }
  return { manifest, models };
}
