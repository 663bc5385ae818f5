/**
 * The graph editor at scale, in Chromium against the mock host: a generated 500-layer
 * pipeline (one shared block, four heads). Measures, in the page, the time from posting
 * `init` to all 500 layer nodes in the DOM (ELK layout in its worker + React Flow render;
 * goal < 1 s median), and from posting an `update` like the one after Apply (one layer's
 * compression changed) to the new end-to-end latency on screen (goal < 150 ms median).
 * The first init of a fresh page (cold ELK worker) is reported on its own.
 */
import { syntheticFixture, recompute, type MockFixture } from '../../webview/mock/mock-model';
import { formatMs } from '../../language/figures';
import { PROTOCOL_VERSION } from '../../webview/protocol';
import { startHarness } from '../webview/harness';
import { report } from './util';

const LAYERS = 500;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Posts `init` with a fixture and resolves with the milliseconds until every layer node is in the DOM. */
async function timeInit(page: import('playwright-core').Page, fixture: MockFixture, prefix: string): Promise<number> {
  return page.evaluate(
    async ({ fixture, prefix, n, version }) => {
      const m = window.senseMock;
      m.setFixture(fixture);
      const t0 = performance.now();
      m.send({ type: 'init', protocolVersion: version, state: fixture.state });
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (document.querySelectorAll(`.react-flow__node-layer[data-id^="${prefix}"]`).length === n) resolve();
          else requestAnimationFrame(check);
        };
        check();
      });
      return performance.now() - t0;
    },
    { fixture, prefix, n: LAYERS, version: PROTOCOL_VERSION },
  );
}

/** Runs the benchmark. */
export async function run(): Promise<void> {
  const harness = await startHarness();
  try {
    const page = await harness.open('manual&theme=dark', { width: 1600, height: 1000 });
    await page.waitForFunction(() => window.senseMock.posted.length > 0);
    // tsx compiles named functions in evaluated code with esbuild's keepNames helper.
    await page.evaluate('globalThis.__name = (f) => f');
    const cold = await timeInit(page, syntheticFixture(LAYERS, 4, 'c'), 'c');
    const inits: number[] = [];
    for (let i = 0; i < 9; i++) inits.push(await timeInit(page, syntheticFixture(LAYERS, 4, `r${i}x`), `r${i}x`));
    const layoutMs = await page.evaluate(() => performance.getEntriesByName('sense-layout').map((e) => e.duration));
    report(`init -> ${LAYERS} layer nodes in the DOM, first (cold worker)`, cold);
    report(`  of which ELK layout (worker round trip), median`, median(layoutMs.slice(1)), `first ${layoutMs[0]?.toFixed(0)} ms`);
    report(`init -> ${LAYERS} layer nodes in the DOM, median of ${inits.length}`, median(inits), `goal < 1000 ms; runs ${inits.map((x) => x.toFixed(0)).join(' ')}`);

    // Updates as after Apply: the same structure, one layer's compression changed.
    const base = syntheticFixture(LAYERS, 4, 'u');
    await timeInit(page, base, 'u');
    const target = base.state.layers[3].id;
    const updates: number[] = [];
    for (let i = 0; i < 21; i++) {
      const rank = 8 + i * 4;
      const next = recompute({ ...base.state, documentVersion: i + 2, layers: base.state.layers.map((l) => (l.id === target ? { ...l, compression: { kind: 'svd' as const, criterion: 'rank' as const, rank } } : l)) }, base.device, base.dense);
      const expected = formatMs(next.totals.endToEndLatencyMs);
      const ms = await page.evaluate(
        async ({ state, expected }) => {
          const t0 = performance.now();
          window.senseMock.send({ type: 'update', documentVersion: state.documentVersion, state });
          await new Promise<void>((resolve) => {
            const check = (): void => {
              if (document.querySelector('[data-testid="total-latency"]')?.firstChild?.textContent === expected) resolve();
              else requestAnimationFrame(check);
            };
            check();
          });
          return performance.now() - t0;
        },
        { state: next, expected },
      );
      updates.push(ms);
    }
    report(`update (after Apply) -> new totals on screen, median of ${updates.length}`, median(updates), 'goal < 150 ms');
    await page.close();
  } finally {
    await harness.close();
  }
}
