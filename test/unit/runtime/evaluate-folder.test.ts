import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateFolder, LabelledFolderError } from '../../../runtime/node-files';
import type { BundleRunner, ClipResult } from '../../../runtime/runner';

// A runner that predicts what each clip's bytes say ("music", "speech" or "" for a silent clip),
// so the expected counts below follow from the folder written here alone.
const runner: Pick<BundleRunner, 'manifest' | 'runClip'> = {
  manifest: { input: { kind: 'audio' }, heads: { kind: { labels: ['music', 'speech'] } } } as unknown as BundleRunner['manifest'],
  async runClip(clip, name): Promise<ClipResult> {
    const said = clip.kind === 'audio' ? '' : new TextDecoder().decode(clip.bytes);
    const heads = said ? { kind: { label: said, probabilities: { [said]: 1 } } } : {};
    return { clip: name, latencyMs: 2, windows: 3, silentWindows: said ? 0 : 3, silent: !said, heads, perWindow: [] } as unknown as ClipResult;
  },
};

const dir = mkdtempSync(join(tmpdir(), 'sense-eval-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('evaluateFolder (sense eval and the studio alike)', () => {
  it('counts correct, wrong and silent clips per head', async () => {
    const data = join(dir, 'data');
    mkdirSync(join(data, 'kind', 'music'), { recursive: true });
    mkdirSync(join(data, 'kind', 'speech'), { recursive: true });
    writeFileSync(join(data, 'kind', 'music', 'a.wav'), 'music');
    writeFileSync(join(data, 'kind', 'music', 'b.wav'), 'speech');
    writeFileSync(join(data, 'kind', 'music', 'c.wav'), '');
    writeFileSync(join(data, 'kind', 'music', 'notes.txt'), 'not a clip');
    writeFileSync(join(data, 'kind', 'speech', 'd.wav'), 'speech');
    const progress: number[] = [];
    const e = await evaluateFolder(runner, data, { onClip: (done) => progress.push(done) });
    // 4 clips: a right, b wrong, c silent (wrong, in no cell), d right.
    expect(e.heads.kind).toEqual({ labels: ['music', 'speech'], clips: 4, correct: 2, accuracy: 0.5, silent: 1, confusion: [[1, 1], [0, 1]] });
    expect(e.clipLatenciesMs).toEqual([2, 2, 2, 2]);
    expect(e.windows).toBe(12);
    expect(progress).toEqual([1, 2, 3, 4]);
  });

  it('names an unknown head or label, and a folder without clips, before running anything', async () => {
    const bad = join(dir, 'bad');
    mkdirSync(join(bad, 'kind', 'jazz'), { recursive: true });
    await expect(evaluateFolder(runner, bad)).rejects.toThrow(/bad\/kind\/jazz: head kind has no label 'jazz' \(labels: music, speech\)/);
    const empty = join(dir, 'empty');
    mkdirSync(join(empty, 'kind', 'music'), { recursive: true });
    await expect(evaluateFolder(runner, empty)).rejects.toBeInstanceOf(LabelledFolderError);
    await expect(evaluateFolder(runner, join(dir, 'missing'))).rejects.toThrow(/missing: no such folder/);
  });
});
