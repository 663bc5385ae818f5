/**
 * The graph is readable where it is used: in a side pane of 700x900 CSS pixels (VS Code's
 * graph opened to the side of the text), the default view of the DeepEar, watch and
 * AlexNet samples draws every node's text at 11 px or more on screen, and no overlay
 * (minimap, zoom controls) sits on a node. The samples are lowered by the real language
 * (test/webview/fixtures/make-fixture.ts); screenshots go to
 * test-output/graph-700x900-<sample>.png for a person to look at.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { loadPipeline } from '../../cli/load';
import { viewStateOf } from './fixtures/make-fixture';
import { useHarness } from './use-harness';
import type { MockFixture } from '../../webview/mock/mock-model';

const root = resolve(import.meta.dirname, '../..');
const shots = join(root, 'test-output');
const SAMPLES = [
  { name: 'deepear', file: 'samples/deepear/deepear.sense' },
  { name: 'watch', file: 'samples/watch/activity.sense' },
  { name: 'alexnet', file: 'samples/deepx/alexnet.sense' },
];
/** The smallest text a person reads comfortably in an editor pane, in CSS pixels on screen. */
const READABLE_PX = 11;

const harness = useHarness(shots);

/** Opens the page without the mock's own state and sends `fixture` as the host's init. */
async function openSample(fixture: MockFixture, viewport: { width: number; height: number }): Promise<Page> {
  const page = await harness().open('theme=dark&manual', viewport);
  await page.waitForFunction(() => window.senseMock.posted.some((m) => m.body.type === 'ready'));
  await page.evaluate((f) => {
    window.senseMock.setFixture(f);
    window.senseMock.send({ type: 'init', protocolVersion: 1, state: f.state });
  }, fixture);
  await page.waitForSelector('.react-flow__node-layer, .react-flow__node-group');
  // The default view is set after ELK's layout; wait until the viewport transform stops changing.
  let last = '';
  for (let i = 0; i < 60; i++) {
    await page.waitForTimeout(100);
    const now = await page.$eval('.react-flow__viewport', (v) => (v as HTMLElement).style.transform);
    if (now === last && now !== '') break;
    last = now;
  }
  return page;
}

interface Measured {
  zoom: number;
  /** The smallest on-screen font size of any text in a node, with the element's text. */
  nodeMinPx: number;
  nodeMinText: string;
  edgeMinPx: number;
  /** Overlays (minimap, controls) whose box intersects a node's box on screen. */
  covering: string[];
  nodesShown: number;
}

async function measure(page: Page): Promise<Measured> {
  return page.evaluate(() => {
    const viewport = document.querySelector('.react-flow__viewport') as HTMLElement;
    const zoom = new DOMMatrixReadOnly(getComputedStyle(viewport).transform).a;
    let nodeMinPx = Infinity;
    let nodeMinText = '';
    for (const el of document.querySelectorAll('.react-flow__node *')) {
      const own = [...el.childNodes].filter((c) => c.nodeType === Node.TEXT_NODE && c.textContent!.trim()).map((c) => c.textContent!.trim()).join(' ');
      if (!own) continue;
      const style = getComputedStyle(el);
      if (style.display === 'none' || style.visibility === 'hidden') continue;
      const px = parseFloat(style.fontSize) * zoom;
      if (px < nodeMinPx) {
        nodeMinPx = px;
        nodeMinText = own;
      }
    }
    let edgeMinPx = Infinity;
    for (const el of document.querySelectorAll('.react-flow__edge-text')) edgeMinPx = Math.min(edgeMinPx, parseFloat(getComputedStyle(el).fontSize) * zoom);
    const pane = document.querySelector('.react-flow')!.getBoundingClientRect();
    // The part of each node the pane shows (React Flow clips the rest).
    const nodeRects = [...document.querySelectorAll('.react-flow__node-layer, .react-flow__node-features, .react-flow__node-input, .react-flow__node-group .sense-group-head')]
      .map((n) => n.getBoundingClientRect())
      .map((r) => ({ left: Math.max(r.left, pane.left), right: Math.min(r.right, pane.right), top: Math.max(r.top, pane.top), bottom: Math.min(r.bottom, pane.bottom) }))
      .filter((r) => r.left < r.right && r.top < r.bottom);
    const covering: string[] = [];
    for (const overlay of document.querySelectorAll('.react-flow__minimap, .react-flow__controls, .react-flow__panel, .sense-graph-tools')) {
      const o = overlay.getBoundingClientRect();
      if (o.width === 0 || o.height === 0) continue;
      if (nodeRects.some((r) => r.left < o.right && o.left < r.right && r.top < o.bottom && o.top < r.bottom)) covering.push(overlay.className.toString());
    }
    const nodesShown = nodeRects.length;
    return { zoom, nodeMinPx, nodeMinText, edgeMinPx, covering, nodesShown };
  });
}

describe('the graph at 700x900 (a side pane)', () => {
  for (const sample of SAMPLES) {
    it(`${sample.name}: node text at the default zoom is at least ${READABLE_PX} px and no overlay covers a node`, async () => {
      const { spec } = await loadPipeline(join(root, sample.file));
      const fixture = viewStateOf(spec, 1);
      const page = await openSample(fixture, { width: 700, height: 900 });
      const m = await measure(page);
      await page.screenshot({ path: join(shots, `graph-700x900-${sample.name}.png`) });
      console.log(`${sample.name} at 700x900: zoom ${m.zoom.toFixed(3)}, smallest node text ${m.nodeMinPx.toFixed(1)} px ("${m.nodeMinText}"), smallest edge label ${m.edgeMinPx.toFixed(1)} px, ${m.nodesShown} nodes in view`);
      expect(m.nodeMinPx, `"${m.nodeMinText}" is drawn at ${m.nodeMinPx.toFixed(1)} px (zoom ${m.zoom.toFixed(3)})`).toBeGreaterThanOrEqual(READABLE_PX);
      expect(m.edgeMinPx).toBeGreaterThanOrEqual(READABLE_PX);
      expect(m.covering).toEqual([]);
      // Readable must not mean empty: the first screen shows the input and the first layers.
      expect(m.nodesShown).toBeGreaterThanOrEqual(3);
      await page.close();
    });
  }
});

describe('the inspector pane at 700x900', () => {
  it('collapses to its title bar, giving the graph the height, and resizes by dragging its edge or with the arrow keys', async () => {
    const { spec } = await loadPipeline(join(root, 'samples/deepear/deepear.sense'));
    const page = await openSample(viewStateOf(spec, 1), { width: 700, height: 900 });
    const canvasHeight = (): Promise<number> => page.$eval('.sense-graph-canvas', (c) => c.getBoundingClientRect().height);
    const sideHeight = (): Promise<number> => page.$eval('[data-testid="side-pane"]', (c) => c.getBoundingClientRect().height);
    const before = { canvas: await canvasHeight(), side: await sideHeight(), shown: (await measure(page)).nodesShown };
    await page.click('[data-testid="side-toggle"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="side-toggle"]')?.getAttribute('aria-expanded') === 'false');
    expect(await sideHeight()).toBeLessThan(40);
    expect(await canvasHeight()).toBeGreaterThan(before.canvas + before.side - 60);
    // The viewport keeps its scale; more of the graph is on screen.
    expect((await measure(page)).nodesShown).toBeGreaterThan(before.shown);
    await page.screenshot({ path: join(shots, 'graph-700x900-deepear-inspector-collapsed.png') });
    await page.click('[data-testid="side-toggle"]');
    await page.waitForSelector('.sense-splitter');
    const splitter = (await page.$('.sense-splitter'))!.boundingBox();
    const box = (await splitter)!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y - 120, { steps: 4 });
    await page.mouse.up();
    expect(await sideHeight()).toBeCloseTo(before.side + 120, -1);
    await page.focus('.sense-splitter');
    await page.keyboard.press('ArrowDown');
    expect(await sideHeight()).toBeCloseTo(before.side + 120 - 24, -1);
    await page.close();
  });
});

describe('repeated runs', () => {
  it('draws 60 identical layers as one "60 × dense · relu" node with their totals, readable, and a click shows each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sense-runs-'));
    const file = join(dir, 'deep.sense');
    writeFileSync(file, `pipeline Deep {
  input audio { rate 16 kHz  window 1 s }
  features { frames 25 ms hop 10 ms  logmel 40 bands }
  shared trunk {
    flatten
    dense 256 relu
${'    dense 256 relu\n'.repeat(60)}  }
  head scene from trunk { dense 4 softmax  labels [a, b, c, d] }
  target snapdragon800
}
`);
    try {
      const { spec } = await loadPipeline(file);
      const fixture = viewStateOf(spec, 1);
      // The first dense layer reads the 3920 flattened features, so the run is the 60 after it.
      const dense = fixture.state.layers.filter((l) => l.block === 'trunk' && l.kind === 'dense').slice(1);
      expect(dense).toHaveLength(60);
      const page = await openSample(fixture, { width: 700, height: 900 });
      const run = page.locator('.react-flow__node-run');
      expect(await run.count()).toBe(1);
      const text = await run.textContent();
      expect(text).toContain('60 × dense · relu');
      expect(text).toContain('→ 256 each');
      // The run's parameters are the sum of its 60 layers' (256 x 256 weights and 256 biases each).
      const params = dense.reduce((a, l) => a + l.params, 0);
      expect(params).toBe(60 * (256 * 256 + 256));
      expect(text).toContain(`${(params / 1e6).toFixed(2)} M params`);
      // flatten, the first dense layer and the head's: the run stands for the other 60.
      expect(await page.$$eval('.react-flow__node-layer', (n) => n.length)).toBe(3);
      const m = await measure(page);
      expect(m.nodeMinPx).toBeGreaterThanOrEqual(READABLE_PX);
      // The run is below the first screen: the wheel scrolls the graph to it, at the same scale.
      const canvas = (await page.$('.sense-graph-canvas'))!;
      const box = (await canvas.boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.wheel(0, 260);
      await page.waitForFunction(() => (document.querySelector('.react-flow__node-run')?.getBoundingClientRect().bottom ?? 1e9) < document.querySelector('.sense-graph-canvas')!.getBoundingClientRect().bottom);
      expect((await measure(page)).zoom).toBeCloseTo(m.zoom, 6);
      await page.screenshot({ path: join(shots, 'graph-700x900-run-of-60.png') });
      await run.click();
      await page.waitForFunction(() => document.querySelectorAll('.react-flow__node-layer').length === 63);
      expect(await page.$('.react-flow__node-run')).toBeNull();
      await page.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the pane shape and the minimap', () => {
  it('flows right in a wide, short pane and down in a tall one; the minimap, when shown, sits in a rail beside the canvas', async () => {
    const { spec } = await loadPipeline(join(root, 'samples/deepear/deepear.sense'));
    const fixture = viewStateOf(spec, 1);
    const centre = (page: Page, id: string): Promise<{ x: number; y: number }> =>
      page.$eval(`.react-flow__node[data-id="${id}"]`, (n) => {
        const r = n.getBoundingClientRect();
        return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
      });
    const wide = await openSample(fixture, { width: 1400, height: 420 });
    const [input, features] = [await centre(wide, 'input'), await centre(wide, 'features')];
    expect(features.x - input.x).toBeGreaterThan(100);
    expect(Math.abs(features.y - input.y)).toBeLessThan(60);
    expect((await measure(wide)).nodeMinPx).toBeGreaterThanOrEqual(READABLE_PX);
    await wide.screenshot({ path: join(shots, 'graph-1400x420-deepear.png') });
    await wide.close();
    const tall = await openSample(fixture, { width: 1400, height: 900 });
    const [input2, features2] = [await centre(tall, 'input'), await centre(tall, 'features')];
    expect(features2.y - input2.y).toBeGreaterThan(60);
    expect(await tall.$('.react-flow__minimap')).toBeNull();
    await tall.click('button[aria-label="Show the minimap"]');
    await tall.waitForSelector('.sense-minimap-rail .react-flow__minimap');
    await tall.waitForTimeout(300);
    const m = await measure(tall);
    expect(m.covering).toEqual([]);
    expect(m.nodeMinPx).toBeGreaterThanOrEqual(READABLE_PX);
    await tall.close();
  });
});
