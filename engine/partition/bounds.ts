/**
 * Lower bounds of the branch and bound (docs/partition.md, "Bounds"): the exact step
 * costs of the prefix chain, the bottom-up bounds of every subtree per parent processor,
 * and the prefix cost-to-go, each optionally with weight bytes on one processor priced
 * (a Lagrangian relaxation of its memory limit). Every bound here is a lower bound of the
 * list schedule's cost, so pruning with them never loses the optimum.
 */
import { startsGroup, type Problem } from './problem';

/**
 * The exact cost of placing prefix unit k on p after unit k-1 on q (the input window on
 * the default processor for k = 0), as flat tables indexed ((k * P + q) * 2 + pin) * P + p:
 * energy (mJ), time (ms) and whether a dispatch is left pending. The prefix runs alone,
 * so its time is a sum. A partition whose ops so far are all no-ops has its dispatch
 * pending (pin = 1): it is charged at its first op that is not a no-op, or, when the
 * partition closes without one, at its first op, which in a chain delays everything
 * after it alike, so it is added when the chain leaves the partition.
 */
export interface PrefixSteps {
  e: Float64Array;
  t: Float64Array;
  pend: Uint8Array;
}

export function prefixSteps(pr: Problem): PrefixSteps {
  const { processorCount: P } = pr;
  const len = pr.branch + 1;
  const e = new Float64Array(len * P * 2 * P).fill(Infinity);
  const t = new Float64Array(len * P * 2 * P).fill(Infinity);
  const pend = new Uint8Array(len * P * 2 * P);
  for (let k = 0; k < len; k++) {
    for (let q = 0; q < P; q++) {
      for (let pin = 0; pin < 2; pin++) {
        if (k === 0 && (q !== pr.origin || pin === 1)) continue;
        for (let p = 0; p < P; p++) {
          if (!pr.allowed[k * P + p]) continue;
          const idx = (k * P + q) * P + p;
          if (!Number.isFinite(pr.tL[idx])) continue;
          const starts = startsGroup(pr, k, q, p);
          let time = pr.tL[idx] + pr.lat[k * P + p];
          let out = 0;
          if (starts) {
            if (pin) time += pr.dispL[q];
            if (pr.active[k]) time += pr.dispL[p];
            else out = pr.dispL[p] > 0 ? 1 : 0;
          } else if (pr.layer[k] && pin) {
            if (pr.active[k]) time += pr.dispL[q];
            else out = 1;
          }
          const s = ((k * P + q) * 2 + pin) * P + p;
          e[s] = pr.en[k * P + p] + pr.retE[k * P + p] + pr.tE[idx] + (starts ? pr.dispE[p] : 0);
          t[s] = time;
          pend[s] = out;
        }
      }
    }
  }
  return { e, t, pend };
}

/**
 * Bottom-up bounds of every subtree, per parent processor (index u * P + q), with each
 * weight byte placed on processor `m` priced `lambda` (m = -1: no price): `Ea` the least
 * α x energy + price, `Llb` the least path latency, `G` the least α x energy + price +
 * β x path latency; and `busy[(ps * n + u) * P + q]` the least α x energy + price + β x
 * (time the subtree adds to the serial load of resource ps: processor ps < P, else
 * transfer resource ps - P). Each later unit either lengthens that load or pays its
 * energy elsewhere, so `busy` bounds α E + β (load of ps).
 * A priced bound less lambda x (bytes m has left) bounds the unpriced cost of every
 * placement within m's memory (Lagrangian relaxation), so pricing only tightens it.
 */
export interface BoundSet {
  m: number;
  lambda: number;
  Ea: Float64Array;
  Llb: Float64Array;
  G: Float64Array;
  busy: Float64Array;
}

export function subtreeBounds(pr: Problem, allowed: Uint8Array, m: number, lambda: number): BoundSet {
  const { unitCount: n, processorCount: P, alpha, beta, units } = pr;
  const Ea = new Float64Array(n * P).fill(Infinity);
  const Llb = new Float64Array(n * P).fill(Infinity);
  const G = new Float64Array(n * P).fill(Infinity);
  const { resourceCount: R } = pr;
  const busy = new Float64Array((P + R) * n * P).fill(Infinity);
  for (let u = n - 1; u >= 0; u--) {
    const kids = units[u].children;
    for (let p = 0; p < P; p++) {
      if (!allowed[u * P + p]) continue;
      let aKids = 0;
      let lMax = pr.retL[u * P + p];
      let gExtra = beta * pr.retL[u * P + p];
      for (const c of kids) {
        aKids += Ea[c * P + p];
        lMax = Math.max(lMax, Llb[c * P + p]);
        gExtra = Math.max(gExtra, G[c * P + p] - Ea[c * P + p]);
      }
      const aSelf = alpha * (pr.en[u * P + p] + pr.retE[u * P + p]) + (p === m ? lambda * pr.weight[u] : 0);
      const busyBase = new Float64Array(P + R);
      for (let ps = 0; ps < P + R; ps++) {
        let v = aSelf + (ps < P ? (p === ps ? beta * pr.lat[u * P + p] : 0) : beta * pr.retLink[(u * P + p) * R + ps - P]);
        for (const c of kids) v += busy[(ps * n + c) * P + p];
        busyBase[ps] = v;
      }
      for (let q = 0; q < P; q++) {
        const idx = (u * P + q) * P + p;
        const tl = pr.tL[idx];
        if (!Number.isFinite(tl)) continue;
        // A tensor goes once per destination, and a reader group of k units on p pays one dispatch:
        // at least 1/k of it per member. Each member with a real op ends at least one dispatch
        // after the tensor arrives (docs/partition.md, "Dispatch").
        const te = pr.multi[u] ? 0 : alpha * pr.tE[idx];
        const starts = startsGroup(pr, u, q, p);
        const de = starts ? (alpha * pr.dispE[p]) / pr.sib[u] : 0;
        const dl = starts && pr.active[u] ? pr.dispL[p] : 0;
        const a = aSelf + te + de + aKids;
        const l = tl + dl + pr.lat[u * P + p] + lMax;
        const g = aSelf + te + de + aKids + beta * (tl + dl + pr.lat[u * P + p]) + gExtra;
        const k = u * P + q;
        if (a < Ea[k]) Ea[k] = a;
        if (l < Llb[k]) Llb[k] = l;
        if (g < G[k]) G[k] = g;
        for (let ps = 0; ps < P + R; ps++) {
          let v = busyBase[ps] + te + (starts ? (alpha * pr.dispE[p] + (p === ps ? beta * pr.dispL[p] : 0)) / pr.sib[u] : 0);
          if (ps >= P) v += (beta * pr.linkL[(idx * R) + ps - P]) / pr.sib[u];
          const b = (ps * n + u) * P + q;
          if (v < busy[b]) busy[b] = v;
        }
      }
    }
  }
  return { m, lambda, Ea, Llb, G, busy };
}

/** A price per weight byte (objective units) on processor m, for a Lagrangian bound. */
export interface Price {
  m: number;
  lambda: number;
}

/** The plain bound set, then one per price (the constrained search's Lagrangian bounds). */
export function boundSets(pr: Problem, allowed: Uint8Array, prices: Price[]): BoundSet[] {
  return [{ m: -1, lambda: 0 }, ...prices].map(({ m, lambda }) => subtreeBounds(pr, allowed, m, lambda));
}

/**
 * Lower bounds of the cost after the prefix, per prefix state (unit k, processor p,
 * pending dispatch pin) at index (k * P + p) * 2 + pin: `base` ignores memory; each of
 * `priced` is the least cost-to-go with every byte of weights placed on processor `m`
 * in the rest of the prefix charged `lambda`, so that `toGo - lambda x (bytes m has
 * left)` is a lower bound as well (Lagrangian relaxation of m's memory limit).
 */
export interface PrefixBound {
  base: Float64Array;
  priced: { m: number; lambda: number; toGo: Float64Array }[];
  /** Processors whose memory can bind: their use is part of the dominance test. */
  tight: number[];
}

/** Geometric grid of memory prices tried per tight processor (see {@link prefixBound}). */
export const PRICES = 16;

/**
 * The prefix cost-to-go bounds of the constrained search: the DP of step 1 run backwards
 * from F(s) (less `tol`, so ties are still explored), plainly and, for every processor
 * whose memory can bind, with each weight byte it receives in the rest of the prefix
 * charged a price λ. For a placement within that processor's limit, the bytes it still
 * receives are at most those it has left, so the priced cost-to-go minus λ x (bytes
 * left) is a lower bound of the true cost-to-go for every λ ≥ 0: the prices only
 * tighten the bound, never cut the optimum. They are a geometric grid around each
 * prefix unit's saving per byte on that processor.
 */
export function prefixBound(pr: Problem, steps: PrefixSteps, F: Float64Array, tol: number): PrefixBound {
  const { processorCount: P, unitCount: n, alpha, beta, branch } = pr;
  const S = P * 2;
  const backward = (m: number, lambda: number): Float64Array => {
    const toGo = new Float64Array((branch + 1) * S).fill(Infinity);
    if (branch < 0) return toGo;
    for (let s = 0; s < S; s++) toGo[branch * S + s] = F[s] - tol;
    for (let k = branch - 1; k >= 0; k--) {
      const next = k + 1;
      const price = lambda * pr.weight[next];
      for (let q = 0; q < P; q++) {
        for (let pin = 0; pin < 2; pin++) {
          let bestC = Infinity;
          for (let p = 0; p < P; p++) {
            const st = ((next * P + q) * 2 + pin) * P + p;
            const c = alpha * steps.e[st] + beta * steps.t[st] + (p === m ? price : 0) + toGo[next * S + p * 2 + steps.pend[st]];
            if (c < bestC) bestC = c;
          }
          toGo[k * S + q * 2 + pin] = bestC;
        }
      }
    }
    return toGo;
  };
  const tight: number[] = [];
  const priced: PrefixBound['priced'] = [];
  for (let m = 0; m < P; m++) {
    if (!Number.isFinite(pr.limit[m])) continue;
    let bytes = 0;
    let peak = 0;
    for (let u = 0; u < n; u++) {
      if (!pr.allowed[u * P + m]) continue;
      bytes += pr.weight[u];
      peak = Math.max(peak, pr.peak[u]);
    }
    if (bytes + peak <= pr.limit[m]) continue;
    tight.push(m);
    let lo = Infinity;
    let hi = 0;
    for (let k = 0; k < n; k++) {
      if (!pr.allowed[k * P + m] || pr.weight[k] <= 0) continue;
      let alt = Infinity;
      for (let p = 0; p < P; p++) if (p !== m && pr.allowed[k * P + p]) alt = Math.min(alt, alpha * pr.en[k * P + p] + beta * pr.lat[k * P + p]);
      const saving = alt - (alpha * pr.en[k * P + m] + beta * pr.lat[k * P + m]);
      if (!(saving > 0) || !Number.isFinite(saving)) continue;
      lo = Math.min(lo, saving / pr.weight[k]);
      hi = Math.max(hi, saving / pr.weight[k]);
    }
    if (!(hi > 0)) continue;
    lo /= 4;
    hi *= 4;
    for (let i = 0; i < PRICES; i++) {
      const lambda = lo * (hi / lo) ** (i / (PRICES - 1));
      priced.push({ m, lambda, toGo: backward(m, lambda) });
    }
  }
  return { base: backward(-1, 0), priced, tight };
}
