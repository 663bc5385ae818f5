/** Shared by the PyTorch project tests: the tools they need, the CLI in-process, predict.py, and a tolerance measure. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { PYTHON } from '../../support/python';

export const TORCHRUN = '/usr/bin/torchrun';

/** Why the Python side cannot run, or undefined when it can. */
export function missingTools(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing; install Debian's python3`;
  if (!existsSync(TORCHRUN)) return `${TORCHRUN} is missing; install Debian's python3-torch`;
  const r = spawnSync(PYTHON, ['-c', 'import torch, torchaudio, scipy, numpy'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${PYTHON} cannot import torch, torchaudio, scipy and numpy (install python3-torch python3-torchaudio python3-scipy python3-numpy): ${r.stderr.trim().split('\n').pop()}`;
}

/** Runs a CLI command in-process, as `sense` would, and returns what it printed; throws with its errors on a non-zero exit. */
export async function cli(command: (args: string[], ctx: { out: (l: string) => void; err: (l: string) => void }) => Promise<number>, args: string[]): Promise<string> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await command(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  if (code !== 0) throw new Error(`exit ${code}: ${err.join('\n')}`);
  return out.join('\n');
}

/** The largest |a - b| / max(1, |b|) over two equal-length arrays (absolute below 1, relative above). */
export function maxScaledDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

export interface Predicted {
  clips: { clip: string; heads: Record<string, number[]>; labels: Record<string, string[]>; windows: { silent: boolean; features?: number[] }[] }[];
}

/** Runs the project's predict.py on clips with the given weights and parses its JSON. */
export function runPredict(project: string, weights: string, clips: string[], features: boolean): Predicted {
  const r = spawnSync(PYTHON, [join(project, 'predict.py'), ...clips, '--weights', weights, ...(features ? ['--features'] : [])], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: 300_000,
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  if (r.status !== 0) throw new Error(`predict.py failed (exit ${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as Predicted;
}
