/**
 * The graph editor at scale, in Chromium against the mock host.
 *
 * The `10,000-layer` line: a generated pipeline of 10,000 varied layers (13 shared blocks
 * in a tree, 39 heads, conv / batch norm / activation / pooling / dense / dropout with
 * changing widths, so collapsing repeated runs still leaves about 9,800 nodes; see
 * `largeFixture` in webview/mock/mock-model.ts) against the same generator's 100-layer
 * pipeline in the same run. Two figures each, both measured in the page:
 * - first paint: from a performance mark just before the host's `init` is posted to the
 *   webview's `sense-graph-painted` mark (set in the task after the frame that first shows
 *   the graph at its default view), so message validation, layout in the ELK worker and
 *   React Flow's render are all inside it; goal < 1 s;
 * - pan/zoom frames: the intervals between animation frames while a script pans with the
 *   wheel, zooms out to 5% and back in with Ctrl+wheel, and pans again zoomed out (one
 *   wheel event per frame); the 95th percentile, goal near the 16.7 ms of a 60 Hz display.
 * The same two figures with every block expanded (all 10,000 layers drawn) show what
 * level of detail and drawing only the visible nodes do when the hierarchy is open.
 *
 * Then, on a 500-layer pipeline, the time from an `update` like the one after Apply to
 * the new end-to-end latency on screen (goal < 150 ms median).
 */
import type { Page } from 'playwright-core';
import { syntheticFixture, recompute } from '../../webview/mock/mock-model';
import { formatMs } from '../../language/figures';
import { PROTOCOL_VERSION } from '../../webview/protocol';
import { startHarness } from '../webview/harness';
import { report } from './util';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

interface Paint {
  paintMs: number;
  /** Nodes React Flow has in the DOM at the mark. */
  domNodes: number;
  /** Nodes of the drawn graph (the mark's detail). */
  drawnNodes: number;
  /** Of `paintMs`: reading the `init` message (deserialising and validating it). */
  readMs: number;
  /** Of `paintMs`: layouts (the ELK worker's round trips). */
  layoutMs: number;
}

/**
 * Generates a large pipeline in the page, posts it as `init` and waits for the webview's
 * first-paint mark; returns the time between the two marks.
 */
async function firstPaint(page: Page, layerCount: number, prefix: string, expanded: boolean): Promise<Paint> {
  return page.evaluate(
    async ({ layerCount, prefix, expanded, version }) => {
      const m = window.senseMock;
      const state = m.useLargeFixture(layerCount, prefix, expanded);
      const start = performance.mark(`bench-init-${prefix}`);
      m.send({ type: 'init', protocolVersion: version, state });
      const painted = await new Promise<PerformanceMark>((resolve) => {
        const check = (): void => {
          const mark = performance.getEntriesByName('sense-graph-painted').find((e) => (e as PerformanceMark).detail?.pipeline === state.pipeline);
          if (mark) resolve(mark as PerformanceMark);
          else setTimeout(check, 5);
        };
        check();
      });
      const within = (name: string): number =>
        performance
          .getEntriesByName(name)
          .filter((e) => e.startTime >= start.startTime && e.startTime <= painted.startTime)
          .reduce((a, e) => a + e.duration, 0);
      return {
        paintMs: painted.startTime - start.startTime,
        domNodes: document.querySelectorAll('.react-flow__node').length,
        drawnNodes: (painted.detail as { nodes: number }).nodes,
        readMs: within('sense-message-read'),
        layoutMs: within('sense-layout'),
      };
    },
    { layerCount, prefix, expanded, version: PROTOCOL_VERSION },
  );
}

/**
 * Scripted pan and zoom, one wheel event per animation frame on the graph's pane: pan
 * down, zoom out to about 5%, pan zoomed out, zoom back in. Returns the intervals between
 * frames in milliseconds.
 */
async function panZoomFrames(page: Page): Promise<number[]> {
  return page.evaluate(async () => {
    const pane = document.querySelector('.react-flow__pane')!;
    const r = pane.getBoundingClientRect();
    const script: { dx: number; dy: number; ctrl: boolean }[] = [
      ...Array.from({ length: 60 }, () => ({ dx: 0, dy: 40, ctrl: false })),
      // React Flow zooms by 2^(-deltaY * 0.002) per event: 60 x 45 takes 0.9 to about 0.07.
      ...Array.from({ length: 60 }, () => ({ dx: 0, dy: 45, ctrl: true })),
      ...Array.from({ length: 40 }, () => ({ dx: 30, dy: 40, ctrl: false })),
      ...Array.from({ length: 60 }, () => ({ dx: 0, dy: -45, ctrl: true })),
    ];
    const intervals: number[] = [];
    await new Promise<void>((resolve) => {
      let i = 0;
      let last: number | undefined;
      const step = (t: number): void => {
        if (last !== undefined) intervals.push(t - last);
        last = t;
        if (i === script.length) return resolve();
        const s = script[i++];
        pane.dispatchEvent(new WheelEvent('wheel', { deltaX: s.dx, deltaY: s.dy, ctrlKey: s.ctrl, clientX: r.x + r.width / 2, clientY: r.y + r.height / 2, bubbles: true, cancelable: true }));
        requestAnimationFrame(step);
      };
      requestAnimationFrame(step);
    });
    return intervals;
  });
}

interface Scale {
  paints: Paint[];
  frames: number[];
}

async function measureScale(page: Page, layerCount: number, expanded: boolean, runs: number): Promise<Scale> {
  const paints: Paint[] = [];
  for (let i = 0; i < runs; i++) paints.push(await firstPaint(page, layerCount, `s${layerCount}${expanded ? 'x' : 'c'}${i}n`, expanded));
  const frames = await panZoomFrames(page);
  return { paints, frames };
}

function reportScale(name: string, s: Scale, reference?: Scale): void {
  const paintMs = median(s.paints.map((p) => p.paintMs));
  const p95 = percentile(s.frames, 95);
  const nodes = `${s.paints[0].drawnNodes} nodes drawn, ${s.paints[0].domNodes} in the DOM; medians of the parts: reading the message ${median(s.paints.map((p) => p.readMs)).toFixed(0)} ms, layout ${median(s.paints.map((p) => p.layoutMs)).toFixed(0)} ms`;
  if (!reference) {
    report(`${name}: first paint, median of ${s.paints.length}`, paintMs, nodes);
    report(`${name}: pan/zoom frame interval p95 (${s.frames.length} frames)`, p95, `median ${median(s.frames).toFixed(1)} ms`);
    return;
  }
  const refPaint = median(reference.paints.map((p) => p.paintMs));
  const refP95 = percentile(reference.frames, 95);
  report(`${name}: first paint, median of ${s.paints.length}`, paintMs, `${(paintMs / refPaint).toFixed(2)}x the 100-layer; goal < 1000 ms; ${nodes}; runs ${s.paints.map((p) => p.paintMs.toFixed(0)).join(' ')}`);
  report(`${name}: pan/zoom frame interval p95 (${s.frames.length} frames)`, p95, `${(p95 / refP95).toFixed(2)}x the 100-layer; median ${median(s.frames).toFixed(1)} ms, worst ${Math.max(...s.frames).toFixed(0)} ms`);
}

/** Runs the benchmark. */
export async function run(): Promise<void> {
  const harness = await startHarness();
  try {
    const page = await harness.open('manual&theme=dark', { width: 1400, height: 900 });
    await page.waitForFunction(() => window.senseMock.posted.length > 0);
    // tsx compiles named functions in evaluated code with esbuild's keepNames helper.
    await page.evaluate('globalThis.__name = (f) => f');
    // Warm the page (JIT, the ELK worker) with one small graph first.
    await firstPaint(page, 100, 'warm', false);
    const small = await measureScale(page, 100, false, 5);
    reportScale('100-layer (reference)', small);
    reportScale('10,000-layer', await measureScale(page, 10_000, false, 5), small);
    reportScale('10,000-layer, every block expanded', await measureScale(page, 10_000, true, 3), small);

    // Updates as after Apply: the same structure, one layer's compression changed.
    const LAYERS = 500;
    const base = syntheticFixture(LAYERS, 4, 'u');
    await page.evaluate(
      async ({ fixture, version }) => {
        window.senseMock.setFixture(fixture);
        window.senseMock.send({ type: 'init', protocolVersion: version, state: fixture.state });
        await new Promise<void>((resolve) => {
          const check = (): void => (performance.getEntriesByName('sense-graph-painted').some((e) => (e as PerformanceMark).detail?.pipeline === fixture.state.pipeline) ? resolve() : void setTimeout(check, 5));
          check();
        });
      },
      { fixture: base, version: PROTOCOL_VERSION },
    );
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
    report(`${LAYERS}-layer update (after Apply) -> new totals on screen, median of ${updates.length}`, median(updates), 'goal < 150 ms');
    await page.close();
  } finally {
    await harness.close();
  }
}
