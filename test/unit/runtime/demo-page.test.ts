/**
 * The bundle's demo page in real Chromium (Debian's chromium through playwright-core):
 * exports the DeepEar sample (seeded weights, without its SVD line so the export stays
 * quick) and the watch sample (its trained weights) with a runtime built from source,
 * serves each bundle folder as the studio does (extension/demo-server.ts), selects a clip from samples/data on the
 * page's file input (and a PNG for a small image pipeline, which the page's runtime decodes
 * and resizes) and checks the page shows the same top label per head and the same
 * probabilities (within 1e-4) as `sense run BUNDLE CLIP --json` on onnxruntime-node. The
 * DeepEar sample with its speech heads gated on 'ambient is voicing' must skip them on a
 * music clip, say why as `sense run` does, and run only the ungated partition.
 * Every request the page makes must go to the local server: nothing from a CDN.
 * The page's Profile button must download a device profile JSON of the runs it made.
 * Opened from file://, the page must say how to serve its folder.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mkdtempSync } from 'node:fs';
import * as esbuild from 'esbuild';
import { encode as encodePng } from 'fast-png';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main';
import { loadPipeline } from '../../../cli/load';
import { buildBundle } from '../../../engine/export/bundle';
import { defaultAssets, writeBundle } from '../../../engine/export/write-bundle';
import { loadPipelineWeights } from '../../../engine/weights/node-weights';
import { parseDeviceProfile } from '../../../runtime/device-profile';
import { serveBundleFolder } from '../../../extension/demo-server';

const root = resolve(import.meta.dirname, '../../..');
const outDir = join(root, 'test-output', 'runtime');

interface Served {
  url: string;
  stop: () => Promise<void>;
}

/** The bundle folder served as the studio serves it (extension/demo-server.ts). */
async function serve(dir: string): Promise<Served> {
  const s = await serveBundleFolder(dir);
  return { url: s.baseUrl, stop: s.stop };
}

/** `sense run BUNDLE CLIP --json`, in process. */
async function senseRunJson(bundle: string, clip: string): Promise<{ heads: Record<string, { label: string; probabilities: Record<string, number> }> }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['run', bundle, clip, '--json'], { out: (l) => out.push(l), err: (l) => err.push(l) });
  if (code !== 0) throw new Error(`sense run failed (${code}): ${err.join('\n')}`);
  return (JSON.parse(out.join('\n')) as { clips: { heads: Record<string, { label: string; probabilities: Record<string, number> }> }[] }).clips[0];
}

interface PageHead {
  head: string;
  label: string;
  rows: { label: string; shown: number; exact: number }[];
}

/** The predictions as the page shows them: per head the label in the heading and every row. */
async function pageHeads(page: Page): Promise<PageHead[]> {
  return page.$$eval('#result h3[data-head]', (hs) =>
    hs.map((h) => {
      const table = h.nextElementSibling as HTMLTableElement;
      return {
        head: h.getAttribute('data-head') ?? '',
        label: h.querySelector('.label')?.textContent ?? '',
        rows: [...table.querySelectorAll('tr[data-label]')].map((tr) => ({
          label: tr.getAttribute('data-label') ?? '',
          shown: Number(tr.querySelector('td.p')?.textContent),
          exact: Number(tr.getAttribute('data-probability')),
        })),
      };
    }),
  );
}

let browser: Browser;
let work: string;
let runtimePath: string;
const servers: Served[] = [];
const foreign: string[] = [];

/** Exports `sense` (with its weights) to a bundle folder with the runtime built from source. */
async function exportBundle(sense: string, dir: string): Promise<void> {
  const { spec } = await loadPipeline(sense);
  const { weights } = loadPipelineWeights(spec, sense);
  writeBundle(dir, buildBundle(spec, weights), defaultAssets(runtimePath));
}

/** Opens the bundle's page, selects `clip`, and waits for its result. */
async function runOnPage(bundleDir: string, clip: string): Promise<{ page: Page; served: Served; consoleErrors: string[] }> {
  const served = await serve(bundleDir);
  servers.push(served);
  const page = await browser.newPage({ viewport: { width: 1000, height: 1400 }, acceptDownloads: true });
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(served.url)) return route.continue();
    foreign.push(u);
    return route.abort();
  });
  await page.goto(`${served.url}index.html`);
  await page.waitForFunction(() => (window as unknown as { senseRunner?: unknown }).senseRunner !== undefined || document.getElementById('info')?.className === 'error', undefined, { timeout: 60_000 });
  const info = await page.textContent('#info');
  if ((await page.getAttribute('#info', 'class')) === 'error') throw new Error(`the page failed to load the bundle: ${info}; console: ${consoleErrors.join(' | ')}`);
  await page.setInputFiles('#file', clip);
  await page.waitForFunction(() => (window as unknown as { senseLastResult?: unknown }).senseLastResult !== undefined || !!document.querySelector('#result .error'), undefined, { timeout: 60_000 });
  const error = await page.$('#result .error');
  if (error) throw new Error(`the page failed to run ${clip}: ${await error.textContent()}; console: ${consoleErrors.join(' | ')}`);
  return { page, served, consoleErrors };
}

/** Checks the page's heads against `sense run --json`'s. */
function expectSamePredictions(shown: PageHead[], want: Awaited<ReturnType<typeof senseRunJson>>): void {
  expect(shown.map((h) => h.head)).toEqual(Object.keys(want.heads));
  for (const h of shown) {
    const w = want.heads[h.head];
    expect(h.label, `head ${h.head}`).toBe(w.label);
    expect(h.rows.map((r) => r.label).sort()).toEqual(Object.keys(w.probabilities).sort());
    for (const r of h.rows) {
      expect(Math.abs(r.exact - w.probabilities[r.label]), `${h.head}/${r.label}`).toBeLessThan(1e-4);
      // The table shows 4 decimals: up to 5e-5 of rounding on top.
      expect(Math.abs(r.shown - w.probabilities[r.label]), `${h.head}/${r.label} as shown`).toBeLessThan(1.5e-4);
    }
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sense-demo-page-'));
  runtimePath = join(work, 'runtime.mjs');
  // The runtime from source, as esbuild.mjs builds dist/runtime.mjs, so the test never sees a stale build.
  await esbuild.build({ entryPoints: [join(root, 'runtime/bundle-entry.ts')], outfile: runtimePath, bundle: true, platform: 'browser', format: 'esm', target: 'es2022', logLevel: 'error' });

  // DeepEar without its `compress` line (the SVD of the 3920 x 1024 layer is slow to export) and with seeded weights.
  const deepear = join(work, 'deepear');
  mkdirSync(deepear);
  const text = readFileSync(join(root, 'samples/deepear/deepear.sense'), 'utf8').replace(/^\s*compress .*$/m, '');
  writeFileSync(join(deepear, 'deepear.sense'), text);
  const err: string[] = [];
  const code = await main(['init-weights', join(deepear, 'deepear.sense'), '--seed', '3'], { out: () => {}, err: (l) => err.push(l) });
  if (code !== 0) throw new Error(`init-weights failed: ${err.join('\n')}`);
  await exportBundle(join(deepear, 'deepear.sense'), join(work, 'deepear-bundle'));

  const watch = join(work, 'watch');
  mkdirSync(watch);
  copyFileSync(join(root, 'samples/watch/activity.safetensors'), join(watch, 'activity.safetensors'));
  // As samples/watch/WEIGHTS.md does: the runtime names the barometer axis x.
  let watchText = readFileSync(join(root, 'samples/watch/activity.sense'), 'utf8').replace('barometer [pressure]', 'barometer [x]');
  // The sample may lack a weights line: add one naming the copied file.
  if (!/^\s*weights /m.test(watchText)) watchText = watchText.replace(/^(\s*)target /m, '$1weights "activity.safetensors"\n$1target ');
  writeFileSync(join(watch, 'activity.sense'), watchText);
  await exportBundle(join(watch, 'activity.sense'), join(work, 'watch-bundle'));

  // The DeepEar sample with its speech heads gated on 'ambient is voicing', with its trained weights.
  await exportBundle(join(root, 'test/unit/export/fixtures/deepear-gated.sense'), join(work, 'gated-bundle'));

  // A small image pipeline (seeded weights) and a PNG for it, at a size the runtime resizes.
  const image = join(work, 'image');
  mkdirSync(image);
  writeFileSync(
    join(image, 'tiny.sense'),
    'pipeline TinyImage {\n  input image { size 12 x 12  channels 3 }\n  shared trunk {\n    conv2d 4 kernel 3 relu\n    maxpool 2\n    flatten\n  }\n  head scene from trunk {\n    dense 3 softmax\n    labels [indoor, outdoor, night]\n  }\n  target snapdragon800\n  weights "tiny.safetensors"\n}\n',
  );
  if ((await main(['init-weights', join(image, 'tiny.sense'), '--seed', '4'], { out: () => {}, err: (l) => err.push(l) })) !== 0) throw new Error(`init-weights failed: ${err.join('\n')}`);
  await exportBundle(join(image, 'tiny.sense'), join(work, 'image-bundle'));
  const pixels = Uint8Array.from({ length: 17 * 15 * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 37) % 256));
  writeFileSync(join(image, 'picture.png'), encodePng({ width: 17, height: 15, data: pixels, channels: 4, depth: 8 }));

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
  mkdirSync(outDir, { recursive: true });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(servers.map((s) => s.stop()));
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('bundle demo page in Chromium', () => {
  it('runs a DeepEar WAV and shows the same predictions as sense run', async () => {
    const clip = join(root, 'samples/data/deepear/ambient/music/music-0000.wav');
    const want = await senseRunJson(join(work, 'deepear-bundle'), clip);
    const { page, consoleErrors } = await runOnPage(join(work, 'deepear-bundle'), clip);
    expect(await page.textContent('#title')).toBe('DeepEar on snapdragon800');
    const shown = await pageHeads(page);
    expect(shown).toHaveLength(4);
    expectSamePredictions(shown, want);
    await page.screenshot({ path: join(outDir, 'demo-page.png'), fullPage: true });

    // The Profile button downloads the timings of the runs so far as a device profile.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#profile')]);
    const saved = join(work, 'profile.json');
    await download.saveAs(saved);
    const profile = parseDeviceProfile(readFileSync(saved, 'utf8'), saved);
    expect(profile.device).toBe('snapdragon800');
    expect(profile.samples.length).toBeGreaterThan(0);
    expect(profile.samples.every((s) => s.measuredMs > 0)).toBe(true);
    expect(profile.machine.runtime).toMatch(/onnxruntime-web/);
    expect(consoleErrors).toEqual([]);
    await page.close();
  });

  it('runs an inertial CSV of the watch sample and shows the same predictions as sense run', async () => {
    const clip = join(root, 'samples/data/watch/activity/walking/walking-0000.csv');
    const want = await senseRunJson(join(work, 'watch-bundle'), clip);
    const { page, consoleErrors } = await runOnPage(join(work, 'watch-bundle'), clip);
    expectSamePredictions(await pageHeads(page), want);
    expect(consoleErrors).toEqual([]);
    await page.close();
  });

  it('skips the gated speech heads of DeepEar on a music clip and says why, as sense run does', async () => {
    const clip = join(root, 'samples/data/deepear/ambient/music/music-0000.wav');
    const want = (await senseRunJson(join(work, 'gated-bundle'), clip)) as unknown as { heads: Record<string, { label: string; probabilities: Record<string, number> } | { skipped: string }> };
    const ran = Object.fromEntries(Object.entries(want.heads).filter((e): e is [string, { label: string; probabilities: Record<string, number> }] => 'label' in e[1]));
    const skipped = Object.fromEntries(Object.entries(want.heads).flatMap(([h, r]) => ('skipped' in r ? [[h, r.skipped]] : [])));
    expect(Object.keys(ran)).toEqual(['ambient']);
    expect(skipped).toEqual({ emotion: 'ambient is music', stress: 'ambient is music', speaker: 'ambient is music' });
    const { page, consoleErrors } = await runOnPage(join(work, 'gated-bundle'), clip);
    expectSamePredictions(await pageHeads(page), { heads: ran });
    const shownSkipped = await page.$$eval('#result p[data-skipped-head]', (ps) => ps.map((p) => [p.getAttribute('data-skipped-head'), p.querySelector('.why')?.textContent]));
    expect(Object.fromEntries(shownSkipped)).toEqual(skipped);
    expect(await page.textContent('#result p[data-gate="speaker"]')).toBe('Gate of speaker (when ambient is voicing): opened on 0 of 1 window(s), expected 30.0%.');
    // onnxruntime-web ran the ungated partition only: the skipped heads' partitions have no timing.
    const timed = await page.evaluate(() =>
      (window as unknown as { senseRunner: { profile(m: object): { samples: { op: string; measuredMs: number }[] } } }).senseRunner
        .profile({ cpu: 'test', runtime: 'onnxruntime-web' })
        .samples.filter((x) => x.op !== 'features' && x.measuredMs > 0)
        .map((x) => x.op),
    );
    expect(timed).toEqual(['p0']);
    expect(consoleErrors).toEqual([]);
    await page.close();
  });

  it('runs a PNG on an image pipeline and shows the same predictions as sense run', async () => {
    const clip = join(work, 'image', 'picture.png');
    const want = await senseRunJson(join(work, 'image-bundle'), clip);
    const { page, consoleErrors } = await runOnPage(join(work, 'image-bundle'), clip);
    expectSamePredictions(await pageHeads(page), want);
    expect(consoleErrors).toEqual([]);
    await page.close();
  });

  it('opened from file://, says how to serve the folder instead of waiting forever', async () => {
    const bundle = join(work, "it's watch");
    await exportBundle(join(work, 'watch', 'activity.sense'), bundle);
    const page = await browser.newPage();
    await page.goto(pathToFileURL(join(bundle, 'index.html')).href);
    await page.waitForSelector('#info.error', { timeout: 10_000 });
    const info = (await page.textContent('#info')) ?? '';
    expect(info).toContain('must be served over HTTP');
    expect(info).toContain('Open Demo Page');
    // The command names this very folder, quoted for a POSIX shell (the folder name has a quote).
    expect(await page.textContent('#info code')).toBe(`python3 -m http.server --bind 127.0.0.1 --directory '${bundle.replace(/'/g, `'\\''`)}' 8000`);
    expect(await page.isHidden('#drop')).toBe(true);
    await page.close();
  });

  it('loaded nothing from outside 127.0.0.1', () => {
    expect(foreign).toEqual([]);
  });
});
