/**
 * External tools for the synthetic audio (sox, espeak-ng, flite, festival): checks
 * that the Debian packages are installed (installing them when missing), runs the
 * tools with a small concurrency limit, and converts their output to 16 kHz mono
 * float samples.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Sample rate of every generated audio clip, in Hz (DeepEar's input rate). */
export const AUDIO_RATE_HZ = 16000;

/**
 * The Debian packages the audio generator needs. scripts/samples/README.md lists the
 * same names; keep both in step.
 */
export const DEBIAN_PACKAGES = [
  'sox',
  'espeak-ng',
  'flite',
  'festival',
  'festvox-kallpc16k',
  'festvox-kdlpc16k',
  'festvox-us-slt-hts',
] as const;

function missingPackages(): string[] {
  return DEBIAN_PACKAGES.filter((p) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' });
    return r.status !== 0 || !r.stdout.includes('install ok installed');
  });
}

/**
 * Makes sure every package in {@link DEBIAN_PACKAGES} is installed: runs
 * `apt-get update` and `apt-get install -y --no-install-recommends` for the missing
 * ones (as root, or through `sudo -n`). Throws with the command to run by hand when
 * that is not possible.
 */
export function ensureDebianPackages(log: (msg: string) => void = () => {}): void {
  const missing = missingPackages();
  if (missing.length === 0) return;
  const manual = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasSudo = !isRoot && spawnSync('sudo', ['-n', 'true']).status === 0;
  if (!isRoot && !hasSudo) {
    throw new Error(`The sample generator needs the Debian packages ${missing.join(', ')}. Install them with: sudo ${manual}`);
  }
  const prefix = isRoot ? [] : ['sudo', '-n'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`installing Debian packages: ${missing.join(' ')}`);
  const run = (args: string[]): void => {
    const cmd = [...prefix, ...args];
    const r = spawnSync(cmd[0] as string, cmd.slice(1), { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) {
      throw new Error(`Installing the sample generator's Debian packages failed (${cmd.join(' ')}):\n${r.stderr}\nRun by hand: ${manual}`);
    }
  };
  run(['apt-get', 'update']);
  run(['apt-get', 'install', '-y', '--no-install-recommends', ...missing]);
  const still = missingPackages();
  if (still.length > 0) throw new Error(`Still missing after apt-get install: ${still.join(', ')}. Run by hand: ${manual}`);
}

/** Limits how many external processes run at once. */
export class Limiter {
  private active = 0;
  private readonly queue: Array<() => void> = [];

  /** Creates a limiter that lets `max` tasks run at once (at least 1). */
  constructor(private readonly max: number) {}

  /** Runs `task` when a slot is free and resolves with its result. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= Math.max(1, this.max)) {
      await new Promise<void>((resolve) => this.queue.push(resolve));
    }
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}

let toolHome: string | undefined;

/**
 * The environment every external tool runs in: the caller's PATH and nothing else of
 * its environment, a private empty HOME and TMPDIR (created once per process, removed
 * at exit), the C.UTF-8 locale, and a PulseAudio server address that cannot exist.
 *
 * Why the sound server: espeak-ng 1.51 opens an audio device even when it writes a
 * file (`-w`), so libpulse runs inside it. When libpulse finds no runtime folder under
 * HOME it creates one in TMPDIR with a random name drawn from the C library's rand(),
 * 12 draws per name and 12 more for every name already taken. espeak-ng's breath
 * noise (the `breath` setting of the f2, f3 and f5 variants) draws from the same
 * rand(), so the first call in a fresh HOME, calls racing to create that folder under
 * load, or a runtime folder that was cleaned away all shifted the noise and changed the
 * audio. With PULSE_SERVER set, libpulse never looks for a runtime folder and never
 * calls rand(). The private HOME also keeps files the tools read from there
 * (`~/espeak-ng-data`, `~/.festivalrc`, libpulse's and ALSA's client settings) out of
 * the output, as dropping the rest of the environment does for `SOX_OPTS`.
 */
export function toolEnvironment(): NodeJS.ProcessEnv {
  // Made again if something (a temporary-folder cleaner) removed it during a long run.
  if (toolHome === undefined || !existsSync(toolHome)) {
    const home = mkdtempSync(join(tmpdir(), 'sense-samples-home-'));
    process.once('exit', () => rmSync(home, { recursive: true, force: true }));
    toolHome = home;
  }
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: toolHome,
    TMPDIR: toolHome,
    LC_ALL: 'C.UTF-8',
    PULSE_SERVER: `unix:${join(toolHome, 'no-sound-server')}`,
  };
}

/**
 * Runs a command in {@link toolEnvironment}, feeding `stdin` when given, and resolves
 * with its stdout. Rejects with the command line and stderr when it exits with a
 * non-zero status.
 */
export function runTool(cmd: string, args: string[], stdin?: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: toolEnvironment() });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => reject(new Error(`Could not run ${cmd}: ${e.message}. Is its Debian package installed?`)));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${cmd} ${args.join(' ')} failed with exit code ${code}:\n${Buffer.concat(err).toString('utf8')}`));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(stdin ?? '');
  });
}

const RAW_F32 = ['-t', 'raw', '-e', 'floating-point', '-b', '32', '-c', '1', '-r', String(AUDIO_RATE_HZ), '-L'];

function bytesToFloat32(buf: Buffer): Float32Array {
  const n = Math.floor(buf.length / 4);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(4 * i);
  return out;
}

function float32ToBytes(x: Float32Array): Buffer {
  const buf = Buffer.alloc(x.length * 4);
  for (let i = 0; i < x.length; i++) buf.writeFloatLE(x[i] as number, 4 * i);
  return buf;
}

// -D: no dither; -R: sox's own random numbers are seeded the same on every run;
// -V1: only errors on stderr. Together they make sox's output repeatable.
const SOX_GLOBAL = ['-D', '-R', '-V1'];

/**
 * Reads an audio file of any format sox understands, converts it to 16 kHz mono
 * float samples and applies the sox `effects` (for example `['tempo', '1.1']`).
 */
export async function soxFileToSamples(path: string, effects: string[] = []): Promise<Float32Array> {
  const out = await runTool('sox', [...SOX_GLOBAL, path, ...RAW_F32, '-', 'remix', '-', 'rate', '-v', String(AUDIO_RATE_HZ), ...effects]);
  return bytesToFloat32(out);
}

/** Runs 16 kHz mono float samples through the sox `effects` and returns the result. */
export async function soxEffects(x: Float32Array, effects: string[]): Promise<Float32Array> {
  if (effects.length === 0) return x;
  const out = await runTool('sox', [...SOX_GLOBAL, ...RAW_F32, '-', ...RAW_F32, '-', ...effects], float32ToBytes(x));
  return bytesToFloat32(out);
}

/**
 * Runs sox with a null input (`-n`) of `channels` channels at 48 kHz (sox's `pluck`
 * needs 44.1 to 48 kHz), the `synth` arguments (one tone per channel) and further
 * `effects`, mixes the channels down and returns `seconds` of 16 kHz mono float samples.
 */
export async function soxSynth(seconds: number, synthArgs: string[], effects: string[] = [], channels = 1): Promise<Float32Array> {
  const out = await runTool('sox', [
    ...SOX_GLOBAL, '-r', '48000', '-c', String(channels), '-n', ...RAW_F32, '-',
    'synth', seconds.toFixed(4), ...synthArgs, ...effects, 'remix', '-', 'rate', '-v', String(AUDIO_RATE_HZ),
  ]);
  return bytesToFloat32(out);
}

/** Creates a private temporary folder and returns it with a function that removes it. */
export function makeTempDir(prefix = 'sense-samples-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
