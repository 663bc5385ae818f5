import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSamples, parseArgs } from '../../../scripts/samples/generate';
import { mixAtSnr } from '../../../engine/train/signal';
import { decodeWav16 } from '../../../scripts/samples/wav';
import { runPython } from '../../support/python';

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

function hashes(dir: string): Record<string, string> {
  return Object.fromEntries(listFiles(dir).map((f) => [f, createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')]));
}

interface Manifest {
  synthetic: boolean;
  files: Array<{ path: string; head: string; label: string; params: Record<string, unknown> }>;
}

const root = mkdtempSync(join(tmpdir(), 'samples-test-'));
const runA = join(root, 'a');
const runB = join(root, 'b');
const runC = join(root, 'c');
const watchDir = join(root, 'watch');

describe('synthetic sample generator', () => {
  beforeAll(async () => {
    const tiny = { perLabel: 1, seed: 11, snrDb: [0, 10] };
    await generateSamples({ ...tiny, outDir: runA });
    await generateSamples({ ...tiny, outDir: runB });
    await generateSamples({ ...tiny, seed: 12, outDir: runC, only: 'deepear', heads: ['speaker'] });
    await generateSamples({ outDir: watchDir, perLabel: 12, seed: 5, only: 'watch' });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes byte-identical files for the same arguments and seed, and different ones for another seed', () => {
    const a = hashes(runA);
    const b = hashes(runB);
    // 4 + 5 + 2 + 23 clean clips, 2 noisy variants of each of the 30 speech clips,
    // 5 + 4 + 2 inertial windows, and the manifest.
    expect(Object.keys(a)).toHaveLength(34 + 60 + 11 + 1);
    expect(b).toEqual(a);
    const c = hashes(runC);
    expect(c['speaker/s05/s05-0000.wav']).toBeDefined();
    expect(c['speaker/s05/s05-0000.wav']).not.toEqual(a['speaker/s05/s05-0000.wav']);
  });

  it('labels the data as synthetic and lists every file in the manifest', () => {
    const m = JSON.parse(readFileSync(join(runA, 'manifest.json'), 'utf8')) as Manifest;
    expect(m.synthetic).toBe(true);
    expect(m.files.map((f) => f.path).sort()).toEqual(listFiles(runA).filter((f) => f !== 'manifest.json'));
    for (const f of m.files) expect(f.path.startsWith(`${f.head}/${f.label}/`)).toBe(true);
  });

  it('writes WAV files that Python reads as 1 s of 16 kHz mono 16-bit PCM', () => {
    const wavs = listFiles(runA).filter((f) => f.endsWith('.wav')).map((f) => join(runA, f));
    expect(wavs.length).toBe(94);
    const info = runPython<Array<[number, number, number, number, string, number, number]>>(
      `
import json, sys, wave, os
import numpy as np
out = []
for p in json.load(sys.stdin):
    with wave.open(p, 'rb') as w:
        x = np.frombuffer(w.readframes(w.getnframes()), dtype='<i2').astype(np.float64) / 32767
        out.append([w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes(), w.getcomptype(),
                    os.path.getsize(p), float(np.sqrt(np.mean(x ** 2)))])
print(json.dumps(out))
`,
      wavs,
    );
    for (const [channels, width, rate, frames, comp, bytes, rms] of info) {
      expect([channels, width, rate, frames, comp, bytes]).toEqual([1, 2, 16000, 16000, 'NONE', 44 + 32000]);
      // Every clip carries signal: the quietest kind ("other" room tone) sits near -45 dBFS.
      expect(20 * Math.log10(rms)).toBeGreaterThan(-55);
    }
  });

  it('mixes at the requested SNR within 0.1 dB (numpy reference), also when the mixture must be scaled to avoid clipping', () => {
    const clean = decodeWav16(readFileSync(join(runA, 'speaker/s03/s03-0000.wav'))).samples;
    const noises = ['ambient/traffic/traffic-0000.wav', 'ambient/music/music-0000.wav', 'ambient/other/other-0000.wav'].map(
      (p) => decodeWav16(readFileSync(join(runA, p))).samples,
    );
    const cases: Array<{ snr: number; clean: number[]; noise: number[]; mix: number[] }> = [];
    for (const noise of noises) {
      for (const snr of [0, 5, 10, 20, -5]) {
        cases.push({ snr, clean: Array.from(clean), noise: Array.from(noise), mix: Array.from(mixAtSnr(clean, noise, snr)) });
      }
    }
    const measured = runPython<Array<[number, number]>>(
      `
import json, sys
import numpy as np
out = []
for c in json.load(sys.stdin):
    s = np.array(c['clean']); n = np.array(c['noise']); m = np.array(c['mix'])
    # The mixture is a*clean + b*noise; recover a and b by least squares.
    (a, b), *_ = np.linalg.lstsq(np.stack([s, n], 1), m, rcond=None)
    rms = lambda v: np.sqrt(np.mean(v ** 2))
    out.append([20 * np.log10(rms(a * s) / rms(b * n)), float(np.max(np.abs(m)))])
print(json.dumps(out))
`,
      cases,
    );
    measured.forEach(([snr, peak], i) => {
      expect(Math.abs(snr - (cases[i] as { snr: number }).snr)).toBeLessThan(0.1);
      expect(peak).toBeLessThanOrEqual(0.99 + 1e-6);
    });
  });

  it('writes noisy variants whose SNR against their clean clip is near the requested one', () => {
    const m = JSON.parse(readFileSync(join(runA, 'manifest.json'), 'utf8')) as Manifest;
    const noisy = m.files.filter((f) => typeof f.params.snrDb === 'number');
    expect(noisy).toHaveLength(60);
    const measured = runPython<number[]>(
      `
import json, sys, wave
import numpy as np
def read(p):
    with wave.open(p, 'rb') as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype='<i2').astype(np.float64)
out = []
for clean_p, mix_p in json.load(sys.stdin):
    s = read(clean_p); m = read(mix_p)
    a = np.dot(m, s) / np.dot(s, s)   # the clean part's gain (the mixture may be scaled down)
    n = m - a * s
    out.append(float(20 * np.log10(np.linalg.norm(a * s) / np.linalg.norm(n))))
print(json.dumps(out))
`,
      noisy.map((f) => [join(runA, f.params.cleanClip as string), join(runA, f.path)]),
    );
    // Projection treats the part of the noise correlated with the speech as speech, so
    // this file-level check is looser than the exact one above.
    measured.forEach((snr, i) => expect(Math.abs(snr - ((noisy[i] as Manifest['files'][number]).params.snrDb as number))).toBeLessThan(0.5));
  });

  it('writes inertial CSVs with the documented columns, 128 rows at 50 Hz, and plausible physics', () => {
    const m = JSON.parse(readFileSync(join(watchDir, 'manifest.json'), 'utf8')) as Manifest;
    expect(m.files).toHaveLength(12 * 11);
    const checks = runPython<Array<{ header: string; rows: number; dtOk: boolean; finite: boolean; domHz: number; gMean: number; dpHpa: number }>>(
      `
import json, sys
import numpy as np
out = []
for p in json.load(sys.stdin):
    with open(p) as f:
        header = f.readline().strip()
    d = np.loadtxt(p, delimiter=',', skiprows=1, ndmin=2)
    mag = np.linalg.norm(d[:, 1:4], axis=1)
    x = (mag - mag.mean()) * np.hanning(len(mag))
    spec = np.abs(np.fft.rfft(x, 4096)); freqs = np.fft.rfftfreq(4096, 1 / 50)
    out.append({'header': header, 'rows': int(d.shape[0]), 'dtOk': bool(np.allclose(d[:, 0], np.arange(d.shape[0]) / 50)),
                'finite': bool(np.isfinite(d).all()), 'domHz': float(freqs[1 + np.argmax(spec[1:])]),
                'gMean': float(mag.mean()), 'dpHpa': float(np.polyfit(d[:, 0], d[:, 10], 1)[0] * 2.54)})
print(json.dumps(out))
`,
      m.files.map((f) => join(watchDir, f.path)),
    );
    let indoorStairs = 0;
    let walking = 0;
    m.files.forEach((f, i) => {
      const c = checks[i] as (typeof checks)[number];
      expect(c.header).toBe('t,ax,ay,az,gx,gy,gz,mx,my,mz,p');
      expect([c.rows, c.dtOk, c.finite]).toEqual([128, true, true]);
      const sc = f.params.scenario as { activity: string; place: string | null };
      if (sc.activity === 'walking') {
        expect(c.domHz).toBeGreaterThan(1.5);
        expect(c.domHz).toBeLessThan(2.3);
        expect(Math.abs(c.domHz - (f.params.stepHz as number))).toBeLessThan(0.25);
      }
      if (sc.activity === 'running') expect(Math.abs(c.domHz - (f.params.stepHz as number))).toBeLessThan(0.25);
      if (sc.activity === 'still' && f.head === 'activity') expect(Math.abs(c.gMean - 9.80665)).toBeLessThan(0.2);
      if (sc.activity === 'stairs' && sc.place === 'indoor') {
        // Climbing lowers the pressure by 0.12 hPa per metre; indoors only sensor noise
        // (~0.012 hPa per sample) blurs it, outdoors wind gusts are as large as the trend.
        expect(Math.abs(c.dpHpa - -0.12 * (f.params.climbMps as number) * 2.54)).toBeLessThan(0.03);
        indoorStairs++;
      }
      if (sc.activity === 'walking') walking++;
    });
    expect(indoorStairs).toBeGreaterThanOrEqual(5);
    expect(walking).toBeGreaterThanOrEqual(12);
  });

  it('reproduces the committed samples/data byte for byte with the command in its README', async () => {
    const readme = readFileSync('samples/data/README.md', 'utf8');
    expect(readme).toContain('--out samples/data/deepear --per-label 2 --seed 2015 --only deepear');
    expect(readme).toContain('--out samples/data/watch   --per-label 4 --seed 2015 --only watch');
    const watch = join(root, 'committed-watch');
    await generateSamples({ outDir: watch, perLabel: 4, seed: 2015, only: 'watch' });
    expect(hashes(watch)).toEqual(hashes('samples/data/watch'));
    // Clip seeds do not depend on which heads run, so two heads stand in for the whole set.
    const audio = join(root, 'committed-deepear');
    await generateSamples({ outDir: audio, perLabel: 2, seed: 2015, only: 'deepear', heads: ['ambient', 'stress'] });
    const mine = hashes(audio);
    const committed = hashes('samples/data/deepear');
    const wavs = Object.keys(mine).filter((f) => f.endsWith('.wav'));
    expect(wavs).toHaveLength(12);
    for (const f of wavs) expect(mine[f], f).toBe(committed[f]);
  });

  it('rejects bad arguments and foreign output folders with clear messages', async () => {
    expect(() => parseArgs(['--out', 'x', '--snr', '5,abc'])).toThrow(/--snr .*"abc"/);
    expect(() => parseArgs(['--out', 'x', '--only', 'phone'])).toThrow(/deepear or watch/);
    expect(() => parseArgs(['--per-label', '3'])).toThrow(/--out DIR is required/);
    expect(() => parseArgs(['--out', 'x', '--frobnicate'])).toThrow(/Unknown flag "--frobnicate"/);
    await expect(generateSamples({ outDir: join(root, 'z'), perLabel: 1, seed: 1, heads: ['nosuchhead'] })).rejects.toThrow(/unknown head "nosuchhead"/);
    const foreign = join(root, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'precious.txt'), 'keep me');
    await expect(generateSamples({ outDir: foreign, perLabel: 1, seed: 1, only: 'watch' })).rejects.toThrow(/was not written by the sample generator/);
    expect(readFileSync(join(foreign, 'precious.txt'), 'utf8')).toBe('keep me');
    const cli = spawnSync('npx', ['tsx', 'scripts/samples/generate.ts', '--out', join(root, 'cli'), '--per-label', 'two'], { encoding: 'utf8' });
    expect(cli.status).toBe(1);
    expect(cli.stderr).toContain('--per-label must be an integer, got "two"');
  });
});
