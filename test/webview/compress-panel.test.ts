/**
 * The inspector's compress panel in a 700x900 side pane, on samples lowered by the real
 * language (test/webview/fixtures/make-fixture.ts) and answered by the mock host: the
 * default rank and its reason, checked against the mock's spectrum recomputed here; the
 * spectrum's labelled axes; the rank field; the "now" column after Apply; a pipeline
 * without weights (AlexNet), where the panel gives the extension host's own reason and no
 * spinner; and the error banner, one entry per distinct error, capped in height.
 * Screenshots: test-output/compress-panel-700x900-*.png.
 */
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { loadPipeline } from '../../cli/load';
import { layerSpectrum, WeightsCache } from '../../extension/compression-preview';
import { viewStateOf } from './fixtures/make-fixture';
import { useHarness } from './use-harness';
import { syntheticSpectrum, weightMatrix, type MockFixture } from '../../webview/mock/mock-model';
import type { FromWebviewMessage, LayerView } from '../../webview/protocol';

const root = resolve(import.meta.dirname, '../..');
const shots = join(root, 'test-output');
const harness = useHarness(shots);
const PANE = { width: 700, height: 900 };

async function fixtureOf(file: string): Promise<MockFixture> {
  const { spec } = await loadPipeline(join(root, file));
  return viewStateOf(spec, 1);
}

/** Opens the page at 700x900 without the mock's own state, sends `fixture` as the host's init, and selects `layerId` as the text cursor would. */
async function openAt(fixture: MockFixture, layerId: string): Promise<Page> {
  const page = await harness().open('theme=dark&manual', PANE);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  (page as unknown as { errors: string[] }).errors = errors;
  await page.waitForFunction(() => window.senseMock.posted.some((m) => m.body.type === 'ready'));
  await page.evaluate(
    ([f, id]) => {
      window.senseMock.setFixture(f);
      window.senseMock.send({ type: 'init', protocolVersion: 1, state: f.state });
      window.senseMock.send({ type: 'select', layerId: id });
    },
    [fixture, layerId] as const,
  );
  await page.waitForSelector('.sense-compress');
  return page;
}

function previews(page: Page): Promise<FromWebviewMessage[]> {
  return page.evaluate(() => window.senseMock.posted.filter((m) => m.body.type === 'previewCompression'));
}

function rankOf(m: FromWebviewMessage): number | undefined {
  return m.body.type === 'previewCompression' && m.body.method.kind === 'svd' && m.body.method.criterion === 'rank' ? m.body.method.rank : undefined;
}

/** The share of sum(s^2) held by the first `rank` values: written out here, apart from the webview's code. */
function keptShare(values: number[], rank: number): number {
  let total = 0;
  for (const v of values) total += v ** 2;
  let kept = 0;
  for (let i = 0; i < rank; i++) kept += values[i] ** 2;
  return kept / total;
}

/** Gives the inspector the height a person would (the pane's edge moved up with the keyboard) and scrolls to the compress panel, for a screenshot. */
async function showPanel(page: Page): Promise<void> {
  await page.waitForFunction(() => !document.querySelector('.sense-laying'), undefined, { timeout: 20_000 });
  await page.focus('.sense-splitter');
  for (let i = 0; i < 14; i++) await page.keyboard.press('ArrowUp');
  await page.$eval('.sense-compress', (el) => el.scrollIntoView({ block: 'start' }));
}

describe('compress panel at 700x900', () => {
  it("opens DeepEar's encoder.2 at the smallest rank keeping 90% of the spectral energy, says so, and draws labelled axes", async () => {
    const fixture = await fixtureOf('samples/deepear/deepear.sense');
    const layer = fixture.state.layers.find((l) => l.id === 'encoder.2') as LayerView;
    expect(layer.compression).toBeUndefined();
    const [out, inp] = weightMatrix(layer)!;
    const values = syntheticSpectrum(layer.id, Math.min(out, inp));
    let expected = 1;
    while (keptShare(values, expected) < 0.9) expected++;
    // The default must also save: the mock's break-even rank is floor(out * in / (out + in)).
    expect(expected).toBeLessThanOrEqual(Math.floor((out * inp) / (out + inp)));

    const page = await openAt(fixture, 'encoder.2');
    await page.waitForSelector('[data-testid="spectrum-plot"]');
    const rank = Number(await page.inputValue('[data-testid="rank-input"]'));
    expect(rank).toBe(expected);
    expect(keptShare(values, rank)).toBeGreaterThanOrEqual(0.9);
    expect(keptShare(values, rank - 1)).toBeLessThan(0.9);
    expect(Number(await page.inputValue('[data-testid="rank-slider"]'))).toBe(rank);
    expect(await page.textContent('[data-testid="retained-energy"]')).toBe(`${(keptShare(values, rank) * 100).toFixed(1)}% of the spectral energy`);
    expect(await page.textContent('[data-testid="rank-default-why"]')).toBe(`Default rank ${expected}, the smallest that keeps 90% of the spectral energy.`);
    // The first preview asked is at the default rank, not at a guess made before the spectrum came.
    await page.waitForFunction(() => window.senseMock.posted.some((m) => m.body.type === 'previewCompression'));
    expect((await previews(page)).map(rankOf)[0]).toBe(expected);
    // "Energy" alone means mJ in this panel.
    expect(await page.textContent('.sense-compress')).not.toMatch(/energy retained/i);

    // Axes: titles, and ticks in order along each axis.
    const axes = await page.evaluate(() => {
      const axis = (id: string) => {
        const g = document.querySelector(`[data-testid="${id}"]`)!;
        const ticks = [...g.querySelectorAll('.sense-tick text')].map((t) => ({ text: t.textContent ?? '', x: Number(t.getAttribute('x')), y: Number(t.getAttribute('y')) }));
        return { title: g.querySelector('.sense-axis-title')?.textContent ?? '', ticks };
      };
      return { x: axis('spectrum-x-axis'), y: axis('spectrum-y-axis'), energy: axis('spectrum-energy-axis') };
    });
    expect(axes.x.title).toBe('rank');
    expect(axes.y.title).toBe('singular value (log)');
    expect(axes.energy.title).toBe('spectral energy kept');
    const xTicks = axes.x.ticks.map((t) => Number(t.text));
    expect(xTicks[0]).toBe(1);
    expect(xTicks.length).toBeGreaterThanOrEqual(4);
    expect(xTicks.at(-1)).toBeLessThanOrEqual(Math.min(out, inp));
    expect(axes.x.ticks.every((t, i) => i === 0 || t.x > axes.x.ticks[i - 1].x)).toBe(true);
    const yTicks = axes.y.ticks.map((t) => Number(t.text));
    expect(yTicks.length).toBeGreaterThanOrEqual(3);
    // Larger singular values are drawn higher (smaller y), and every tick lies within the spectrum.
    expect(axes.y.ticks.every((t, i) => i === 0 || (yTicks[i] > yTicks[i - 1] && t.y < axes.y.ticks[i - 1].y))).toBe(true);
    expect(Math.min(...yTicks)).toBeGreaterThanOrEqual(Math.min(...values) * 0.999);
    expect(Math.max(...yTicks)).toBeLessThanOrEqual(Math.max(...values) * 1.001);
    expect(axes.energy.ticks.map((t) => t.text)).toEqual(['0%', '50%', '90%', '100%']);

    // The slider spans the panel (less its padding), not a third of it.
    const widths = await page.evaluate(() => ({
      slider: document.querySelector('[data-testid="rank-slider"]')!.getBoundingClientRect().width,
      panel: document.querySelector('.sense-compress')!.getBoundingClientRect().width,
    }));
    expect(widths.slider).toBeGreaterThanOrEqual(widths.panel - 2);
    await showPanel(page);
    await page.waitForSelector('[data-testid="delta-parameters"]');
    await page.screenshot({ path: join(shots, 'compress-panel-700x900-deepear.png') });

    // stress.2 (2 x 128): 90% of its spectral energy needs more ranks than save anything,
    // so the default is the break-even rank, and the line says why.
    const stress = fixture.state.layers.find((l) => l.id === 'stress.2') as LayerView;
    const [sOut, sIn] = weightMatrix(stress)!;
    const sValues = syntheticSpectrum(stress.id, Math.min(sOut, sIn));
    let sNeeded = 1;
    while (keptShare(sValues, sNeeded) < 0.9) sNeeded++;
    const breakEven = Math.floor((sOut * sIn) / (sOut + sIn));
    expect(sNeeded).toBeGreaterThan(breakEven);
    await page.evaluate(() => window.senseMock.send({ type: 'select', layerId: 'stress.2' }));
    await page.waitForFunction(() => document.querySelector('.sense-inspector')?.getAttribute('aria-label') === 'Inspector of stress.2');
    await page.waitForSelector('[data-testid="rank-default-why"]');
    expect(Number(await page.inputValue('[data-testid="rank-input"]'))).toBe(breakEven);
    expect(await page.textContent('[data-testid="rank-default-why"]')).toBe(
      `Default rank ${breakEven}, the break-even: keeping 90% of the spectral energy needs rank ${sNeeded}, which would save nothing.`,
    );
    expect((page as unknown as { errors: string[] }).errors).toEqual([]);
    await page.close();
  });

  it('a typed rank updates the preview on Enter, is bounded, and after Apply the "now" column shows the compressed layer', async () => {
    const fixture = await fixtureOf('samples/deepear/deepear.sense');
    const layer = fixture.state.layers.find((l) => l.id === 'encoder.2') as LayerView;
    const [out, inp] = weightMatrix(layer)!;
    const page = await openAt(fixture, 'encoder.2');
    await page.waitForSelector('[data-testid="delta-parameters"]');
    const asked = (await previews(page)).length;

    await page.fill('[data-testid="rank-input"]', '40');
    // Typing alone asks nothing; Enter does.
    await page.waitForTimeout(300);
    expect((await previews(page)).length).toBe(asked);
    await page.press('[data-testid="rank-input"]', 'Enter');
    await page.waitForFunction(() => window.senseMock.posted.some((m) => m.body.type === 'previewCompression' && m.body.method.kind === 'svd' && 'rank' in m.body.method && m.body.method.rank === 40));
    expect(Number(await page.inputValue('[data-testid="rank-slider"]'))).toBe(40);
    const dense = out * inp + out;
    const factored = 40 * (out + inp) + out;
    await page.waitForFunction((text) => document.querySelector('[data-testid="delta-parameters"]')?.textContent?.includes(text), '167 k');
    const row = async (): Promise<string[]> => page.$$eval('[data-testid="delta-parameters"] td', (tds) => tds.map((t) => t.textContent ?? ''));
    expect([dense, factored]).toEqual([1_003_776, 167_296]);
    expect(await row()).toEqual(['1 M', '167 k', `−${(100 * (1 - factored / dense)).toPrecision(3)}%`]);

    // Out of range: clamped to the matrix's rank, and to 1.
    await page.fill('[data-testid="rank-input"]', '99999');
    await page.press('[data-testid="rank-input"]', 'Enter');
    expect(await page.inputValue('[data-testid="rank-input"]')).toBe(String(Math.min(out, inp)));
    await page.fill('[data-testid="rank-input"]', '0');
    await page.press('[data-testid="rank-input"]', 'Enter');
    expect(await page.inputValue('[data-testid="rank-input"]')).toBe('1');
    // Escape abandons what was typed.
    await page.fill('[data-testid="rank-input"]', '40');
    await page.press('[data-testid="rank-input"]', 'Enter');
    await page.fill('[data-testid="rank-input"]', '77');
    await page.press('[data-testid="rank-input"]', 'Escape');
    expect(await page.inputValue('[data-testid="rank-input"]')).toBe('40');
    // The arrow keys step the rank and apply at once, as the slider does.
    await page.press('[data-testid="rank-input"]', 'ArrowUp');
    await page.waitForFunction(() => window.senseMock.posted.some((m) => m.body.type === 'previewCompression' && 'rank' in m.body.method && m.body.method.rank === 41));
    await page.press('[data-testid="rank-input"]', 'ArrowDown');
    expect(Number(await page.inputValue('[data-testid="rank-slider"]'))).toBe(40);

    await page.click('[data-testid="apply-compression"]');
    await page.waitForFunction(() => document.querySelector('.react-flow__node[data-id="encoder.2"]')?.textContent?.includes('svd rank 40'));
    // The layer as the text now stands: the "now" column is the compressed layer, no change left.
    await page.waitForFunction(() => document.querySelector('[data-testid="delta-parameters"] td')?.textContent === '167 k');
    expect(await row()).toEqual(['167 k', '167 k', '±0%']);
    await page.close();
  });

  it('without weights (AlexNet) the panel gives the host\'s reason, no spinner stays, and no banner piles up', async () => {
    const fixture = await fixtureOf('samples/deepx/alexnet.sense');
    const { spec } = await loadPipeline(join(root, 'samples/deepx/alexnet.sense'));
    // The extension host's own message for this pipeline, from the code that serves the request.
    const reason = await layerSpectrum(new WeightsCache(), spec, { sensePath: join(root, 'samples/deepx/alexnet.sense'), roots: [root] }, 'imagenet.1').then(
      () => {
        throw new Error('AlexNet unexpectedly has weights');
      },
      (e: Error) => e.message,
    );
    expect(reason).toMatch(/weights/);
    expect(reason).toMatch(/sense init-weights/);
    fixture.weightsError = reason;
    const page = await openAt(fixture, 'imagenet.1');
    await page.waitForSelector('[data-testid="compress-unavailable"]');
    expect(await page.textContent('[data-testid="compress-unavailable"]')).toContain(reason);
    // The preview failed with the same reason: shown once.
    await page.waitForFunction(() => document.querySelector('[data-testid="delta-pending"]')?.textContent?.startsWith('No estimate'));
    expect(await page.$$eval('[data-testid="compress-unavailable"] p', (p) => p.length)).toBe(1);
    // The graph's own "Laying out…" ends with ELK's layout; after it nothing on the page may spin.
    await page.waitForFunction(() => !document.querySelector('.sense-laying'), undefined, { timeout: 20_000 });
    expect(await page.$('.codicon-modifier-spin')).toBeNull();
    expect(await page.getAttribute('.sense-deltas', 'aria-busy')).toBe('false');
    // Moving the rank asks again and fails again: still one reason, no banner.
    await page.fill('[data-testid="rank-input"]', '300');
    await page.press('[data-testid="rank-input"]', 'Enter');
    await page.waitForFunction(() => window.senseMock.posted.some((m) => m.body.type === 'previewCompression' && 'rank' in m.body.method && m.body.method.rank === 300));
    await page.waitForTimeout(200);
    expect(await page.$$eval('[data-testid="compress-unavailable"] p', (p) => p.length)).toBe(1);
    expect(await page.$('.codicon-modifier-spin')).toBeNull();
    expect(await page.$('[data-testid="error-banner"]')).toBeNull();
    // Another layer: the same reason, still no banner.
    await page.evaluate(() => window.senseMock.send({ type: 'select', layerId: 'convs.3' }));
    await page.waitForFunction(() => document.querySelector('.sense-inspector')?.getAttribute('aria-label') === 'Inspector of convs.3');
    await page.waitForSelector('[data-testid="compress-unavailable"]');
    expect(await page.$('[data-testid="error-banner"]')).toBeNull();
    expect(await page.$('.codicon-modifier-spin')).toBeNull();
    await page.evaluate(() => window.senseMock.send({ type: 'select', layerId: 'imagenet.1' }));
    await page.waitForSelector('[data-testid="compress-unavailable"]');
    await showPanel(page);
    await page.screenshot({ path: join(shots, 'compress-panel-700x900-alexnet-no-weights.png') });
    await page.close();
  });

  it('the same error twice is one banner with a count, and many errors do not squeeze the graph', async () => {
    const page = await openAt(await fixtureOf('samples/deepear/deepear.sense'), 'encoder.3');
    const canvas = (): Promise<number> => page.$eval('.sense-graph-canvas', (c) => c.getBoundingClientRect().height);
    const before = await canvas();
    await page.evaluate(() => {
      for (let i = 0; i < 3; i++) window.senseMock.send({ type: 'error', message: 'The graph could not be updated: disk full' });
      window.senseMock.send({ type: 'error', message: 'The host refused a message: bad rank' });
    });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="error-banner-entry"]').length === 2);
    await page.waitForFunction(() => document.querySelector('[data-testid="error-banner-count"]')?.textContent === '×3');
    const entries = await page.$$eval('[data-testid="error-banner-entry"] .sense-banner-text', (t) => t.map((x) => x.textContent));
    expect(entries).toEqual(['The graph could not be updated: disk full', 'The host refused a message: bad rank']);
    // Twenty distinct errors: the banner scrolls instead of growing.
    await page.evaluate(() => {
      for (let i = 0; i < 20; i++) window.senseMock.send({ type: 'error', message: `distinct failure number ${i} with a message long enough to wrap onto a second line in a narrow pane` });
    });
    await page.waitForFunction(() => document.body.textContent?.includes('distinct failure number 19'));
    const banner = await page.$eval('[data-testid="error-banner"]', (b) => b.getBoundingClientRect().height);
    const after = await canvas();
    console.log(`graph canvas ${before.toFixed(0)} px high before the errors, ${after.toFixed(0)} px with 22 of them (banner ${banner.toFixed(0)} px)`);
    expect(banner).toBeLessThanOrEqual(120);
    expect(after).toBeGreaterThanOrEqual(before - 120);
    expect(after).toBeGreaterThanOrEqual(300);
    await page.screenshot({ path: join(shots, 'compress-panel-700x900-banner.png') });
    await page.click('.sense-banner-clear');
    await page.waitForFunction(() => !document.querySelector('[data-testid="error-banner"]'));
    expect(await canvas()).toBeCloseTo(before, 0);
    await page.close();
  });
});
