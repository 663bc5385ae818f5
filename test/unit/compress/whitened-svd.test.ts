/**
 * Issue 14 "Must show": the whitened factorisation's output error is never worse than plain
 * SVD's at the same rank and equals numpy's on the same covariance.
 *
 * numpy (Debian's python3-numpy) computes the textbook construction independently: C^1/2 and
 * the pseudo-inverse C^+1/2 from eigh (eigenvalues below n * eps * max clamped to zero, as
 * numpy's matrix_rank counts them), the SVD W C^1/2 = U S V^T, A = U_r S_r, B = V_r^T C^+1/2,
 * and the output error sqrt(tr(D C D^T) / tr(W C W^T)) of D = W - A B. On the span of the data
 * (A B C^1/2) the two constructions must agree for every C; for an invertible C the products
 * themselves must.
 */
import { describe, expect, it } from 'vitest';
import { fromData, frobenius, matmul, subtract, transpose, type Matrix } from '../../../engine/compress/matrix';
import { gaussianArray, mulberry32 } from '../../../engine/compress/random';
import { reconstruct, relativeErrorAtRank, singularValues, suggestRankFromActivations, truncatedSvd } from '../../../engine/compress/svd';
import { CovarianceAccumulator, relOutputError, whitenedSvd } from '../../../engine/compress/whitened-svd';
import { symmetricEigen } from '../../../engine/compress/symmetric-eigen';
import { pythonHas, runPython } from '../../support/python';
import { gaussian } from './helpers';

const NUMPY = `
import sys, json, numpy as np
d = json.load(sys.stdin)
W = np.array(d['W'], dtype=np.float64).reshape(d['out'], d['in'])
C = np.array(d['C'], dtype=np.float64).reshape(d['in'], d['in'])
lam, Q = np.linalg.eigh(C)
keep = lam > d['in'] * np.finfo(float).eps * lam.max()
root = np.where(keep, np.sqrt(np.where(keep, lam, 0)), 0)
invRoot = np.where(keep, 1 / np.sqrt(np.where(keep, lam, 1)), 0)
Ch = (Q * root) @ Q.T
Cih = (Q * invRoot) @ Q.T
U, s, Vt = np.linalg.svd(W @ Ch, full_matrices=False)
out = {'s': s.tolist(), 'ranks': {}}
total = np.trace(W @ C @ W.T)
for k in d['ranks']:
    A = U[:, :k] * s[:k]
    B = Vt[:k] @ Cih
    P = A @ B
    D = W - P
    Up, sp, Vtp = np.linalg.svd(W, full_matrices=False)
    Dp = W - (Up[:, :k] * sp[:k]) @ Vtp[:k]
    out['ranks'][str(k)] = {
        'product': P.ravel().tolist(),
        'onData': (A @ Vt[:k]).ravel().tolist(),
        'error': float(np.sqrt(np.trace(D @ C @ D.T) / total)),
        'tailError': float(np.sqrt(np.sum(s[k:] ** 2) / np.sum(s ** 2))),
        'plainError': float(np.sqrt(np.trace(Dp @ C @ Dp.T) / total)),
    }
print(json.dumps(out))
`;

interface NumpyRank { product: number[]; onData: number[]; error: number; tailError: number; plainError: number }

/** The symmetric square root of the PSD `C` (eigenvalues that rounding made negative are zero). */
function sqrtPsd(C: Matrix): Matrix {
  const n = C.rows;
  const { values, vectors } = symmetricEigen(Float64Array.from(C.data), n, n);
  const Q = fromData(n, n, vectors); // row i: eigenvector i
  const scaled = fromData(n, n, vectors.map((v, idx) => v * Math.sqrt(Math.max(0, values[Math.floor(idx / n)]))));
  return matmul(transpose(Q), scaled);
}

/** x x^T averaged over `samples` Gaussian vectors mixed by a random in x in matrix: rank min(samples, in). */
function wishart(inputs: number, samples: number, seed: number): Matrix {
  const rng = mulberry32(seed);
  const mix = fromData(inputs, inputs, gaussianArray(rng, inputs * inputs));
  const X = matmul(fromData(samples, inputs, gaussianArray(rng, samples * inputs)), mix);
  const acc = new CovarianceAccumulator(inputs);
  acc.add(X);
  return acc.covariance();
}

/** Q diag(lambda) Q^T with eigenvalues spread log-uniformly over `decades` (condition number 10^decades). */
function illConditioned(inputs: number, decades: number, seed: number): Matrix {
  const rng = mulberry32(seed);
  const { vectors } = symmetricEigen(wishart(inputs, inputs + 5, seed + 1).data, inputs, inputs);
  const Q = fromData(inputs, inputs, vectors);
  const lambdas = Array.from({ length: inputs }, (_, i) => 10 ** (-decades * ((i + rng()) / inputs)));
  const scaled = fromData(inputs, inputs, vectors.map((v, idx) => v * lambdas[Math.floor(idx / inputs)]));
  return matmul(transpose(Q), scaled);
}

function identity(n: number): Matrix {
  const I = fromData(n, n, new Float64Array(n * n));
  for (let i = 0; i < n; i++) I.data[i * n + i] = 1;
  return I;
}

function product(W: Matrix, C: Matrix, k: number): Matrix {
  const { A, B } = whitenedSvd(W, C, k);
  return matmul(A, B);
}

function relDiff(ours: Matrix, ref: number[]): number {
  const R = fromData(ours.rows, ours.cols, ref);
  return frobenius(subtract(ours, R)) / frobenius(R);
}

describe('whitened SVD against numpy', () => {
  it('has numpy available', () => {
    expect(pythonHas('numpy')).toBe(true);
  });

  const cases: { name: string; W: () => Matrix; C: () => Matrix; ranks: number[]; invertible: boolean }[] = [
    { name: 'wide 40x120, C from 400 samples', W: () => gaussian(40, 120, 11), C: () => wishart(120, 400, 12), ranks: [1, 8, 20, 39], invertible: true },
    { name: 'tall 150x50, C from 200 samples', W: () => gaussian(150, 50, 13), C: () => wishart(50, 200, 14), ranks: [1, 10, 30], invertible: true },
    { name: 'wide 30x100, rank-deficient C (60 samples)', W: () => gaussian(30, 100, 15), C: () => wishart(100, 60, 16), ranks: [5, 20], invertible: false },
    { name: 'tall 80x40, rank-deficient C (25 samples)', W: () => gaussian(80, 40, 17), C: () => wishart(40, 25, 18), ranks: [5, 20], invertible: false },
    { name: 'square 64x64, condition number 1e10', W: () => gaussian(64, 64, 19), C: () => illConditioned(64, 10, 20), ranks: [4, 16, 40], invertible: true },
  ];
  for (const c of cases) {
    it(`${c.name}: products and output errors equal numpy's within 1e-5 relative`, () => {
      const W = c.W(), C = c.C();
      const ref = runPython<{ s: number[]; ranks: Record<string, NumpyRank> }>(NUMPY, { out: W.rows, in: W.cols, W: Array.from(W.data), C: Array.from(C.data), ranks: c.ranks });
      const full = whitenedSvd(W, C, 1);
      for (let i = 0; i < ref.s.length; i++) expect(Math.abs(full.S[i] - ref.s[i]) / ref.s[0]).toBeLessThan(1e-7);
      const Ch = sqrtPsd(C);
      for (const k of c.ranks) {
        const r = ref.ranks[String(k)];
        const P = product(W, C, k);
        // What the data sees of the product, A B C^1/2 = U_r S_r V_r^T, is unique for every C.
        expect(relDiff(matmul(P, Ch), r.onData), `rank ${k} on the data`).toBeLessThan(1e-5);
        if (c.invertible) expect(relDiff(P, r.product), `rank ${k} product`).toBeLessThan(1e-5);
        const measured = relOutputError(W, P, C);
        expect(Math.abs(measured - r.error) / r.error, `rank ${k} measured error`).toBeLessThan(1e-5);
        expect(Math.abs(whitenedSvd(W, C, k).relOutputErrorByRank[k - 1] - r.tailError) / r.tailError, `rank ${k} predicted error`).toBeLessThan(1e-5);
        const plain = relOutputError(W, reconstruct(truncatedSvd(W, k, { method: 'exact' })), C);
        expect(Math.abs(plain - r.plainError) / r.plainError, `rank ${k} plain error`).toBeLessThan(1e-5);
        expect(r.error).toBeLessThanOrEqual(r.plainError);
      }
    });
  }

  it('accumulates C = X^T X / N batch by batch as numpy does', () => {
    const rng = mulberry32(31);
    const X = fromData(70, 12, gaussianArray(rng, 70 * 12));
    const acc = new CovarianceAccumulator(12);
    acc.add(fromData(30, 12, X.data.subarray(0, 30 * 12)));
    acc.add(fromData(40, 12, X.data.subarray(30 * 12)));
    expect(acc.samples).toBe(70);
    const ref = runPython<number[]>(`
import sys, json, numpy as np
d = json.load(sys.stdin)
X = np.array(d, dtype=np.float64).reshape(70, 12)
print(json.dumps((X.T @ X / 70).ravel().tolist()))`, Array.from(X.data));
    expect(relDiff(acc.covariance(), ref)).toBeLessThan(1e-12);
  });
});

describe('whitened SVD: never worse than plain SVD on the same data', () => {
  it('over 300 seeds of shapes and covariances (full, rank-deficient, ill-conditioned), at every rank', () => {
    let strictlyBetter = 0, comparisons = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const rng = mulberry32(1000 + seed);
      const out = 2 + Math.floor(rng() * 14), inputs = 2 + Math.floor(rng() * 14);
      const W = gaussian(out, inputs, 5000 + seed);
      const kind = seed % 3;
      const C = kind === 0 ? wishart(inputs, inputs + 3 + Math.floor(rng() * 20), seed)
        : kind === 1 ? wishart(inputs, 1 + Math.floor(rng() * inputs), seed)
          : illConditioned(inputs, 6 + Math.floor(rng() * 8), seed);
      const full = whitenedSvd(W, C, Math.min(out, inputs));
      for (let k = 1; k <= Math.min(out, inputs); k++) {
        const whitened = relOutputError(W, product(W, C, k), C);
        const plain = relOutputError(W, reconstruct(truncatedSvd(W, k, { method: 'exact' })), C);
        expect(whitened, `seed ${seed} (${out}x${inputs}, C kind ${kind}) rank ${k}`).toBeLessThanOrEqual(plain + 1e-9);
        expect(Math.abs(whitened - full.relOutputErrorByRank[k - 1]), `seed ${seed} rank ${k}: predicted vs measured`).toBeLessThan(1e-7);
        comparisons++;
        if (whitened < plain - 1e-6) strictlyBetter++;
      }
    }
    // The property must not hold only because both are zero: on most comparisons the data changes the answer.
    expect(strictlyBetter).toBeGreaterThan(comparisons / 2);
  });

  it('equals plain SVD when C = I, in factors and errors', () => {
    for (const [out, inputs, seed] of [[20, 35, 41], [35, 20, 42], [24, 24, 43]]) {
      const W = gaussian(out, inputs, seed);
      const S = singularValues(W);
      const I = identity(inputs);
      const full = whitenedSvd(W, I, 1);
      for (let i = 0; i < S.length; i++) expect(Math.abs(full.S[i] - S[i]) / S[0]).toBeLessThan(1e-10);
      for (const k of [1, 5, Math.min(out, inputs) - 1]) {
        expect(Math.abs(full.relOutputErrorByRank[k - 1] - relativeErrorAtRank(S, k))).toBeLessThan(1e-10);
        const plain = reconstruct(truncatedSvd(W, k, { method: 'exact' }));
        expect(frobenius(subtract(product(W, I, k), plain)) / frobenius(plain)).toBeLessThan(1e-9);
      }
    }
  });

  it('past the rank of the data: exact on the data, and the rest of the rank spent on the weights', () => {
    for (const [out, inputs, samples, seed] of [[12, 30, 4, 71], [30, 12, 4, 72]]) {
      const W = gaussian(out, inputs, seed);
      const C = wishart(inputs, samples, seed + 1); // rank 4
      const seenOnly = product(W, C, samples);
      for (const k of [samples + 3, Math.min(out, inputs)]) {
        const P = product(W, C, k);
        expect(relOutputError(W, P, C), `${out}x${inputs} rank ${k}`).toBeLessThan(1e-7);
        // The directions beyond the data's rank reduce the weight error, as plain SVD's would.
        expect(frobenius(subtract(W, P))).toBeLessThan(frobenius(subtract(W, seenOnly)));
      }
    }
  });

  it('with C = 0 (the data never reaches the layer) is plain SVD', () => {
    const W = gaussian(10, 16, 81);
    const zero = fromData(16, 16, new Float64Array(256));
    const plain = reconstruct(truncatedSvd(W, 4, { method: 'exact' }));
    expect(frobenius(subtract(product(W, zero, 4), plain)) / frobenius(plain)).toBeLessThan(1e-9);
    expect(whitenedSvd(W, zero, 4).relOutputErrorByRank.every((e) => e === 0)).toBe(true);
  });

  it('its plain-SVD output error under C = X X^T / N is the activation prediction of suggestRankFromActivations', () => {
    const W = gaussian(16, 40, 51);
    const X = gaussian(300, 40, 52); // samples x in
    const acc = new CovarianceAccumulator(40);
    acc.add(X);
    const C = acc.covariance();
    const predicted = suggestRankFromActivations(W, transpose(X), 0).errorByRank;
    for (const k of [2, 8, 15]) {
      const plain = relOutputError(W, reconstruct(truncatedSvd(W, k, { method: 'exact' })), C);
      expect(Math.abs(plain - predicted[k - 1])).toBeLessThan(1e-9);
      expect(whitenedSvd(W, C, k).relOutputErrorByRank[k - 1]).toBeLessThanOrEqual(plain);
    }
  });
});

describe('whitened SVD: bad input', () => {
  const W = gaussian(4, 6, 61);
  it.each([
    ['a covariance of the wrong size', () => whitenedSvd(W, identity(5), 2), /covariance is 5x5 but the weight has 6 inputs/],
    ['an asymmetric covariance', () => { const C = identity(6); C.data[1] = 0.5; return whitenedSvd(W, C, 2); }, /not symmetric: element \(0, 1\)/],
    ['a negative variance', () => { const C = identity(6); C.data[7] = -1; return whitenedSvd(W, C, 2); }, /diagonal element \(1, 1\) is -1/],
    ['a rank out of range', () => whitenedSvd(W, identity(6), 5), /rank 5 is out of range for a 4x6 matrix: choose an integer from 1 to 4/],
    ['a NaN in the covariance', () => { const C = identity(6); C.data[3] = NaN; return whitenedSvd(W, C, 2); }, /element \(0, 3\) is NaN/],
    ['a batch of the wrong width', () => new CovarianceAccumulator(6).add(gaussian(3, 5, 62)), /batch has 5 columns but the layer has 6 inputs/],
    ['no batches', () => new CovarianceAccumulator(6).covariance(), /no input vectors were added/],
  ])('refuses %s with a message naming it', (_what, call, message) => {
    expect(call).toThrow(message);
  });
});
