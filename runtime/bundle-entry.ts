/**
 * Entry point of `runtime.js`, the runtime shipped inside every bundle (built by esbuild
 * as an ES module for browsers; it also imports in Node). The demo page calls
 * {@link openBundle} with onnxruntime-web; other hosts can call {@link createRunner}
 * with bytes they already hold. No file system, no DOM: only `fetch` and Web Crypto.
 * Profiling mode (`profile: true`, then {@link BundleRunner.profile}) produces a device
 * profile of timings (runtime/device-profile.ts) that the studio imports.
 */
import { validateManifest, type BundleManifest } from './bundle-manifest';
import { createRunner, type BundleRunner, type OrtModuleLike, type RunnerOptions } from './runner';

export { BundleRunner, clipInputOf, createRunner, executionProviders } from './runner';
export type { ClipInput, ClipResult, HeadResult, OrtModuleLike, RunnerOptions, WindowResult } from './runner';
export { validateManifest } from './bundle-manifest';
export { formatDeviceProfile, parseDeviceProfile } from './device-profile';
export type { DeviceProfile, ProfileMachine, ProfileSample } from './device-profile';
export type { BundleManifest } from './bundle-manifest';

function hex(buf: ArrayBuffer): string {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${r.statusText}; serve the bundle folder over HTTP (for example python3 -m http.server)`);
  return new Uint8Array(await r.arrayBuffer());
}

/**
 * Opens the bundle at `baseUrl` (a folder URL ending in `/`): fetches manifest.json,
 * fetches each model and checks its SHA-256 against the manifest, and creates a runner
 * with onnxruntime-web (`backend` 'web') or another injected ONNX Runtime.
 */
export async function openBundle(ort: OrtModuleLike, baseUrl: string, opts: Partial<Pick<RunnerOptions, 'backend' | 'sessionOptions' | 'profile'>> = {}): Promise<BundleRunner> {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const manifestBytes = await fetchBytes(`${base}manifest.json`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(manifestBytes));
  } catch (e) {
    throw new Error(`${base}manifest.json: not valid JSON (${(e as Error).message})`);
  }
  const manifest: BundleManifest = validateManifest(json, `${base}manifest.json`);
  const models = async (file: string): Promise<Uint8Array> => {
    const bytes = await fetchBytes(`${base}${file}`);
    const want = manifest.files[file]?.sha256;
    const got = hex(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
    if (want && want !== got) throw new Error(`${base}${file}: SHA-256 ${got} differs from the manifest's ${want}; the bundle is corrupt or was edited`);
    return bytes;
  };
  return createRunner({ ort, backend: opts.backend ?? 'web', manifest, models, ...(opts.sessionOptions ? { sessionOptions: opts.sessionOptions } : {}), ...(opts.profile ? { profile: true } : {}) });
}
