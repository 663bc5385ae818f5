/**
 * Reading training data (DATA/HEAD/LABEL/*.wav|csv) and the `sense train` command line:
 * the committed sample set reads as expected, and every bad folder or flag gives a clear
 * error that names the path or flag and the fix.
 */
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeWav16 } from '../../../runtime/wav';
import { readLabelledData, readNoiseClips } from '../../../engine/train/node-data';
import { parseTrainArgs } from '../../../cli/commands/train';
import { main } from '../../../cli/main';
import { readWeightsFile } from '../../../engine/weights/node-weights';
import { mulberry32 } from '../../../engine/compress/random';
import { SINE_PIPELINE, pipelineFromText, sineClip, tempDir } from './helpers';

function writeClip(dir: string, name: string, samples: Float32Array): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), encodeWav16(samples, 8000));
}

/** A DATA folder for the toy pipeline: tone/{low,mid,high} and loud/{quiet,loud}. */
function toyData(perLabel: number): string {
  const root = tempDir('sense-data-');
  const rng = mulberry32(3);
  ['low', 'mid', 'high'].forEach((l, i) => {
    for (let k = 0; k < perLabel; k++) writeClip(join(root, 'tone', l), `${l}-${k}.wav`, sineClip(i, rng));
  });
  ['quiet', 'loud'].forEach((l, i) => {
    for (let k = 0; k < perLabel; k++) writeClip(join(root, 'loud', l), `${l}-${k}.wav`, sineClip(k % 3, rng).map((v) => v * (i === 0 ? 0.02 : 1)));
  });
  return root;
}

describe('readLabelledData', () => {
  it('reads the committed synthetic watch set: 44 clips, one window each, labels in the pipeline order', async () => {
    const { spec } = await pipelineFromText(readFileSync('test/unit/train/fixtures/watch.sense', 'utf8'));
    const d = readLabelledData(spec, 'samples/data/watch');
    expect(d.examples.length).toBe(44);
    expect(d.clips).toEqual({ activity: 20, transport: 16, place: 8 });
    expect(d.labels.activity).toEqual(['still', 'walking', 'running', 'cycling', 'stairs']);
    const e = d.examples.find((x) => x.clip.includes('/running/'))!;
    expect(e.label).toBe(2);
    expect((e.window as Float32Array[]).length).toBe(7);
    expect(d.warnings).toEqual([]);
  });

  it('labels each clip for its own head only and warns about heads without data', async () => {
    const { spec } = await pipelineFromText(SINE_PIPELINE);
    const root = toyData(2);
    mkdirSync(join(root, 'extra', 'x'), { recursive: true });
    const d = readLabelledData(spec, root);
    expect(d.examples.length).toBe(10);
    expect(d.examples.filter((e) => e.head === 'tone').map((e) => e.label)).toEqual([2, 2, 0, 0, 1, 1]);
    expect(d.warnings.join('\n')).toMatch(/has no head 'extra'; folder ignored/);
    const onlyTone = readLabelledData(spec, root, { heads: ['tone'] });
    expect(new Set(onlyTone.examples.map((e) => e.head))).toEqual(new Set(['tone']));
  });

  it('gives clear errors for bad folders', async () => {
    const { spec } = await pipelineFromText(SINE_PIPELINE);
    expect(() => readLabelledData(spec, '/nonexistent/data')).toThrow(/no such folder; give a data folder laid out as HEAD\/LABEL/);
    const root = toyData(1);
    mkdirSync(join(root, 'tone', 'ultrasonic'));
    expect(() => readLabelledData(spec, root)).toThrow(/'ultrasonic' is not a label of head tone \(labels: low, mid, high\); rename it or add the label/);
    const empty = tempDir('sense-data-');
    mkdirSync(join(empty, 'tone', 'low'), { recursive: true });
    expect(() => readLabelledData(spec, empty)).toThrow(/tone: no \.wav clips in its label folders/);
    const none = tempDir('sense-data-');
    mkdirSync(join(none, 'other'));
    expect(() => readLabelledData(spec, none)).toThrow(/no clips for any head of pipeline Tones \(heads: tone, loud\)/);
    expect(() => readLabelledData(spec, toyData(1), { heads: ['pitch'] })).toThrow(/--heads: pipeline Tones has no head 'pitch'/);
    const badWav = toyData(1);
    writeFileSync(join(badWav, 'tone', 'low', 'broken.wav'), 'not a wav');
    expect(() => readLabelledData(spec, badWav)).toThrow(/broken\.wav/);
    // A head without `labels` takes its folder names, which must match its width.
    const unlabelled = await pipelineFromText(SINE_PIPELINE.replace('labels [low, mid, high]', ''));
    const two = tempDir('sense-data-');
    writeClip(join(two, 'tone', 'a'), 'a.wav', sineClip(0, mulberry32(1)));
    writeClip(join(two, 'tone', 'b'), 'b.wav', sineClip(1, mulberry32(2)));
    expect(() => readLabelledData(unlabelled.spec, two)).toThrow(/head tone has 3 outputs but the folder holds 2 label folders \(a, b\)/);
    expect(() => readNoiseClips(empty, 8000)).toThrow(/no \.wav files/);
  });
});

describe('sense train command line', () => {
  it('parses flags and rejects bad ones', () => {
    const a = parseTrainArgs(['p.sense', 'data', '--epochs', '3', '--snr', '0,5', '--noise-dir', 'n', '--heads', 'a,b']);
    expect(a).toMatchObject({ file: 'p.sense', data: 'data', epochs: 3, snrDb: [0, 5], noiseDir: 'n', heads: ['a', 'b'], seed: 1, val: 0.2 });
    expect(() => parseTrainArgs(['p.sense'])).toThrow(/expected FILE and DATA/);
    expect(() => parseTrainArgs(['p', 'd', '--epochs', '0'])).toThrow(/--epochs needs a positive integer, got '0'/);
    expect(() => parseTrainArgs(['p', 'd', '--val', '1'])).toThrow(/--val needs a fraction/);
    expect(() => parseTrainArgs(['p', 'd', '--noise-dir', 'n'])).toThrow(/--noise-dir needs --snr/);
    expect(() => parseTrainArgs(['p', 'd', '--snr', '5'])).toThrow(/--snr needs --noise-dir/);
    expect(() => parseTrainArgs(['p', 'd', '--bogus', '1'])).toThrow(/unknown option '--bogus'/);
  });

  it('trains end to end, writes weights and a record atomically, and reports bad data with exit code 2', async () => {
    const { path } = await pipelineFromText(SINE_PIPELINE);
    const root = toyData(6);
    const out: string[] = [];
    const err: string[] = [];
    const weights = join(tempDir(), 'w.safetensors');
    const code = await main(['train', path, root, '--epochs', '2', '--out', weights, '--seed', '3'], { out: (l) => out.push(l), err: (l) => err.push(l) });
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out.filter((l) => l.startsWith('epoch')).length).toBe(2);
    expect(readWeightsFile(weights).get('tone.1.weight')?.shape).toEqual([3, 16]);
    const record = JSON.parse(readFileSync(weights.replace('.safetensors', '.training.json'), 'utf8'));
    expect(record).toMatchObject({ seed: 3, pipeline: 'Tones', epochs: { requested: 2 } });
    expect(record.secondsPerEpoch.length).toBe(2);
    const bad: string[] = [];
    const missing = join(tempDir(), 'never.safetensors');
    expect(await main(['train', path, '/nonexistent', '--out', missing], { out: () => {}, err: (l) => bad.push(l) })).toBe(2);
    expect(bad.join('\n')).toMatch(/sense train: \/nonexistent: no such folder/);
    expect(existsSync(missing)).toBe(false);
  }, 60_000);
});
