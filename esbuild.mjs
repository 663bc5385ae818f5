// Every bundle in one place: the CLI, the language server, the extension, the webview
// and the exported runtime. `node esbuild.mjs [--watch]`.
import * as esbuild from 'esbuild';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';

const watch = process.argv.includes('--watch');

/** Node ESM bundles need `require` for CommonJS dependencies. */
const nodeEsmBanner = {
  js: "import { createRequire as __senseCreateRequire } from 'node:module'; const require = __senseCreateRequire(import.meta.url);",
};

/**
 * CJS bundles that include onnxruntime-web's Node build, an ESM package that reads
 * import.meta.url, which a CJS bundle lacks: give it the bundle's own URL.
 */
const bundledOrtWeb = {
  define: { 'import.meta.url': '__senseImportMetaUrl' },
  banner: { js: "const __senseImportMetaUrl = require('url').pathToFileURL(__filename).href;" },
};

const builds = [
  {
    entryPoints: ['cli/index.ts'],
    outfile: 'dist/cli.mjs',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: nodeEsmBanner,
    // Native and wasm packages are loaded from node_modules at run time.
    external: ['onnxruntime-node', 'onnxruntime-web'],
  },
  existsSync('extension/server/main.ts') && {
    entryPoints: ['extension/server/main.ts'],
    outfile: 'dist/language-server.cjs',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
  },
  // The language server's worker threads (SVD, K-SVD, Auto-Compress, Auto-Partition), started by extension/server/worker-pool.ts.
  existsSync('extension/server/analysis-worker.ts') && {
    entryPoints: ['extension/server/analysis-worker.ts'],
    outfile: 'dist/analysis-worker.cjs',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
  },
  // The extension host's pipeline worker (run, evaluate, export, calibrate), started by
  // extension/jobs/job-client.ts. onnxruntime-web is bundled like the extension's (its wasm
  // files are found in dist/ort/); onnxruntime-node stays optional.
  existsSync('extension/jobs/job-worker.ts') && {
    entryPoints: ['extension/jobs/job-worker.ts'],
    outfile: 'dist/pipeline-worker.cjs',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['onnxruntime-node'],
    ...bundledOrtWeb,
    minify: !watch,
  },
  existsSync('extension/extension.ts') && {
    entryPoints: ['extension/extension.ts'],
    outfile: 'dist/extension.cjs',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // onnxruntime-web is bundled (its wasm files are copied to dist/ort/ below), so the
    // VSIX needs no node_modules; onnxruntime-node stays optional (the `node` provider).
    external: ['vscode', 'onnxruntime-node'],
    ...bundledOrtWeb,
    minify: !watch,
  },
  existsSync('webview/main.tsx') && {
    entryPoints: ['webview/main.tsx'],
    outfile: 'dist/webview.js',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    loader: { '.ttf': 'file', '.css': 'css' },
    // React's production build; CSS (React Flow's, the codicons', ours) goes to dist/webview.css.
    define: { 'process.env.NODE_ENV': watch ? '"development"' : '"production"' },
    minify: !watch,
  },
  {
    // The runtime shipped inside exported bundles (runtime.js), for browsers and Node.
    entryPoints: ['runtime/bundle-entry.ts'],
    outfile: 'dist/runtime.mjs',
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
  },
  {
    // The kernel suite page of `sense calibrate --device NAME --page DIR` (its calibrate.js).
    entryPoints: ['engine/calibrate/web-kernel-suite.ts'],
    outfile: 'dist/calibrate-page.mjs',
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
  },
].filter(Boolean);

for (const options of builds) {
  const config = { bundle: true, sourcemap: true, logLevel: 'warning', ...options };
  if (watch) await (await esbuild.context(config)).watch();
  else await esbuild.build(config);
}
// The extension runs pipelines on onnxruntime-web's wasm build and puts it in exported
// bundles; the VSIX ships these files from dist/ort/ (see .vscodeignore).
if (existsSync('extension/extension.ts')) {
  const ortDir = 'node_modules/onnxruntime-web/dist';
  mkdirSync('dist/ort', { recursive: true });
  for (const f of ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm', 'ort.wasm.bundle.min.mjs']) copyFileSync(`${ortDir}/${f}`, `dist/ort/${f}`);
}
if (!watch) console.log(`esbuild: built ${builds.map((b) => b.outfile).join(', ')}`);
