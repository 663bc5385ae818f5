/**
 * Rank-k truncated SVD (engine/compress/svd) against numpy's full `numpy.linalg.svd`
 * (LAPACK gesdd on OpenBLAS), both measured in this run, and ml-matrix's full SVD for
 * reference. Goal: within 2x of numpy. Matrices are random Gaussian (flat spectrum, the
 * hardest case for randomized SVD). `truncatedSvd` runs on the WebAssembly SIMD kernels
 * (engine/compress/wasm); one line per shape shows the TypeScript fallback kernels, which
 * run where WebAssembly is unavailable.
 *
 * Fairness on a shared machine: numpy runs single-threaded (OPENBLAS_NUM_THREADS=1,
 * OMP_NUM_THREADS=1; ours is single-threaded and ONNX Runtime gets intraOpNumThreads=1) in
 * one long-lived Python process, and its runs are interleaved with ours round by round, so
 * both see the same load. Each line gives medians of wall time and of process CPU time and
 * the ratio of medians for both, plus the spread (min..max) of the per-round CPU ratios.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Matrix as MlMatrix, SingularValueDecomposition } from 'ml-matrix';
import { createOrtProvider } from '../../engine/compress/accelerated';
import type { OrtModuleLike } from '../../runtime/runner';
import { fromData } from '../../engine/compress/matrix';
import { gaussianArray, mulberry32 } from '../../engine/compress/random';
import { singularValues, truncatedSvd, truncatedSvdAsync } from '../../engine/compress/svd';
import { linalgBackend, setLinalgBackend } from '../../engine/compress/wasm/linalg-wasm';
import { PYTHON } from '../support/python';
import { medianMs, report } from './util';

const SHAPES: [number, number][] = [[512, 512], [1024, 1024], [2048, 1024]];
const RANKS = [32, 128, 256];

interface Timing { wallMs: number; cpuMs: number }

const NUMPY_SERVER = `
import sys, json, time, numpy as np
rng = np.random.default_rng(0)
cache = {}
for line in sys.stdin:
    m, n, uv = line.split()
    key = (int(m), int(n))
    if key not in cache:
        cache[key] = rng.standard_normal(key)
        np.linalg.svd(cache[key], full_matrices=False)
    A = cache[key]
    t, c = time.perf_counter(), time.process_time()
    if uv == '1':
        np.linalg.svd(A, full_matrices=False)
    else:
        np.linalg.svd(A, compute_uv=False)
    print(json.dumps({"wallMs": (time.perf_counter() - t) * 1000, "cpuMs": (time.process_time() - c) * 1000}), flush=True)
`;

/** A long-lived single-threaded numpy process answering one timed SVD per request line. */
class Numpy {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;

  constructor() {
    // OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be pinned for other tools; numpy gets its own tuning.
    const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    this.proc = spawn(PYTHON, ['-c', NUMPY_SERVER], { env });
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }

  async time(m: number, n: number, withVectors: boolean): Promise<Timing> {
    this.proc.stdin.write(`${m} ${n} ${withVectors ? 1 : 0}\n`);
    const next = await this.lines.next();
    if (next.done) throw new Error('numpy reference process ended early: is numpy installed for /usr/bin/python3?');
    return JSON.parse(next.value) as Timing;
  }

  close(): void {
    this.proc.stdin.end();
  }
}

async function timed(fn: () => unknown): Promise<Timing> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1000 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function line(name: string, ours: Timing[], ref: Timing[], refName: string): void {
  const w = median(ours.map((t) => t.wallMs)), c = median(ours.map((t) => t.cpuMs));
  const rw = median(ref.map((t) => t.wallMs)), rc = median(ref.map((t) => t.cpuMs));
  const perRound = ours.map((t, i) => t.cpuMs / ref[i].cpuMs);
  report(name, w, `cpu ${c.toFixed(0)} ms | ${refName} wall ${rw.toFixed(0)} cpu ${rc.toFixed(0)} ms | ratio wall ${(w / rw).toFixed(2)}x cpu ${(c / rc).toFixed(2)}x (rounds ${Math.min(...perRound).toFixed(2)}..${Math.max(...perRound).toFixed(2)})`);
}

export async function run(): Promise<void> {
  const numpy = new Numpy();
  const ort = (await import('onnxruntime-node')) as unknown as OrtModuleLike & { default?: OrtModuleLike };
  const provider = await createOrtProvider(ort.default ?? ort, { threads: 1 });
  console.log(`numpy: OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1; ours: one thread, ${linalgBackend()} kernels; onnxruntime: intraOpNumThreads=1, float64 Gemm`);
  try {
    for (const [m, n] of SHAPES) {
      const W = fromData(m, n, gaussianArray(mulberry32(m * 7 + n), m * n));
      const rounds = m * n > 600_000 ? 3 : 5;
      // Warm-up: JIT, the ONNX Runtime sessions and numpy's first call.
      truncatedSvd(W, RANKS[0]);
      await truncatedSvdAsync(W, RANKS[0], { provider });
      await numpy.time(m, n, true);
      const ref: Timing[] = [], refVals: Timing[] = [], vals: Timing[] = [], fallback: Timing[] = [];
      const sync = new Map<number, Timing[]>(), accel = new Map<number, Timing[]>();
      const methods = new Map<string, string>();
      for (let r = 0; r < rounds; r++) {
        ref.push(await numpy.time(m, n, true));
        for (const k of RANKS) {
          const ts = sync.get(k) ?? [];
          ts.push(await timed(() => methods.set(`sync ${k}`, truncatedSvd(W, k).method)));
          sync.set(k, ts);
          const ta = accel.get(k) ?? [];
          ta.push(await timed(async () => methods.set(`async ${k}`, (await truncatedSvdAsync(W, k, { provider })).method)));
          accel.set(k, ta);
        }
        refVals.push(await numpy.time(m, n, false));
        vals.push(await timed(() => singularValues(W)));
        setLinalgBackend('typescript');
        try {
          fallback.push(await timed(() => truncatedSvd(W, RANKS[1])));
        } finally {
          setLinalgBackend('wasm');
        }
      }
      for (const k of RANKS) line(`truncatedSvd ${m}x${n} k=${k} (${methods.get(`sync ${k}`)})`, sync.get(k)!, ref, 'numpy full svd');
      for (const k of RANKS) line(`truncatedSvdAsync onnxruntime ${m}x${n} k=${k} (${methods.get(`async ${k}`)})`, accel.get(k)!, ref, 'numpy full svd');
      line(`singularValues ${m}x${n}`, vals, refVals, 'numpy svd(compute_uv=False)');
      line(`truncatedSvd ${m}x${n} k=${RANKS[1]} on the TypeScript kernels`, fallback, ref, 'numpy full svd');
    }
    const refMl = await numpy.time(512, 512, true);
    const W = new MlMatrix(512, 512);
    const g = gaussianArray(mulberry32(5), 512 * 512);
    for (let i = 0; i < 512; i++) for (let j = 0; j < 512; j++) W.set(i, j, g[i * 512 + j]);
    const msMl = await medianMs(() => new SingularValueDecomposition(W), 1, 0);
    report('ml-matrix full SVD 512x512 (reference)', msMl, `numpy wall ${refMl.wallMs.toFixed(1)} ms, ratio ${(msMl / refMl.wallMs).toFixed(2)}x`);
  } finally {
    numpy.close();
    await provider.release();
  }
}
