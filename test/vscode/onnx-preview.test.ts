/**
 * The ONNX preview in real VS Code (code-server in Debian's Chromium): an `.onnx` file in
 * the workspace opens, as its default editor, in the graph webview read-only, with the
 * per-layer and per-processor estimates of the pipeline `sense import` would write; the
 * target picker estimates it on another device; a model with an op the language lacks
 * shows the refused node with its op; "Sense: Import as Pipeline" writes the `.sense` file
 * and weights beside the model and opens the pipeline with its (editable) graph. The models
 * are written here with the project's ONNX builder (test/support/small-onnx.ts).
 *
 * The steps depend on each other and run in order.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Frame } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { TWO_HEAD, twoHeadModel } from '../support/small-onnx';
import { quickOpen, runCommand, selectLayer, waitFor, type Studio } from './code-server';
import { studioForSuite } from './studio-suite';

let s: Studio;
let models: string;

/** The webview frame whose toolbar summary matches `summary` (the preview's names its model; a pipeline's graph its target and version). */
async function frameWith(summary: RegExp, selector = '[data-testid="toolbar-summary"]', timeoutMs = 90_000): Promise<Frame> {
  let found: Frame | undefined;
  await waitFor(
    async () => {
      for (const f of s.page.frames()) {
        try {
          const el = f.locator(selector).first();
          if ((await el.count()) > 0 && summary.test(await el.innerText())) {
            found = f;
            return true;
          }
        } catch {
          // A frame that navigated away; try the next one.
        }
      }
      return false;
    },
    `a webview showing ${String(summary)}`,
    timeoutMs,
  );
  return found!;
}

describe('ONNX models in VS Code (code-server)', () => {
  studioForSuite(
    'onnx-',
    {
      prepare: async (workspace) => {
        models = join(workspace, 'models');
        mkdirSync(models, { recursive: true });
        writeFileSync(join(models, 'two_head.onnx'), twoHeadModel());
        writeFileSync(join(models, 'odd.onnx'), twoHeadModel('Cos'));
        return join(models, 'two_head.sense');
      },
    },
    (started) => (s = started),
  );

  it('opens two_head.onnx as a read-only graph with per-layer and per-processor estimates', async () => {
    await quickOpen(s.page, 'two_head.onnx');
    const g = await frameWith(/two_head\.onnx \(read-only\)/);
    await g.locator('[data-layer-id="trunk.1"]').first().waitFor({ timeout: 30_000 });
    expect(await g.locator('[data-layer-id]').count()).toBe(3);
    expect(await g.locator('h2', { hasText: 'Estimates on snapdragon800' }).count()).toBe(1);
    expect(await g.locator('[data-testid="total-latency"]').innerText()).toMatch(/\d.*ms/);
    expect(await g.locator('.sense-processors li').count()).toBeGreaterThanOrEqual(2);
    // Nothing that writes: no Auto-partition, no Export, no run panel.
    expect(await g.locator('[data-testid="auto-partition"]').count()).toBe(0);
    expect(await g.locator('[aria-label="Export bundle"]').count()).toBe(0);
    await selectLayer(g, 'trunk.1');
    const inspector = g.locator('[aria-label="Inspector of trunk.1"]');
    await inspector.waitFor({ timeout: 30_000 });
    // The trunk's Gemm: (12 inputs + its bias) x 16 outputs multiply-accumulates.
    expect(await inspector.innerText()).toContain(String((TWO_HEAD.input + 1) * TWO_HEAD.trunk));
    expect(await inspector.innerText()).toMatch(/Estimate\s+[\d.]+ (ms|µs)/);
    expect(await g.locator('[data-testid="apply-compression"], [data-testid="rank-slider"], select[aria-label^="Place"]').count()).toBe(0);
    await s.shot('onnx-01-preview');
  }, 240_000);

  it('estimates the model on another device chosen in the target picker', async () => {
    const g = await frameWith(/two_head\.onnx \(read-only\)/);
    const before = await g.locator('[data-testid="total-energy"]').innerText();
    await g.locator('[data-testid="target-picker"]').selectOption('nrf52840');
    await g.locator('h2', { hasText: 'Estimates on nrf52840' }).waitFor({ timeout: 30_000 });
    expect(await g.locator('[data-testid="total-energy"]').innerText()).not.toBe(before);
    expect(await g.locator('[data-layer-id]').count()).toBe(3);
    await s.shot('onnx-02-retargeted');
  }, 120_000);

  it('shows the node it cannot import, with its op, for a model with an op the language lacks', async () => {
    await quickOpen(s.page, 'odd.onnx');
    const g = await frameWith(/Cos/, '[data-testid="refusals"]');
    const table = await g.locator('[data-testid="refusals"]').innerText();
    expect(table).toContain('Cos_odd');
    expect(await g.locator('.sense-waiting').innerText()).toMatch(/odd\.onnx: 1 part of the model cannot be written/);
    await s.shot('onnx-03-refused');
  }, 120_000);

  it('imports two_head.onnx as a pipeline and opens it with its graph', async () => {
    await quickOpen(s.page, 'two_head.onnx');
    await frameWith(/two_head\.onnx \(read-only\)/);
    await runCommand(s.page, 'Sense: Import as Pipeline');
    const sense = join(models, 'two_head.sense');
    await waitFor(async () => existsSync(sense) && existsSync(join(models, 'two_head.safetensors')), 'the pipeline and its weights to be written', 60_000);
    expect(readFileSync(sense, 'utf8')).toMatch(/pipeline two_head \{[\s\S]*head activity from trunk[\s\S]*head posture from trunk/);
    await s.page.locator('.monaco-editor .view-lines', { hasText: 'pipeline two_head' }).first().waitFor({ timeout: 60_000 });
    // The pipeline's own graph: editable (a version, no read-only mark), with the same layers.
    const g = await frameWith(/snapdragon800 · .* · v\d+/);
    await g.locator('[data-layer-id="posture.1"]').first().waitFor({ timeout: 30_000 });
    expect(await g.locator('[data-layer-id]').count()).toBe(3);
    expect(await g.locator('[data-testid="auto-partition"]').count()).toBe(1);
    await s.shot('onnx-04-imported');
  }, 180_000);
});
