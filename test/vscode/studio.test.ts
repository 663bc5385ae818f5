/**
 * Sense Studio in real VS Code (code-server in Debian's Chromium): the user's loop from
 * ../shared/DESIGN.md, driven through the UI. The VSIX is built and installed into a
 * fresh user-data dir; the workspace is a temporary copy of samples/deepear with seeded
 * weights and one clip per label. Screenshots go to test-output/vscode/.
 *
 * The steps depend on each other and run in order (vitest runs a file's tests in order).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { graphFrame, quickOpen, selectLayer, runCommand, waitFor, SHOTS, statusEstimate, type Studio } from './code-server';
import { studioForSuite } from './studio-suite';

let s: Studio;
let baseline: { target: string; latencyMs: number; energyMj: number };

async function fileText(): Promise<string> {
  return readFileSync(s.sensePath, 'utf8');
}

/** Focuses the text editor by clicking its first line (keys pressed in the webview stay in its iframe). */
async function focusText(): Promise<void> {
  await s.page.locator('.editor-group-container').first().locator('.monaco-editor .view-line').first().click();
}

/** Focuses the text editor and saves. */
async function saveText(): Promise<void> {
  await focusText();
  await s.page.keyboard.press('Control+S');
}

describe('Sense Studio in VS Code (code-server)', () => {
  studioForSuite('', {}, (started) => (s = started));

  it('opens deepear.sense, activates the extension and shows the estimate in the status bar', async () => {
    await quickOpen(s.page, 'deepear.sense');
    await s.page.locator('.monaco-editor .view-lines', { hasText: 'pipeline DeepEar' }).first().waitFor({ timeout: 60_000 });
    baseline = await statusEstimate(s.page);
    expect(baseline.target).toBe('snapdragon800');
    expect(baseline.latencyMs).toBeGreaterThan(0);
    expect(baseline.energyMj).toBeGreaterThan(0);
    await s.shot('01-opened');
  }, 180_000);

  it('shows a new error in the Problems panel and clears it on undo', async () => {
    const lines = (await fileText()).split('\n');
    const line = lines.findIndex((l) => l.trim().startsWith('target snapdragon800')) + 1;
    expect(line).toBeGreaterThan(0);
    await s.page.keyboard.press('Control+G');
    await s.page.keyboard.type(String(line));
    await s.page.keyboard.press('Enter');
    await s.page.keyboard.press('End');
    await s.page.keyboard.press('Shift+Home');
    await s.page.keyboard.type('target nosuchdevice');
    await s.page.keyboard.press('Control+Shift+M');
    const row = s.page.locator('.markers-panel .monaco-list-row', { hasText: 'nosuchdevice' }).first();
    await row.waitFor({ timeout: 30_000 });
    expect(await row.innerText()).toMatch(/nosuchdevice/);
    await s.shot('02-problem');
    // Undo in the editor until the line is the sample's again (typing may take several undo stops).
    await s.page.keyboard.press('Control+1');
    for (let i = 0; i < 12 && (await s.page.locator('.monaco-editor .view-line', { hasText: /target\s+snapdragon800/ }).count()) === 0; i++) {
      await s.page.keyboard.press('Control+Z');
      await s.page.waitForTimeout(200);
    }
    expect(await s.page.locator('.monaco-editor .view-line', { hasText: /target\s+snapdragon800/ }).count()).toBe(1);
    await waitFor(async () => (await s.page.locator('.markers-panel .monaco-list-row', { hasText: 'nosuchdevice' }).count()) === 0, 'the problem to go away');
    expect((await statusEstimate(s.page)).energyMj).toBe(baseline.energyMj);
  }, 120_000);

  it('opens the graph beside the text with the engine estimate', async () => {
    await runCommand(s.page, 'Sense: Open Graph to the Side');
    const g = await graphFrame(s.page);
    await g.locator('[data-layer-id="encoder.3"]').first().waitFor({ timeout: 30_000 });
    expect(await g.locator('[data-layer-id]').count()).toBeGreaterThanOrEqual(11);
    expect(await g.locator('[data-testid="total-latency"]').innerText()).toMatch(/ms/);
    await s.shot('03-graph');
  }, 120_000);

  it('compresses a layer from the graph: the compress line is written, the estimate drops, undo restores both', async () => {
    const g = await graphFrame(s.page);
    const energyBefore = await g.locator('[data-testid="total-energy"]').innerText();
    await selectLayer(g, 'encoder.3');
    const slider = g.locator('[data-testid="rank-slider"]');
    await slider.waitFor({ timeout: 60_000 });
    // Wait for the spectrum (the reply computed from the weights), then pick rank 32.
    await g.locator('[data-testid="retained-energy"]').waitFor({ timeout: 60_000 });
    await slider.evaluate((el: HTMLInputElement) => {
      const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
      set.call(el, '32');
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await waitFor(async () => (await g.locator('[data-testid="rank-value"]').innerText()).trim() === '32', 'rank 32 in the inspector');
    await s.shot('04-inspector');
    await g.locator('[data-testid="apply-compression"]').click();

    await waitFor(async () => (await statusEstimate(s.page)).energyMj < baseline.energyMj, 'the status bar energy to drop');
    await waitFor(async () => (await g.locator('[data-testid="total-energy"]').innerText()) !== energyBefore, 'the graph energy to change');
    await expect.poll(async () => g.locator('[data-layer-id="encoder.3"].is-compressed').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await saveText();
    await waitFor(async () => (await fileText()).includes('compress encoder.3 svd rank 32'), 'the compress line on disk');
    // Saving changes nothing the graph shows: it still has the compressed estimate.
    expect(await g.locator('[data-testid="total-energy"]').innerText()).not.toBe(energyBefore);
    expect((await statusEstimate(s.page)).energyMj).toBeLessThan(baseline.energyMj);
    await s.page.locator('.monaco-editor .view-line', { hasText: /compress\s+encoder\.3/ }).first().waitFor({ timeout: 10_000 }).catch(() => undefined);
    await s.shot('05-compressed');

    await focusText();
    await s.page.keyboard.press('Control+Z');
    await saveText();
    await waitFor(async () => !(await fileText()).includes('compress encoder.3'), 'the undo on disk');
    await waitFor(async () => (await statusEstimate(s.page)).energyMj === baseline.energyMj, 'the status bar energy to return');
    await waitFor(async () => (await g.locator('[data-testid="total-energy"]').innerText()) === energyBefore, 'the graph energy to return');
  }, 180_000);

  it('auto-partitions from the graph: the place lines change, the estimate changes, undo restores both', async () => {
    const g = await graphFrame(s.page);
    const original = await fileText();
    const placeLines = (text: string): string[] => text.split('\n').filter((l) => /^\s*place\b/.test(l)).map((l) => l.trim());
    const before = placeLines(original);
    expect(before.length).toBeGreaterThan(0);
    const latencyBefore = await g.locator('[data-testid="total-latency"]').innerText();
    // The sliders start at the file's optimize line (α 0.7, β 0.3); the sample's hand placement is not optimal there.
    await g.locator('[data-testid="auto-partition"]').click();
    const toast = s.page.locator('.notifications-toasts', { hasText: 'Auto-Partition' });
    await toast.waitFor({ timeout: 60_000 });
    expect(await toast.innerText()).toMatch(/objective [\d.]+ → [\d.]+/);
    await waitFor(async () => (await statusEstimate(s.page)).latencyMs !== baseline.latencyMs, 'the status bar latency to change');
    await waitFor(async () => (await g.locator('[data-testid="total-latency"]').innerText()) !== latencyBefore, 'the graph latency to change');
    await s.shot('08-auto-partitioned');
    await saveText();
    await waitFor(async () => JSON.stringify(placeLines(await fileText())) !== JSON.stringify(before), 'new place lines on disk');
    const written = await fileText();
    // Only place lines changed, in one edit.
    expect(written.split('\n').filter((l) => !/^\s*place\b/.test(l))).toEqual(original.split('\n').filter((l) => !/^\s*place\b/.test(l)));
    expect(placeLines(written).length).toBeGreaterThan(0);

    // One undo takes the whole plan back.
    await focusText();
    await s.page.keyboard.press('Control+Z');
    await saveText();
    await waitFor(async () => (await fileText()) === original, 'the undo on disk');
    await waitFor(async () => (await statusEstimate(s.page)).latencyMs === baseline.latencyMs, 'the status bar latency to return');
    await waitFor(async () => (await g.locator('[data-testid="total-latency"]').innerText()) === latencyBefore, 'the graph latency to return');
    await s.shot('09-auto-partition-undone');
  }, 180_000);

  it('runs a sample clip from the graph and shows per-head probabilities (before and after compression)', async () => {
    const g = await graphFrame(s.page);
    const clip = 'data/deepear/ambient/music/music-0000.wav';
    await g.locator('select[aria-label="Clip to run"]').selectOption(clip);
    await g.locator('[data-testid="run-clip"]').click();
    await g.locator('div.sense-run-result[data-testid="run-result"]').waitFor({ timeout: 150_000 });
    // When the sample compresses a layer, the host also runs the uncompressed weights (before/after).
    const compressed = /^\s*compress /m.test(await fileText());
    const after = g.locator(`.sense-run-column[data-testid="run-${compressed ? 'after' : 'result'}"]`);
    await after.waitFor({ timeout: 10_000 });
    expect(await g.locator('.sense-run-column[data-testid="run-before"]').count()).toBe(compressed ? 1 : 0);
    const label = compressed ? 'after' : 'result';
    const ambient = after.locator(`[aria-label="${label} probabilities of ambient"] [role="meter"]`);
    const values = await ambient.evaluateAll((els) => els.map((e) => Number(e.getAttribute('aria-valuenow'))));
    expect(values).toHaveLength(4);
    expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    await s.shot('06-run');
  }, 240_000);

  it('exports a bundle with progress and offers to open it', async () => {
    await focusText();
    await runCommand(s.page, 'Sense: Export Bundle');
    const input = s.page.locator('.quick-input-widget input');
    await input.waitFor();
    // The same quick-input widget held the palette a moment ago: wait for the export's prompt.
    await expect.poll(() => input.inputValue(), { timeout: 30_000 }).toMatch(/deepear-bundle$/);
    await s.page.keyboard.press('Enter');
    const toast = s.page.locator('.notifications-toasts', { hasText: 'exported DeepEar' });
    await toast.waitFor({ timeout: 150_000 });
    const dir = join(s.workspace, 'deepear', 'deepear-bundle');
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { pipeline: string; partitions: { model: string }[] };
    expect(manifest.pipeline).toBe('DeepEar');
    expect(manifest.partitions.length).toBeGreaterThan(0);
    for (const p of manifest.partitions) expect(existsSync(join(dir, p.model))).toBe(true);
    expect(existsSync(join(dir, 'index.html'))).toBe(true);
    expect(await toast.locator('a, .monaco-button', { hasText: 'Open Manifest' }).count()).toBeGreaterThan(0);
    await s.shot('07-exported');
    // Open Demo Page serves the bundle over HTTP (not file://, where the page's modules never load) and opens it.
    const popup = s.page.waitForEvent('popup', { timeout: 60_000 });
    await toast.locator('a, .monaco-button', { hasText: 'Open Demo Page' }).first().click();
    const demo = await popup;
    await demo.waitForLoadState('domcontentloaded', { timeout: 60_000 });
    expect(demo.url()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    const html = await demo.content();
    expect(html, `${demo.url()}: ${html.slice(0, 400)}`).toMatch(/<script[^>]*type="module"/);
    // The page finishes loading: ONNX Runtime Web opened every partition (the info line lists them), and a clip runs.
    await demo.locator('#info', { hasText: /partition\(s\): .* Heads: / }).waitFor({ timeout: 60_000 });
    await demo.locator('#file').setInputFiles(join(s.workspace, 'data/deepear/ambient/music/music-0000.wav'));
    await demo.locator('#result h3[data-head="ambient"]').waitFor({ timeout: 60_000 });
    expect(await demo.locator('#result .error').count()).toBe(0);
    await demo.screenshot({ path: join(SHOTS, '07b-demo-page.png') });
    await demo.close();
  }, 240_000);

  it('goes to the definition of a built-in device: the read-only catalog opens from sense-builtin:', async () => {
    const lines = (await fileText()).split('\n');
    const index = lines.findIndex((l) => l.trim().startsWith('target snapdragon800'));
    expect(index).toBeGreaterThanOrEqual(0);
    await focusText();
    await s.page.keyboard.press('Control+G');
    await s.page.keyboard.type(`${index + 1}:${lines[index].indexOf('snapdragon800') + 3}`);
    await s.page.keyboard.press('Enter');
    await s.page.keyboard.press('F12');
    const tab = s.page.locator('.tabs-container .tab', { hasText: 'devices.sense' });
    await tab.waitFor({ timeout: 30_000 });
    await s.page.locator('.monaco-editor .view-line', { hasText: /device\s+snapdragon800/ }).first().waitFor({ timeout: 30_000 });
    await s.shot('10-builtin-devices');
    // Content providers' documents are read-only: typing changes nothing.
    await s.page.keyboard.type('zzz');
    expect(await s.page.locator('.monaco-editor .view-line', { hasText: 'zzz' }).count()).toBe(0);
    await s.page.keyboard.press('Control+W');
    await tab.waitFor({ state: 'detached', timeout: 10_000 });
  }, 120_000);
});
