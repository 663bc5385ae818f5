/**
 * The graph editor in real Chromium against the mock host (webview/mock/): rendering of
 * the DeepEar fixture, the messages each interaction posts, collapsing, keyboard
 * navigation, resilience to hostile host messages, a strict CSP, and screenshots in the
 * dark, light and high-contrast themes (test-output/webview/*.png).
 */
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import fixture from '../../webview/mock/deepear-state.json';
import { startHarness, type Harness } from './harness';
import type { FromWebviewMessage, ViewState } from '../../webview/protocol';

const state = fixture.state as ViewState;
const shots = 'test-output/webview';
let harness: Harness;

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  harness = await startHarness();
});
afterAll(async () => {
  await harness?.close();
});

async function openGraph(query = 'theme=dark'): Promise<Page> {
  const page = await harness.open(query);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  (page as unknown as { errors: string[] }).errors = errors;
  await page.waitForFunction((n) => document.querySelectorAll('.react-flow__node-layer').length === n, state.layers.length);
  return page;
}

function posted(page: Page): Promise<FromWebviewMessage[]> {
  return page.evaluate(() => window.senseMock.posted);
}

async function waitForPosted(page: Page, type: string, count = 1): Promise<FromWebviewMessage[]> {
  await page.waitForFunction(([t, n]) => window.senseMock.posted.filter((m) => m.body.type === t).length >= (n as number), [type, count] as const);
  return (await posted(page)).filter((m) => m.body.type === type);
}

describe('graph editor in Chromium', () => {
  it('renders every layer of the fixture with its figures, edges labelled with shapes, no CSP violation', async () => {
    const page = await openGraph();
    const ids = await page.$$eval('.react-flow__node-layer', (nodes) => nodes.map((n) => n.getAttribute('data-id')).sort());
    expect(ids).toEqual(state.layers.map((l) => l.id).sort());
    const enc2 = await page.textContent('.react-flow__node[data-id="encoder.2"]');
    expect(enc2).toContain('dense');
    expect(enc2).toContain('1024');
    expect(enc2).toContain('svd rank 256');
    expect(enc2).toContain('dsp');
    // Edge labels carry the tensor shapes of the fixture's edges.
    const labels = await page.$$eval('.react-flow__edge-text', (t) => t.map((x) => x.textContent));
    expect(labels).toContain('40×98');
    expect(labels).toContain('3920');
    expect(labels.filter((l) => l === '1024').length).toBeGreaterThanOrEqual(3);
    // Processor colour: the dsp layers and the cpu layers get different processor classes.
    const dspClass = await page.getAttribute('.react-flow__node[data-id="encoder.2"] .sense-layer', 'class');
    const cpuClass = await page.getAttribute('.react-flow__node[data-id="speaker.1"] .sense-layer', 'class');
    expect(dspClass).toMatch(/proc-2/);
    expect(cpuClass).toMatch(/proc-0/);
    expect(await page.textContent('[data-testid="total-latency"]')).toContain('6.48 ms');
    expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
    const ready = (await posted(page))[0];
    expect(ready.body).toEqual({ type: 'ready', protocolVersion: 1 });
    await page.screenshot({ path: `${shots}/graph-dark.png` });
    await page.close();
  });

  it('clicking a node posts reveal with its id and the inspector slider and Apply post the chosen rank', async () => {
    const page = await openGraph();
    await page.click('.react-flow__node[data-id="encoder.3"]');
    const reveal = await waitForPosted(page, 'reveal');
    expect(reveal.at(-1)!.body).toEqual({ type: 'reveal', layerId: 'encoder.3' });
    await waitForPosted(page, 'requestSpectrum');
    await page.waitForSelector('.sense-spectrum');
    // Move the slider to rank 100 with the keyboard-free way a user drags it.
    await page.$eval('[data-testid="rank-slider"]', (el) => {
      const input = el as HTMLInputElement;
      const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
      setter.call(input, '100');
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await page.waitForFunction(() => window.senseMock.posted.some((m) => m.body.type === 'previewCompression' && 'method' in m.body && m.body.method.kind === 'svd' && 'rank' in m.body.method && m.body.method.rank === 100));
    await page.waitForSelector('[data-testid="delta-parameters"]');
    const deltas = await page.textContent('[data-testid="delta-parameters"]');
    expect(deltas).toContain('1.05 M'); // before: 1024 x 1024 + 1024
    expect(deltas).toContain('206 k'); // after: 100 x (1024 + 1024) + 1024
    expect(await page.textContent('[data-testid="retained-energy"]')).toMatch(/^\d+\.\d% of the spectral energy$/);
    expect(await page.textContent('[data-testid="delta-error"]')).toMatch(/relative output error/);
    await page.screenshot({ path: `${shots}/inspector-dark.png` });
    const shown = await page.evaluate(() => window.senseMock.state.documentVersion);
    await page.click('[data-testid="apply-compression"]');
    const apply = await waitForPosted(page, 'applyCompression');
    expect(apply.at(-1)!.body).toEqual({ type: 'applyCompression', layerId: 'encoder.3', method: { kind: 'svd', criterion: 'rank', rank: 100 }, documentVersion: shown });
    // The mock host writes the text and sends an update: the node shows it, totals drop.
    await page.waitForFunction(() => document.querySelector('.react-flow__node[data-id="encoder.3"]')?.textContent?.includes('svd rank 100'));
    const latency = await page.textContent('[data-testid="total-latency"]');
    expect(latency).not.toContain('6.48 ms');
    await page.close();
  });

  it('collapsing a head hides its layers and posts toggleCollapse; expanding shows them again', async () => {
    const page = await openGraph();
    await page.click('button[aria-label="Collapse head ambient"]');
    await page.waitForFunction(() => !document.querySelector('.react-flow__node[data-id="ambient.1"]'));
    expect(await page.$('.react-flow__node[data-id="ambient.2"]')).toBeNull();
    expect(await page.$('.react-flow__node[data-id="speaker.1"]')).not.toBeNull();
    expect(await page.textContent('.react-flow__node[data-id="block:ambient"]')).toContain('2 layers');
    const toggles = await waitForPosted(page, 'toggleCollapse');
    expect(toggles.at(-1)!.body).toEqual({ type: 'toggleCollapse', block: 'ambient', collapsed: true });
    await page.screenshot({ path: `${shots}/collapsed-dark.png` });
    await page.click('button[aria-label="Expand head ambient"]');
    await page.waitForSelector('.react-flow__node[data-id="ambient.1"]');
    await page.close();
  });

  it('the processor picker posts place for the layer and for its block', async () => {
    const page = await openGraph();
    await page.click('.react-flow__node[data-id="ambient.1"]');
    await page.selectOption('select[aria-label="Place ambient.1 on"]', 'gpu');
    const place = await waitForPosted(page, 'place');
    const first = place.at(-1)!.body as { documentVersion: number };
    expect(place.at(-1)!.body).toEqual({ type: 'place', targets: ['ambient.1'], processor: 'gpu', documentVersion: first.documentVersion });
    await page.waitForFunction(() => document.querySelector('.react-flow__node[data-id="ambient.1"] .sense-layer')?.className.includes('proc-1'));
    await page.selectOption('select[aria-label="Place head ambient on"]', 'cpu');
    const place2 = await waitForPosted(page, 'place', 2);
    // Made against the graph redrawn after the first place line was written.
    expect(place2.at(-1)!.body).toEqual({ type: 'place', targets: ['ambient'], processor: 'cpu', documentVersion: first.documentVersion + 1 });
    await page.click('[data-testid="auto-partition"]');
    const auto = await waitForPosted(page, 'autoPartition');
    expect(auto.at(-1)!.body).toEqual({ type: 'autoPartition', alpha: 0.7, beta: 0.3 });
    await page.close();
  });

  it('a select from the host highlights the node without posting reveal', async () => {
    const page = await openGraph();
    await page.evaluate(() => window.senseMock.send({ type: 'select', layerId: 'speaker.2' }));
    await page.waitForSelector('.react-flow__node[data-id="speaker.2"] .sense-layer.is-selected');
    expect((await posted(page)).filter((m) => m.body.type === 'reveal')).toEqual([]);
    await page.close();
  });

  it('keyboard: arrows move the selection, Enter reveals, Space collapses', async () => {
    const page = await openGraph();
    await page.focus('.sense-graph');
    await page.keyboard.press('ArrowDown'); // first layer
    await page.waitForSelector('.react-flow__node[data-id="encoder.1"] .is-selected');
    await page.keyboard.press('ArrowDown');
    await page.waitForSelector('.react-flow__node[data-id="encoder.2"] .is-selected');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    // Below encoder.3 come the heads' first layers side by side; Right moves across.
    const below = await page.$eval('.sense-layer.is-selected', (n) => n.getAttribute('data-layer-id'));
    expect(['ambient.1', 'speaker.1']).toContain(below);
    await page.keyboard.press(below === 'ambient.1' ? 'ArrowRight' : 'ArrowLeft');
    const across = await page.$eval('.sense-layer.is-selected', (n) => n.getAttribute('data-layer-id'));
    expect(across).toBe(below === 'ambient.1' ? 'speaker.1' : 'ambient.1');
    await page.keyboard.press('Enter');
    const reveal = await waitForPosted(page, 'reveal');
    expect(reveal.at(-1)!.body).toEqual({ type: 'reveal', layerId: across });
    expect(await page.textContent('.sense-sr-only')).toContain(`Layer ${across}`);
    await page.keyboard.press(' ');
    await page.waitForFunction((id) => !document.querySelector(`.react-flow__node[data-id="${id}"]`), across);
    await page.close();
  });

  it('hostile or malformed host messages show the error banner and the graph survives', async () => {
    const page = await openGraph();
    await page.evaluate(() => {
      const m = window.senseMock;
      m.sendRaw('not a message');
      m.sendRaw({ messageId: 5, body: { type: 'update', documentVersion: 9, state: { pipeline: 'x' } } });
      m.sendRaw(JSON.parse('{"messageId":6,"body":{"type":"select","layerId":"encoder.1","__proto__":{"polluted":true}}}'));
      const bad = structuredClone(m.state);
      bad.documentVersion = 10;
      bad.edges.push({ id: 'bad', source: 'nowhere.1', target: 'encoder.1', shape: [1] });
      m.send({ type: 'update', documentVersion: 10, state: bad });
      m.send({ type: 'error', message: '<img src=x onerror="window.hacked=1">' });
    });
    await page.waitForSelector('[data-testid="error-banner"]');
    const banner = await page.textContent('[data-testid="error-banner"]');
    expect(banner).toContain('invalid message from the host');
    expect(banner).toContain('inconsistent state');
    expect(banner).toContain('<img src=x');
    expect(await page.evaluate(() => (window as unknown as { hacked?: number }).hacked)).toBeUndefined();
    expect(await page.evaluate(() => ({} as Record<string, unknown>).polluted)).toBeUndefined();
    // The graph still shows the last good state.
    expect(await page.$$eval('.react-flow__node-layer', (n) => n.length)).toBe(state.layers.length);
    expect((page as unknown as { errors: string[] }).errors).toEqual([]);
    await page.screenshot({ path: `${shots}/error-banner-dark.png` });
    // A protocol version the webview does not speak is refused with advice.
    await page.evaluate(() => window.senseMock.send({ type: 'init', protocolVersion: 99, state: window.senseMock.state }));
    await page.waitForFunction(() => document.body.textContent?.includes('protocol version 99'));
    await page.close();
  });

  it('ignores an update older than the state it shows (echoes)', async () => {
    const page = await openGraph();
    await page.evaluate(() => {
      const m = window.senseMock;
      const newer = { ...structuredClone(m.state), documentVersion: 5, pipeline: 'Newer' };
      m.send({ type: 'update', documentVersion: 5, state: newer });
      m.send({ type: 'update', documentVersion: 3, state: { ...structuredClone(m.state), documentVersion: 3, pipeline: 'Older' } });
    });
    await page.waitForFunction(() => document.querySelector('.sense-title')?.textContent?.includes('Newer'));
    await page.waitForTimeout(100);
    expect(await page.textContent('.sense-title')).toContain('Newer');
    await page.close();
  });

  it('run panel shows per-head predictions, accuracy and confusion, before and after', async () => {
    const page = await openGraph();
    await page.selectOption('select[aria-label="Clip to run"]', 'samples/deepear/clips/music-01.wav');
    await page.click('[data-testid="run-clip"]');
    const run = await waitForPosted(page, 'runClip');
    expect(run.at(-1)!.body).toEqual({ type: 'runClip', path: 'samples/deepear/clips/music-01.wav' });
    await page.waitForSelector('[data-testid="run-result"]');
    // encoder.2 is compressed in the fixture, so the mock reports before and after.
    expect(await page.$('[data-testid="run-before"]')).not.toBeNull();
    expect(await page.textContent('[data-testid="run-after"]')).toContain('music');
    await page.click('[data-testid="evaluate-folder"]');
    await page.waitForSelector('.sense-confusion');
    expect(await page.textContent('[data-testid="run-after"]')).toMatch(/accuracy 90\.0%/);
    await page.click('[data-testid="export-bundle"]');
    await waitForPosted(page, 'exportBundle');
    await page.close();
  });

  it('renders in light and high-contrast themes from the VS Code variables', async () => {
    for (const theme of ['light', 'hc']) {
      const page = await openGraph(`theme=${theme}`);
      await page.click('.react-flow__node[data-id="encoder.2"]');
      await page.waitForSelector('[data-testid="delta-parameters"]');
      const bg = await page.evaluate(() => getComputedStyle(document.querySelector('.react-flow')!).backgroundColor);
      expect(bg).toBe(theme === 'light' ? 'rgb(255, 255, 255)' : 'rgb(0, 0, 0)');
      await page.screenshot({ path: `${shots}/graph-${theme}.png` });
      await page.close();
    }
  });
});
