/**
 * Node-only bundle I/O: writes an in-memory bundle (./bundle.ts) to a folder with the
 * runtime, onnxruntime-web's wasm build and the demo page, atomically; reads a bundle
 * folder back, checking every file's SHA-256. Every file goes through io/user-files.
 *
 * Atomicity: everything is written into `DIR.tmp-XXXX` next to DIR, then renamed into
 * place. A failed export (one we can catch) removes that temporary folder and any parent
 * folders it created, so it leaves nothing; a killed one leaves at most the temporary folder,
 * never a half-written DIR. An existing DIR is replaced only when it is empty or a bundle (it
 * has a manifest.json of kind `sense-bundle`); any other folder is refused, so a typo cannot
 * wipe a user's directory. Replacing takes two renames (POSIX has no exchange of two
 * folders that Node can call): the old bundle moves to `DIR.old-XXXX`, the new one to DIR.
 * Between the two, for the time of one rename, there is no DIR; a process killed exactly then
 * leaves the old bundle at `DIR.old-XXXX`, and {@link readBundle} of the missing DIR says
 * where it is. A failing second rename moves the old bundle back.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeFileType, readUserFileSync, readUserTextSync, statUserPath, UserFileError, writeUserFileAtomic } from '../../io/user-files';
import { BUNDLE_KIND, validateManifest, type BundleManifest } from '../../runtime/bundle-manifest';
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

/** Largest asset of the installation copied into a bundle, in bytes (onnxruntime-web's wasm is about 12 MB). */
const MAX_ASSET_BYTES = 256 * 1024 * 1024;

function readAsset(path: string): Uint8Array {
  return readUserFileSync(path, 'text', { maxBytes: MAX_ASSET_BYTES });
}

/**
 * The Sense Studio installation this code runs from: the folder above it whose package.json
 * is sense-studio's. Throws when there is none.
 */
export function installationRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = findUp(here, (d) => {
    const p = join(d, 'package.json');
    return existsSync(p) && /"name":\s*"sense-studio"/.test(readFileSync(p, 'utf8'));
  });
  if (!root) throw new Error(`export: cannot find the Sense Studio installation above ${here}`);
  return root;
}

/** onnxruntime-web's files of {@link ORT_WEB_FILES} from the installation at `root`, by name. */
export function ortWebFiles(root: string): Map<string, Uint8Array> {
  const require = createRequire(join(root, 'package.json'));
  const ortDir = dirname(require.resolve('onnxruntime-web'));
  const ortFiles = new Map<string, Uint8Array>();
  for (const f of ORT_WEB_FILES) {
    const p = join(ortDir, f);
    if (!existsSync(p)) throw new Error(`export: onnxruntime-web file ${p} is missing; reinstall onnxruntime-web`);
    ortFiles.set(f, readAsset(p));
  }
  return ortFiles;
}

/**
 * Locates the assets: dist/runtime.mjs and runtime/demo/index.html of the Sense Studio
 * installation this code runs from (found by walking up to its package.json), and
 * onnxruntime-web from node_modules. `runtimePath` overrides the runtime's location.
 * Throws with the fix when the runtime has not been built.
 */
export function defaultAssets(runtimePath?: string): BundleAssets {
  const root = installationRoot();
  const runtime = runtimePath ?? join(root, 'dist', 'runtime.mjs');
  if (!existsSync(runtime)) throw new Error(`export: the bundle runtime ${runtime} is missing; run "npm run build" in ${root} first`);
  const page = join(root, 'runtime', 'demo', 'index.html');
  if (!existsSync(page)) throw new Error(`export: the demo page template ${page} is missing; the installation is incomplete`);
  return { runtimeJs: readAsset(runtime), indexHtml: readAsset(page), ortFiles: ortWebFiles(root) };
}

/** SHA-256 of bytes as lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function isBundleDir(dir: string): boolean {
  try {
    return (JSON.parse(readUserTextSync(join(dir, 'manifest.json'), 'json')) as { kind?: string }).kind === BUNDLE_KIND;
  } catch {
    return false;
  }
}

/**
 * Checks that `target` may become the bundle folder (absent, an empty folder or a bundle) and
 * that its parent is a folder or can be created. Returns the parent folders to create.
 */
function checkTarget(dir: string, target: string): void {
  const st = statUserPath(target, 'json');
  if (st) {
    if (!st.isDirectory()) throw new UserFileError(`${dir} exists and is ${describeFileType(st)}, not a folder; choose a new or empty folder for the bundle`, dir, 'not-regular');
    if (readdirSync(target).length > 0 && !isBundleDir(target))
      throw new UserFileError(`${dir} is a folder that is not a Sense Studio bundle (no manifest.json of kind ${BUNDLE_KIND}); refusing to replace it. Choose a new or empty folder`, dir, 'exists');
  }
  for (let up = dirname(target); ; up = dirname(up)) {
    const parent = statUserPath(up, 'json');
    if (parent && !parent.isDirectory()) throw new UserFileError(`${dir}: ${up} is ${describeFileType(parent)}, not a folder, so the bundle cannot be written under it; choose another output folder`, dir, 'not-regular');
    if (parent || dirname(up) === up) return;
  }
}

/** Creates `dir` and its missing parents; returns the topmost folder created (to remove on failure), if any. */
function makeFolders(dir: string, shown: string): string | undefined {
  try {
    return mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UserFileError(`${shown}: cannot create the folder ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); choose a folder you can write to`, shown, 'io');
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
  checkTarget(dir, target);
  const files = new Map<string, Uint8Array>([...bundle.models, ['runtime.js', assets.runtimeJs], ['index.html', assets.indexHtml], ...assets.ortFiles]);
  const manifest: BundleManifest = {
    ...bundle.manifest,
    files: Object.fromEntries([...files].map(([name, bytes]) => [name, { sha256: sha256Hex(bytes), bytes: bytes.length }])),
  };
  const created = makeFolders(dirname(target), dir);
  let tmp: string | undefined;
  try {
    tmp = mkdtempSync(join(dirname(target), `${basename(target)}.tmp-`));
    // mkdtemp creates the folder private (0700); a bundle is meant to be served and shared.
    chmodSync(tmp, 0o755);
    for (const [name, bytes] of files) {
      writeUserFileAtomic(join(tmp, name), bytes, name.endsWith('.onnx') ? 'onnx' : 'text');
      opts.onFileWritten?.(name);
    }
    writeUserFileAtomic(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n', 'json');
    opts.onFileWritten?.('manifest.json');
    if (statUserPath(target, 'json')) {
      const old = join(dirname(target), `${basename(target)}.old-${basename(tmp).slice(basename(target).length + '.tmp-'.length)}`);
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
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
    if (created !== undefined) rmSync(created, { recursive: true, force: true });
    if (e instanceof UserFileError || !(e as NodeJS.ErrnoException).code) throw e;
    throw new UserFileError(`${dir}: cannot write the bundle (${(e as NodeJS.ErrnoException).code}); nothing was written`, dir, 'io');
  }
  return manifest;
}

/** Bundles left next to `dir` by an export killed between its two renames (see the module comment). */
function strandedBundles(dir: string): string[] {
  const parent = dirname(resolve(dir));
  const prefix = `${basename(resolve(dir))}.old-`;
  try {
    return readdirSync(parent).filter((n) => n.startsWith(prefix)).map((n) => join(parent, n));
  } catch {
    return [];
  }
}

/**
 * Reads a bundle folder: validates manifest.json and checks every model's SHA-256.
 * Throws an Error naming the folder and the fix for a missing, foreign or corrupt bundle.
 */
export function readBundle(dir: string): { manifest: BundleManifest; models: Map<string, Uint8Array> } {
  const mpath = join(dir, 'manifest.json');
  if (!statUserPath(dir, 'json')) {
    const stranded = strandedBundles(dir);
    if (stranded.length > 0) throw new UserFileError(`${dir}: no such folder; an export that replaced it was interrupted, and the previous bundle is at ${stranded.join(', ')}: rename it back or export again`, dir, 'not-found');
  }
  if (!statUserPath(mpath, 'json')) throw new UserFileError(`${dir}: no manifest.json; this is not a bundle (create one with 'sense export FILE -o ${dir}')`, dir, 'not-found');
  const text = readUserTextSync(mpath, 'json');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${mpath}: not valid JSON (${(e as Error).message}); re-export the bundle`);
  }
  const manifest = validateManifest(json, mpath);
  const models = new Map<string, Uint8Array>();
  for (const p of manifest.partitions) {
    const path = join(dir, p.model);
    if (!statUserPath(path, 'onnx')) throw new UserFileError(`${path}: missing; the bundle is incomplete, re-export it`, path, 'not-found');
    const bytes = readUserFileSync(path, 'onnx', { roots: [dir] });
    const want = manifest.files[p.model];
    if (want.sha256 !== sha256Hex(bytes)) throw new Error(`${path}: SHA-256 differs from the manifest; the bundle is corrupt or was edited, re-export it`);
    models.set(p.model, bytes);
  }
  return { manifest, models };
}
