/**
 * The constrained search when the pipeline has a prefix chain: a label DP over the chain
 * that keeps the Pareto-optimal labels per end state, then the units after the branch
 * searched once per surviving label (docs/partition.md, "Prefix labels").
 */
import type { BoundSet, PrefixBound, PrefixSteps } from './bounds';
import { TOL, type Problem } from './problem';
import { search, type Clock, type SearchResult } from './search';

/** Most labels one prefix unit may keep before {@link prefixLabels} gives up (the rounds of {@link search} take over). */
export const LABEL_CAP = 100_000;

/** Labels kept per end state and prefix unit by the first, heuristic pass of {@link prefixLabels} (it only finds an incumbent). */
export const BEAM = 12;

/**
 * The labels one prefix unit proposes (every kept label of the unit before, extended to each
 * processor), column by column: candidate a is entry a of each column, and entries a * D to
 * a * D + D - 1 of `mem`.
 */
interface Candidates {
  /** Exact cost so far, α E + β t. */
  cost: number[];
  /** Time so far, ms. */
  time: number[];
  /** Lower bound of the objective of any completion (prefix cost-to-go, plain and Lagrangian). */
  lb: number[];
  /** True when its time cannot matter: every completion that could beat the incumbent meets the budget. */
  safe: boolean[];
  /** Per processor whose memory can bind, its weight bytes and its peak activation bytes so far. */
  mem: number[];
  /** End state: processor * 2 + dispatch pending. */
  state: number[];
  /** Index of the label it extends among the previous unit's kept labels. */
  parent: number[];
}

/** What one run of {@link prefixLabels} explores, and within which limits. */
export interface LabelSearchOptions {
  /** The prefix chain's exact step costs. */
  steps: PrefixSteps;
  /** The prefix cost-to-go bounds (plain and priced) and the processors whose memory can bind. */
  prefix: PrefixBound;
  /** Bound sets of the units after the branch, computed once for every label's search of the rest. */
  restBoundSets: BoundSet[];
  /** Per end state (processor * 2 + pending dispatch): the relaxed optimum of the rest, a lower bound of its constrained cost. */
  restCost: Float64Array;
  /** Whether the latency budget is enforced (memory always is). */
  budget: boolean;
  /** The objective a plan must beat to be returned (Infinity: none yet). */
  incumbentObjective: number;
  /** Labels kept per end state and unit (Infinity: the exact pass; finite: the heuristic pass). */
  beam: number;
  /** Nodes this run may visit (every kept label counts as one). */
  maxNodes: number;
  /** The shared wall-clock limit. */
  clock: Clock;
}

/**
 * The constrained search when the pipeline has a prefix chain (docs/partition.md, step 3): a
 * label DP over the chain, then the units after the branch searched once per surviving
 * end label. The state of a label at prefix unit k is (k's processor, dispatch pending);
 * the label holds its exact cost α E + β t so far, its time t, and per processor m whose
 * memory can bind the weight bytes w_m and the peak activation bytes pk_m it has put on
 * m (the schedule counts w_m + the largest peak, so both are needed to evaluate the rest
 * exactly). A label is dropped when it breaks a memory limit or the budget, when its
 * cost plus the prefix cost-to-go bound (plain and Lagrangian) reaches `incumbent`, or
 * when an earlier label of its state has no more cost, no more w_m and pk_m for every m,
 * and no more time unless that earlier label's time cannot matter (t + (incumbent - cost)
 * / β within the budget: every completion that could beat the incumbent then meets the
 * budget). The rest of the schedule depends on the prefix only through the end state,
 * the time (the budget) and the memory left, and less of each never hurts, so every
 * completion of a dropped label is matched by one of the kept label at no more cost: the
 * kept labels at the branch unit hold an optimal prefix. Each is completed by
 * {@link search} over the units after the branch with its prefix fixed, cheapest
 * (cost + F(end state), F the relaxed optimum of the rest) first, until that lower bound
 * reaches the incumbent. Exact, without discretisation. With `beam` finite it keeps only
 * the `beam` labels of least bound per state: a heuristic pass that gives the exact pass
 * its incumbent. Every kept label counts as a node. Returns
 * undefined when some unit would keep more than LABEL_CAP labels.
 */
export function prefixLabels(pr: Problem, options: LabelSearchOptions): SearchResult | undefined {
  const { steps, prefix, restBoundSets: sets, restCost: F, budget: budgetOn, incumbentObjective: incumbent, beam, maxNodes, clock } = options;
  const { processorCount: P, alpha, beta, branch } = pr;
  const tight = prefix.tight;
  const T = tight.length;
  const budget = budgetOn ? pr.budgetMs : Infinity;
  const withTime = Number.isFinite(budget);
  const tightOf = new Int32Array(P).fill(-1);
  tight.forEach((m, i) => (tightOf[m] = i));
  // One binding processor: dominance in (w, peak rank) by a running minimum of w per rank.
  const peaks = [...new Set([0, ...Array.from(pr.peak.subarray(0, branch + 1))])].sort((a, b) => a - b);
  const minW = new Float64Array(peaks.length);
  const D = 2 * T;
  let nodes = 0;
  let evaluations = 0;
  let best: Int32Array | undefined;
  let bestObj = incumbent;
  const below = (x: number): number => (Number.isFinite(x) ? x - TOL * Math.abs(x) : Infinity);
  const cutoff = below(incumbent);
  const safeBelow = beta > 0 && Number.isFinite(incumbent) ? budget * (1 - 1e-9) : -Infinity;
  const stopped = (): SearchResult => ({ best, objective: bestObj, complete: false, capped: false, nodes, evaluations });

  let cost = Float64Array.of(0);
  let time = Float64Array.of(0);
  let mem = new Float64Array(D);
  let state = Int32Array.of(pr.origin * 2);
  const parents: Int32Array[] = [];
  const states: Int32Array[] = [];
  for (let k = 0; k <= branch; k++) {
    if (clock.expired || performance.now() > clock.deadline) {
      clock.expired = true;
      return stopped();
    }
    // Candidates: every kept label of unit k-1 (for k = 0 the input window on the default processor) extended to each processor.
    const cand: Candidates = { cost: [], time: [], lb: [], safe: [], mem: [], state: [], parent: [] };
    const L = cost.length;
    for (let i = 0; i < L; i++) {
      const q = state[i] >> 1;
      const pin = state[i] & 1;
      for (let p = 0; p < P; p++) {
        const st = ((k * P + q) * 2 + pin) * P + p;
        const e = steps.e[st];
        if (!Number.isFinite(e)) continue;
        const c = cost[i] + alpha * e + beta * steps.t[st];
        const t = time[i] + steps.t[st];
        if (t > budget * (1 + 1e-9)) continue;
        const x = tightOf[p];
        if (x >= 0 && mem[i * D + 2 * x] + pr.weight[k] + Math.max(mem[i * D + 2 * x + 1], pr.peak[k]) > pr.limit[p]) continue;
        const bs = (k * P + p) * 2 + steps.pend[st];
        let lb = c + prefix.base[bs];
        for (const { m, lambda, toGo } of prefix.priced) {
          const y = tightOf[m];
          const used = mem[i * D + 2 * y] + mem[i * D + 2 * y + 1] + (m === p ? pr.weight[k] + Math.max(0, pr.peak[k] - mem[i * D + 2 * y + 1]) : 0);
          const v = c + toGo[bs] - lambda * (pr.limit[m] - used);
          if (v > lb) lb = v;
        }
        if (lb >= cutoff) continue;
        cand.cost.push(c);
        cand.time.push(t);
        cand.lb.push(lb);
        cand.safe.push(t + (incumbent - c) / beta <= safeBelow);
        for (let d = 0; d < D; d++) cand.mem.push(mem[i * D + d]);
        if (x >= 0) {
          cand.mem[cand.mem.length - D + 2 * x] += pr.weight[k];
          cand.mem[cand.mem.length - D + 2 * x + 1] = Math.max(cand.mem[cand.mem.length - D + 2 * x + 1], pr.peak[k]);
        }
        cand.state.push(p * 2 + steps.pend[st]);
        cand.parent.push(i);
      }
    }
    // Dominance per end state: candidates by cost (then time, then memory), each kept unless an earlier kept one is no worse.
    const order = cand.cost.map((_, i) => i);
    order.sort((a, b) => cand.state[a] - cand.state[b] || cand.cost[a] - cand.cost[b] || cand.time[a] - cand.time[b] || lexMem(cand.mem, a, b, D));
    let kept: number[] = [];
    for (let g = 0; g < order.length; ) {
      let h = g;
      while (h < order.length && cand.state[order[h]] === cand.state[order[g]]) h++;
      const from = kept.length;
      let fast = T === 1;
      for (let x = g; x < h && fast; x++) fast = !withTime || cand.safe[order[x]];
      if (fast) minW.fill(Infinity);
      for (let x = g; x < h; x++) {
        const a = order[x];
        let dominated = false;
        if (fast) {
          const rank = peaks.indexOf(cand.mem[a * 2 + 1]);
          for (let r = 0; r <= rank && !dominated; r++) dominated = minW[r] <= cand.mem[a * 2];
          if (!dominated && cand.mem[a * 2] < minW[rank]) minW[rank] = cand.mem[a * 2];
        } else {
          for (let y = from; y < kept.length && !dominated; y++) {
            const b = kept[y];
            if (withTime && !cand.safe[b] && cand.time[b] > cand.time[a]) continue;
            let all = true;
            for (let d = 0; d < D && all; d++) all = cand.mem[b * D + d] <= cand.mem[a * D + d];
            dominated = all;
          }
        }
        if (!dominated) kept.push(a);
      }
      if (kept.length - from > beam) {
        const group = kept.splice(from).sort((a, b) => cand.lb[a] - cand.lb[b]);
        kept.push(...group.slice(0, beam));
      }
      g = h;
    }
    if (kept.length > LABEL_CAP) return undefined;
    nodes += kept.length;
    if (nodes > maxNodes) return stopped();
    if (kept.length === 0) return { best, objective: bestObj, complete: true, capped: false, nodes, evaluations };
    cost = Float64Array.from(kept, (a) => cand.cost[a]);
    time = Float64Array.from(kept, (a) => cand.time[a]);
    const next = new Float64Array(kept.length * D);
    kept.forEach((a, i) => {
      for (let d = 0; d < D; d++) next[i * D + d] = cand.mem[a * D + d];
    });
    mem = next;
    state = Int32Array.from(kept, (a) => cand.state[a]);
    parents.push(Int32Array.from(kept, (a) => cand.parent[a]));
    states.push(state);
    kept = [];
  }

  // The units after the branch, once per end label, cheapest lower bound first.
  const ends = Array.from(cost, (c, i) => ({ i, lb: c + F[state[i]] }));
  ends.sort((a, b) => a.lb - b.lb);
  const path = new Int32Array(branch + 1);
  for (const { i, lb } of ends) {
    if (lb >= below(bestObj)) break;
    for (let k = branch, x = i; k >= 0; x = parents[k][x], k--) path[k] = states[k][x] >> 1;
    const r = search(pr, { steps, allowed: pr.allowed, constrained: { memory: true, budget: budgetOn }, incumbentObjective: bestObj, maxNodes: maxNodes - nodes, clock, rest: { path, sets } });
    nodes += r.nodes;
    evaluations += r.evaluations;
    if (r.best) {
      best = r.best;
      bestObj = r.objective;
    }
    if (!r.complete) return stopped();
  }
  return { best, objective: bestObj, complete: true, capped: false, nodes, evaluations };
}

/** Lexicographic order of two labels' memory figures (D per label in `mem`). */
export function lexMem(mem: number[], a: number, b: number, D: number): number {
  for (let d = 0; d < D; d++) {
    const x = mem[a * D + d] - mem[b * D + d];
    if (x !== 0) return x;
  }
  return 0;
}
