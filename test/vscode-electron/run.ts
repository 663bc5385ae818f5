/**
 * The real-VS-Code scenarios on desktop VS Code, through @vscode/test-electron: downloads
 * VS Code (so it runs only where that is possible; not here, where code-server is used,
 * see test/vscode/), opens a temporary copy of samples/deepear with the extension under
 * development and runs suite/index.ts inside the extension host.
 *
 * Run: `npm run build && npx tsx test/vscode-electron/run.ts` (needs @vscode/test-electron
 * and a display, e.g. `xvfb-run -a`). Not in the vitest include.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import { loadPipeline } from '../../cli/load';
import { initWeights } from '../../engine/weights/init';
import { encodeSafetensors } from '../../engine/weights/safetensors';

const root = resolve(import.meta.dirname, '../..');

async function main(): Promise<void> {
  // A module name in a variable keeps tsc from requiring the package where it is not installed.
  const testElectron = '@vscode/test-electron';
  const { runTests } = (await import(testElectron)) as { runTests(opts: Record<string, unknown>): Promise<number> };
  const base = mkdtempSync(join(tmpdir(), 'sense-electron-'));
  try {
    const ws = join(base, 'workspace');
    mkdirSync(join(ws, 'deepear'), { recursive: true });
    const sense = join(ws, 'deepear', 'deepear.sense');
    cpSync(join(root, 'samples', 'deepear', 'deepear.sense'), sense);
    const { spec } = await loadPipeline(sense);
    writeFileSync(join(ws, 'deepear', 'deepear.safetensors'), encodeSafetensors(initWeights(spec, 1), { generator: 'test/vscode-electron' }));
    cpSync(join(root, 'samples', 'data', 'deepear', 'ambient', 'music'), join(ws, 'data', 'deepear', 'ambient', 'music'), { recursive: true });
    const suite = join(base, 'suite.cjs');
    buildSync({ entryPoints: [join(import.meta.dirname, 'suite', 'index.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: suite, external: ['vscode'], logLevel: 'error' });
    const code = await runTests({
      extensionDevelopmentPath: root,
      extensionTestsPath: suite,
      launchArgs: [ws, '--disable-extensions', '--disable-workspace-trust', '--user-data-dir', join(base, 'user-data')],
    });
    process.exitCode = code;
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`test/vscode-electron: ${(e as Error).message}`);
  process.exit(1);
});
