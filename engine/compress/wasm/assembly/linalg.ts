// Hot linear-algebra kernels of engine/compress, in AssemblyScript compiled to WebAssembly
// with 128-bit SIMD (f64x2), because V8 runs the equivalent TypeScript loops at about
// 1-2 GFLOPS (scalar, bounds-checked) and no maintained npm package offers float64 SIMD
// kernels that run in Node, in browser workers and in the extension host alike.
// Built by scripts/build-wasm.mjs into ../linalg-wasm.generated.ts; see ../linalg-wasm.ts
// for the TypeScript side. Everything works on raw byte addresses in the module's own
// memory, which the caller lays out: no allocator, no runtime.

// Cache blocking of the product (BLIS-style, Van Zee & van de Geijn, ACM TOMS 41(3), 2015):
// a KC x NC block of B is packed once and stays in L2/L3 while MC x KC blocks of A
// stream past it; the 4 x 4 micro-kernel keeps its 8 f64x2 accumulators in registers.
const KC: i32 = 256;
const MC: i32 = 64;
const NC: i32 = 512;

/** Bytes of scratch memory {@link gemmNT} needs for its packed panels. */
export function gemmScratchBytes(): i32 {
  return (MC * KC + NC * KC) * 8;
}

/**
 * C (m x n, row stride ldc) += alpha * A (m x p, row stride lda) * B (n x p, row stride
 * ldb)^T. tri = 0: the whole of C; 1: only the 4 x 4 tiles touching the lower triangle
 * (j <= i); 2: only those touching the upper triangle (j >= i). Strides are in elements.
 */
export function gemmNT(a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, m: i32, n: i32, p: i32, tri: i32, alpha: f64, scratch: usize): void {
  const ap = scratch;
  const bp = scratch + (<usize>(MC * KC) << 3);
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < p; pc += KC) {
      const kc = min(KC, p - pc);
      let packedB = false;
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        if (tri == 1 && jc > ic + mc - 1) continue;
        if (tri == 2 && jc + nc - 1 < ic) continue;
        if (!packedB) {
          pack(b + ((<usize>jc * <usize>ldb + <usize>pc) << 3), ldb, nc, kc, bp);
          packedB = true;
        }
        pack(a + ((<usize>ic * <usize>lda + <usize>pc) << 3), lda, mc, kc, ap);
        for (let jr = 0; jr < nc; jr += 4) {
          const j = jc + jr;
          for (let ir = 0; ir < mc; ir += 4) {
            const i = ic + ir;
            if (tri == 1 && j > i + 3) continue;
            if (tri == 2 && j + 3 < i) continue;
            micro(ap + (<usize>(ir * kc) << 3), bp + (<usize>(jr * kc) << 3), kc, c + ((<usize>i * <usize>ldc + <usize>j) << 3), ldc, alpha, min(4, mc - ir), min(4, nc - jr));
          }
        }
      }
    }
  }
}

// Packs `rows` x kc elements (row stride ld) into panels of 4 rows, k-major inside a panel
// (element (r, k) of panel r0 at dst[r0 * kc + k * 4 + (r - r0)]); missing rows are zeros.
function pack(src: usize, ld: i32, rows: i32, kc: i32, dst: usize): void {
  for (let r0 = 0; r0 < rows; r0 += 4) {
    const base = dst + (<usize>(r0 * kc) << 3);
    for (let q = 0; q < 4; q++) {
      const r = r0 + q;
      let d = base + (<usize>q << 3);
      if (r < rows) {
        let s = src + (<usize>r * <usize>ld << 3);
        for (let k = 0; k < kc; k++) {
          store<f64>(d, load<f64>(s));
          s += 8;
          d += 32;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          store<f64>(d, 0.0);
          d += 32;
        }
      }
    }
  }
}

// The 4 x 4 tile C[0..mr, 0..nr] += alpha * Ap * Bp^T over kc packed steps.
function micro(ap: usize, bp: usize, kc: i32, c: usize, ldc: i32, alpha: f64, mr: i32, nr: i32): void {
  let c00 = f64x2.splat(0), c01 = f64x2.splat(0);
  let c10 = f64x2.splat(0), c11 = f64x2.splat(0);
  let c20 = f64x2.splat(0), c21 = f64x2.splat(0);
  let c30 = f64x2.splat(0), c31 = f64x2.splat(0);
  for (let k = 0; k < kc; k++) {
    const b01 = v128.load(bp);
    const b23 = v128.load(bp, 16);
    let x = v128.load64_splat(ap);
    c00 = f64x2.add(c00, f64x2.mul(x, b01));
    c01 = f64x2.add(c01, f64x2.mul(x, b23));
    x = v128.load64_splat(ap, 8);
    c10 = f64x2.add(c10, f64x2.mul(x, b01));
    c11 = f64x2.add(c11, f64x2.mul(x, b23));
    x = v128.load64_splat(ap, 16);
    c20 = f64x2.add(c20, f64x2.mul(x, b01));
    c21 = f64x2.add(c21, f64x2.mul(x, b23));
    x = v128.load64_splat(ap, 24);
    c30 = f64x2.add(c30, f64x2.mul(x, b01));
    c31 = f64x2.add(c31, f64x2.mul(x, b23));
    ap += 32;
    bp += 32;
  }
  const al = f64x2.splat(alpha);
  const row = <usize>ldc << 3;
  if (mr == 4 && nr == 4) {
    let r = c;
    v128.store(r, f64x2.add(v128.load(r), f64x2.mul(al, c00)));
    v128.store(r, f64x2.add(v128.load(r, 16), f64x2.mul(al, c01)), 16);
    r += row;
    v128.store(r, f64x2.add(v128.load(r), f64x2.mul(al, c10)));
    v128.store(r, f64x2.add(v128.load(r, 16), f64x2.mul(al, c11)), 16);
    r += row;
    v128.store(r, f64x2.add(v128.load(r), f64x2.mul(al, c20)));
    v128.store(r, f64x2.add(v128.load(r, 16), f64x2.mul(al, c21)), 16);
    r += row;
    v128.store(r, f64x2.add(v128.load(r), f64x2.mul(al, c30)));
    v128.store(r, f64x2.add(v128.load(r, 16), f64x2.mul(al, c31)), 16);
    return;
  }
  // Edge tile: only the mr x nr valid elements are written.
  edge(c, alpha, nr, c00, c01);
  if (mr > 1) edge(c + row, alpha, nr, c10, c11);
  if (mr > 2) edge(c + 2 * row, alpha, nr, c20, c21);
  if (mr > 3) edge(c + 3 * row, alpha, nr, c30, c31);
}

function edge(r: usize, alpha: f64, nr: i32, lo: v128, hi: v128): void {
  store<f64>(r, load<f64>(r) + alpha * f64x2.extract_lane(lo, 0));
  if (nr > 1) store<f64>(r, load<f64>(r, 8) + alpha * f64x2.extract_lane(lo, 1), 8);
  if (nr > 2) store<f64>(r, load<f64>(r, 16) + alpha * f64x2.extract_lane(hi, 0), 16);
  if (nr > 3) store<f64>(r, load<f64>(r, 24) + alpha * f64x2.extract_lane(hi, 1), 24);
}

/**
 * out[from..n) = A[from.., from..] * vec[from..n) for the symmetric n x n row-major A at
 * `a`, reading only its upper triangle; `vec` and `out` are length-n arrays.
 */
export function symvUpper(a: usize, n: i32, from: i32, vec: usize, out: usize): void {
  for (let x = from; x < n; x++) store<f64>(out + (<usize>x << 3), 0.0);
  let r = from;
  for (; r + 3 < n; r += 4) {
    const row0 = a + (<usize>r * <usize>n << 3);
    const row1 = row0 + (<usize>n << 3), row2 = row1 + (<usize>n << 3), row3 = row2 + (<usize>n << 3);
    const v0 = load<f64>(vec + (<usize>r << 3)), v1 = load<f64>(vec + (<usize>r << 3), 8);
    const v2 = load<f64>(vec + (<usize>r << 3), 16), v3 = load<f64>(vec + (<usize>r << 3), 24);
    const o = <usize>r << 3;
    // The 4 x 4 diagonal block, symmetric, from its upper triangle.
    const a01 = load<f64>(row0 + o, 8), a02 = load<f64>(row0 + o, 16), a03 = load<f64>(row0 + o, 24);
    const a12 = load<f64>(row1 + o, 16), a13 = load<f64>(row1 + o, 24), a23 = load<f64>(row2 + o, 24);
    let t0 = load<f64>(row0 + o) * v0 + a01 * v1 + a02 * v2 + a03 * v3;
    let t1 = a01 * v0 + load<f64>(row1 + o, 8) * v1 + a12 * v2 + a13 * v3;
    let t2 = a02 * v0 + a12 * v1 + load<f64>(row2 + o, 16) * v2 + a23 * v3;
    let t3 = a03 * v0 + a13 * v1 + a23 * v2 + load<f64>(row3 + o, 24) * v3;
    const w0 = f64x2.splat(v0), w1 = f64x2.splat(v1), w2 = f64x2.splat(v2), w3 = f64x2.splat(v3);
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0), s2 = f64x2.splat(0), s3 = f64x2.splat(0);
    let c = r + 4;
    for (; c + 1 < n; c += 2) {
      const off = <usize>c << 3;
      const x0 = v128.load(row0 + off), x1 = v128.load(row1 + off);
      const x2 = v128.load(row2 + off), x3 = v128.load(row3 + off);
      const vc = v128.load(vec + off);
      s0 = f64x2.add(s0, f64x2.mul(x0, vc));
      s1 = f64x2.add(s1, f64x2.mul(x1, vc));
      s2 = f64x2.add(s2, f64x2.mul(x2, vc));
      s3 = f64x2.add(s3, f64x2.mul(x3, vc));
      const acc = f64x2.add(f64x2.add(f64x2.mul(x0, w0), f64x2.mul(x1, w1)), f64x2.add(f64x2.mul(x2, w2), f64x2.mul(x3, w3)));
      v128.store(out + off, f64x2.add(v128.load(out + off), acc));
    }
    t0 += f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1);
    t1 += f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1);
    t2 += f64x2.extract_lane(s2, 0) + f64x2.extract_lane(s2, 1);
    t3 += f64x2.extract_lane(s3, 0) + f64x2.extract_lane(s3, 1);
    if (c < n) {
      const off = <usize>c << 3;
      const x0 = load<f64>(row0 + off), x1 = load<f64>(row1 + off), x2 = load<f64>(row2 + off), x3 = load<f64>(row3 + off);
      const vc = load<f64>(vec + off);
      t0 += x0 * vc;
      t1 += x1 * vc;
      t2 += x2 * vc;
      t3 += x3 * vc;
      store<f64>(out + off, load<f64>(out + off) + x0 * v0 + x1 * v1 + x2 * v2 + x3 * v3);
    }
    store<f64>(out + o, load<f64>(out + o) + t0);
    store<f64>(out + o, load<f64>(out + o, 8) + t1, 8);
    store<f64>(out + o, load<f64>(out + o, 16) + t2, 16);
    store<f64>(out + o, load<f64>(out + o, 24) + t3, 24);
  }
  for (; r < n; r++) {
    const row = a + (<usize>r * <usize>n << 3);
    const vr = load<f64>(vec + (<usize>r << 3));
    let s = load<f64>(row + (<usize>r << 3)) * vr;
    for (let c = r + 1; c < n; c++) {
      const x = load<f64>(row + (<usize>c << 3));
      s += x * load<f64>(vec + (<usize>c << 3));
      store<f64>(out + (<usize>c << 3), load<f64>(out + (<usize>c << 3)) + x * vr);
    }
    store<f64>(out + (<usize>r << 3), load<f64>(out + (<usize>r << 3)) + s);
  }
}

// The panel steps of the blocked tridiagonal reduction (LAPACK dlatrd): `vt` and `wt` hold
// `count` rows of length n (the panel's reflectors v_t and vectors w_t, global indices).

/** x[from..n) -= sum over t < count of vt[t][c] * wt[t][from..n) + wt[t][c] * vt[t][from..n). */
export function panelRowUpdate(x: usize, vt: usize, wt: usize, n: i32, count: i32, c: i32, from: i32): void {
  const stride = <usize>n << 3;
  for (let t = 0; t < count; t++) {
    const v = vt + <usize>t * stride, w = wt + <usize>t * stride;
    const vc = load<f64>(v + (<usize>c << 3)), wc = load<f64>(w + (<usize>c << 3));
    const vcs = f64x2.splat(vc), wcs = f64x2.splat(wc);
    let k = from;
    for (; k + 1 < n; k += 2) {
      const off = <usize>k << 3;
      v128.store(x + off, f64x2.sub(v128.load(x + off), f64x2.add(f64x2.mul(vcs, v128.load(w + off)), f64x2.mul(wcs, v128.load(v + off)))));
    }
    if (k < n) {
      const off = <usize>k << 3;
      store<f64>(x + off, load<f64>(x + off) - (vc * load<f64>(w + off) + wc * load<f64>(v + off)));
    }
  }
}

/** dots[2t] = wt[t][from..n) . y[from..n) and dots[2t+1] = vt[t][from..n) . y[from..n) for t < count. */
export function panelDots(vt: usize, wt: usize, n: i32, count: i32, from: i32, y: usize, dots: usize): void {
  const stride = <usize>n << 3;
  for (let t = 0; t < count; t++) {
    const v = vt + <usize>t * stride, w = wt + <usize>t * stride;
    let sw = f64x2.splat(0), sv = f64x2.splat(0);
    let k = from;
    for (; k + 1 < n; k += 2) {
      const off = <usize>k << 3;
      const yy = v128.load(y + off);
      sw = f64x2.add(sw, f64x2.mul(v128.load(w + off), yy));
      sv = f64x2.add(sv, f64x2.mul(v128.load(v + off), yy));
    }
    let dw = f64x2.extract_lane(sw, 0) + f64x2.extract_lane(sw, 1);
    let dv = f64x2.extract_lane(sv, 0) + f64x2.extract_lane(sv, 1);
    if (k < n) {
      const off = <usize>k << 3;
      const yy = load<f64>(y + off);
      dw += load<f64>(w + off) * yy;
      dv += load<f64>(v + off) * yy;
    }
    store<f64>(dots + (<usize>t << 4), dw);
    store<f64>(dots + (<usize>t << 4), dv, 8);
  }
}

/** x[from..n) -= sum over t < count of vt[t][from..n) * dots[2t] + wt[t][from..n) * dots[2t+1]. */
export function panelCorrect(x: usize, vt: usize, wt: usize, n: i32, count: i32, from: i32, dots: usize): void {
  const stride = <usize>n << 3;
  for (let t = 0; t < count; t++) {
    const v = vt + <usize>t * stride, w = wt + <usize>t * stride;
    const dw = load<f64>(dots + (<usize>t << 4)), dv = load<f64>(dots + (<usize>t << 4), 8);
    const dws = f64x2.splat(dw), dvs = f64x2.splat(dv);
    let k = from;
    for (; k + 1 < n; k += 2) {
      const off = <usize>k << 3;
      v128.store(x + off, f64x2.sub(v128.load(x + off), f64x2.add(f64x2.mul(v128.load(v + off), dws), f64x2.mul(v128.load(w + off), dvs))));
    }
    if (k < n) {
      const off = <usize>k << 3;
      store<f64>(x + off, load<f64>(x + off) - (load<f64>(v + off) * dw + load<f64>(w + off) * dv));
    }
  }
}
