/**
 * The kernel suite page (`sense calibrate --device NAME --page DIR`) in real Chromium
 * (Debian's chromium through playwright-core), as a phone's browser would run it: the page
 * is written for snapdragon800 with the quick suite and its script built from source, served
 * from 127.0.0.1 as the studio serves a bundle (extension/demo-server.ts), started, and
 * its downloaded profile is read back with the profile reader and used by `sense estimate
 * --profile`, which must print the held-out figure. Only what a loaded machine cannot
 * change is asserted: no timing. Every request must stay on the local server.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sense } from '../../support/sense-cli';
import { choosePipeline, lowerSenseText } from '../../../cli/load';
import { writeCalibratePage } from '../../../engine/calibrate/node-calibrate-page';
import { planKernelSuite, type SuitePlan } from '../../../engine/calibrate/web-kernel-suite';
import { parseDeviceProfile } from '../../../runtime/device-profile';
import { serveBundleFolder, type DemoServer } from '../../../extension/demo-server';

const root = resolve(import.meta.dirname, '../../..');
let work: string;
let browser: Browser;
let server: DemoServer;
let plan: SuitePlan;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sense-calibrate-page-'));
  const script = join(work, 'calibrate-page.mjs');
  // The page's script from source, as esbuild.mjs builds dist/calibrate-page.mjs, so the test never sees a stale build.
  await esbuild.build({ entryPoints: [join(root, 'engine/calibrate/web-kernel-suite.ts')], outfile: script, bundle: true, platform: 'browser', format: 'esm', target: 'es2022', logLevel: 'error' });
  plan = await planKernelSuite(async (text, name) => choosePipeline(await lowerSenseText(`${name}.sense`, text)).spec, 'snapdragon800', true);
  writeCalibratePage(join(work, 'page'), plan, { calibrateJsPath: script });
  server = await serveBundleFolder(join(work, 'page'));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('kernel suite page in Chromium', () => {
  it('runs the quick suite, downloads a profile of snapdragon800 that sense estimate uses with its held-out figure', async () => {
    const page = await browser.newPage({ acceptDownloads: true });
    const errors: string[] = [];
    const foreign: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith(server.baseUrl)) return route.continue();
      foreign.push(u);
      return route.abort();
    });
    await page.goto(server.url);
    await page.waitForSelector('#start:not([disabled])', { timeout: 60_000 });
    expect(await page.textContent('#title')).toBe('Calibrate snapdragon800');
    await page.click('#start');
    await page.waitForFunction("window.senseProfile !== undefined || document.getElementById('status').className === 'error'", undefined, { timeout: 400_000, polling: 500 });
    expect(await page.getAttribute('#status', 'class'), (await page.textContent('#status')) ?? '').not.toBe('error');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const saved = join(work, 'phone.json');
    await download.saveAs(saved);
    const text = readFileSync(saved, 'utf8');
    // The text to copy is the file itself.
    expect(await page.inputValue('#profile-text')).toBe(text);
    const profile = parseDeviceProfile(text, saved);
    const target = plan.cases.find((c) => 'spec' in c)!;
    const spec = 'spec' in target ? target.spec : undefined;
    expect(profile.device).toBe('snapdragon800');
    expect(profile.processor).toBe(spec!.target.defaultProcessor);
    expect(profile.machine.runtime).toMatch(/^onnxruntime-web .*\(wasm\)$/);
    expect(profile.machine.cpu).toMatch(/Chrom/);
    expect(profile.kernelPredictor).toBeDefined();
    // Which kernels survive the differences of a loaded machine varies; every fitted kind must come from measured kernels.
    const measuredKinds = new Set(profile.samples.map((s) => s.op.split(' ')[0]));
    expect(Object.keys(profile.kernelPredictor!.kinds).length).toBeGreaterThan(0);
    for (const kind of Object.keys(profile.kernelPredictor!.kinds)) expect(measuredKinds).toContain(kind);
    expect(profile.samples.every((s) => s.measuredMs > 0)).toBe(true);
    // DenseChain0 is flatten (3 x 64 = 192 wide), then dense 256, 32 relu, 1024, 128 relu, 512: layer out.K
    // multiplies widths K-2 and K-1, and a relu adds one operation per output (MACs by hand).
    const widths = [192, 256, 32, 1024, 128, 512];
    const relu = [false, false, true, false, true, false];
    for (const s of profile.samples.filter((x) => x.op.startsWith('dense DenseChain0/out.'))) {
      const k = Number(s.op.slice('dense DenseChain0/out.'.length));
      expect(s.macs, s.op).toBe(widths[k - 2] * widths[k - 1] + (relu[k - 1] ? widths[k - 1] : 0));
    }

    // A pipeline on snapdragon800 the suite never saw, estimated with the phone's profile.
    const deepear = join(work, 'deepear.sense');
    writeFileSync(deepear, readFileSync(join(root, 'samples/deepear/deepear.sense'), 'utf8'));
    const r = await sense('estimate', deepear, '--profile', saved);
    expect(r.code, r.err).toBe(0);
    expect(`${r.out}\n${r.err}`).toMatch(/held-out kernels|no kernels were held out/);
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  }, 600_000);

  it('refuses an unknown device, a folder holding other files, and --page with a pipeline, naming each', async () => {
    const unknown = await sense('calibrate', '--device', 'nosuch', '--page', join(work, 'unknown'), '--quick');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("Unknown device 'nosuch'");
    const foreignDir = join(work, 'mine');
    mkdirSync(foreignDir);
    writeFileSync(join(foreignDir, 'notes.txt'), 'keep me');
    const occupied = await sense('calibrate', '--device', 'snapdragon800', '--page', foreignDir, '--quick');
    expect(occupied.code).toBe(1);
    expect(occupied.err).toContain(`${foreignDir} is a folder that is not a kernel suite page`);
    expect(readFileSync(join(foreignDir, 'notes.txt'), 'utf8')).toBe('keep me');
    const withFile = await sense('calibrate', join(root, 'samples/deepear/deepear.sense'), '--page', join(work, 'p'));
    expect(withFile.code).toBe(2);
    expect(withFile.err).toContain('--page writes the kernel suite page for a device');
    for (const r of [unknown, occupied, withFile]) expect(r.err).not.toMatch(/internal error|\n\s+at /);
  }, 120_000);
});
