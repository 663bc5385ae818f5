/**
 * A graph of 10,000 layers (webview/mock/mock-model.ts `largeFixture`: 13 shared blocks,
 * 39 heads, varied layers that repeated-run collapsing leaves at about 9,800 nodes) opens
 * with its blocks collapsed, each block's node counting its own layers; a click on a block
 * expands it and shows its layers in order; zoomed out, nodes are drawn simplified. Timing
 * is `npm run bench -- webview`'s business, not this test's. Screenshots go to
 * test-output/webview/large-10000-*.png.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { useHarness } from './use-harness';
import type { FromWebviewMessage, ViewState } from '../../webview/protocol';

const shots = 'test-output/webview';
const harness = useHarness(shots);

/** Generates the pipeline in the page (megabytes need not cross the driver) and posts it as `init`. */
async function openLarge(page: Page, layerCount: number): Promise<ViewState> {
  await page.waitForFunction(() => window.senseMock.posted.some((m) => m.body.type === 'ready'));
  return page.evaluate((n) => {
    const state = window.senseMock.useLargeFixture(n, 'g');
    window.senseMock.send({ type: 'init', protocolVersion: 1, state });
    return state;
  }, layerCount);
}

describe('a 10,000-layer graph', () => {
  it('opens with every block collapsed to one node counting its layers; a click expands a block and shows its layers; zoomed out, nodes are simplified', async () => {
    const page = await harness().open('theme=dark&manual', { width: 1400, height: 900 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const state = await openLarge(page, 10_000);
    expect(state.layers).toHaveLength(10_000);
    await page.waitForFunction((n) => document.querySelectorAll('.react-flow__node-group .sense-group.is-collapsed').length === n, state.blocks.length, { timeout: 60_000 });

    // Each collapsed block says how many layers it stands for: the counts are the state's, and add up to 10,000.
    const counts = await page.$$eval('.react-flow__node-group', (nodes) => nodes.map((n) => [n.getAttribute('data-id')!.slice('block:'.length), n.querySelector('.sense-group-summary')?.textContent ?? ''] as const));
    const expected = new Map<string, number>();
    for (const l of state.layers) expected.set(l.block, (expected.get(l.block) ?? 0) + 1);
    expect(counts).toHaveLength(state.blocks.length);
    let total = 0;
    for (const [block, text] of counts) {
      const n = Number(/(\d+) layers/.exec(text)?.[1]);
      expect(n, `${block}: "${text}"`).toBe(expected.get(block));
      total += n;
    }
    expect(total).toBe(10_000);
    expect(await page.$$('.react-flow__node-layer')).toHaveLength(0);
    // The default view is readable (full detail), from the input down.
    expect(await page.$('.sense-low-detail')).toBeNull();
    await page.waitForSelector('.react-flow__node[data-id="input"]');
    await page.screenshot({ path: join(shots, 'large-10000-default.png') });

    // A click on the first shared block expands it: its first layers appear, in order, with their kinds.
    const block = state.blocks[0].name;
    await page.click(`.react-flow__node[data-id="block:${block}"]`);
    await page.waitForSelector(`.react-flow__node[data-id="${block}.1"]`, { timeout: 60_000 });
    const toggles = (await page.evaluate(() => window.senseMock.posted)).filter((m: FromWebviewMessage) => m.body.type === 'toggleCollapse');
    expect(toggles.at(-1)!.body).toEqual({ type: 'toggleCollapse', block, collapsed: false });
    await page.waitForTimeout(400);
    const shown = await page.$$eval(`.react-flow__node-layer[data-id^="${block}."]`, (nodes) => nodes.map((n) => ({ id: n.getAttribute('data-id')!, text: n.textContent ?? '', top: n.getBoundingClientRect().top })));
    const mine = state.layers.filter((l) => l.block === block);
    expect(shown.length).toBeGreaterThanOrEqual(3);
    // Drawn only in view: far fewer than the block's layers are in the DOM.
    expect(shown.length).toBeLessThan(mine.length);
    for (const s of shown) {
      const layer = mine.find((l) => l.id === s.id)!;
      expect(s.text).toContain(layer.kind);
    }
    // In order down the pane: a layer with a larger index is lower.
    const byIndex = [...shown].sort((a, b) => Number(a.id.split('.')[1]) - Number(b.id.split('.')[1]));
    for (let i = 1; i < byIndex.length; i++) expect(byIndex[i].top).toBeGreaterThan(byIndex[i - 1].top);
    // The other blocks stay collapsed: every layer node drawn is the expanded block's.
    const drawn = await page.$$eval('.react-flow__node-layer, .react-flow__node-run', (n) => n.map((x) => x.getAttribute('data-id')!));
    expect(drawn.filter((id) => !id.startsWith(`${block}.`))).toEqual([]);
    await page.screenshot({ path: join(shots, 'large-10000-expanded.png') });

    // Zoomed out below half size, nodes are drawn simplified (their kind in large type) and edges unlabelled.
    for (let i = 0; i < 5 && (await page.$$('.sense-low-detail')).length === 0; i++) {
      await page.click('button[aria-label="Zoom out"]');
      await page.waitForTimeout(300);
    }
    expect(parseFloat((await page.textContent('[data-testid="zoom-level"]'))!)).toBeLessThan(50);
    const simplified = await page.$$eval(`.react-flow__node-layer .sense-low-detail`, (n) => n.map((x) => [x.getAttribute('data-layer-id'), x.textContent] as const));
    expect(simplified.length).toBeGreaterThan(shown.length);
    for (const [id, text] of simplified) expect(text).toBe(mine.find((l) => l.id === id)!.kind);
    expect(await page.$$('.react-flow__edge-text')).toHaveLength(0);
    await page.screenshot({ path: join(shots, 'large-10000-zoomed-out.png') });
    // The whole graph, fitted from the layout (React Flow has measured only the nodes it drew).
    await page.click('button[aria-label="Show the whole graph"]');
    await page.waitForFunction(() => parseFloat(document.querySelector('[data-testid="zoom-level"]')!.textContent!) < 10);
    expect(errors).toEqual([]);
    await page.close();
  });
});
