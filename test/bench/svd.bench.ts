/**
 * Rank-k truncated SVD (engine/compress/svd) against numpy's full `numpy.linalg.svd`
 * (LAPACK gesdd on OpenBLAS), both measured in this run, and ml-matrix's full SVD for
 * reference. Goal: within 2x of numpy. Matrices are random Gaussian (flat spectrum, the
 * hardest case for randomized SVD, so `auto` mostly takes the exact Gram route).
 */
import { spawnSync } from 'node:child_process';
import { Matrix as MlMatrix, SingularValueDecomposition } from 'ml-matrix';
import { fromData } from '../../engine/compress/matrix';
import { gaussianArray, mulberry32 } from '../../engine/compress/random';
import { singularValues, truncatedSvd } from '../../engine/compress/svd';
import { PYTHON } from '../support/python';
import { medianMs, report } from './util';

const SHAPES: [number, number][] = [[512, 512], [1024, 1024], [2048, 1024]];
const RANKS = [32, 128, 256];

function numpyMedians(): Record<string, number> {
  const script = `
import json, time, numpy as np
rng = np.random.default_rng(0)
out = {}
for (m, n) in ${JSON.stringify(SHAPES)}:
    A = rng.standard_normal((m, n))
    np.linalg.svd(A, full_matrices=False)
    ts = []
    for _ in range(5):
        t = time.perf_counter(); np.linalg.svd(A, full_matrices=False); ts.append(time.perf_counter() - t)
    out[f"{m}x{n}"] = sorted(ts)[len(ts) // 2] * 1000
    ts = []
    for _ in range(5):
        t = time.perf_counter(); np.linalg.svd(A, compute_uv=False); ts.append(time.perf_counter() - t)
    out[f"{m}x{n} values"] = sorted(ts)[len(ts) // 2] * 1000
print(json.dumps(out))
`;
  // OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be pinned for other tools; numpy gets its own tuning.
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8', env, timeout: 600_000 });
  if (r.status !== 0) throw new Error(`numpy reference failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, number>;
}

export async function run(): Promise<void> {
  const np = numpyMedians();
  for (const [m, n] of SHAPES) {
    const W = fromData(m, n, gaussianArray(mulberry32(m * 7 + n), m * n));
    const runs = m * n > 600_000 ? 3 : 5;
    const ref = np[`${m}x${n}`];
    for (const k of RANKS) {
      let method = '';
      const ms = await medianMs(() => {
        method = truncatedSvd(W, k).method;
      }, runs, 1);
      report(`truncatedSvd ${m}x${n} k=${k} (${method})`, ms, `numpy full svd ${ref.toFixed(1)} ms, ratio ${(ms / ref).toFixed(2)}x (goal <= 2x)`);
    }
    const refVals = np[`${m}x${n} values`];
    const msVals = await medianMs(() => singularValues(W), runs, 1);
    report(`singularValues ${m}x${n}`, msVals, `numpy svd(compute_uv=False) ${refVals.toFixed(1)} ms, ratio ${(msVals / refVals).toFixed(2)}x`);
  }
  const W = new MlMatrix(512, 512);
  const g = gaussianArray(mulberry32(5), 512 * 512);
  for (let i = 0; i < 512; i++) for (let j = 0; j < 512; j++) W.set(i, j, g[i * 512 + j]);
  const msMl = await medianMs(() => new SingularValueDecomposition(W), 1, 0);
  report('ml-matrix full SVD 512x512 (reference)', msMl, `numpy ${np['512x512'].toFixed(1)} ms, ratio ${(msMl / np['512x512']).toFixed(2)}x`);
}
