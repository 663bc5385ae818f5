/**
 * Real VS Code (code-server + Debian Chromium), two figures:
 *
 * - The extension host's event-loop delay during each studio action (Apply a compression,
 *   a sweep of the rank slider, Auto-Partition, a run on a clip, Export Bundle): a probe
 *   extension (test/bench/event-loop-probe/, installed only here, beside the studio's
 *   VSIX) runs in the same extension host process and keeps a 1 ms
 *   `perf_hooks.monitorEventLoopDelay` histogram, which the benchmark resets before the
 *   action and reads once the action's result is on screen and a short settle has passed
 *   (so work that trails the visible result is counted too). Each value includes the
 *   1 ms timer period. Work in the language server's process or in worker threads does
 *   not block the extension host and is not counted, by design. Goal: max under 50 ms.
 * - From the click on Apply in the graph's inspector to the new estimate on screen, the
 *   whole round trip (webview message, the host's WorkspaceEdit, the text change,
 *   re-analysis and re-estimate, the posted state and the render), median of 20. The time
 *   is taken in the webview's own clock (performance.now() before the click is dispatched,
 *   a MutationObserver on the totals), so Playwright's latency is not counted. Apply and
 *   Remove alternate so every click changes the estimate.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { graphFrame, quickOpen, selectLayer, ROOT, runCommand, startStudio, statusEstimate, waitFor } from '../vscode/code-server';
import { longTasks } from './long-tasks';
import { report } from './util';

/** The event-loop delay goal of a studio action, in ms. */
const EVENT_LOOP_GOAL_MS = 50;
/** How long after the visible result the histogram keeps recording, in ms. */
const SETTLE_MS = 500;
/** How long the idle reference window records, in ms. */
const IDLE_MS = 5_000;
/** Apply clicks timed for the median. */
const APPLY_RUNS = 20;
/** Rank slider positions in the sweep. */
const SLIDER_STEPS = 10;

/** What the probe's histogram holds since its last reset. */
interface EventLoopDelay {
  maxMs: number;
  p99Ms: number;
  count: number;
  /** The extension host's garbage collections in the same window: how many, the longest, all together. */
  gcCount?: number;
  gcMaxMs?: number;
  gcTotalMs?: number;
  /** Stalls of the thread over 25 ms, each with the CPU time the process used during it. */
  stalls?: { stallMs: number; cpuMs: number }[];
}

/** The probe extension's HTTP endpoint in the extension host. */
class EventLoopProbe {
  private constructor(private readonly url: string) {}

  /** Waits for the probe to write its port into the workspace (it activates on startup finished). */
  static async connect(workspace: string): Promise<EventLoopProbe> {
    const file = join(workspace, '.sense-bench-probe.json');
    let port = 0;
    await waitFor(
      async () => {
        try {
          port = (JSON.parse(readFileSync(file, 'utf8')) as { port: number }).port;
          return port > 0;
        } catch {
          return false;
        }
      },
      `the event-loop probe's port in ${file}`,
      120_000,
    );
    return new EventLoopProbe(`http://127.0.0.1:${port}`);
  }

  async reset(): Promise<void> {
    const r = await fetch(`${this.url}/reset`);
    if (!r.ok) throw new Error(`event-loop probe /reset: HTTP ${r.status} ${await r.text()}`);
  }

  async read(): Promise<EventLoopDelay> {
    const r = await fetch(`${this.url}/read`);
    if (!r.ok) throw new Error(`event-loop probe /read: HTTP ${r.status} ${await r.text()}`);
    return (await r.json()) as EventLoopDelay;
  }

  /** Starts a CPU profile of the extension host. */
  async profileStart(): Promise<void> {
    const r = await fetch(`${this.url}/profile-start`);
    if (!r.ok) throw new Error(`event-loop probe /profile-start: HTTP ${r.status} ${await r.text()}`);
  }

  /** Stops the CPU profile; resolves with the file the probe wrote it to. */
  async profileStop(): Promise<string> {
    const r = await fetch(`${this.url}/profile-stop`);
    if (!r.ok) throw new Error(`event-loop probe /profile-stop: HTTP ${r.status} ${await r.text()}`);
    return ((await r.json()) as { file: string }).file;
  }

  /** Resets, runs `act` (which returns once its result is visible), settles and reads. */
  async during(act: () => Promise<void>): Promise<EventLoopDelay> {
    await this.reset();
    await act();
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    return this.read();
  }
}

/** Prints the extension host's tasks over 30 ms in the CPU profile `file`, with what ran in them. */
function printLongTasks(file: string): void {
  const tasks = longTasks(file, 30, 'extension.cjs', join(ROOT, 'dist', 'extension.cjs.map'));
  console.log(`  extension host tasks over 30 ms while profiled: ${tasks.length} (profile ${file})`);
  for (const t of tasks) {
    console.log(`    at ${t.startMs.toFixed(0)} ms, ${t.durationMs.toFixed(1)} ms; self: ${t.selfTop.map(([f, ms]) => `${f} ${ms.toFixed(1)}`).join('; ')}`);
    console.log(`      under the studio's code: ${t.ownTop.map(([f, ms]) => `${f} ${ms.toFixed(1)}`).join('; ') || 'none'}`);
  }
}

/**
 * Runs `act` and, with SENSE_BENCH_PROFILE=1, CPU-profiles the extension host meanwhile
 * (which slows it) and prints its long tasks under `label`, so a delay of any action can be
 * attributed to the code that ran.
 */
async function profiled<T>(probe: EventLoopProbe, label: string, act: () => Promise<T>): Promise<T> {
  if (process.env.SENSE_BENCH_PROFILE !== '1') return act();
  await probe.profileStart();
  try {
    return await act();
  } finally {
    console.log(`  ${label}:`);
    printLongTasks(await probe.profileStop());
  }
}

/** Prints one action's delay: max, p99 and the sample count, marked when over the goal. */
function reportDelay(action: string, d: EventLoopDelay, note = ''): void {
  const over = d.maxMs > EVENT_LOOP_GOAL_MS ? `  OVER ${EVENT_LOOP_GOAL_MS} ms` : '';
  const gc = d.gcCount ? `; gc ${d.gcCount}x, longest ${(d.gcMaxMs ?? 0).toFixed(1)} ms` : '';
  const stalls = d.stalls?.length ? `; stalls (ms stalled/ms CPU) ${d.stalls.map((x) => `${x.stallMs.toFixed(0)}/${x.cpuMs.toFixed(0)}`).join(' ')}` : '';
  console.log(`${action.padEnd(40)} event-loop max ${d.maxMs.toFixed(1)} ms (p99 ${d.p99Ms.toFixed(1)} ms) over ${d.count} samples${gc}${stalls}${over}${note ? `  ${note}` : ''}`);
}

/** The worst of several measurements of one action: the largest max and p99, the samples summed. */
function worst(ds: EventLoopDelay[]): EventLoopDelay {
  const sum = (f: (d: EventLoopDelay) => number | undefined): number => ds.reduce((a, d) => a + (f(d) ?? 0), 0);
  return { maxMs: Math.max(...ds.map((d) => d.maxMs)), p99Ms: Math.max(...ds.map((d) => d.p99Ms)), count: sum((d) => d.count), gcCount: sum((d) => d.gcCount), gcMaxMs: Math.max(...ds.map((d) => d.gcMaxMs ?? 0)), gcTotalMs: sum((d) => d.gcTotalMs), stalls: ds.flatMap((d) => d.stalls ?? []) };
}

/** Clicks `selector` inside the frame and resolves with the ms until the totals' text changes. */
async function clickToTotals(g: Frame, selector: string): Promise<number> {
  return g.evaluate(
    (sel) =>
      new Promise<number>((resolve, reject) => {
        const totals = document.querySelector('[data-testid="total-energy"]');
        const button = document.querySelector(sel) as HTMLElement | null;
        if (!totals || !button) return reject(new Error(`missing ${sel} or the totals`));
        const before = totals.textContent;
        const t0 = performance.now();
        const observer = new MutationObserver(() => {
          if (totals.textContent !== before) {
            observer.disconnect();
            resolve(performance.now() - t0);
          }
        });
        observer.observe(totals, { childList: true, characterData: true, subtree: true });
        setTimeout(() => {
          observer.disconnect();
          reject(new Error('the totals did not change within 10 s'));
        }, 10_000);
        button.click();
      }),
    selector,
  );
}

/** Moves the rank slider to `rank` as a user's drag does (input, then change). */
async function setRank(g: Frame, rank: number): Promise<void> {
  await g.locator('[data-testid="rank-slider"]').evaluate((el: HTMLInputElement, value) => {
    const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
    set.call(el, String(value));
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, rank);
}

/** Waits until the inspector shows `rank` and the preview computed for it (the table is no longer busy). */
async function previewShown(g: Frame, rank: number): Promise<void> {
  await waitFor(
    async () =>
      (await g.locator('[data-testid="rank-value"]').innerText()).trim() === String(rank) &&
      (await g.locator('table[aria-label="Effect of the compression"]').getAttribute('aria-busy')) === 'false',
    `the compression preview at rank ${rank}`,
    60_000,
  );
}

/** Focuses the text editor by clicking its first line (keys pressed in the webview stay in its iframe). */
async function focusText(page: Page): Promise<void> {
  await page.locator('.editor-group-container').first().locator('.monaco-editor .view-line').first().click();
}

export async function run(): Promise<void> {
  console.log(`extension host event-loop delay per studio action (1 ms histogram, goal < ${EVENT_LOOP_GOAL_MS} ms); ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)}`);
  const s = await startStudio({ extraExtensions: [join(ROOT, 'test', 'bench', 'event-loop-probe')] });
  try {
    await quickOpen(s.page, 'deepear.sense');
    await s.page.locator('.monaco-editor .view-lines', { hasText: 'pipeline DeepEar' }).first().waitFor({ timeout: 60_000 });
    // The status bar's estimate appears once the extension is active and its commands exist.
    const baseline = await statusEstimate(s.page);
    const probe = await EventLoopProbe.connect(s.workspace);
    await runCommand(s.page, 'Sense: Open Graph to the Side');
    const g = await graphFrame(s.page);
    await selectLayer(g, 'encoder.3');
    await g.locator('[data-testid="retained-energy"]').waitFor({ timeout: 60_000 });
    await setRank(g, 32);
    await previewShown(g, 32);

    // The floor: the same histogram while nothing is asked of the studio. On a loaded machine
    // a delay also counts time the extension host waited for a core, which this line shows.
    reportDelay(
      `idle, no action (${IDLE_MS / 1000} s)`,
      await probe.during(() => new Promise((r) => setTimeout(r, IDLE_MS))),
    );

    // Apply on encoder.3: each click timed to the totals, and its event-loop delay. With
    // SENSE_BENCH_PROFILE=1 the extension host is CPU-profiled during this and each action
    // below (which slows it) and the long tasks are attributed to the code that ran.
    const applyMs: number[] = [];
    const applyDelays: EventLoopDelay[] = [];
    await profiled(probe, `Apply and Remove, ${APPLY_RUNS} times`, async () => {
      for (let i = 0; i < APPLY_RUNS; i++) {
        applyDelays.push(
          await probe.during(async () => {
            applyMs.push(await clickToTotals(g, '[data-testid="apply-compression"]'));
          }),
        );
        await g.locator('[data-testid="remove-compression"]').waitFor({ timeout: 10_000 });
        await clickToTotals(g, '[data-testid="remove-compression"]');
        // Remove's own trailing work settles before the next Apply's histogram starts.
        await g.waitForTimeout(SETTLE_MS);
      }
    });
    console.log(`  load average ${loadavg()[0].toFixed(1)}`);
    console.log(`  Apply, each run in order: ${applyDelays.map((d) => `${d.maxMs.toFixed(0)} ms (gc ${(d.gcMaxMs ?? 0).toFixed(0)})`).join(', ')}`);
    const applyMaxima = applyDelays.map((d) => d.maxMs).sort((a, b) => a - b);
    reportDelay(`Apply on encoder.3 (worst of ${APPLY_RUNS})`, worst(applyDelays), `median of the ${APPLY_RUNS} maxima ${applyMaxima[Math.floor(APPLY_RUNS / 2)].toFixed(1)} ms`);

    // The rank slider through SLIDER_STEPS positions, each waiting for its preview.
    const maxRank = Number(await g.locator('[data-testid="rank-slider"]').getAttribute('max'));
    const ranks = [...new Set(Array.from({ length: SLIDER_STEPS }, (_, i) => Math.max(1, Math.round(((i + 1) * maxRank) / (SLIDER_STEPS + 1)))))].filter((r) => r !== 32);
    reportDelay(
      `rank slider, ${ranks.length} values`,
      await profiled(probe, 'rank slider', () =>
        probe.during(async () => {
          for (const rank of ranks) {
            await setRank(g, rank);
            await previewShown(g, rank);
          }
        }),
      ),
    );

    // Sense: Auto-Partition from the palette, until its notification; then undone.
    await focusText(s.page);
    reportDelay(
      'Sense: Auto-Partition (palette)',
      await profiled(probe, 'Auto-Partition', () =>
        probe.during(async () => {
          await runCommand(s.page, 'Sense: Auto-Partition');
          await s.page.locator('.notifications-toasts', { hasText: 'Auto-Partition' }).waitFor({ timeout: 120_000 });
        }),
      ),
    );
    await focusText(s.page);
    await s.page.keyboard.press('Control+Z');
    await waitFor(async () => (await statusEstimate(s.page)).latencyMs === baseline.latencyMs, 'the status bar latency to return after undoing Auto-Partition', 60_000);

    // A clip from the graph's run panel, until the probabilities show.
    const clip = 'data/deepear/ambient/music/music-0000.wav';
    await g.locator('select[aria-label="Clip to run"]').selectOption(clip);
    reportDelay(
      'run a clip from the graph',
      await profiled(probe, 'run a clip', () =>
        probe.during(async () => {
          await g.locator('[data-testid="run-clip"]').click();
          await g.locator('div.sense-run-result[data-testid="run-result"]').waitFor({ timeout: 150_000 });
        }),
      ),
    );

    // Sense: Export Bundle from the palette into the proposed folder, until its notification.
    await focusText(s.page);
    reportDelay(
      'Sense: Export Bundle',
      await profiled(probe, 'Export Bundle', () =>
        probe.during(async () => {
          await runCommand(s.page, 'Sense: Export Bundle');
          const input = s.page.locator('.quick-input-widget input');
          await waitFor(async () => /deepear-bundle$/.test(await input.inputValue()), 'the export folder prompt');
          await s.page.keyboard.press('Enter');
          await s.page.locator('.notifications-toasts', { hasText: 'exported DeepEar' }).waitFor({ timeout: 150_000 });
        }),
      ),
    );

    applyMs.sort((a, b) => a - b);
    const median = applyMs[Math.floor(applyMs.length / 2)];
    report(`real VS Code: click Apply -> new totals on screen (median of ${APPLY_RUNS})`, median, `goal < 150 ms; runs ${applyMs.map((x) => x.toFixed(0)).join(' ')}`);
  } catch (e) {
    // A picture of the failure (test-output/vscode/), for whoever reads the log.
    await s.shot('bench-failed').catch(() => undefined);
    throw e;
  } finally {
    await s.close();
  }
}
