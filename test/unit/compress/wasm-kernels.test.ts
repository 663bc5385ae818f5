import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { gemmNTStrided, runGemm, type Triangle } from '../../../engine/compress/matrix';
import { gaussianArray, mulberry32 } from '../../../engine/compress/random';
import { tridiagonalize } from '../../../engine/compress/symmetric-eigen';
import { createWorkspace, linalgBackend, linalgWasmError, setLinalgBackend, wasmGemm } from '../../../engine/compress/wasm/linalg-wasm';
import { runPython } from '../../support/python';

afterEach(() => setLinalgBackend('wasm'));

// The textbook triple loop, the reference for every product kernel.
function naiveGemm(a: Float64Array, aOff: number, lda: number, b: Float64Array, bOff: number, ldb: number, m: number, n: number, p: number, alpha: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < p; k++) s += a[aOff + i * lda + k] * b[bOff + j * ldb + k];
      out[i * n + j] = alpha * s;
    }
  }
  return out;
}

describe('WebAssembly SIMD kernels', () => {
  it('compile and are in use here (Node 20 has WebAssembly SIMD)', () => {
    expect(linalgWasmError()).toBe('');
    expect(linalgBackend()).toBe('wasm');
  });

  it('the generated module is up to date with the AssemblyScript source', () => {
    // Exits 1 (and the call throws) when engine/compress/wasm/linalg-wasm.generated.ts differs from a fresh compile.
    execFileSync(process.execPath, ['scripts/build-wasm.mjs', '--check'], { stdio: 'pipe' });
  });

  it('products equal the triple loop on strided blocks, every triangle, edge sizes and block boundaries', () => {
    const rng = mulberry32(11);
    const shapes: [number, number, number][] = [
      [1, 1, 1], [3, 5, 7], [4, 4, 4], [5, 9, 2], [17, 13, 33], [64, 64, 256], [65, 67, 257], [70, 530, 300], [130, 6, 520], [33, 33, 600],
    ];
    for (const [m, n, p] of shapes) {
      for (const tri of ['full', 'lower', 'upper'] as Triangle[]) {
        if (tri !== 'full' && m !== n) continue;
        for (const alpha of [1, -1, 0.37]) {
          const lda = p + (m % 3), ldb = p + (n % 2), ldc = n + 3;
          const aOff = 5, bOff = 2, cOff = 7;
          const a = Float64Array.from(gaussianArray(rng, aOff + m * lda));
          const b = Float64Array.from(gaussianArray(rng, bOff + n * ldb));
          const c0 = Float64Array.from(gaussianArray(rng, cOff + m * ldc + 4));
          const c = c0.slice();
          const ran = wasmGemm({ a, aOff, lda, b, bOff, ldb, c, cOff, ldc, m, n, p, tri, alpha });
          expect(ran).toBe(true);
          const ref = naiveGemm(a, aOff, lda, b, bOff, ldb, m, n, p, alpha);
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              const idx = cOff + i * ldc + j;
              const wanted = tri === 'full' || (tri === 'lower' ? j <= i : j >= i);
              if (!wanted) continue;
              expect(Math.abs(c[idx] - (c0[idx] + ref[i * n + j])), `${m}x${n}x${p} ${tri} alpha ${alpha} (${i}, ${j})`).toBeLessThan(1e-12 * (1 + Math.sqrt(p)));
            }
            // The padding between rows is never written.
            for (let j = n; j < ldc && cOff + i * ldc + j < c.length; j++) expect(c[cOff + i * ldc + j]).toBe(c0[cOff + i * ldc + j]);
          }
          for (let i = 0; i < cOff; i++) expect(c[i]).toBe(c0[i]);
        }
      }
    }
  });

  it('in-place products on workspace views equal the TypeScript kernel', () => {
    const m = 70, n = 70, p = 40;
    const ws = createWorkspace([m * p, n * p, m * n]);
    expect(ws).not.toBeNull();
    const [a, b, c] = ws!.views;
    const rng = mulberry32(3);
    a.set(gaussianArray(rng, m * p));
    b.set(gaussianArray(rng, n * p));
    c.set(gaussianArray(rng, m * n));
    const c2 = c.slice();
    runGemm({ a, aOff: 0, lda: p, b, bOff: 0, ldb: p, c, cOff: 0, ldc: n, m, n, p, tri: 'full', alpha: -1 });
    gemmNTStrided(a.slice(), 0, p, b.slice(), 0, p, c2, 0, n, m, n, p, 'full', -1);
    for (let i = 0; i < m * n; i++) expect(Math.abs(c[i] - c2[i])).toBeLessThan(1e-12);
  });

  it('the symmetric matrix-vector product and panel steps equal plain loops', () => {
    const n = 37;
    const ws = createWorkspace([n * n, 4 * n, 4 * n, n, n, 8])!;
    const [A, vt, wt, vec, out, dots] = ws.views;
    const rng = mulberry32(5);
    const g = gaussianArray(rng, n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = g[Math.min(i, j) * n + Math.max(i, j)];
    vt.set(gaussianArray(rng, 4 * n));
    wt.set(gaussianArray(rng, 4 * n));
    vec.set(gaussianArray(rng, n));
    for (const from of [0, 1, 2, 5, 33, 36]) {
      ws.kernels.symvUpper(A, n, from, vec, 0, out);
      for (let i = from; i < n; i++) {
        let s = 0;
        for (let j = from; j < n; j++) s += A[i * n + j] * vec[j];
        expect(Math.abs(out[i] - s), `symv from ${from} row ${i}`).toBeLessThan(1e-12);
      }
    }
    // vec as row 1 of vt (an offset vector), as the reduction passes it.
    ws.kernels.panelDots(vt, wt, n, 3, 4, vt, n, dots);
    for (let t = 0; t < 3; t++) {
      let dw = 0, dv = 0;
      for (let x = 4; x < n; x++) {
        dw += wt[t * n + x] * vt[n + x];
        dv += vt[t * n + x] * vt[n + x];
      }
      expect(Math.abs(dots[2 * t] - dw)).toBeLessThan(1e-12);
      expect(Math.abs(dots[2 * t + 1] - dv)).toBeLessThan(1e-12);
    }
    const before = out.slice();
    ws.kernels.panelCorrect(out, vt, wt, n, 3, 6, dots);
    for (let x = 0; x < n; x++) {
      let want = before[x];
      if (x >= 6) for (let t = 0; t < 3; t++) want -= vt[t * n + x] * dots[2 * t] + wt[t * n + x] * dots[2 * t + 1];
      expect(Math.abs(out[x] - want)).toBeLessThan(1e-12);
    }
    const c = 9, Abefore = A.slice();
    ws.kernels.panelRowUpdate(A, n, c, vt, wt, 4);
    for (let x = 0; x < n * n; x++) {
      const row = Math.floor(x / n), col = x % n;
      let want = Abefore[x];
      if (row === c && col >= c) for (let t = 0; t < 4; t++) want -= vt[t * n + c] * wt[t * n + col] + wt[t * n + c] * vt[t * n + col];
      expect(Math.abs(A[x] - want)).toBeLessThan(1e-12);
    }
    expect(() => ws.kernels.symvUpper(new Float64Array(n * n), n, 0, vec, 0, out)).toThrow(/view of the workspace/);
  });

  it('the tridiagonal reduction gives numpy eigenvalues on both backends, and the same diagonal', () => {
    const n = 150;
    const g = gaussianArray(mulberry32(21), n * n);
    const S = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) S[i * n + j] = g[Math.min(i, j) * n + Math.max(i, j)];
    const ref = runPython<number[]>(`
import sys, json, numpy as np
d = json.load(sys.stdin)
print(json.dumps(np.linalg.eigvalsh(np.array(d, dtype=np.float64).reshape(${n}, ${n})).tolist()))
`, Array.from(S));
    const results = (['wasm', 'typescript'] as const).map((backend) => {
      setLinalgBackend(backend);
      expect(linalgBackend()).toBe(backend);
      const a = S.slice();
      const tri = tridiagonalize(a, n);
      return { tri, a };
    });
    for (const { tri } of results) {
      // The eigenvalues of T = those of S: compare traces of T and S^2 (sum of squares), both
      // exact invariants, and the eigenvalues via numpy on T itself.
      const T = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        T[i * n + i] = tri.d[i];
        if (i < n - 1) T[i * n + i + 1] = T[(i + 1) * n + i] = tri.e[i];
      }
      const ev = runPython<number[]>(`
import sys, json, numpy as np
d = json.load(sys.stdin)
print(json.dumps(np.linalg.eigvalsh(np.array(d, dtype=np.float64).reshape(${n}, ${n})).tolist()))
`, Array.from(T));
      for (let i = 0; i < n; i++) expect(Math.abs(ev[i] - ref[i])).toBeLessThan(1e-10 * Math.abs(ref[n - 1]));
    }
    for (let i = 0; i < n; i++) expect(Math.abs(results[0].tri.d[i] - results[1].tri.d[i])).toBeLessThan(1e-10);
  });
});
