/**
 * Gated heads in the graph, in real Chromium: the state of the gated DeepEar fixture
 * (test/unit/export/fixtures/deepear-gated.sense, speech heads `when ambient is voicing`,
 * `expect ambient voicing 30%`), lowered by the language, estimated by the engine and built
 * by the host's own buildViewState, sent as the host's `init`. Checked: a dashed gate edge
 * from ambient to each speech head labelled `voicing 30%`, each gated head showing that it
 * fires on 30% of windows, the expected latency beside the all-open one; after a run
 * whose observed gate rate differs from the expect line, "Write observed rate" posts the
 * rounded rate with the graph's document version, and a rate that matches offers nothing. Screenshots: test-output/gates-1400x900.png, gates-whole-1400x900.png.
 */
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { loadPipeline } from '../../cli/load';
import { estimatePipeline } from '../../engine/estimate';
import { buildViewState } from '../../extension/graph-model';
import { formatMs } from '../../language/figures';
import type { ToWebviewBody, ViewState } from '../../webview/protocol';
import { useHarness } from './use-harness';

const root = resolve(import.meta.dirname, '../..');
const shots = join(root, 'test-output');
const harness = useHarness(shots);

async function gatedState(): Promise<ViewState> {
  const { spec } = await loadPipeline(join(root, 'test/unit/export/fixtures/deepear-gated.sense'));
  return buildViewState({ spec, estimate: estimatePipeline(spec), documentVersion: 4 });
}

async function openWith(state: ViewState): Promise<{ page: Page; errors: string[] }> {
  const page = await harness().open('theme=dark&manual', { width: 1400, height: 900 });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.waitForFunction(() => window.senseMock.posted.some((m) => m.body.type === 'ready'));
  await page.evaluate((s) => window.senseMock.send({ type: 'init', protocolVersion: 1, state: s }), state);
  await page.waitForFunction((n) => document.querySelectorAll('.react-flow__node-layer').length === n, state.layers.length);
  return { page, errors };
}

describe('gated heads in the graph', () => {
  it('draws a dashed gate edge labelled with the label and expected rate, the firing probability and the expected latency', async () => {
    const state = await gatedState();
    const { page, errors } = await openWith(state);
    const gateEdges = page.locator('.react-flow__edge.sense-gate-edge');
    await gateEdges.first().waitFor();
    expect(await gateEdges.count()).toBe(3);
    const labels = await page.$$eval('.react-flow__edge.sense-gate-edge .react-flow__edge-text', (t) => t.map((x) => x.textContent));
    expect(labels).toEqual(['voicing 30%', 'voicing 30%', 'voicing 30%']);
    // Dashed, unlike a tensor edge.
    const dash = await page.$eval('.react-flow__edge.sense-gate-edge .react-flow__edge-path', (p) => getComputedStyle(p).strokeDasharray);
    expect(dash).not.toBe('none');
    const plain = await page.$eval('.react-flow__edge:not(.sense-gate-edge) .react-flow__edge-path', (p) => getComputedStyle(p).strokeDasharray);
    expect(plain).toBe('none');
    // Each gated head fires on 30% of windows (the expect line; ambient itself is not gated).
    for (const head of ['emotion', 'stress', 'speaker']) expect(await page.locator(`[data-testid="firing-${head}"]`).innerText()).toContain('fires 30%');
    expect(await page.locator('[data-testid="firing-ambient"]').count()).toBe(0);
    // The expected latency next to the all-open makespan.
    expect(state.totals.expectedLatencyMs).toBeLessThan(state.totals.endToEndLatencyMs);
    expect(await page.locator('[data-testid="expected-latency"]').innerText()).toContain(formatMs(state.totals.expectedLatencyMs!));
    expect(await page.locator('[data-testid="total-latency"]').innerText()).toBe(formatMs(state.totals.endToEndLatencyMs));
    await page.screenshot({ path: join(shots, 'gates-1400x900.png') });
    await page.locator('button[aria-label="Show the whole graph"]').click();
    await page.waitForTimeout(400);
    await page.screenshot({ path: join(shots, 'gates-whole-1400x900.png') });
    expect(errors).toEqual([]);
  });

  it('offers to write a run\'s observed gate rate when it differs from the expect line, with the graph\'s version', async () => {
    const state = await gatedState();
    const { page, errors } = await openWith(state);
    // As the pipeline worker reports a folder: each speech head ran on 17 of the 40 windows ambient ran on.
    const gate = (head: string) => ({ head, gateHead: 'ambient', label: 'voicing', opened: 17, windows: 40, expected: 0.3 });
    const heads = ['ambient', 'emotion', 'stress', 'speaker'].map((head) => ({ head, labels: state.blocks.find((b) => b.name === head)!.labels!, accuracy: 0.5 }));
    const result = (gates: ReturnType<typeof gate>[]): ToWebviewBody => ({ type: 'runResult', input: { kind: 'folder', path: 'samples/data/deepear' }, after: { measuredLatencyMs: 2, windows: 60, heads, gates } });
    await page.evaluate((body) => window.senseMock.send(body), result(['emotion', 'stress', 'speaker'].map(gate)));
    const rates = page.locator('[data-testid="gate-rates"]');
    await rates.waitFor();
    // One line for the three heads gated alike: 17/40 = 42.5 %.
    expect(await page.locator('.sense-gate-rate').count()).toBe(1);
    expect(await rates.innerText()).toContain('ambient is voicing: 17 of 40 windows (42.5%) · expect 30%');
    await page.locator('[data-testid="write-rate"]').click();
    await page.waitForFunction(() => window.senseMock.posted.some((m) => m.body.type === 'writeExpect'));
    const written = (await page.evaluate(() => window.senseMock.posted)).filter((m) => m.body.type === 'writeExpect').map((m) => m.body);
    expect(written).toEqual([{ type: 'writeExpect', head: 'ambient', label: 'voicing', fraction: 0.425, documentVersion: state.documentVersion }]);
    // A rate that matches the expect line at 0.1 % offers nothing: 12/40 = 30 %.
    await page.evaluate((body) => window.senseMock.send(body), result([{ ...gate('speaker'), opened: 12 }]));
    await page.waitForFunction(() => document.querySelector('[data-testid="gate-rates"]')?.textContent?.includes('12 of 40'));
    expect(await page.locator('[data-testid="write-rate"]').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});

