/**
 * The comparison overlay in real Chromium at 700x900: the DeepEar sample against a copy with a
 * `compress encoder.2 svd rank 16` line, compared by the engine (engine/diff.ts) and reduced by
 * the host's extension/comparison.ts, sent as the host's `comparison` message. The changed
 * layer's node carries a badge with its parameter change (worked out by hand: the SVD factors
 * U 3920 x 16 and V 16 x 256 replace W 3920 x 256), the panel lists it under the totals, and
 * "Clear comparison" removes badge and panel and tells the host. Screenshot:
 * test-output/compare-700x900.png.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../cli/load';
import { diffEstimates } from '../../engine/diff';
import { estimatePipeline } from '../../engine/estimate';
import { comparisonView } from '../../extension/comparison';
import { formatCountShort, formatSigned } from '../../language/figures';
import { viewStateOf } from './fixtures/make-fixture';
import { useHarness } from './use-harness';

const root = resolve(import.meta.dirname, '../..');
const shots = join(root, 'test-output');
const harness = useHarness(shots);

describe('comparison overlay', () => {
  it('badges the changed layer, lists the totals and layers, and clears', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sense-compare-panel-'));
    const sample = readFileSync(join(root, 'samples/deepear/deepear.sense'), 'utf8');
    const place = '  place encoder, ambient, stress on dsp\n';
    expect(sample).toContain(place);
    writeFileSync(join(dir, 'before.sense'), sample);
    writeFileSync(join(dir, 'after.sense'), sample.replace(place, `  compress encoder.2 svd rank 16\n${place}`));
    const before = await loadPipeline(join(dir, 'before.sense'));
    const after = await loadPipeline(join(dir, 'after.sense'));
    const comparison = comparisonView(diffEstimates(estimatePipeline(before.spec), estimatePipeline(after.spec)), 'deepear.sense at HEAD');
    const paramsDelta = 16 * (3920 + 256) - 3920 * 256;
    expect(comparison.layers.find((l) => l.id === 'encoder.2')?.paramsDelta).toBe(paramsDelta);
    const fixture = viewStateOf(after.spec, 1);

    const page = await harness().open('theme=dark&manual', { width: 700, height: 900 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.waitForFunction(() => window.senseMock.posted.some((m) => m.body.type === 'ready'));
    await page.evaluate(
      ([f, c]) => {
        window.senseMock.setFixture(f);
        window.senseMock.send({ type: 'init', protocolVersion: 1, state: f.state });
        window.senseMock.send({ type: 'comparison', comparison: c });
      },
      [fixture, comparison] as const,
    );
    await page.waitForSelector('[data-testid="compare-panel"]');
    const badge = page.locator('[data-layer-id="encoder.2"] [data-testid="compare-badge"]');
    await badge.waitFor();
    expect(await badge.innerText()).toContain(formatSigned(paramsDelta, formatCountShort));
    expect(await badge.getAttribute('title')).toMatch(/compression changed/);
    // Only the changed layers carry a badge.
    expect(await page.locator('[data-testid="compare-badge"]').count()).toBe(comparison.layers.filter((l) => l.status !== 'removed').length);
    const panel = await page.locator('[data-testid="compare-panel"]').innerText();
    expect(panel).toMatch(/Compared with deepear\.sense at HEAD/i);
    expect(panel).toMatch(new RegExp(`Parameters\\s*${formatSigned(comparison.total.paramsDelta, formatCountShort).replace('.', '\\.')}`));
    expect(await page.locator('[data-testid="compare-layer"]').allInnerTexts()).toEqual(expect.arrayContaining([expect.stringMatching(/^encoder\.2 dense /)]));
    await page.screenshot({ path: join(shots, 'compare-700x900.png') });
    await badge.scrollIntoViewIfNeeded();
    await page.locator('[data-layer-id="encoder.2"]').screenshot({ path: join(shots, 'compare-node.png') });

    await page.locator('[data-testid="compare-clear"]').click();
    await page.waitForSelector('[data-testid="compare-panel"]', { state: 'detached' });
    expect(await page.locator('[data-testid="compare-badge"]').count()).toBe(0);
    expect(await page.evaluate(() => window.senseMock.posted.some((m) => m.body.type === 'clearComparison'))).toBe(true);
    expect(errors).toEqual([]);
  });
});
