/**
 * The observed gate rates on their way to the studio: the pipeline worker's run views carry the
 * runtime's gate counts (extension/jobs/pipeline-work.ts; one real run of the gated DeepEar
 * fixture on a music clip, and hand-made counts), the protocol refuses a hostile
 * `writeExpect`, and gateRateOffers offers one rate per gate that differs from its expect line
 * at 0.1 %, worked out by hand.
 */
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../../cli/load';
import { clipRunView, folderRunView, PipelineWork } from '../../../extension/jobs/pipeline-work';
import { documentFiles } from '../../../extension/workspace-files';
import type { BundleManifest } from '../../../runtime/bundle-manifest';
import type { ClipResult } from '../../../runtime/runner';
import { gateRateOffers, parseFromWebview, type RunView } from '../../../webview/protocol';

const counts = {
  speaker: { head: 'ambient', label: 'voicing', opened: 7, windows: 23, expected: 0.3 },
  stress: { head: 'ambient', label: 'voicing', opened: 7, windows: 23, expected: 0.3 },
};

const root = resolve(import.meta.dirname, '../../..');

describe('gate rates in the run views', () => {
  it('the pipeline worker runs the gated fixture on a music clip: the speech heads\' gate opened on 0 of its 1 window, expected 30 % (as README\'s sense run shows)', async () => {
    const sensePath = join(root, 'test/unit/export/fixtures/deepear-gated.sense');
    const { spec } = await loadPipeline(sensePath);
    const work = new PipelineWork();
    try {
      const clipPath = join(root, 'samples/data/deepear/ambient/music/music-0000.wav');
      const view = await work.run({ kind: 'runClip', spec, weights: { kind: 'document', files: documentFiles(sensePath, [root]) }, ort: { provider: 'node', searchFrom: [root] }, clipPath }, { cancelled: false, onProgress: () => undefined });
      expect(view.gates?.map((g) => [g.head, g.gateHead, g.label, g.opened, g.windows, g.expected])).toEqual([
        ['emotion', 'ambient', 'voicing', 0, 1, 0.3],
        ['stress', 'ambient', 'voicing', 0, 1, 0.3],
        ['speaker', 'ambient', 'voicing', 0, 1, 0.3],
      ]);
      expect(gateRateOffers(view)).toEqual([{ head: 'ambient', label: 'voicing', fraction: 0, opened: 0, windows: 1, expected: 0.3 }]);
    } finally {
      await work.dispose();
    }
  });

  it('a clip and a folder carry every gated head\'s count', () => {
    const manifest = { heads: { ambient: { labels: ['music', 'voicing'] }, speaker: { labels: ['s01'] }, stress: { labels: ['calm'] } } } as unknown as BundleManifest;
    const clip: ClipResult = { clip: 'a.wav', latencyMs: 1, windows: 25, silentWindows: 2, silent: false, heads: {}, skipped: {}, gates: counts, perWindow: [] };
    const view = clipRunView(manifest, clip);
    expect(view.gates).toEqual([
      { head: 'speaker', gateHead: 'ambient', label: 'voicing', opened: 7, windows: 23, expected: 0.3 },
      { head: 'stress', gateHead: 'ambient', label: 'voicing', opened: 7, windows: 23, expected: 0.3 },
    ]);
    expect(folderRunView({ heads: {}, clipLatenciesMs: [1], windows: 23, gates: { speaker: { head: 'ambient', label: 'voicing', opened: 0, windows: 23 } } }).gates).toEqual([{ head: 'speaker', gateHead: 'ambient', label: 'voicing', opened: 0, windows: 23 }]);
    // A pipeline without gates: no gates field at all.
    expect('gates' in clipRunView(manifest, { ...clip, gates: undefined })).toBe(false);
  });

  it('offers one rate per gate that differs from its expect line at 0.1 %', () => {
    const run = (gates: RunView['gates']): RunView => ({ measuredLatencyMs: 1, windows: 30, heads: [], gates });
    // 7/23 = 0.30434..., 30.4 % against 30 %: offered once for the two heads gated alike.
    expect(gateRateOffers(run(clipRunView({ heads: {} } as unknown as BundleManifest, { clip: 'a', latencyMs: 1, windows: 23, silentWindows: 0, silent: false, heads: {}, gates: counts, perWindow: [] }).gates))).toEqual([
      { head: 'ambient', label: 'voicing', fraction: 0.304, opened: 7, windows: 23, expected: 0.3 },
    ]);
    // 3/10 = 30 % matches; 1/3 = 33.3 % with no expect line is offered; a gate whose head never ran is not.
    expect(gateRateOffers(run([{ head: 'x', gateHead: 'a', label: 'v', opened: 3, windows: 10, expected: 0.3 }]))).toEqual([]);
    expect(gateRateOffers(run([{ head: 'x', gateHead: 'a', label: 'v', opened: 1, windows: 3 }]))).toEqual([{ head: 'a', label: 'v', fraction: 0.333, opened: 1, windows: 3 }]);
    expect(gateRateOffers(run([{ head: 'x', gateHead: 'a', label: 'v', opened: 0, windows: 0 }]))).toEqual([]);
  });

  it('the host refuses a writeExpect with a rate outside 0-1, a bad head or an unknown key', () => {
    const msg = (body: object) => parseFromWebview({ messageId: 1, body: { type: 'writeExpect', head: 'ambient', label: 'voicing', fraction: 0.425, documentVersion: 3, ...body } });
    expect(msg({}).ok).toBe(true);
    for (const bad of [{ fraction: 1.5 }, { fraction: -0.1 }, { fraction: Number.NaN }, { head: '../x' }, { label: '' }, { extra: 1 }, { documentVersion: -1 }]) expect(msg(bad).ok).toBe(false);
  });
});
