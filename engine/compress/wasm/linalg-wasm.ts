/**
 * The WebAssembly side of the compression kernels: the SIMD matrix product and symmetric
 * matrix-vector product compiled from ./assembly/linalg.ts (AssemblyScript) into
 * ./linalg-wasm.generated.ts. On the 2-core AMD EPYC dev machine they run at about
 * 9-13 GFLOPS against 1-2.5 GFLOPS for the TypeScript loops of ../matrix (measured by
 * test/bench/svd.bench.ts, which also compares both against numpy).
 *
 * Memory model: WebAssembly code reads only its own linear memory, so
 * - {@link wasmGemm} copies operands that live in ordinary Float64Arrays into a private,
 *   growable scratch instance, multiplies, and copies C back (O(mp + np + mn) copying
 *   against O(mnp) work);
 * - a {@link WasmWorkspace} is an instance with its own fixed-size memory whose
 *   Float64Array views an algorithm works on in place (the tridiagonal reduction keeps its
 *   n x n matrix there, so neither its n matrix-vector products nor its trailing updates
 *   copy anything). A workspace's memory never grows, so its views stay valid.
 * Where WebAssembly is unavailable (or compiling fails), everything reports it and the
 * callers use the TypeScript kernels; {@link setLinalgBackend} forces either for tests.
 */
import type { GemmRequest } from '../matrix';
import { LINALG_WASM_BASE64 } from './linalg-wasm.generated';

/** Which kernels run the products: the WebAssembly SIMD ones or the TypeScript loops. */
export type LinalgBackend = 'wasm' | 'typescript';

interface Exports {
  gemmScratchBytes(): number;
  gemmNT(a: number, lda: number, b: number, ldb: number, c: number, ldc: number, m: number, n: number, p: number, tri: number, alpha: number, scratch: number): void;
  symvUpper(a: number, n: number, from: number, vec: number, out: number): void;
  panelRowUpdate(x: number, vt: number, wt: number, n: number, count: number, c: number, from: number): void;
  panelDots(vt: number, wt: number, n: number, count: number, from: number, y: number, dots: number): void;
  panelCorrect(x: number, vt: number, wt: number, n: number, count: number, from: number, dots: number): void;
}

interface Instance {
  memory: WebAssembly.Memory;
  exports: Exports;
}

const PAGE_BYTES = 65536;
const TRIANGLE = { full: 0, lower: 1, upper: 2 } as const;

let requested: LinalgBackend = 'wasm';
let compiled: WebAssembly.Module | null | undefined;
let compileError = '';
let scratchInstance: Instance | null = null;
let scratchBytes = 0;
const workspaces = new WeakMap<ArrayBuffer | SharedArrayBuffer, Instance>();

/**
 * Chooses the kernels for the products and the tridiagonal reduction (default `wasm`).
 * `typescript` keeps everything in plain TypeScript, e.g. to compare both in a test.
 */
export function setLinalgBackend(backend: LinalgBackend): void {
  if (backend !== 'wasm' && backend !== 'typescript') throw new Error(`setLinalgBackend: unknown backend '${String(backend)}': use 'wasm' or 'typescript'`);
  requested = backend;
}

/** The kernels in use: `wasm` when requested and WebAssembly compiled here, else `typescript`. */
export function linalgBackend(): LinalgBackend {
  return requested === 'wasm' && module() ? 'wasm' : 'typescript';
}

/** Why the WebAssembly kernels are not in use ('' when they are or were never tried). */
export function linalgWasmError(): string {
  return compileError;
}

function module(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    if (typeof WebAssembly !== 'object') throw new Error('this JavaScript engine has no WebAssembly');
    const text = atob(LINALG_WASM_BASE64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    compiled = new WebAssembly.Module(bytes);
  } catch (err) {
    // For example a browser main thread, where synchronous compilation of more than 4 KB
    // is refused, or an engine without SIMD: the TypeScript kernels take over.
    compileError = (err as Error).message;
    compiled = null;
  }
  return compiled;
}

function instantiate(bytes: number): Instance | null {
  const mod = requested === 'wasm' ? module() : null;
  if (!mod) return null;
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE_BYTES)) });
  } catch {
    // More than WebAssembly's 4 GB, or the engine refused the reservation: the caller's
    // TypeScript path works on ordinary arrays instead.
    return null;
  }
  const instance = new WebAssembly.Instance(mod, { env: { memory } });
  return { memory, exports: instance.exports as unknown as Exports };
}

/**
 * The matrix-vector steps of the blocked tridiagonal reduction (LAPACK dsytrd/dlatrd), on
 * row-major arrays: the n x n matrix, and the panel's `count` reflectors v_t and vectors
 * w_t as rows of length n of `vt` and `wt`. Implemented by a {@link WasmWorkspace} (every
 * array then a view of it) and in TypeScript by engine/compress/symmetric-eigen.
 */
export interface TridiagonalKernels {
  /** out[from..n) = A[from.., from..] * vec[vecOff + from..] reading only A's upper triangle. */
  symvUpper(a: Float64Array, n: number, from: number, vec: Float64Array, vecOff: number, out: Float64Array): void;
  /** Row c of `a` from column c on -= sum_t vt[t][c] * wt[t][c..] + wt[t][c] * vt[t][c..]. */
  panelRowUpdate(a: Float64Array, n: number, c: number, vt: Float64Array, wt: Float64Array, count: number): void;
  /** dots[2t] = wt[t][from..] . y[yOff + from..], dots[2t + 1] = vt[t][from..] . y[yOff + from..]. */
  panelDots(vt: Float64Array, wt: Float64Array, n: number, count: number, from: number, y: Float64Array, yOff: number, dots: Float64Array): void;
  /** x[from..n) -= sum_t vt[t][from..] * dots[2t] + wt[t][from..] * dots[2t + 1]. */
  panelCorrect(x: Float64Array, vt: Float64Array, wt: Float64Array, n: number, count: number, from: number, dots: Float64Array): void;
}

/** A WebAssembly instance with its own fixed memory and Float64Array views into it. */
export interface WasmWorkspace {
  /** One view per requested length, in order, zero-filled; valid as long as the workspace is. */
  readonly views: Float64Array[];
  /** The tridiagonal reduction's steps; every array passed must be a view of this workspace. */
  readonly kernels: TridiagonalKernels;
}

/**
 * A workspace holding arrays of the given lengths (in float64 elements), or null when the
 * WebAssembly kernels are not in use. Products whose a, b and c are all views of one
 * workspace run in place in {@link wasmGemm}.
 */
export function createWorkspace(lengths: readonly number[]): WasmWorkspace | null {
  let total = 0;
  for (const len of lengths) {
    if (!Number.isInteger(len) || len < 0) throw new Error(`createWorkspace: array length ${len} must be a non-negative integer`);
    total += len * 8;
  }
  if (!scratchFor(0)) return null;
  const gemmScratch = scratchBytes;
  const inst = instantiate(gemmScratch + total);
  if (!inst) return null;
  const views: Float64Array[] = [];
  let offset = gemmScratch;
  for (const len of lengths) {
    views.push(new Float64Array(inst.memory.buffer, offset, len));
    offset += len * 8;
  }
  workspaces.set(inst.memory.buffer, inst);
  const buffer = inst.memory.buffer, x = inst.exports;
  // Byte address of element `off` of a view, after checking it lives in this workspace.
  const at = (v: Float64Array, off = 0): number => {
    if (v.buffer !== buffer) throw new Error('WasmWorkspace: every array passed to its kernels must be a view of the workspace');
    return v.byteOffset + off * 8;
  };
  return {
    views,
    kernels: {
      symvUpper: (a, n, from, vec, vecOff, out) => x.symvUpper(at(a), n, from, at(vec, vecOff), at(out)),
      panelRowUpdate: (a, n, c, vt, wt, count) => x.panelRowUpdate(at(a, c * n), at(vt), at(wt), n, count, c, c),
      panelDots: (vt, wt, n, count, from, y, yOff, dots) => x.panelDots(at(vt), at(wt), n, count, from, at(y, yOff), at(dots)),
      panelCorrect: (xs, vt, wt, n, count, from, dots) => x.panelCorrect(at(xs), at(vt), at(wt), n, count, from, at(dots)),
    },
  };
}

/**
 * Runs the product request C += alpha * A * B^T on the WebAssembly kernel: in place when
 * a, b and c are views of one workspace, else through the scratch instance. Returns false
 * (and does nothing) when the WebAssembly kernels are not in use.
 */
export function wasmGemm(r: GemmRequest): boolean {
  if (requested !== 'wasm') return false;
  const home = workspaces.get(r.c.buffer);
  if (home && r.a.buffer === r.c.buffer && r.b.buffer === r.c.buffer) {
    home.exports.gemmNT(
      r.a.byteOffset + r.aOff * 8, r.lda, r.b.byteOffset + r.bOff * 8, r.ldb, r.c.byteOffset + r.cOff * 8, r.ldc,
      r.m, r.n, r.p, TRIANGLE[r.tri], r.alpha, 0,
    );
    return true;
  }
  // Copy into the scratch instance: [packing scratch | A | B (unless B is A) | C], contiguous rows.
  const sameAB = r.a === r.b && r.aOff === r.bOff && r.lda === r.ldb && r.m === r.n;
  const aBytes = r.m * r.p * 8, bBytes = sameAB ? 0 : r.n * r.p * 8, cBytes = r.m * r.n * 8;
  const inst = scratchFor(aBytes + bBytes + cBytes);
  if (!inst) return false;
  const base = scratchBytes;
  const buf = inst.memory.buffer;
  const A = new Float64Array(buf, base, r.m * r.p);
  const B = sameAB ? A : new Float64Array(buf, base + aBytes, r.n * r.p);
  const C = new Float64Array(buf, base + aBytes + bBytes, r.m * r.n);
  copyRows(r.a, r.aOff, r.lda, A, r.m, r.p);
  if (!sameAB) copyRows(r.b, r.bOff, r.ldb, B, r.n, r.p);
  copyRows(r.c, r.cOff, r.ldc, C, r.m, r.n);
  inst.exports.gemmNT(A.byteOffset, r.p, B.byteOffset, r.p, C.byteOffset, r.n, r.m, r.n, r.p, TRIANGLE[r.tri], r.alpha, 0);
  if (r.ldc === r.n) r.c.set(C, r.cOff);
  else for (let i = 0; i < r.m; i++) r.c.set(C.subarray(i * r.n, (i + 1) * r.n), r.cOff + i * r.ldc);
  return true;
}

// The shared scratch instance, grown to hold `bytes` of operands after the packing scratch.
function scratchFor(bytes: number): Instance | null {
  if (!scratchInstance) {
    scratchInstance = instantiate(PAGE_BYTES);
    if (!scratchInstance) return null;
    scratchBytes = scratchInstance.exports.gemmScratchBytes();
  }
  const need = scratchBytes + bytes;
  const have = scratchInstance.memory.buffer.byteLength;
  if (need > have) {
    try {
      scratchInstance.memory.grow(Math.ceil((need - have) / PAGE_BYTES));
    } catch {
      return null; // beyond what WebAssembly memory can hold: the TypeScript kernel runs it
    }
  }
  return scratchInstance;
}

// dst (rows x cols, contiguous) = the block at src[off] with row stride ld.
function copyRows(src: Float64Array, off: number, ld: number, dst: Float64Array, rows: number, cols: number): void {
  if (ld === cols) {
    dst.set(src.subarray(off, off + rows * cols));
    return;
  }
  for (let i = 0; i < rows; i++) dst.set(src.subarray(off + i * ld, off + i * ld + cols), i * cols);
}
