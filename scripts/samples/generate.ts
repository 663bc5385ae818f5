/**
 * Generates SYNTHETIC labelled sample data for the sample pipelines: DeepEar audio
 * (16 kHz mono 16-bit WAV, 1 s clips) and watch inertial windows (50 Hz CSV, 2.56 s),
 * laid out as DIR/HEAD/LABEL/*.wav|csv with DIR/manifest.json describing every file.
 * Nothing is a recording; see scripts/samples/README.md.
 *
 * Usage:
 *   npx tsx scripts/samples/generate.ts --out DIR --per-label N --seed S
 *     [--only deepear|watch] [--snr 0,5,10,20] [--heads ambient,speaker] [--jobs 2]
 *
 * The same arguments give byte-identical files: every clip draws from its own seeded
 * stream, and the external tools run without dither and with fixed random numbers.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLIP_SAMPLES, DEEPEAR_HEADS, SPEECH_HEADS, generateDeepEarClip, noisyVariant, type DeepEarHead } from './deepear';
import { INERTIAL_COLUMNS, INERTIAL_RATE_HZ, INERTIAL_WINDOW_SAMPLES, WATCH_HEADS, generateInertialClip, type WatchHead } from './inertial';
import { Rng, hashSeed } from './prng';
import { AUDIO_RATE_HZ, DEBIAN_PACKAGES, Limiter, ensureDebianPackages, makeTempDir } from './tools';
import { encodeWav16, writeStagedFile } from './wav';

/** Which sample pipeline a head belongs to. */
export type SamplePipeline = 'deepear' | 'watch';

/** Options of one generator run (the CLI flags). */
export interface GenerateOptions {
  /** Output folder; replaced as a whole when the run succeeds. */
  outDir: string;
  /** Clean clips per label. */
  perLabel: number;
  /** Run seed (any 32-bit integer). */
  seed: number;
  /** Restrict to one pipeline; both when undefined. */
  only?: SamplePipeline;
  /** SNRs in dB of the noisy mixed-condition variants of speech clips; none when empty. */
  snrDb?: number[];
  /** Restrict to these heads (names from both pipelines); all when undefined. */
  heads?: string[];
  /** External tool processes at once (default 2). */
  jobs?: number;
  /** Progress messages; silent when undefined. */
  log?: (msg: string) => void;
}

/** What a run wrote and how long it took. */
export interface GenerateSummary {
  /** Files written, relative to the output folder, sorted. */
  files: string[];
  /** Wall-clock time of the run in ms. */
  elapsedMs: number;
}

/** Marker in manifest.json that lets the generator replace a folder it wrote before. */
const MANIFEST_GENERATOR = 'sense-studio scripts/samples/generate.ts';

interface ManifestEntry {
  path: string;
  pipeline: SamplePipeline;
  head: string;
  label: string;
  params: Record<string, unknown>;
}

function pad(i: number): string {
  return String(i).padStart(4, '0');
}

function checkOptions(o: GenerateOptions): void {
  if (!o.outDir) throw new Error('--out DIR is required: the folder to write the samples to.');
  if (!Number.isInteger(o.perLabel) || o.perLabel < 1 || o.perLabel > 100000) throw new Error(`--per-label must be an integer from 1 to 100000, got ${o.perLabel}.`);
  if (!Number.isInteger(o.seed) || Math.abs(o.seed) > 0xffffffff) throw new Error(`--seed must be an integer that fits in 32 bits, got ${o.seed}.`);
  for (const s of o.snrDb ?? []) if (!Number.isFinite(s) || s < -20 || s > 60) throw new Error(`--snr values must be numbers of dB from -20 to 60, got ${s}.`);
  const known = [...Object.keys(DEEPEAR_HEADS), ...Object.keys(WATCH_HEADS)];
  for (const h of o.heads ?? []) if (!known.includes(h)) throw new Error(`--heads: unknown head "${h}"; known heads: ${known.join(', ')}.`);
}

function prepareOutput(outDir: string): string {
  if (existsSync(outDir)) {
    const entries = readdirSync(outDir);
    const manifestPath = join(outDir, 'manifest.json');
    let ours = false;
    if (existsSync(manifestPath)) {
      try {
        ours = (JSON.parse(readFileSync(manifestPath, 'utf8')) as { generator?: string }).generator === MANIFEST_GENERATOR;
      } catch {
        ours = false;
      }
    }
    if (entries.length > 0 && !ours) {
      throw new Error(`${outDir} exists and was not written by the sample generator (no manifest.json of ours); choose an empty or new folder for --out.`);
    }
  }
  const staging = join(dirname(outDir), `.${basename(outDir)}.staging-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  return staging;
}

/**
 * Generates the synthetic sample set described by `opts` into a staging folder and
 * then swaps it in for `opts.outDir`, so a failed run leaves the old folder untouched.
 * Installs the Debian packages of the audio tools when missing (DeepEar only).
 */
export async function generateSamples(opts: GenerateOptions): Promise<GenerateSummary> {
  checkOptions(opts);
  const started = performance.now();
  const log = opts.log ?? (() => {});
  const outDir = resolve(opts.outDir);
  const wantHead = (h: string): boolean => !opts.heads || opts.heads.includes(h);
  const deepearHeads = opts.only === 'watch' ? [] : (Object.keys(DEEPEAR_HEADS) as DeepEarHead[]).filter(wantHead);
  const watchHeads = opts.only === 'deepear' ? [] : (Object.keys(WATCH_HEADS) as WatchHead[]).filter(wantHead);
  if (deepearHeads.length + watchHeads.length === 0) throw new Error('Nothing to generate: --only and --heads select no head.');
  if (deepearHeads.length > 0) ensureDebianPackages(log);

  const staging = prepareOutput(outDir);
  const tmp = makeTempDir();
  const entries: ManifestEntry[] = [];
  try {
    for (const head of watchHeads) {
      for (const label of WATCH_HEADS[head]) {
        for (let i = 0; i < opts.perLabel; i++) {
          const rng = new Rng(hashSeed(opts.seed, 'watch', head, label, i));
          const clip = generateInertialClip(head, label, rng);
          const path = `${head}/${label}/${label}-${pad(i)}.csv`;
          writeStagedFile(join(staging, path), clip.csv);
          entries.push({ path, pipeline: 'watch', head, label, params: clip.params });
        }
      }
      log(`watch/${head}: ${WATCH_HEADS[head].length * opts.perLabel} windows`);
    }

    const limiter = new Limiter(opts.jobs ?? 2);
    const tasks: Array<Promise<void>> = [];
    let done = 0;
    const total = deepearHeads.reduce((s, h) => s + DEEPEAR_HEADS[h].length * opts.perLabel, 0);
    for (const head of deepearHeads) {
      for (const label of DEEPEAR_HEADS[head]) {
        for (let i = 0; i < opts.perLabel; i++) {
          tasks.push(
            limiter.run(async () => {
              const tag = `${head}-${label}-${i}`;
              const ctx = { tmpDir: tmp.dir, tag };
              const clip = await generateDeepEarClip(head, label, new Rng(hashSeed(opts.seed, 'deepear', head, label, i)), ctx);
              const path = `${head}/${label}/${label}-${pad(i)}.wav`;
              writeStagedFile(join(staging, path), encodeWav16(clip.samples, AUDIO_RATE_HZ));
              entries.push({ path, pipeline: 'deepear', head, label, params: clip.params });
              if (SPEECH_HEADS.includes(head)) {
                for (const snr of opts.snrDb ?? []) {
                  const noisy = await noisyVariant(clip.samples, snr, new Rng(hashSeed(opts.seed, 'snr', head, label, i, snr)), { tmpDir: tmp.dir, tag: `${tag}-snr${snr}` });
                  const noisyPath = `${head}/${label}/${label}-${pad(i)}-snr${snr}db.wav`;
                  writeStagedFile(join(staging, noisyPath), encodeWav16(noisy.samples, AUDIO_RATE_HZ));
                  entries.push({ path: noisyPath, pipeline: 'deepear', head, label, params: { ...noisy.params, cleanClip: path } });
                }
              }
              done++;
              if (done % 25 === 0 || done === total) log(`deepear: ${done}/${total} clips`);
            }),
          );
        }
      }
    }
    await Promise.all(tasks);

    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const manifest = {
      generator: MANIFEST_GENERATOR,
      synthetic: true,
      notice:
        'SYNTHETIC data: text-to-speech voices, synthesised tones and noise, and a physical motion model. ' +
        'No file is a recording of a person or a place. The emotion and stress labels are prosody changes ' +
        'of TTS speech, not real affect. Use it to exercise pipelines, not to judge real-world accuracy.',
      command: `npx tsx scripts/samples/generate.ts --out DIR --per-label ${opts.perLabel} --seed ${opts.seed}` +
        `${opts.only ? ` --only ${opts.only}` : ''}${opts.snrDb && opts.snrDb.length > 0 ? ` --snr ${opts.snrDb.join(',')}` : ''}` +
        `${opts.heads ? ` --heads ${opts.heads.join(',')}` : ''}`,
      seed: opts.seed,
      perLabel: opts.perLabel,
      snrDb: opts.snrDb ?? [],
      debianPackages: deepearHeads.length > 0 ? [...DEBIAN_PACKAGES] : [],
      formats: {
        deepear: { kind: 'wav', rateHz: AUDIO_RATE_HZ, channels: 1, bitsPerSample: 16, samples: CLIP_SAMPLES },
        watch: {
          kind: 'csv', rateHz: INERTIAL_RATE_HZ, samples: INERTIAL_WINDOW_SAMPLES, columns: [...INERTIAL_COLUMNS],
          units: { t: 's', ax: 'm/s^2 (gravity included)', gx: 'rad/s', mx: 'uT', p: 'hPa' },
        },
      },
      heads: {
        ...Object.fromEntries(deepearHeads.map((h) => [h, { pipeline: 'deepear', labels: [...DEEPEAR_HEADS[h]] }])),
        ...Object.fromEntries(watchHeads.map((h) => [h, { pipeline: 'watch', labels: [...WATCH_HEADS[h]] }])),
      },
      files: entries,
    };
    writeStagedFile(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);

    const old = join(dirname(outDir), `.${basename(outDir)}.old-${process.pid}`);
    if (existsSync(outDir)) renameSync(outDir, old);
    renameSync(staging, outDir);
    rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  } finally {
    tmp.cleanup();
  }
  return { files: entries.map((e) => e.path).concat('manifest.json').sort(), elapsedMs: performance.now() - started };
}

/** Parses the CLI flags (see the file header) into {@link GenerateOptions}. */
export function parseArgs(argv: string[]): GenerateOptions {
  const o: GenerateOptions = { outDir: '', perLabel: 10, seed: 1 };
  const need = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value.`);
    return v;
  };
  const int = (v: string, flag: string): number => {
    if (!/^-?\d+$/.test(v)) throw new Error(`${flag} must be an integer, got "${v}".`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    switch (flag) {
      case '--out': o.outDir = need(i, flag); i++; break;
      case '--per-label': o.perLabel = int(need(i, flag), flag); i++; break;
      case '--seed': o.seed = int(need(i, flag), flag); i++; break;
      case '--jobs': o.jobs = int(need(i, flag), flag); i++; break;
      case '--only': {
        const v = need(i, flag);
        if (v !== 'deepear' && v !== 'watch') throw new Error(`--only must be deepear or watch, got "${v}".`);
        o.only = v;
        i++;
        break;
      }
      case '--snr': {
        const v = need(i, flag);
        o.snrDb = v.split(',').map((s) => {
          const x = Number(s.trim());
          if (s.trim() === '' || !Number.isFinite(x)) throw new Error(`--snr takes comma-separated dB values like 0,5,10,20; "${s}" is not a number.`);
          return x;
        });
        i++;
        break;
      }
      case '--heads': o.heads = need(i, flag).split(',').map((s) => s.trim()); i++; break;
      case '--help':
      case '-h':
        throw new Error('Usage: npx tsx scripts/samples/generate.ts --out DIR --per-label N --seed S [--only deepear|watch] [--snr 0,5,10,20] [--heads h1,h2] [--jobs 2]');
      default:
        throw new Error(`Unknown flag "${flag}". Flags: --out, --per-label, --seed, --only, --snr, --heads, --jobs.`);
    }
  }
  if (!o.outDir) throw new Error('--out DIR is required: the folder to write the samples to.');
  return o;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const summary = await generateSamples({ ...opts, log: (m) => process.stderr.write(`${m}\n`) });
  process.stderr.write(`wrote ${summary.files.length} files to ${opts.outDir} in ${(summary.elapsedMs / 1000).toFixed(1)} s (synthetic data; see manifest.json)\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`generate: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
