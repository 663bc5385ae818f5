/**
 * The built `sense` CLI against hostile files: a FIFO, `/dev/zero`, `/dev/urandom`, a
 * directory, a symbolic-link loop, a sparse 10 GB file and paths outside the folder, named by
 * a `.sense` file's `weights` line or given as clips. Each command is spawned with a time
 * limit, so a hang fails the test instead of hanging it; each must end with a clear message
 * that names the file, never a stack trace or an internal error, and a failed export must
 * leave no bundle folder and no temporary folder behind. Also: every command refuses an
 * unknown flag by name.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../cli/main';
import { encodeWav16 } from '../../../runtime/wav';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..', '..', '..');
/** A private build of the CLI from the current sources (dist/cli.mjs may be stale or rebuilt by someone else meanwhile). */
const cliPath = join(root, 'dist', `.hostile-files-cli-${process.pid}.mjs`);
/** Generous for a loaded machine; a blocked read would never end. */
const LIMIT_MS = 30_000;

const TEXT = (weights: string): string => `pipeline Hostile {
  input audio { rate 8 kHz  window 0.5 s }
  features { silence below -50 dB  frames 32 ms hop 16 ms  logmel 10 bands  normalize }
  shared enc { flatten  dense 12 relu }
  head kind from enc { dense 3 softmax  labels [music, speech, noise] }
  target snapdragon800
  weights ${JSON.stringify(weights)}
  compress enc.2 svd energy 90%
  place enc on dsp
}`;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  ms: number;
}

/** Spawns the built CLI in `cwd`, killed after {@link LIMIT_MS}. */
function sense(cwd: string, ...args: string[]): Promise<Result> {
  return new Promise((done) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [cliPath, ...args], { cwd, env: { ...process.env, SENSE_DEBUG: '' }, timeout: LIMIT_MS, killSignal: 'SIGKILL' });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code, signal) => done({ code, signal, out, err, ms: Date.now() - t0 }));
  });
}

/** Runs `jobs` two at a time (the machine is shared). */
async function inTurn<T>(jobs: (() => Promise<T>)[], width = 2): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await jobs[i]();
      }
    }),
  );
  return results;
}

/** A clear refusal: ended by itself, failed with a user error code, named `name`, no stack, no internal error. */
function expectClearFailure(r: Result, name: string, what: string): void {
  expect(r.signal, `${what} was killed after ${r.ms} ms (it hung)`).toBeNull();
  expect(r.code, `${what}: ${r.err}`).not.toBe(0);
  expect(r.code, `${what}: ${r.err}`).not.toBe(70);
  expect(r.err, what).toContain(name);
  expect(r.err, what).not.toMatch(/internal error|\n\s+at |std::bad_alloc|RangeError/);
}

function tone(seconds: number, hz: number): Uint8Array {
  return encodeWav16(Float32Array.from({ length: Math.round(seconds * 16000) }, (_, i) => 0.3 * Math.sin((2 * Math.PI * hz * i) / 16000)), 16000);
}

let parent: string;
let work: string;

/** The hostile things, by the name a `weights` line or an argument uses for them (relative to `work`). */
const hostile: { name: string; label: string }[] = [
  { name: 'fifo.bin', label: 'a FIFO' },
  { name: 'dir.bin', label: 'a directory' },
  { name: 'loop.bin', label: 'a symbolic-link loop' },
  { name: 'sparse.bin', label: 'a sparse 10 GB file' },
  { name: 'zero.bin', label: 'a link to /dev/zero' },
  { name: 'urandom.bin', label: 'a link to /dev/urandom' },
];

beforeAll(async () => {
  await esbuild.build({
    entryPoints: [join(root, 'cli/index.ts')],
    outfile: cliPath,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: "import { createRequire as __senseCreateRequire } from 'node:module'; const require = __senseCreateRequire(import.meta.url);" },
    external: ['onnxruntime-node', 'onnxruntime-web'],
    logLevel: 'warning',
  });
  if (!existsSync(join(root, 'dist', 'runtime.mjs'))) {
    await esbuild.build({ entryPoints: [join(root, 'runtime/bundle-entry.ts')], outfile: join(root, 'dist/runtime.mjs'), bundle: true, platform: 'browser', format: 'esm', target: 'es2022', logLevel: 'warning' });
  }
  parent = mkdtempSync(join(tmpdir(), 'sense-hostile-'));
  work = join(parent, 'work');
  mkdirSync(work);
  expect(spawnSync('mkfifo', [join(work, 'fifo.bin')]).status).toBe(0);
  mkdirSync(join(work, 'dir.bin'));
  symlinkSync('loop.bin', join(work, 'loop.bin'));
  const fd = openSync(join(work, 'sparse.bin'), 'w');
  ftruncateSync(fd, 10 * 1024 ** 3);
  closeSync(fd);
  symlinkSync('/dev/zero', join(work, 'zero.bin'));
  symlinkSync('/dev/urandom', join(work, 'urandom.bin'));
  writeFileSync(join(work, 'tone.wav'), tone(1, 440));
  writeFileSync(join(parent, 'outside.safetensors'), 'not yours');
  writeFileSync(join(work, 'notes.safetensors'), 'my notes, not weights');
  for (const h of hostile) writeFileSync(join(work, `${h.name}.sense`), TEXT(h.name));
  writeFileSync(join(work, 'outside.sense'), TEXT('../outside.safetensors'));
  writeFileSync(join(work, 'passwd.sense'), TEXT('/etc/passwd'));
  writeFileSync(join(work, 'notes.sense'), TEXT('notes.safetensors'));
  writeFileSync(join(work, 'good.sense'), TEXT('good.safetensors'));
}, 120_000);

afterAll(() => {
  rmSync(cliPath, { force: true });
  if (parent) rmSync(parent, { recursive: true, force: true });
});

describe('a weights line naming a hostile file', () => {
  const commands: { name: string; args: (sense: string) => string[] }[] = [
    { name: 'estimate', args: (s) => ['estimate', s] },
    { name: 'export', args: (s) => ['export', s, '-o', 'bundle'] },
    { name: 'run', args: (s) => ['run', s, 'tone.wav'] },
    { name: 'features', args: (s) => ['features', s, 'tone.wav'] },
    { name: 'eval', args: (s) => ['eval', s, 'evaldata'] },
    { name: 'init-weights', args: (s) => ['init-weights', s] },
    { name: 'compress', args: (s) => ['compress', s, '--fit', 'dsp'] },
  ];

  it.each(commands)('sense $name ends at once with a message naming the file', async ({ name, args }) => {
    mkdirSync(join(work, 'evaldata', 'kind', 'music'), { recursive: true });
    writeFileSync(join(work, 'evaldata', 'kind', 'music', 'a.wav'), tone(0.5, 440));
    const cases = [...hostile.map((h) => ({ sense: `${h.name}.sense`, shows: h.name, label: h.label })), { sense: 'outside.sense', shows: 'outside.safetensors', label: 'a path outside the folder' }, { sense: 'passwd.sense', shows: '/etc/passwd', label: 'an absolute path' }];
    const results = await inTurn(cases.map((c) => () => sense(work, ...args(c.sense))));
    cases.forEach((c, i) => {
      expectClearFailure(results[i], c.shows, `sense ${name} with weights = ${c.label}`);
      if (c.label.includes('outside') || c.label.includes('absolute')) expect(results[i].err).toMatch(/outside the folders? /);
    });
    expect(readdirSync(work).filter((n) => n.startsWith('bundle')), 'a failed export left a folder').toEqual([]);
    expect(readFileSync(join(parent, 'outside.safetensors'), 'utf8')).toBe('not yours');
  });

  it('reads /dev/zero and /dev/urandom as character devices when the folder itself allows them', async () => {
    // With /dev as the current directory the confinement allows /dev/zero; the regular-file check must still refuse it.
    const sensePath = join(work, 'dev.sense');
    writeFileSync(sensePath, TEXT('/dev/zero'));
    writeFileSync(join(work, 'devr.sense'), TEXT('/dev/urandom'));
    const [zero, urandom] = await inTurn([() => sense('/dev', 'estimate', sensePath), () => sense('/dev', 'run', join(work, 'devr.sense'), join(work, 'tone.wav'))]);
    expectClearFailure(zero, '/dev/zero', 'estimate with /dev/zero inside the allowed folder');
    expect(zero.err).toMatch(/a character device/);
    expectClearFailure(urandom, '/dev/urandom', 'run with /dev/urandom inside the allowed folder');
    expect(urandom.err).toMatch(/a character device/);
  });
});

describe('writing where a .sense file points', () => {
  it('train and init-weights refuse to replace a file sense did not write, naming it and the flag', async () => {
    const data = join(work, 'traindata');
    mkdirSync(join(data, 'kind', 'music'), { recursive: true });
    writeFileSync(join(data, 'kind', 'music', 'a.wav'), tone(0.5, 440));
    const [init, train, outside] = await inTurn([
      () => sense(work, 'init-weights', 'notes.sense'),
      () => sense(work, 'train', 'notes.sense', data, '--epochs', '1'),
      () => sense(work, 'train', 'outside.sense', data, '--epochs', '1'),
    ]);
    expectClearFailure(init, 'notes.safetensors', 'init-weights over a foreign file');
    expect(init.err).toMatch(/not a weights file written by sense.*--force/);
    expectClearFailure(train, 'notes.safetensors', 'train over a foreign file');
    expect(train.err).toMatch(/--force/);
    expectClearFailure(outside, 'outside.safetensors', 'train writing outside the folder');
    expect(readFileSync(join(work, 'notes.safetensors'), 'utf8')).toBe('my notes, not weights');
    expect(readFileSync(join(parent, 'outside.safetensors'), 'utf8')).toBe('not yours');
    // Its own file is replaced with --force only for init-weights (it would discard training).
    expect((await sense(work, 'init-weights', 'good.sense')).code).toBe(0);
    const again = await sense(work, 'init-weights', 'good.sense');
    expect(again.err).toMatch(/good\.safetensors already exists \(written by sense init-weights\); pass --force/);
    const forced = await sense(work, 'init-weights', 'notes.sense', '--force');
    expect(forced.code, forced.err).toBe(0);
    // --force replaces a regular file, never a FIFO or a directory.
    const [fifo, dir] = await inTurn([() => sense(work, 'init-weights', 'fifo.bin.sense', '--force'), () => sense(work, 'init-weights', 'dir.bin.sense', '--force')]);
    expectClearFailure(fifo, 'fifo.bin', 'init-weights --force onto a FIFO');
    expectClearFailure(dir, 'dir.bin', 'init-weights --force onto a directory');
  });
  it('init-weights, train and calibrate refuse a pipeline whose weights no file could hold, writing nothing', async () => {
    // Two 10^6-wide dense layers: 10^12 weights, 3.64 TiB as float32; allocating them threw inside V8.
    const huge = TEXT('huge.safetensors').replace('dense 12 relu', 'dense 1000000 relu  dense 1000000 relu').replace('  compress enc.2 svd energy 90%\n', '');
    writeFileSync(join(work, 'huge.sense'), huge);
    const data = join(work, 'hugedata');
    mkdirSync(join(data, 'kind', 'music'), { recursive: true });
    writeFileSync(join(data, 'kind', 'music', 'a.wav'), tone(0.5, 440));
    const results = await inTurn([
      () => sense(work, 'init-weights', 'huge.sense'),
      () => sense(work, 'train', 'huge.sense', data, '--epochs', '1'),
      () => sense(work, 'calibrate', 'huge.sense'),
    ]);
    for (const [i, r] of results.entries()) {
      expectClearFailure(r, 'pipeline Hostile', ['init-weights', 'train', 'calibrate'][i]);
      expect(r.err).toMatch(/weights \(3\.64 TiB as float32\), more than a weights file holds/);
    }
    expect(existsSync(join(work, 'huge.safetensors'))).toBe(false);
  });
});

describe('hostile clips and data folders', () => {
  it.each([
    ['run', (clip: string) => ['run', 'good.sense', clip]],
    ['features', (clip: string) => ['features', 'good.sense', clip]],
  ] as const)('sense %s refuses each hostile clip by name', async (_, args) => {
    if (!existsSync(join(work, 'good.safetensors'))) expect((await sense(work, 'init-weights', 'good.sense')).code).toBe(0);
    const results = await inTurn(hostile.map((h) => () => sense(work, ...args(h.name))));
    hostile.forEach((h, i) => expectClearFailure(results[i], h.name, `clip = ${h.label}`));
  });

  it('eval and train name a FIFO or a link loop inside the labelled folder', async () => {
    if (!existsSync(join(work, 'good.safetensors'))) expect((await sense(work, 'init-weights', 'good.sense')).code).toBe(0);
    const data = join(work, 'badclips');
    mkdirSync(join(data, 'kind', 'music'), { recursive: true });
    writeFileSync(join(data, 'kind', 'music', 'a.wav'), tone(0.5, 440));
    expect(spawnSync('mkfifo', [join(data, 'kind', 'music', 'b.wav')]).status).toBe(0);
    const loops = join(work, 'loopclips');
    mkdirSync(join(loops, 'kind', 'music'), { recursive: true });
    symlinkSync('c.wav', join(loops, 'kind', 'music', 'c.wav'));
    const [ev, tr, evLoop] = await inTurn([
      () => sense(work, 'eval', 'good.sense', data),
      () => sense(work, 'train', 'good.sense', data, '--epochs', '1', '--out', join(work, 'trained.safetensors')),
      () => sense(work, 'eval', 'good.sense', loops),
    ]);
    expectClearFailure(ev, 'b.wav', 'eval over a FIFO clip');
    expectClearFailure(tr, 'b.wav', 'train over a FIFO clip');
    expectClearFailure(evLoop, 'c.wav', 'eval over a link loop');
    expect(existsSync(join(work, 'trained.safetensors'))).toBe(false);
  });

  it('a failed export under a FIFO or a file leaves nothing behind', async () => {
    if (!existsSync(join(work, 'good.safetensors'))) expect((await sense(work, 'init-weights', 'good.sense')).code).toBe(0);
    writeFileSync(join(work, 'plain.txt'), 'x');
    const before = readdirSync(work).sort();
    const [underFifo, underFile, onFifo] = await inTurn([
      () => sense(work, 'export', 'good.sense', '-o', 'fifo.bin/bundle'),
      () => sense(work, 'export', 'good.sense', '-o', 'plain.txt/deeper/bundle'),
      () => sense(work, 'export', 'good.sense', '-o', 'fifo.bin'),
    ]);
    expectClearFailure(underFifo, 'fifo.bin', 'export under a FIFO');
    expectClearFailure(underFile, 'plain.txt', 'export under a file');
    expectClearFailure(onFifo, 'fifo.bin', 'export onto a FIFO');
    expect(readdirSync(work).sort()).toEqual(before);
  });
});

describe('strict flags', () => {
  it.each(Object.keys(COMMANDS))('sense %s refuses an unknown flag by name', async (name) => {
    const r = await sense(work, name, 'good.sense', 'x', '--jsn');
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain(`sense ${name}: unknown option '--jsn'`);
    expect(r.err).toContain('usage: sense ');
  });

  it('names a flag whose value is missing', async () => {
    const r = await sense(work, 'run', 'good.sense', 'tone.wav', '--top');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/sense run: --top needs a value/);
  });
});
