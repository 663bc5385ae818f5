/**
 * Runs an independent Python reference (Debian's python3-numpy, -onnx, -torch,
 * -torchaudio) from a test. Debian installs them for /usr/bin/python3, which may not
 * be the python3 first on PATH, so the interpreter is named explicitly.
 *
 * The script reads JSON from stdin and must print one JSON document on stdout.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PYTHON = '/usr/bin/python3';

/** True when /usr/bin/python3 can import every named module. */
export function pythonHas(...modules: string[]): boolean {
  if (!existsSync(PYTHON)) return false;
  const r = spawnSync(PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8' });
  return r.status === 0;
}

/**
 * Runs `script` with `input` as JSON on stdin and returns the parsed JSON it prints.
 * Throws with Python's stderr when the script fails, so a broken reference fails the test.
 */
export function runPython<T = unknown>(script: string, input: unknown = null, timeoutMs = 120_000): T {
  const r = spawnSync(PYTHON, ['-c', script], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    timeout: timeoutMs,
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`python reference failed (exit ${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
