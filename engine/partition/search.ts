/**
 * The depth-first branch and bound over placement units in preorder
 * (docs/partition.md, "Search"): candidates cheapest bound first, dominance on prefix
 * states, the node and time limits, and the capped rounds of the constrained search.
 */
import { boundSets, type BoundSet, type PrefixBound, type PrefixSteps, type Price } from './bounds';
import { evaluate, startsGroup, TOL, type Problem } from './problem';
import { suffixSchedule } from './suffix-schedule';

/** The search's wall-clock limit (PartitionOptions.timeLimitMs): a `performance.now()` deadline, and whether it was passed. */
export interface Clock {
  deadline: number;
  expired: boolean;
}

/** A search of the units after the branch only, the prefix placed on `path`, with bound sets computed once by the caller. */
export interface RestStart {
  path: Int32Array;
  sets: BoundSet[];
}

export interface SearchResult {
  best: Int32Array | undefined;
  objective: number;
  complete: boolean;
  /** True when some subtree below the prefix was cut at `restCap` nodes (the search then proves nothing). */
  capped: boolean;
  nodes: number;
  evaluations: number;
}

/** What one run of {@link search} explores, and within which limits. */
export interface SearchOptions {
  /** The prefix chain's exact step costs (bounds.ts, prefixSteps). */
  steps: PrefixSteps;
  /** Per unit and processor (index u * P + p), 1 when the unit may go there: the problem's own, or narrower to fix a prefix path. */
  allowed: Uint8Array;
  /** Whether the memory limits and the latency budget are enforced (both false: the relaxation). */
  constrained: { memory: boolean; budget: boolean };
  /** The objective a plan must beat to be returned (Infinity: none yet). */
  incumbentObjective: number;
  /** Nodes this run may visit; past it the result is not complete. */
  maxNodes: number;
  /** The shared wall-clock limit. */
  clock: Clock;
  /** The prefix cost-to-go bounds; given, they prune prefix nodes and turn on dominance on prefix states. */
  prefix?: PrefixBound;
  /** Memory prices for Lagrangian subtree bounds (default none). */
  prices?: Price[];
  /** Nodes any one subtree below the prefix may take before it is cut and the result marked `capped` (default Infinity). */
  restNodeCap?: number;
  /** Search only the units after the branch, the prefix placed as given. */
  rest?: RestStart;
}

/**
 * Depth-first branch and bound over units in preorder, candidates cheapest bound first
 * (docs/partition.md, "Search").
 */
export function search(pr: Problem, options: SearchOptions): SearchResult {
  const { steps, allowed, constrained, incumbentObjective: incumbent, maxNodes, clock, prefix, prices = [], restNodeCap: restCap = Infinity, rest } = options;
  const { unitCount: n, processorCount: P, alpha, beta, units, roots } = pr;
  const assign = new Int32Array(n);
  const estEnd = new Float64Array(n);
  const pendAt = new Uint8Array(n);
  const destCount = new Int32Array((n + 1) * P);
  const load = new Float64Array(P);
  const postLoad = new Float64Array(P);
  const linkPost = new Float64Array(pr.resourceCount);
  const w = new Float64Array(P);
  const pk = new Float64Array(P);
  let eFixed = 0;
  let prefixE = 0;
  let leafMax = 0;
  let best: Int32Array | undefined;
  let bestObj = incumbent;
  let nodes = 0;
  let evaluations = 0;
  let aborted = false;
  let capped = false;
  let restStart = 0;
  const budget = constrained.budget ? pr.budgetMs : Infinity;
  // The plain bounds, then those with memory priced (the constrained search's Lagrangian bounds).
  const sets = rest?.sets ?? boundSets(pr, allowed, prices);
  const { Llb } = sets[0];


  // Dominance on prefix states: a state (unit j, its processor, pending dispatch) reached before at no
  // more cost, time (when the budget binds) and memory on every tight processor has had every completion
  // of this one searched already (the rest of the schedule depends on the prefix only through them).
  const tight = prefix && constrained.memory ? prefix.tight : [];
  const withTime = constrained.budget && Number.isFinite(budget);
  const stride = 2 + 2 * tight.length;
  const seen = new Map<number, number[]>();
  const dominated = (j: number): boolean => {
    const key = (j * P + assign[j]) * 2 + pendAt[j];
    const cost = alpha * eFixed + beta * estEnd[j];
    let list = seen.get(key);
    if (list) {
      for (let i = 0; i < list.length; i += stride) {
        if (list[i] > cost || (withTime && list[i + 1] > estEnd[j])) continue;
        let all = true;
        for (let k = 0; k < tight.length && all; k++) all = list[i + 2 + 2 * k] <= w[tight[k]] && list[i + 3 + 2 * k] <= pk[tight[k]];
        if (all) return true;
      }
    } else seen.set(key, (list = []));
    list.push(cost, estEnd[j]);
    for (const m of tight) list.push(w[m], pk[m]);
    return false;
  };

  // Bound after units 0..j are assigned (unit j just now); also the makespan lower bound.
  // Stops at the first bound that reaches `cutoff` (the candidate is pruned either way).
  const boundAt = (j: number, cutoff: number): { lb: number; latLb: number } => {
    let latLb = leafMax;
    // Units after the branch start once it ends: each processor's share of them is serial after that.
    const after = j >= pr.branch && pr.branch >= 0 ? estEnd[pr.branch] : 0;
    for (let p = 0; p < P; p++) {
      if (load[p] > latLb) latLb = load[p];
      if (after + postLoad[p] > latLb) latLb = after + postLoad[p];
    }
    for (let r = 0; r < pr.resourceCount; r++) if (after + linkPost[r] > latLb) latLb = after + linkPost[r];
    const rs = roots[j];
    for (let k = 0; k < rs.length; k++) {
      const r = rs[k];
      const par = units[r].parent;
      const l = (par < 0 ? 0 : estEnd[par]) + Llb[r * P + (par < 0 ? pr.origin : assign[par])];
      if (l > latLb) latLb = l;
    }
    let lb = -Infinity;
    // The prefix cost-to-go first: one table look-up per price, and on the trunk the bound that prunes.
    if (prefix && j <= pr.branch) {
      const s = (j * P + assign[j]) * 2 + pendAt[j];
      let toGo = prefix.base[s];
      for (const { m, lambda, toGo: priced } of prefix.priced) {
        const v = priced[s] - lambda * (pr.limit[m] - w[m] - pk[m]);
        if (v > toGo) toGo = v;
      }
      lb = alpha * eFixed + beta * estEnd[j] + toGo;
      if (lb >= cutoff) return { lb, latLb };
    }
    for (const { m, lambda, Ea, G, busy } of sets) {
      const credit = m < 0 ? 0 : lambda * (pr.limit[m] - w[m] - pk[m]);
      let aRest = 0;
      let joint = beta * latLb;
      for (let k = 0; k < rs.length; k++) {
        const r = rs[k];
        const par = units[r].parent;
        const q = par < 0 ? pr.origin : assign[par];
        const a = Ea[r * P + q];
        aRest += a;
        const g = beta * (par < 0 ? 0 : estEnd[par]) + G[r * P + q] - a;
        if (g > joint) joint = g;
      }
      let b = alpha * eFixed + aRest + joint - credit;
      if (j >= pr.branch) {
        for (let ps = 0; ps < P + pr.resourceCount; ps++) {
          let v = alpha * eFixed + beta * (after + (ps < P ? postLoad[ps] : linkPost[ps - P])) - credit;
          for (let k = 0; k < rs.length; k++) {
            const r = rs[k];
            const par = units[r].parent;
            v += busy[(ps * n + r) * P + (par < 0 ? pr.origin : assign[par])];
          }
          if (v > b) b = v;
        }
      }
      if (b > lb) lb = b;
      if (lb >= cutoff) return { lb, latLb };
    }
    return { lb, latLb };
  };

  // Transfers after the branch (the input of u when it is the first of its group on p, the return of a
  // remote head's output) hold their links one at a time, after the branch ends.
  const linkMove = (u: number, q: number, p: number, first: boolean, sign: number): void => {
    const R = pr.resourceCount;
    if (first && q !== p) for (let r = 0; r < R; r++) linkPost[r] += sign * pr.linkL[((u * P + q) * P + p) * R + r];
    if (units[u].children.length === 0) for (let r = 0; r < R; r++) linkPost[r] += sign * pr.retLink[(u * P + p) * R + r];
  };
  const undoStack: number[] = [];
  const apply = (u: number, p: number): boolean => {
    const par = units[u].parent;
    const q = par < 0 ? pr.origin : assign[par];
    assign[u] = p;
    const idx = (u * P + q) * P + p;
    const dc = (par + 1) * P + p;
    const first = destCount[dc] === 0;
    const starts = startsGroup(pr, u, q, p);
    if (u <= pr.branch) {
      // The prefix chain runs alone: its times are exact sums (prefixSteps).
      const s = ((u * P + q) * 2 + (u > 0 ? pendAt[u - 1] : 0)) * P + p;
      estEnd[u] = (u > 0 ? estEnd[u - 1] : 0) + steps.t[s];
      pendAt[u] = steps.pend[s];
    } else {
      estEnd[u] = (par < 0 ? 0 : estEnd[par]) + pr.tL[idx] + pr.lat[u * P + p] + (starts && pr.active[u] ? pr.dispL[p] : 0);
    }
    undoStack.push(eFixed, leafMax, pk[p]);
    let e = pr.en[u * P + p] + pr.retE[u * P + p];
    if (q !== p && first) e += pr.tE[idx];
    const busyMs = pr.lat[u * P + p] + (starts && first ? pr.dispL[p] : 0);
    if (starts && first) e += pr.dispE[p];
    destCount[dc]++;
    eFixed += e;
    load[p] += busyMs;
    if (u > pr.branch) {
      postLoad[p] += busyMs;
      linkMove(u, q, p, first, 1);
    }
    w[p] += pr.weight[u];
    if (u === pr.branch) prefixE = eFixed;
    if (pr.peak[u] > pk[p]) pk[p] = pr.peak[u];
    if (units[u].children.length === 0) leafMax = Math.max(leafMax, estEnd[u] + pr.retL[u * P + p]);
    return !constrained.memory || w[p] + pk[p] <= pr.limit[p];
  };
  const undo = (u: number, p: number): void => {
    const par = units[u].parent;
    const q = par < 0 ? pr.origin : assign[par];
    pk[p] = undoStack.pop()!;
    leafMax = undoStack.pop()!;
    eFixed = undoStack.pop()!;
    const dc = (par + 1) * P + p;
    destCount[dc]--;
    const busyMs = pr.lat[u * P + p] + (startsGroup(pr, u, q, p) && destCount[dc] === 0 ? pr.dispL[p] : 0);
    load[p] -= busyMs;
    if (u > pr.branch) {
      postLoad[p] -= busyMs;
      linkMove(u, q, p, destCount[dc] === 0, -1);
    }
    w[p] -= pr.weight[u];
  };

  const tol = (): number => (Number.isFinite(bestObj) ? TOL * Math.abs(bestObj) : 0);
  const sx = pr.suffix && pr.suffix.ops > 0 ? pr.suffix : undefined;
  const leaf = (): void => {
    evaluations++;
    if (sx) {
      // The rest after the prefix, replayed alone (docs/partition.md, "Leaves"): most leaves are ruled out here;
      // the rest (within rounding of the incumbent or better) go to the scheduler itself.
      const b = pr.branch;
      const rest = suffixSchedule(pr, sx, assign, assign[b], pendAt[b] === 1, pr.layer[b] === 1);
      const latencyMs = estEnd[b] + rest.makespanMs;
      const slack = 1e-9 * Math.max(Math.abs(bestObj), 1e-12);
      if (latencyMs > budget * (1 + 1e-9)) return;
      if (alpha * (prefixE + rest.energyMj) + beta * latencyMs > bestObj + slack) return;
    }
    const r = evaluate(pr, assign);
    if (r.latencyMs > budget) return;
    if (r.objective < bestObj) {
      bestObj = r.objective;
      best = Int32Array.from(assign);
    }
  };

  const visit = (j: number): void => {
    if (aborted) return;
    if (++nodes > maxNodes) {
      aborted = true;
      return;
    }
    // The deadline is read every 256 nodes (performance.now() costs about as much as a node); the
    // unconstrained search (no incumbent, nothing to fall back on) first completes one plan.
    if ((nodes & 255) === 0 && (clock.expired || performance.now() > clock.deadline) && (constrained.memory || best !== undefined || Number.isFinite(bestObj))) {
      clock.expired = true;
      aborted = true;
      return;
    }
    if (j === pr.branch + 1) restStart = nodes;
    else if (j > pr.branch + 1 && nodes - restStart > restCap) {
      capped = true;
      return;
    }
    if (j === n) {
      leaf();
      return;
    }
    const par = units[j].parent;
    const q = par < 0 ? pr.origin : assign[par];
    const cands: { p: number; lb: number }[] = [];
    for (let p = 0; p < P; p++) {
      if (!allowed[j * P + p] || !Number.isFinite(pr.tL[(j * P + q) * P + p])) continue;
      const ok = apply(j, p);
      if (ok) {
        const { lb, latLb } = boundAt(j, bestObj - tol());
        if (latLb <= budget && lb < bestObj - tol()) cands.push({ p, lb });
      }
      undo(j, p);
    }
    cands.sort((a, b) => a.lb - b.lb || a.p - b.p);
    for (const c of cands) {
      if (c.lb >= bestObj - tol()) break;
      apply(j, c.p);
      if (!(prefix && j <= pr.branch && dominated(j))) visit(j + 1);
      undo(j, c.p);
      if (aborted) return;
    }
  };
  if (rest) {
    // The prefix is given (a label of prefixLabels): its units are applied as they are, the rest searched.
    let fits = true;
    for (let u = 0; u <= pr.branch; u++) fits = apply(u, rest.path[u]) && fits;
    if (fits) visit(pr.branch + 1);
    for (let u = pr.branch; u >= 0; u--) undo(u, rest.path[u]);
  } else visit(0);
  return { best, objective: bestObj, complete: !aborted, capped, nodes, evaluations };
}
