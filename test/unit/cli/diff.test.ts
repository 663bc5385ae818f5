/**
 * `sense diff` on hand-made pairs of the DeepEar sample: a compressed layer, a moved head, a
 * changed target, an added layer. Every change is checked against the two `sense estimate
 * --json` outputs computed independently (after minus before), and the compressed layer's
 * parameters against the SVD factor count worked out by hand. The `git:REV:PATH` form runs in a
 * temporary repository; bad inputs must be refused with a message naming the file.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sense } from '../../support/sense-cli';
import type { PipelineDiff } from '../../../engine/diff';
import type { EstimateJson } from '../../../cli/commands/estimate';

const SAMPLE = readFileSync('samples/deepear/deepear.sense', 'utf8');
const PLACE = '  place encoder, ambient, stress on dsp\n  place emotion, speaker on cpu\n';

/** The sample with `edit` applied to its text, written to a fresh folder; returns the path. */
function variant(name: string, edit: (text: string) => string, dir = mkdtempSync(join(tmpdir(), 'sense-diff-'))): string {
  const text = edit(SAMPLE);
  const path = join(dir, `${name}.sense`);
  writeFileSync(path, text);
  return path;
}

function replaced(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`'${from}' not in the sample`);
  return text.replace(from, to);
}

/** What `sense diff --json` prints: the engine's comparison with both labels and the notes. */
type DiffJson = PipelineDiff & { before: string; after: string; notes: string[] };

async function estimateOf(path: string): Promise<EstimateJson> {
  const r = await sense('estimate', path, '--json');
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as EstimateJson;
}

async function diffOf(...args: string[]): Promise<DiffJson> {
  const r = await sense('diff', ...args, '--json');
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as DiffJson;
}

/** Checks every layer, processor and total of `d` against the two estimates, independently of engine/diff.ts. */
function expectMatchesEstimates(d: DiffJson, before: EstimateJson, after: EstimateJson): void {
  const ids = new Set([...before.layers.map((l) => l.layer), ...after.layers.map((l) => l.layer)]);
  expect(new Set(d.layers.filter((l) => l.id !== 'features').map((l) => l.id))).toEqual(ids);
  for (const id of ids) {
    const b = before.layers.find((l) => l.layer === id);
    const a = after.layers.find((l) => l.layer === id);
    const l = d.layers.find((x) => x.id === id)!;
    for (const k of ['params', 'macs', 'weightBytes', 'latencyMs', 'energyMj'] as const) {
      expect(l[`${k}Delta`], `${id} ${k}`).toBeCloseTo((a?.[k] ?? 0) - (b?.[k] ?? 0), 9);
    }
    expect(l.status).toBe(!b ? 'added' : !a ? 'removed' : l.status);
  }
  for (const p of d.processors) {
    const b = before.processors.find((x) => x.name === p.name);
    const a = after.processors.find((x) => x.name === p.name);
    expect(p.latencyMsDelta, p.name).toBeCloseTo((a?.latencyMs ?? 0) - (b?.latencyMs ?? 0), 9);
    expect(p.energyMjDelta, p.name).toBeCloseTo((a?.energyMj ?? 0) - (b?.energyMj ?? 0), 9);
    expect(p.memoryBytesDelta, p.name).toBe((a?.memoryBytes ?? 0) - (b?.memoryBytes ?? 0));
    expect(p.opsDelta, p.name).toBe((a?.ops ?? 0) - (b?.ops ?? 0));
  }
  const sumParams = (e: EstimateJson): number => e.layers.reduce((s, l) => s + l.params, e.features?.params ?? 0);
  expect(d.total.energyPerInferenceMjDelta).toBeCloseTo(after.energyPerInferenceMj - before.energyPerInferenceMj, 9);
  expect(d.total.latencyMsDelta).toBeCloseTo(after.endToEndLatencyMs - before.endToEndLatencyMs, 9);
  expect(d.total.paramsDelta).toBe(sumParams(after) - sumParams(before));
  expect(d.total.before.energyPerInferenceMj).toBe(before.energyPerInferenceMj);
  expect(d.total.after.energyPerInferenceMj).toBe(after.energyPerInferenceMj);
  if (before.batteryLifeHours !== null && after.batteryLifeHours !== null) expect(d.total.batteryLifeHoursDelta).toBeCloseTo(after.batteryLifeHours - before.batteryLifeHours, 6);
  else expect(d.total.batteryLifeHoursDelta).toBeNull();
}

describe('sense diff on hand-made pairs', () => {
  it('a compressed layer: its compression before and after, and the SVD factors counted by hand', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sense-diff-'));
    const base = variant('base', (t) => t, dir);
    const svd = variant('svd', (t) => replaced(t, PLACE, `  compress encoder.2 svd rank 16\n${PLACE}`), dir);
    const d = await diffOf(base, svd);
    expectMatchesEstimates(d, await estimateOf(base), await estimateOf(svd));
    const e2 = d.layers.find((l) => l.id === 'encoder.2')!;
    expect(e2).toMatchObject({ status: 'changed', compressionChanged: true, moved: false });
    expect(e2.before!.compression).toBeUndefined();
    expect(e2.after!.compression).toMatchObject({ kind: 'svd', rank: 16 });
    // dense 256 on 40 x 98 = 3920 inputs: W (3920 x 256) + bias before; U (3920 x 16) + V (16 x 256) + bias after.
    expect(e2.before!.params).toBe(3920 * 256 + 256);
    expect(e2.after!.params).toBe(16 * (3920 + 256) + 256);
    expect(e2.paramsDelta).toBe(16 * (3920 + 256) - 3920 * 256);
    expect(d.layers.filter((l) => l.status !== 'same' && l.id !== 'encoder.2').every((l) => l.paramsDelta === 0)).toBe(true);
    expect(d.total.energyPerInferenceMjDelta).toBeLessThan(0);

    const text = await sense('diff', base, svd);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^encoder\.2 +changed +dense +dsp +none -> svd rank 16 +−936,704 /m);
    expect(text.out).not.toMatch(/^ambient\.1 /m);
    expect(text.out).toMatch(/unchanged layers not shown; --all lists them/);
    expect(text.out).toMatch(/^parameters +1,206,132 -> 269,428 \(−77\.7%\)$/m);
    expect((await sense('diff', base, svd, '--all')).out).toMatch(/^ambient\.1 +same /m);
  });

  it('a moved head: its layers change processor, its parameters do not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sense-diff-'));
    const base = variant('base', (t) => t, dir);
    const moved = variant('moved', (t) => replaced(t, PLACE, '  place encoder, ambient on dsp\n  place emotion, speaker, stress on cpu\n'), dir);
    const d = await diffOf(base, moved);
    expectMatchesEstimates(d, await estimateOf(base), await estimateOf(moved));
    const stress = d.heads.find((h) => h.head === 'stress')!;
    expect(stress).toMatchObject({ status: 'changed', moved: true });
    expect(stress.before!.processors).toEqual(['dsp']);
    expect(stress.after!.processors).toEqual(['cpu']);
    expect(d.heads.filter((h) => h.moved).map((h) => h.head)).toEqual(['stress']);
    for (const id of ['stress.1', 'stress.2']) {
      const l = d.layers.find((x) => x.id === id)!;
      expect(l).toMatchObject({ status: 'changed', moved: true, paramsDelta: 0, macsDelta: 0 });
      expect([l.before!.processor, l.after!.processor]).toEqual(['dsp', 'cpu']);
    }
    expect(d.layers.find((l) => l.id === 'encoder.2')!.moved).toBe(false);
    expect((await sense('diff', base, moved)).out).toMatch(/^stress +changed \(moved\) +dsp -> cpu /m);
  });

  it('a changed target: processors of either device, the battery life on each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sense-diff-'));
    const noPlace = (t: string): string => replaced(t, PLACE, '');
    const before = variant('snapdragon', noPlace, dir);
    const after = variant('tegra', (t) => replaced(noPlace(t), 'target snapdragon800 ', 'target tegrak1 '), dir);
    const [eb, ea] = [await estimateOf(before), await estimateOf(after)];
    expect([eb.target, ea.target]).toEqual(['snapdragon800', 'tegrak1']);
    const d = await diffOf(before, after);
    expectMatchesEstimates(d, eb, ea);
    expect(d.target).toEqual({ before: 'snapdragon800', after: 'tegrak1', changed: true });
    const names = (e: EstimateJson): string[] => e.processors.map((p) => p.name);
    for (const p of d.processors) {
      const inB = names(eb).includes(p.name);
      const inA = names(ea).includes(p.name);
      expect(p.status, p.name).toMatch(inB && inA ? /^(changed|same)$/ : inA ? /^added$/ : /^removed$/);
    }
    const text = (await sense('diff', before, after)).out;
    expect(text).toMatch(/^target snapdragon800 -> tegrak1$/m);
    expect(text).toMatch(/^dsp +removed /m);
    // tegrak1 declares no battery: its battery life is absent, not zero.
    expect(ea.batteryLifeHours).toBeNull();
    expect(text).toMatch(/^battery life +[\d.]+ days -> no battery$/m);
  });

  it('an added layer: listed as added with its own figures, the next layer changed by its narrower input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sense-diff-'));
    const base = variant('base', (t) => t, dir);
    const added = variant('added', (t) => replaced(t, '    dense 256 relu\n    dense 256 relu\n', '    dense 256 relu\n    dense 256 relu\n    dense 64 relu\n'), dir);
    const d = await diffOf(base, added);
    expectMatchesEstimates(d, await estimateOf(base), await estimateOf(added));
    const e4 = d.layers.find((l) => l.id === 'encoder.4')!;
    expect(e4).toMatchObject({ status: 'added', before: null, paramsDelta: 256 * 64 + 64 });
    expect(d.layers.map((l) => l.id).indexOf('encoder.4')).toBe(d.layers.map((l) => l.id).indexOf('encoder.3') + 1);
    expect(d.layers.find((l) => l.id === 'ambient.1')!.paramsDelta).toBe(64 * 128 - 256 * 128);
    // The reverse comparison reports the same layer removed, with every change negated.
    const back = await diffOf(added, base);
    expect(back.layers.find((l) => l.id === 'encoder.4')).toMatchObject({ status: 'removed', after: null, paramsDelta: -(256 * 64 + 64) });
    expect(back.total.energyPerInferenceMjDelta).toBeCloseTo(-(d.total.energyPerInferenceMjDelta as number), 12);
    expect((await sense('diff', base, added)).out).toMatch(/^encoder\.4 +added +- -> dense /m);
  });
});

describe('sense diff git:REV:PATH', () => {
  function git(dir: string, ...args: string[]): string {
    return execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { encoding: 'utf8' });
  }

  it('reads the file at a revision, with its training record there, as a file would be read', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'sense-diff-git-'));
    git(repo, 'init', '-q');
    const sub = join(repo, 'models');
    mkdirSync(sub);
    const path = variant('deepear', (t) => t, sub);
    const record = JSON.parse(readFileSync('samples/deepear/deepear.training.json', 'utf8')) as { valAccuracy: Record<string, { accuracy: number }> };
    writeFileSync(join(sub, 'deepear.training.json'), JSON.stringify(record));
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'v1');
    const committed = join(sub, 'committed.sense');
    writeFileSync(committed, readFileSync(path));

    writeFileSync(path, replaced(SAMPLE, PLACE, `  compress encoder.2 svd rank 32\n${PLACE}`));
    const retrained = structuredClone(record);
    retrained.valAccuracy.speaker.accuracy = record.valAccuracy.speaker.accuracy - 0.125;
    writeFileSync(join(sub, 'deepear.training.json'), JSON.stringify(retrained));

    const cwd = process.cwd();
    process.chdir(sub);
    try {
      const d = await diffOf('git:HEAD:deepear.sense', 'deepear.sense');
      expect(d.before).toBe('git:HEAD:deepear.sense');
      expect(d.layers.find((l) => l.id === 'encoder.2')!.after!.compression).toMatchObject({ kind: 'svd', rank: 32 });
      const speaker = d.heads.find((h) => h.head === 'speaker')!;
      expect(speaker.before!.accuracy).toBe(record.valAccuracy.speaker.accuracy);
      expect(speaker.accuracyDelta).toBeCloseTo(-0.125, 12);
      expect(d.heads.find((h) => h.head === 'ambient')!.accuracyDelta).toBe(0);
      expect(d.notes.join('\n')).toMatch(/from the training records deepear\.training\.json at HEAD and deepear\.training\.json/);

      // The same comparison with the committed text as a plain file gives the same figures;
      // its record is the working tree's on both sides, which measures nothing of the change.
      const plain = await diffOf(committed, 'deepear.sense');
      expect(plain.layers).toEqual(d.layers);
      expect(plain.total).toEqual(d.total);
      expect(plain.heads.every((h) => h.accuracyDelta === null && h.after!.accuracy === undefined)).toBe(true);
      expect(plain.notes.join('\n')).toMatch(/not compared; both versions have the same training record/);

      const text = await sense('diff', 'git:HEAD:deepear.sense', 'deepear.sense');
      expect(text.out).toMatch(/^speaker .* 63\.8% -> 51\.3% \(−12\.5 pt\)$/m);
      // A revision path written from a folder below is still found (git's ./ paths are relative to the file's folder).
      process.chdir(repo);
      expect((await sense('diff', 'git:HEAD:models/deepear.sense', 'models/deepear.sense')).code).toBe(0);
    } finally {
      process.chdir(cwd);
    }
  });

  it('refuses a bad revision, a path absent at it, a folder outside any repository, a malformed spec', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'sense-diff-git-'));
    git(repo, 'init', '-q');
    const path = variant('deepear', (t) => t, repo);
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'v1');

    const badRev = await sense('diff', `git:nosuchrev:${path}`, path);
    expect(badRev.code).toBe(1);
    expect(badRev.err).toMatch(/sense diff: git:nosuchrev:.*deepear\.sense: unknown revision 'nosuchrev'/);

    const absent = await sense('diff', `git:HEAD:${join(repo, 'other.sense')}`, path);
    expect(absent.code).toBe(1);
    expect(absent.err).toMatch(/other\.sense does not exist at revision HEAD/);

    const outside = mkdtempSync(join(tmpdir(), 'sense-diff-norepo-'));
    const loose = variant('loose', (t) => t, outside);
    const notRepo = await sense('diff', `git:HEAD:${loose}`, path);
    expect(notRepo.code).toBe(1);
    expect(notRepo.err).toMatch(/is not inside a git repository/);

    const dash = await sense('diff', `git:--output=x:${path}`, path);
    expect(dash.code).toBe(2);
    expect(dash.err).toMatch(/a revision cannot start with '-'/);

    const malformed = await sense('diff', 'git:HEAD', path);
    expect(malformed.code).toBe(2);
    expect(malformed.err).toMatch(/'git:HEAD' needs a revision and a path/);

    // A broken file at the revision is named by its git: label with line and column.
    writeFileSync(path, 'pipeline Broken {\n  dense 12 relu\n');
    git(repo, 'commit', '-q', '-am', 'broken');
    writeFileSync(path, SAMPLE);
    const broken = await sense('diff', `git:HEAD:${path}`, path);
    expect(broken.code).toBe(1);
    expect(broken.err).toMatch(/git:HEAD:.*deepear\.sense has \d+ errors?; fix/);
    expect(broken.err).toMatch(/git:HEAD:.*deepear\.sense:2:\d+: error/);
  });
});

describe('sense diff bad inputs', () => {
  it('names a missing or broken file, and refuses a wrong number of arguments or an unknown flag', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sense-diff-'));
    const base = variant('base', (t) => t, dir);
    const missing = await sense('diff', join(dir, 'nope.sense'), base);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/nope\.sense/);
    expect(missing.err).not.toMatch(/internal error|at .*\.ts:\d+/);

    const broken = join(dir, 'broken.sense');
    writeFileSync(broken, 'pipeline P {\n  input audio { rate 16 kHz window 1 s }\n  dense twelve\n}\n');
    const r = await sense('diff', base, broken);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/broken\.sense has \d+ errors?; fix .*\n.*broken\.sense:3:\d+: error/);

    expect((await sense('diff', base)).err).toMatch(/expected two versions of a pipeline, OLD and NEW, got .*; usage: sense diff/);
    expect((await sense('diff', base, base, '--jsn')).err).toMatch(/unknown option '--jsn'/);
    const same = await sense('diff', base, base);
    expect(same.code).toBe(0);
    expect(same.out).toMatch(/^no layer changed\.$/m);
    expect(same.out).toMatch(/^energy per inference +[\d.]+ mJ -> [\d.]+ mJ \(±0%\)$/m);
  });
});
