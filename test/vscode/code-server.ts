/**
 * Test support for the real-VS-Code suite: builds the VSIX, prepares a temporary
 * workspace (by default samples/deepear/deepear.sense, its weights, a few sample clips; a
 * suite may lay out its own, and keep workspace trust on), installs
 * the VSIX into a fresh code-server user-data dir, starts code-server on 127.0.0.1 at a
 * free port and opens it in Debian's Chromium through playwright-core. Everything it
 * starts is stopped by `close()`, which the suite calls in afterAll even on failure.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { loadPipeline } from '../../cli/load';
import { initWeights } from '../../engine/weights/init';
import { encodeSafetensors } from '../../engine/weights/safetensors';
// @ts-expect-error: scripts/start.mjs is plain JavaScript without type declarations.
import * as studio from '../../scripts/start.mjs';

/** The repository root. */
export const ROOT = join(import.meta.dirname, '../..');
/** Where screenshots go (test-output/ is ignored by git). */
export const SHOTS = join(ROOT, 'test-output', 'vscode');

interface CodeServerHandle {
  url: string;
  stop(): Promise<void>;
}

/** A running studio: the page, the workspace on disk and `close()`. */
export interface Studio {
  page: Page;
  browser: Browser;
  workspace: string;
  /** Path of the `.sense` file in the workspace. */
  sensePath: string;
  log: string[];
  close(): Promise<void>;
  shot(name: string): Promise<void>;
}

/**
 * The cached code-server of scripts/install-code-server.sh. Throws (the suite fails, it
 * does not skip) when it is missing: CI runs that script before the tests.
 */
export function codeServer(): { bin: string; nodeBin: string } {
  const bin = join(studio.CACHE, 'code-server', 'node_modules', '.bin', 'code-server');
  const nodeBin = join(studio.CACHE, 'node24', 'bin');
  if (!existsSync(bin) || !existsSync(join(nodeBin, 'node'))) {
    throw new Error(`code-server is not installed in ${studio.CACHE}: run scripts/install-code-server.sh (about 7 minutes on a clean machine) before the real-VS-Code tests.`);
  }
  return { bin, nodeBin };
}

function copyClips(from: string, to: string, perLabel: number): void {
  for (const head of readdirSync(from)) {
    const headDir = join(from, head);
    if (!existsSync(headDir) || head.endsWith('.json') || head.endsWith('.md')) continue;
    for (const label of readdirSync(headDir)) {
      const files = readdirSync(join(headDir, label)).filter((f) => f.endsWith('.wav')).sort().slice(0, perLabel);
      mkdirSync(join(to, head, label), { recursive: true });
      for (const f of files) cpSync(join(headDir, label, f), join(to, head, label, f));
    }
  }
}

/** What a suite changes in the studio it starts. */
export interface StudioOptions {
  /**
   * Lays out the (empty) workspace folder and returns the path of the `.sense` file the
   * suite works on; `base` is the temporary folder around it, removed by `close()`.
   * Default: samples/deepear with its weights and one clip per label.
   */
  prepare?: (workspace: string, base: string) => Promise<string>;
  /** Keep workspace trust on: the folder opens in Restricted Mode until the suite trusts it. */
  trust?: boolean;
  /**
   * Folders of further extensions (a package.json and its plain JavaScript, no
   * dependencies), packaged and installed beside the studio's VSIX. The benchmark's
   * event-loop probe uses it; the test suites install only the studio.
   */
  extraExtensions?: string[];
}

/** The default workspace: samples/deepear/deepear.sense, its weights and one clip per label. */
export async function deepearWorkspace(workspace: string): Promise<string> {
  const senseDir = join(workspace, 'deepear');
  mkdirSync(senseDir, { recursive: true });
  const sensePath = join(senseDir, 'deepear.sense');
  cpSync(join(ROOT, 'samples', 'deepear', 'deepear.sense'), sensePath);
  const weights = join(ROOT, 'samples', 'deepear', 'deepear.safetensors');
  if (existsSync(weights)) cpSync(weights, join(senseDir, 'deepear.safetensors'));
  else await writeSeededWeights(sensePath, join(senseDir, 'deepear.safetensors'));
  copyClips(join(ROOT, 'samples', 'data', 'deepear'), join(workspace, 'data', 'deepear'), 1);
  return sensePath;
}

/** Writes what `sense init-weights` writes for the pipeline in `sensePath`: seeded He/Glorot weights. */
export async function writeSeededWeights(sensePath: string, to: string): Promise<void> {
  const { spec } = await loadPipeline(sensePath);
  writeFileSync(to, encodeSafetensors(initWeights(spec, 1), { pipeline: spec.name, seed: '1', generator: 'test/vscode' }));
}

/** Packages the extension in `folder` (no dependencies) into the VSIX `to` with the repository's vsce; returns `to`. */
function packageFolder(folder: string, to: string): string {
  const vsce = join(ROOT, 'node_modules', '.bin', 'vsce');
  const r = spawnSync(vsce, ['package', '--no-dependencies', '--skip-license', '--allow-missing-repository', '--out', to], { cwd: folder, encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`vsce could not package the extension in ${folder}: ${r.error?.message ?? `exit code ${r.status}`}\n${r.stdout}\n${r.stderr}`);
  return to;
}

/** Builds, installs and starts everything; the caller must `close()` it. */
export async function startStudio(options: StudioOptions = {}): Promise<Studio> {
  const cs = codeServer();
  const base = mkdtempSync(join(tmpdir(), 'sense-vscode-'));
  const log: string[] = [];
  let server: CodeServerHandle | undefined;
  let browser: Browser | undefined;
  const close = async (): Promise<void> => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    // SENSE_KEEP_VSCODE=1 keeps the user data (logs of the extension host and the language server) for a post-mortem.
    if (process.env.SENSE_KEEP_VSCODE !== "1") rmSync(base, { recursive: true, force: true });
  };
  try {
    studio.buildVsix({ quiet: true });
    const userDataDir = join(base, 'user-data');
    const extensionsDir = join(base, 'extensions');
    const workspace = join(base, 'workspace');
    mkdirSync(workspace, { recursive: true });
    const sensePath = await (options.prepare ?? deepearWorkspace)(workspace, base);
    studio.writeUserSettings(userDataDir, {
      'chat.disableAIFeatures': true,
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      'workbench.editor.enablePreview': false,
      'editor.minimap.enabled': false,
      // Sticky lines overlay the top of a scrolled editor and take the clicks meant for its first visible line.
      'editor.stickyScroll.enabled': false,
      'files.autoSave': 'off',
      'senseStudio.runtime.provider': 'web',
      // Trust on, without the modal prompt: the folder opens in Restricted Mode with its banner.
      ...(options.trust ? { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never' } : {}),
    });
    studio.installVsix(cs, studio.VSIX_PATH, userDataDir, extensionsDir);
    for (const [i, folder] of (options.extraExtensions ?? []).entries()) {
      studio.installVsix(cs, packageFolder(folder, join(base, `extra-${i}.vsix`)), userDataDir, extensionsDir);
    }
    const port: number = await studio.freePort();
    server = (await studio.startCodeServer(cs, { port, userDataDir, extensionsDir, folder: workspace, log: (s: string) => log.push(s), trust: options.trust === true })) as CodeServerHandle;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'] });
    const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
    await page.goto(server.url);
    await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
    mkdirSync(SHOTS, { recursive: true });
    return {
      page,
      browser,
      workspace,
      sensePath,
      log,
      close,
      shot: async (name) => {
        await page.screenshot({ path: join(SHOTS, `${name}.png`) });
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Runs a command from the palette by its title. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('Control+Shift+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 30_000 });
  await page.keyboard.press('Enter');
}

/** Opens a workspace file with Quick Open (Ctrl+P). */
export async function quickOpen(page: Page, name: string): Promise<void> {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(name);
  // Clicked, not Enter: the list may still show the recently opened files when the row appears.
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first();
  await row.waitFor({ timeout: 60_000 });
  await row.click();
}

/**
 * Selects a layer in the graph as a click on its node does. The click is dispatched on the
 * node itself: the readable default view scrolls rather than shrinks, so in a narrow pane
 * the layer may lie outside the graph's viewport, where a click at its coordinates would
 * land on another node.
 */
export async function selectLayer(g: Frame, layerId: string): Promise<void> {
  const node = g.locator(`[data-layer-id="${layerId}"]`).first();
  await node.waitFor({ timeout: 30_000 });
  await node.dispatchEvent('click');
}

/** The graph editor's frame: the nested webview iframe holding the React app. */
export async function graphFrame(page: Page, timeoutMs = 60_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        if ((await f.locator('[data-testid="total-latency"]').count()) > 0) return f;
      } catch {
        // A frame that navigated away; try the next one.
      }
    }
    await page.waitForTimeout(250);
  }
  throw new Error('The graph webview did not show its estimates panel.');
}

/** The status bar item of the extension: `target · latency · energy`. */
export async function statusEstimate(page: Page): Promise<{ target: string; latencyMs: number; energyMj: number }> {
  const item = page.locator('.statusbar-item', { hasText: /· [\d.]+ ms · [\d.]+ mJ/ }).first();
  await item.waitFor({ timeout: 60_000 });
  const text = (await item.innerText()).trim();
  const m = /(\S+) · ([\d.]+) ms · ([\d.]+) mJ/.exec(text);
  if (!m) throw new Error(`unexpected status bar text: ${text}`);
  return { target: m[1], latencyMs: Number(m[2]), energyMj: Number(m[3]) };
}

/** Polls `check` every 250 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}
