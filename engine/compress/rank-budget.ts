/**
 * SVD ranks under a parameter budget: given each candidate layer's spectrum (the singular
 * values whose tail is the error of truncating it: the weight's for plain SVD, those of
 * W C^1/2 for the data-aware factorisation of ./whitened-svd, whose tail is the output error
 * tr(E C E^T)), choose a rank per layer, or none, so that the pipeline's parameters are at most
 * the budget and the sum of the squared relative errors is least (the root-sum-square
 * combination engine/auto-compress.ts explains).
 *
 * The problem is a multiple-choice knapsack, solved exactly by dynamic programming over the
 * layers on the Pareto frontier of (parameters, error^2): a pipeline has a few to a few dozen
 * candidate layers with up to a few hundred ranks each, and the frontier stays small. Should it
 * outgrow {@link MAX_FRONTIER_STATES} (hundreds of wide layers), a greedy walk takes over: each
 * layer's lower convex hull of (parameters saved, error^2), always the step with the least error
 * added per parameter saved, until the budget holds, then what the last step over-saved spent
 * back by raising ranks where that removes the most error. Extra candidate plans (e.g. the plain
 * SVD's ranks scored on the data) are kept when they are better, so the result is never worse
 * than any of them.
 */
import { svdBreakEvenRank } from '../../language/layer-shapes';
import { relativeErrorAtRank } from './svd';

/** One layer that may be factorised. */
export interface RankCandidate {
  layerId: string;
  /** The weight matrix is rows x cols (out x in); the layer also has `rows` biases. */
  rows: number;
  cols: number;
  /** Singular values, descending, whose tail measures the error at each rank. */
  spectrum: ArrayLike<number>;
}

/** A choice per layer: a rank, or undefined for the dense (uncompressed) layer. */
export type RankChoice = ReadonlyMap<string, number | undefined>;

/** The result of {@link chooseRanksForBudget}. */
export interface RankPlan {
  ranks: Map<string, number | undefined>;
  /** Parameters of the candidate layers under the plan (weights and biases). */
  params: number;
  /** Sum over layers of the squared relative error at the chosen rank. */
  errorSq: number;
}

/** Parameters of a rows x cols dense layer with biases, factorised at `rank` or dense (undefined). */
export function factorisedParams(rows: number, cols: number, rank: number | undefined): number {
  return (rank === undefined ? rows * cols : rank * (rows + cols)) + rows;
}

interface Option {
  rank: number | undefined;
  params: number;
  errorSq: number;
}

// Dense first, then ranks from the break-even rank down to 1: parameters strictly decreasing.
function optionsOf(c: RankCandidate): Option[] {
  const out: Option[] = [{ rank: undefined, params: factorisedParams(c.rows, c.cols, undefined), errorSq: 0 }];
  for (let k = svdBreakEvenRank(c.rows, c.cols) - 1; k >= 1; k--) {
    out.push({ rank: k, params: factorisedParams(c.rows, c.cols, k), errorSq: relativeErrorAtRank(c.spectrum, k) ** 2 });
  }
  return out;
}

// The lower convex hull of the options in (saved, errorSq), as indices into `opts` in order of
// increasing saving; its slopes (error added per parameter saved) increase along it.
function lowerHull(opts: Option[]): number[] {
  const hull: number[] = [];
  const x = (i: number): number => opts[0].params - opts[i].params;
  for (let i = 0; i < opts.length; i++) {
    while (hull.length >= 2) {
      const a = hull[hull.length - 2], b = hull[hull.length - 1];
      const cross = (x(b) - x(a)) * (opts[i].errorSq - opts[a].errorSq) - (opts[b].errorSq - opts[a].errorSq) * (x(i) - x(a));
      if (cross <= 0) hull.pop();
      else break;
    }
    hull.push(i);
  }
  return hull;
}

/** Parameters and summed squared error of `choice` over `candidates` (a layer missing from it stays dense). */
export function scoreChoice(candidates: readonly RankCandidate[], choice: RankChoice): { params: number; errorSq: number } {
  let params = 0, errorSq = 0;
  for (const c of candidates) {
    const k = choice.get(c.layerId);
    params += factorisedParams(c.rows, c.cols, k);
    if (k !== undefined) errorSq += relativeErrorAtRank(c.spectrum, k) ** 2;
  }
  return { params, errorSq };
}

/** Largest Pareto frontier the exact search keeps before it falls back to the greedy walk. */
export const MAX_FRONTIER_STATES = 50_000;

/**
 * The ranks that keep the candidates' parameters within `budgetParams` with the least summed
 * squared relative error (see the module header); `alsoConsider` are plans to keep instead when
 * they fit the budget and score better on these spectra. Throws an Error giving the fewest
 * parameters reachable (every candidate at rank 1) when the budget is below it. Past `maxStates`
 * frontier states the greedy walk decides (tests lower it to run that walk).
 */
export function chooseRanksForBudget(candidates: readonly RankCandidate[], budgetParams: number, alsoConsider: readonly RankChoice[] = [], maxStates = MAX_FRONTIER_STATES): RankPlan {
  const opts = candidates.map(optionsOf);
  const least = opts.reduce((a, o) => a + o[o.length - 1].params, 0);
  if (least > budgetParams) {
    throw new Error(`the compressible layers need at least ${least} parameters (every one at SVD rank 1), more than the ${Math.floor(budgetParams)} the budget leaves them`);
  }
  const pick = exactPicks(opts, budgetParams, maxStates) ?? greedyPicks(opts, budgetParams);
  const ranks = new Map(candidates.map((c, l) => [c.layerId, opts[l][pick[l]].rank]));
  let plan: RankPlan = { ranks, params: opts.reduce((a, o, l) => a + o[pick[l]].params, 0), errorSq: opts.reduce((a, o, l) => a + o[pick[l]].errorSq, 0) };
  for (const other of alsoConsider) {
    const s = scoreChoice(candidates, other);
    if (s.params <= budgetParams && s.errorSq < plan.errorSq) plan = { ranks: new Map(candidates.map((c) => [c.layerId, other.get(c.layerId)])), ...s };
  }
  return plan;
}

// The exact least-error choice: dynamic programming over the layers on the Pareto frontier of
// (parameters, error^2) of the layers so far, states that cannot fit the budget even with every
// remaining layer at rank 1 dropped. Undefined when the frontier outgrows `maxStates`, or one
// layer's combinations with it (states times options) outgrow 80 times that.
function exactPicks(opts: Option[][], budget: number, maxStates: number): number[] | undefined {
  const minAfter = new Array<number>(opts.length + 1).fill(0);
  for (let l = opts.length - 1; l >= 0; l--) minAfter[l] = minAfter[l + 1] + opts[l][opts[l].length - 1].params;
  // Per layer, the frontier's states: parameters, error^2, the state before and the option taken.
  const layers: { params: Float64Array; errorSq: Float64Array; prev: Int32Array; option: Int32Array }[] = [];
  let params = Float64Array.of(0), errorSq = Float64Array.of(0);
  for (let l = 0; l < opts.length; l++) {
    if (params.length * opts[l].length > maxStates * 80) return undefined;
    const cand: [number, number, number, number][] = [];
    for (let s = 0; s < params.length; s++) {
      for (let o = 0; o < opts[l].length; o++) {
        const p = params[s] + opts[l][o].params;
        if (p + minAfter[l + 1] <= budget) cand.push([p, errorSq[s] + opts[l][o].errorSq, s, o]);
      }
    }
    cand.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const kept: [number, number, number, number][] = [];
    for (const c of cand) if (kept.length === 0 || c[1] < kept[kept.length - 1][1]) kept.push(c);
    if (kept.length > maxStates) return undefined;
    const layer = { params: Float64Array.from(kept, (c) => c[0]), errorSq: Float64Array.from(kept, (c) => c[1]), prev: Int32Array.from(kept, (c) => c[2]), option: Int32Array.from(kept, (c) => c[3]) };
    layers.push(layer);
    params = layer.params;
    errorSq = layer.errorSq;
  }
  // The frontier's error decreases with parameters: its last state is the least error within the budget.
  const pick = new Array<number>(opts.length);
  let s = params.length - 1;
  for (let l = opts.length - 1; l >= 0; l--) {
    pick[l] = layers[l].option[s];
    s = layers[l].prev[s];
  }
  return pick;
}

// The greedy walk of the module header: hull steps by least error added per parameter saved,
// then the over-saving spent back one option at a time.
function greedyPicks(opts: Option[][], budget: number): number[] {
  const hulls = opts.map(lowerHull);
  const at = opts.map(() => 0);
  const pick = opts.map(() => 0);
  let params = opts.reduce((a, o) => a + o[0].params, 0);
  while (params > budget) {
    let best = -1, bestSlope = Infinity;
    for (let l = 0; l < opts.length; l++) {
      const h = hulls[l];
      if (at[l] + 1 >= h.length) continue;
      const from = opts[l][h[at[l]]], to = opts[l][h[at[l] + 1]];
      const slope = (to.errorSq - from.errorSq) / (from.params - to.params);
      if (slope < bestSlope) {
        bestSlope = slope;
        best = l;
      }
    }
    if (best < 0) break;
    at[best]++;
    pick[best] = hulls[best][at[best]];
    params += opts[best][pick[best]].params - opts[best][hulls[best][at[best] - 1]].params;
  }
  for (;;) {
    let best = -1, bestTo = -1, bestGain = 0;
    for (let l = 0; l < opts.length; l++) {
      const cur = opts[l][pick[l]];
      for (let i = pick[l] - 1; i >= 0; i--) {
        const o = opts[l][i];
        if (params - cur.params + o.params > budget) break;
        const gain = cur.errorSq - o.errorSq;
        if (gain > bestGain) {
          bestGain = gain;
          best = l;
          bestTo = i;
        }
      }
    }
    if (best < 0) break;
    params += opts[best][bestTo].params - opts[best][pick[best]].params;
    pick[best] = bestTo;
  }
  return pick;
}
