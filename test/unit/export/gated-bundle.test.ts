/**
 * Gated heads end to end in Node: the DeepEar sample with its speech heads gated on the
 * ambient head hearing speech (fixtures/deepear-gated.sense, the sample's trained weights).
 * `sense run` on a music clip skips the speech heads and says why; on a voicing clip they run
 * and give what the ungated sample gives. The exported bundle does the same, and never runs
 * the skipped heads' partitions (counted at ONNX Runtime). `sense eval` reports the observed
 * gate rate, checked against the ungated sample's ambient predictions clip by clip.
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main';
import { loadPipeline } from '../../../cli/load';
import { buildBundle, type BuiltBundle } from '../../../engine/export/bundle';
import { defaultAssets, writeBundle } from '../../../engine/export/write-bundle';
import { loadPipelineWeights } from '../../../engine/weights/node-weights';
import { readClip } from '../../../runtime/node-files';
import { createRunner, type OrtModuleLike, type OrtSessionLike } from '../../../runtime/runner';
import { ortNode, randomWeights, specOf, tempDir } from './helpers';

const root = resolve(import.meta.dirname, '../../..');
const GATED = join(root, 'test/unit/export/fixtures/deepear-gated.sense');
const SAMPLE = join(root, 'samples/deepear/deepear.sense');
const MUSIC = join(root, 'samples/data/deepear/ambient/music/music-0000.wav');
const VOICING = join(root, 'samples/data/deepear/ambient/voicing/voicing-0000.wav');
const SPEECH_HEADS = ['emotion', 'stress', 'speaker'];

interface RunJson {
  latencyMs: number;
  windows: number;
  silentWindows: number;
  heads: Record<string, { label: string; probabilities: Record<string, number> } | { skipped: string }>;
  gates?: Record<string, { head: string; label: string; opened: number; windows: number; expected?: number }>;
}

/** `sense ARGS`, in process; its stdout parsed as JSON. */
async function senseJson<T>(args: string[]): Promise<T> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([...args, '--json'], { out: (l) => out.push(l), err: (l) => err.push(l) });
  if (code !== 0) throw new Error(`sense ${args.join(' ')} failed (${code}): ${err.join('\n')}`);
  return JSON.parse(out.join('\n')) as T;
}

const runJson = async (source: string, clip: string): Promise<RunJson> => (await senseJson<{ clips: RunJson[] }>(['run', source, clip])).clips[0];

async function bundleOf(sense: string): Promise<BuiltBundle> {
  const { spec } = await loadPipeline(sense);
  return buildBundle(spec, loadPipelineWeights(spec, sense).weights);
}

let gated: BuiltBundle;
let sample: BuiltBundle;

beforeAll(async () => {
  gated = await bundleOf(GATED);
  sample = await bundleOf(SAMPLE);
}, 120_000);

describe('gated heads in the bundle', () => {
  it('gives each gated head partitions of its own and its gate in the manifest; a bundle without gates has neither', () => {
    const parts = gated.manifest.partitions.map((p) => `${p.processor}:${p.gatedHead ?? '-'}:${[...new Set(p.layers.map((l) => l.split('.')[0]))].join('+')}`);
    // The sample places encoder, ambient, stress on dsp and emotion, speaker on cpu.
    expect(parts).toEqual(['dsp:-:encoder+ambient', 'cpu:emotion:emotion', 'dsp:stress:stress', 'cpu:speaker:speaker']);
    for (const h of SPEECH_HEADS) expect(gated.manifest.heads[h].gate).toEqual({ head: 'ambient', label: 'voicing', expected: 0.3 });
    expect(gated.manifest.heads.ambient.gate).toBeUndefined();
    // Without gates: siblings share models as before, and nothing new appears in the manifest.
    expect(sample.manifest.partitions.map((p) => `${p.processor}:${p.layers.map((l) => l.split('.')[0]).filter((b, i, a) => a.indexOf(b) === i).join('+')}`)).toEqual([
      'dsp:encoder+ambient+stress',
      'cpu:emotion+speaker',
    ]);
    expect(JSON.stringify(sample.manifest)).not.toMatch(/"gate"|"gatedHead"/);
  });

  it('sense run on a music clip skips the speech heads and says why; on a voicing clip they give what the ungated sample gives', async () => {
    const music = await runJson(GATED, MUSIC);
    expect((music.heads.ambient as { label: string }).label).toBe('music');
    for (const h of SPEECH_HEADS) expect(music.heads[h]).toEqual({ skipped: 'ambient is music' });
    expect(music.gates!.speaker).toEqual({ head: 'ambient', label: 'voicing', opened: 0, windows: 1, expected: 0.3 });

    const voicing = await runJson(GATED, VOICING);
    const reference = await runJson(SAMPLE, VOICING);
    expect((voicing.heads.ambient as { label: string }).label).toBe('voicing');
    expect(voicing.gates!.speaker.opened).toBe(1);
    for (const h of ['ambient', ...SPEECH_HEADS]) {
      const got = voicing.heads[h] as { label: string; probabilities: Record<string, number> };
      const want = reference.heads[h] as { label: string; probabilities: Record<string, number> };
      expect(got.label, h).toBe(want.label);
      for (const [l, p] of Object.entries(want.probabilities)) expect(Math.abs(got.probabilities[l] - p), `${h}/${l}`).toBeLessThan(1e-6);
    }
    // The ungated sample's output has no gate fields.
    expect(reference.gates).toBeUndefined();
  }, 120_000);

  it('sense run prints the skipped heads and the observed gate rate next to the expected one', async () => {
    const out: string[] = [];
    expect(await main(['run', GATED, MUSIC, VOICING], { out: (l) => out.push(l), err: () => {} })).toBe(0);
    expect(out).toContain('  speaker      skipped: ambient is music');
    expect(out).toContain('gate speaker (when ambient is voicing): opened on 1 of 2 windows (50.0%; expected 30.0%)');
  }, 120_000);

  it('the exported bundle in Node never runs the partitions of a head whose gate stays shut', async () => {
    const dir = join(tempDir('sense-gated-'), 'bundle');
    writeBundle(dir, gated, defaultAssets());
    // The folder through the CLI gives what the .sense file gives (but the measured latency).
    const { latencyMs: _folderMs, ...fromFolder } = await runJson(dir, MUSIC);
    const { latencyMs: _senseMs, ...fromSense } = await runJson(GATED, MUSIC);
    expect(fromFolder).toEqual(fromSense);

    // ONNX Runtime with every session.run counted by model.
    const ort = await ortNode();
    const runs = new Map<string, number>();
    const counting: OrtModuleLike = {
      Tensor: ort.Tensor,
      InferenceSession: {
        async create(model, options) {
          const session = await ort.InferenceSession.create(model, options);
          const id = gated.manifest.partitions[[...gated.models.values()].indexOf(model)]?.id ?? '?';
          return {
            inputNames: session.inputNames,
            outputNames: session.outputNames,
            run: (feeds) => {
              runs.set(id, (runs.get(id) ?? 0) + 1);
              return session.run(feeds);
            },
            release: () => session.release(),
          } satisfies OrtSessionLike;
        },
      },
    };
    const runner = await createRunner({ ort: counting, backend: 'node', manifest: gated.manifest, models: gated.models, warmup: false });
    try {
      const music = await runner.runClip(await readClip(MUSIC), MUSIC);
      expect(Object.keys(music.heads)).toEqual(['ambient']);
      expect(music.skipped).toEqual({ emotion: 'ambient is music', stress: 'ambient is music', speaker: 'ambient is music' });
      expect(Object.fromEntries(runs)).toEqual({ p0: 1 });
      await runner.runClip(await readClip(VOICING), VOICING);
      expect(Object.fromEntries(runs)).toEqual({ p0: 2, p1: 1, p2: 1, p3: 1 });
    } finally {
      await runner.release();
    }
  }, 120_000);

  it('sense eval reports the observed gate rate, the windows on which the ungated sample says voicing', async () => {
    const data = join(root, 'samples/data/deepear');
    const evaluation = await senseJson<{ heads: Record<string, { clips: number; correct: number; skipped?: number }>; gates: RunJson['gates'] }>(['eval', GATED, data]);
    // Independently: every clip of the folder through the ungated sample, counting ambient's voicing verdicts.
    let voicing = 0;
    let windows = 0;
    for (const head of readdirSync(data, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      for (const label of readdirSync(join(data, head.name))) {
        for (const clip of readdirSync(join(data, head.name, label)).filter((f) => f.endsWith('.wav'))) {
          const r = await runJson(SAMPLE, join(data, head.name, label, clip));
          // The sample clips are one window each, so a clip's label is its window's.
          expect(r.windows - r.silentWindows).toBe(1);
          windows++;
          if ((r.heads.ambient as { label: string }).label === 'voicing') voicing++;
        }
      }
    }
    expect(evaluation.gates!.speaker).toEqual({ head: 'ambient', label: 'voicing', opened: voicing, windows, expected: 0.3 });
    const speaker = evaluation.heads.speaker;
    expect(speaker.correct + (speaker.skipped ?? 0)).toBeLessThanOrEqual(speaker.clips);
  }, 300_000);
});

describe('chained gates in the runner', () => {
  const pipeline = (gates: { b?: string; c?: string; d?: string }): string => `
    pipeline Chain {
      input audio { rate 16 kHz  window 1 s }
      features { frames 25 ms hop 10 ms  logmel 8 bands }
      shared enc { flatten  dense 16 relu }
      head a from enc { dense 3 softmax  labels [a0, a1, a2] }
      head b from enc ${gates.b ?? ''} { dense 2 softmax  labels [b0, b1] }
      head c from enc ${gates.c ?? ''} { dense 2 softmax  labels [c0, c1] }
      head d from enc ${gates.d ?? ''} { dense 2 softmax  labels [d0, d1] }
      target host
    }`;

  it('runs a head whose gate opens, skips one whose gate stays shut, and one gated on a skipped head says why', async () => {
    const ort = await ortNode();
    const clip = await readClip(VOICING);
    const run = async (text: string) => {
      const spec = await specOf(text);
      // Gates change no weight: the same seed gives the same network with and without them.
      const bundle = buildBundle(spec, randomWeights(spec, 11));
      const runner = await createRunner({ ort, backend: 'node', manifest: bundle.manifest, models: bundle.models, warmup: false });
      try {
        return await runner.runClip(clip, 'voicing-0000.wav');
      } finally {
        await runner.release();
      }
    };
    const plain = await run(pipeline({}));
    const aTop = plain.heads.a.label;
    const bTop = plain.heads.b.label;
    const bOther = bTop === 'b0' ? 'b1' : 'b0';
    const gated = await run(pipeline({ b: `when a is ${aTop}`, c: `when b is ${bOther}`, d: `when c is c0` }));
    expect(gated.heads.a).toEqual(plain.heads.a);
    expect(gated.heads.b).toEqual(plain.heads.b);
    expect(gated.heads.c).toBeUndefined();
    expect(gated.skipped).toEqual({ c: `b is ${bTop}`, d: `c did not run (b is ${bTop})` });
    expect(gated.gates).toEqual({
      b: { head: 'a', label: aTop, opened: 1, windows: 1 },
      c: { head: 'b', label: bOther, opened: 0, windows: 1 },
      d: { head: 'c', label: 'c0', opened: 0, windows: 0 },
    });
  }, 120_000);
});

describe('a manifest with gates', () => {
  it('refuses a gate on an unknown head or label, a gate on itself, gates waiting for each other, and a gated partition of a head without a gate', async () => {
    const { validateManifest } = await import('../../../runtime/bundle-manifest');
    const base = JSON.parse(JSON.stringify(gated.manifest)) as typeof gated.manifest;
    const withHeads = (f: (m: typeof base) => void) => {
      const m = JSON.parse(JSON.stringify(base)) as typeof base;
      f(m);
      return () => validateManifest(m, 'b/manifest.json');
    };
    expect(withHeads(() => {})).not.toThrow();
    expect(withHeads((m) => (m.heads.speaker.gate = { head: 'nobody', label: 'voicing' }))).toThrow(
      'b/manifest.json: head speaker\'s gate waits for "nobody" to say "voicing", which is not another head\'s label',
    );
    expect(withHeads((m) => (m.heads.speaker.gate = { head: 'ambient', label: 'speech' }))).toThrow(/which is not another head's label/);
    expect(withHeads((m) => (m.heads.speaker.gate = { head: 'speaker', label: 's01' }))).toThrow(/which is not another head's label/);
    expect(
      withHeads((m) => {
        m.heads.ambient.gate = { head: 'speaker', label: 's01' };
      }),
    ).toThrow('b/manifest.json: the gates of heads ambient, speaker wait for each other, so none of them could run');
    expect(withHeads((m) => delete m.heads.speaker.gate)).toThrow('b/manifest.json: partition p3 belongs to gated head "speaker", which is not a head with a gate');
  });
});
