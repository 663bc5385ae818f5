/**
 * Exact partitioning (DeepX's architecture decomposition): the placement of every unit
 * of a pipeline (the feature front end, each layer) on a processor of its target that
 * minimises α x energy per window + β x end-to-end latency, exactly as
 * {@link estimatePipeline} computes both (the window's energy by the continuous-sensing
 * power model, engine/power-model.ts), within each processor's memory and the latency
 * budget. This file holds the entry point, the power model's linear pieces (one exact
 * search each), and the order of the steps of one search: the relaxed DP
 * over the prefix chain, the branch and bound of the rest (search.ts), and the
 * constrained search (prefix-labels.ts, then capped rounds). The method and why it is
 * exact are in docs/partition.md.
 */
import type { OptimizeSpec, PipelineSpec } from '../../language/pipeline-model';
import { estimatePipeline } from '../estimate';
import { buildIr, type IrOptions } from '../ir';
import { boundSets, prefixBound, prefixSteps } from './bounds';
import { BEAM, prefixLabels } from './prefix-labels';
import { standbyPieces } from '../power-model';
import { buildProblem, evaluate, memoryOf, TOL, withStandbyRates, type Problem, type ProblemOptions } from './problem';
import { search, type Clock, type SearchResult } from './search';

/** Options of {@link partitionPipeline}. */
export interface PartitionOptions extends ProblemOptions {
  /** Branch-and-bound node limit (default 500,000; the constrained rounds share one budget); beyond it the result is not proven optimal. */
  maxNodes?: number;
  /**
   * Wall-clock limit of the search in milliseconds (default: none, only `maxNodes`
   * applies). The search reads `performance.now()` every 256 nodes and, once past the
   * limit, stops as it does at the node limit: the best plan found so far is returned
   * with `exact: false` and `stoppedBy: 'time-limit'`. The limit is soft by the time of
   * 256 nodes and of the final estimate, and the first, unconstrained plan is always
   * completed (one depth-first descent), so a plan is returned however small the limit.
   * For callers on an interactive thread (the studio's Auto-Partition passes 2000 ms).
   */
  timeLimitMs?: number;
}

/** Why a plan does not meet the constraints. */
export type PartitionViolation = 'memory' | 'budget';

/** The optimal placement and its costs. */
export interface PartitionResult {
  /** Unit (`features`, layer id) -> processor name, for every unit of the pipeline. */
  placement: Record<string, string>;
  /** α x energy + β x latency of the placement, as estimatePipeline computes it. */
  objective: number;
  endToEndLatencyMs: number;
  energyPerInferenceMj: number;
  /** Energy of one window by the power model, every cause included (the energy term of the objective). */
  windowEnergyMj: number;
  /** The weights and budget optimised for. */
  optimize: OptimizeSpec;
  /** True when the placement meets every processor's memory and the latency budget. */
  feasible: boolean;
  /** The constraints no placement can meet (empty when feasible). */
  violations: PartitionViolation[];
  /** Human-readable reasons, one per violation, naming figures and a fix. */
  messages: string[];
  /** True when the search completed (the placement is proven optimal); false when the node or time limit stopped it. */
  exact: boolean;
  /** Which limit stopped the search when `exact` is false (`maxNodes` or `timeLimitMs`); absent when exact. */
  stoppedBy?: 'node-limit' | 'time-limit';
  /** Branch-and-bound nodes visited, and complete placements (leaves) evaluated: replayed after the branch unit, then by the scheduler unless that ruled them out. */
  nodes: number;
  evaluations: number;
}

/**
 * The placement of `spec`'s units that minimises α x energy + β x latency under
 * the constraints of docs/partition.md (method and exactness argument there). Pure and
 * synchronous; plain data in and out, so it runs in a worker as well. Throws an Error
 * naming the unit when some unit can run on no processor (or only on one a pin forbids).
 */
export function partitionPipeline(spec: PipelineSpec, opts: PartitionOptions = {}): PartitionResult {
  const base = buildProblem(spec, opts);
  const maxNodes = opts.maxNodes ?? 500_000;
  if (opts.timeLimitMs !== undefined && !(opts.timeLimitMs >= 0)) throw new Error(`partition of '${spec.name}': the time limit must be a non-negative number of milliseconds (got ${opts.timeLimitMs}); fix the --time-limit-ms option`);
  const clock: Clock = { deadline: performance.now() + (opts.timeLimitMs ?? Infinity), expired: false };
  let nodes = 0;
  let evaluations = 0;
  let exact = true;
  let best: { solved: Solved; cost: number } | undefined;
  let firstError: Error | undefined;
  // Each piece is a plain problem with its standby rates in the tables and its constants
  // outside; the least over pieces is the power model's optimum (docs/partition.md).
  for (const piece of standbyProblems(base)) {
    let solved: Solved;
    try {
      solved = solve(piece.problem, Math.max(maxNodes - nodes, 0), clock);
    } catch (e) {
      // A piece that leaves some tensor without a route has no placement; any other failure is a bug.
      if (!(e instanceof Error) || !e.message.startsWith(`partition of '${spec.name}'`)) throw e;
      firstError ??= e;
      continue;
    }
    nodes += solved.nodes;
    evaluations += solved.evaluations;
    exact &&= solved.exact;
    const cost = solved.objective + base.alpha * piece.constantMj;
    const rank = (x: Solved): number => (x.violations.length === 0 ? 0 : x.violations.includes('memory') ? 2 : 1);
    if (!best || rank(solved) < rank(best.solved) || (rank(solved) === rank(best.solved) && cost < best.cost)) best = { solved, cost };
  }
  if (!best) throw firstError ?? new Error(`partition of '${spec.name}': no placement of its units on ${spec.target.name}`);
  const { chosen, violations } = best.solved;
  const pr = base;
  const n = pr.unitCount;

  const placement: Record<string, string> = {};
  for (let u = 0; u < n; u++) placement[pr.units[u].key] = pr.names[chosen[u]];
  const estimate = estimatePipeline(pr.spec, { ...opts, placement });
  const stoppedBy = (): string => (clock.expired ? `${opts.timeLimitMs} ms time limit` : `${maxNodes}-node limit`);
  const messages: string[] = [];
  if (violations.includes('memory')) {
    const over = estimate.processors.filter((p) => p.memoryBytes > p.memoryLimitBytes).map((p) => `${p.name} needs ${p.memoryBytes} bytes of ${p.memoryLimitBytes}`);
    messages.push(
      exact
        ? `No placement fits the processors' memory on ${spec.target.name} (best plan: ${over.join('; ')}); compress layers (sense compress --fit PROCESSOR) or choose a larger target.`
        : `The search stopped at its ${stoppedBy()} before finding a placement that fits the processors' memory on ${spec.target.name} (this plan: ${over.join('; ')}); raise the limit, compress layers (sense compress --fit PROCESSOR) or choose a larger target.`,
    );
  }
  if (violations.includes('budget')) {
    messages.push(
      exact
        ? `No placement meets the ${pr.budgetMs} ms budget on ${spec.target.name}; the best takes ${estimate.endToEndLatencyMs} ms. Compress layers, raise the budget (within) or choose a faster target.`
        : `The search stopped at its ${stoppedBy()} before finding a placement within the ${pr.budgetMs} ms budget on ${spec.target.name}; this plan takes ${estimate.endToEndLatencyMs} ms. Raise the limit, compress layers, raise the budget (within) or choose a faster target.`,
    );
  }
  return {
    placement,
    objective: estimate.objective,
    endToEndLatencyMs: estimate.endToEndLatencyMs,
    energyPerInferenceMj: estimate.energyPerInferenceMj,
    windowEnergyMj: estimate.windowEnergyMj,
    optimize: pr.spec.optimize,
    feasible: violations.length === 0,
    violations,
    messages,
    exact,
    ...(exact ? {} : { stoppedBy: clock.expired ? ('time-limit' as const) : ('node-limit' as const) }),
    nodes,
    evaluations,
  };
}

/** What {@link solve} finds for one problem: its best assignment and its objective in that problem's tables. */
interface Solved {
  chosen: Int32Array;
  objective: number;
  violations: PartitionViolation[];
  exact: boolean;
  nodes: number;
  evaluations: number;
}

/**
 * One linear piece of the power model as a problem: the sampler, and for every other local
 * processor whether it is unused, stays awake or sleeps between windows; its busy-time rates
 * in the tables, and its constant standby energy per window (mJ) outside them.
 */
interface StandbyProblem {
  problem: Problem;
  constantMj: number;
}

/**
 * The power model's linear pieces of `pr` (docs/partition.md, Continuous sensing). The
 * sampler is the processor of the unit that reads the input window when that processor can
 * sample, else the default processor; so each sampling-capable processor is one case (that
 * unit pinned to it), and the default processor another (that unit on it or on one that
 * cannot sample). Every other local processor is unused (no unit may use it; it sleeps) or
 * takes one of its standby pieces. Each piece is at least the true standby energy of every
 * placement it allows, and equals it for the piece that matches a placement, so the least
 * optimum over pieces is the power model's optimum.
 */
function* standbyProblems(pr: Problem): Generator<StandbyProblem> {
  const { spec, processorCount: P, unitCount: n } = pr;
  const device = spec.target;
  const procs = device.processors;
  const hopMs = spec.input.hopS * 1000;
  const def = pr.defaultProcessor;
  const canSample = (p: number): boolean => !procs[p].remote && procs[p].samplingPowerMw !== undefined;
  const inputOp = pr.ir.ops.find((o) => o.inputs.length === 0);
  const reader = inputOp ? pr.units.findIndex((u) => u.key === inputOp.placementKey) : -1;
  const samplers = [...new Set([...procs.keys()].filter(canSample).concat(def))];
  const baselineMj = device.baselinePowerMw * hopMs * 1e-3;
  for (const s of samplers) {
    const others = [...procs.keys()].filter((p) => p !== s && !procs[p].remote);
    const options = others.map((p) => [undefined, ...standbyPieces(procs[p], hopMs, false)]);
    const samplerPiece = standbyPieces(procs[s], hopMs, true)[0];
    const choice = new Array<number>(others.length).fill(0);
    for (;;) {
      const rate = new Float64Array(P);
      const usable = new Uint8Array(P).fill(1);
      let constantMj = baselineMj + samplerPiece.constantMj;
      rate[s] = samplerPiece.rateMw;
      others.forEach((p, i) => {
        const piece = options[i][choice[i]];
        if (piece === undefined) {
          usable[p] = 0;
          constantMj += procs[p].sleepPowerMw * hopMs * 1e-3;
        } else {
          rate[p] = piece.rateMw;
          constantMj += piece.constantMj;
        }
      });
      const allowed = Uint8Array.from(pr.allowed, (a, i) => {
        const u = Math.floor(i / P);
        const p = i % P;
        if (!a || !usable[p]) return 0;
        if (u !== reader) return 1;
        return p === s || (s === def && !canSample(p)) ? 1 : 0;
      });
      let everyUnitPlaced = true;
      for (let u = 0; u < n && everyUnitPlaced; u++) everyUnitPlaced = allowed.subarray(u * P, u * P + P).some((a) => a === 1);
      if (everyUnitPlaced) yield { problem: { ...withStandbyRates(pr, rate, allowed), origin: s }, constantMj };
      let i = 0;
      while (i < choice.length && ++choice[i] === options[i].length) choice[i++] = 0;
      if (i === choice.length) break;
    }
  }
}

/**
 * The exact search of docs/partition.md on one problem (steps 1-3): the best assignment
 * within memory and budget, else the best that meets memory, else the best unconstrained.
 */
function solve(pr: Problem, maxNodes: number, clock: Clock): Solved {
  const { processorCount: P, alpha, beta, branch, spec } = pr;
  let nodes = 0;
  let evaluations = 0;
  let exact = true;

  const steps = prefixSteps(pr);
  const S = P * 2;
  const prefixLen = branch + 1;

  // 1. The prefix chain DP (relaxation): best cost to end the prefix in each state (processor,
  // pending dispatch), and its path.
  const cost = new Float64Array(prefixLen * S).fill(Infinity);
  const from = new Int32Array(prefixLen * S).fill(-1);
  for (let k = 0; k < prefixLen; k++) {
    for (let q = 0; q < P; q++) {
      for (let pin = 0; pin < 2; pin++) {
        const before = k === 0 ? (q === pr.origin && pin === 0 ? 0 : Infinity) : cost[((k - 1) * P + q) * 2 + pin];
        if (!Number.isFinite(before)) continue;
        for (let p = 0; p < P; p++) {
          const st = ((k * P + q) * 2 + pin) * P + p;
          const c = before + alpha * steps.e[st] + beta * steps.t[st];
          const s = (k * P + p) * 2 + steps.pend[st];
          if (c < cost[s]) {
            cost[s] = c;
            from[s] = q * 2 + pin;
          }
        }
      }
    }
  }

  // 2. F(s) by branch and bound with the prefix fixed to its best path to end state s, cheapest s first.
  const ends = prefixLen === 0 ? [pr.origin * 2] : [...Array(S).keys()].filter((s) => Number.isFinite(cost[branch * S + s]));
  const pre = (s: number): number => (prefixLen === 0 ? 0 : cost[branch * S + s]);
  ends.sort((a, b) => pre(a) - pre(b));
  const F = new Float64Array(S).fill(Infinity);
  let relaxed: { assign: Int32Array; objective: number } | undefined;
  for (const s0 of ends) {
    const allowed = Uint8Array.from(pr.allowed);
    for (let k = branch, s = s0; k >= 0; s = from[k * S + s], k--) {
      const p = s >> 1;
      for (let x = 0; x < P; x++) allowed[k * P + x] = x === p ? 1 : 0;
    }
    const incumbent = relaxed?.objective ?? Infinity;
    const r = search(pr, { steps, allowed, constrained: { memory: false, budget: false }, incumbentObjective: incumbent, maxNodes, clock });
    nodes += r.nodes;
    evaluations += r.evaluations;
    exact &&= r.complete;
    if (r.best) {
      relaxed = { assign: r.best, objective: r.objective };
      F[s0] = r.objective - pre(s0);
    } else {
      F[s0] = incumbent - pre(s0);
    }
  }
  if (!relaxed) throw new Error(`partition of '${spec.name}': no placement lets every tensor reach its consumer on ${spec.target.name}; add links between its processors`);

  const fits = (assign: Int32Array): boolean => memoryOf(pr, assign).every((m, p) => m <= pr.limit[p]);
  const withinBudget = (assign: Int32Array): boolean => evaluate(pr, assign).latencyMs <= pr.budgetMs;
  let chosen = relaxed.assign;
  const violations: PartitionViolation[] = [];
  if (!fits(chosen) || !withinBudget(chosen)) {
    // 3. Constrained search; the prefix cost-to-go is the DP through the chain plus F(s), also with
    // memory priced (Lagrangian bounds), and prefix states are pruned by dominance.
    const prefix = prefixBound(pr, steps, F, TOL * Math.abs(relaxed.objective));
    // Rounds with a node cap per subtree below the prefix, doubling: a hard subtree below one prefix
    // cannot starve the others, and each round starts from the best plan found so far. Only a round
    // that cut nothing proves its result optimal.
    const restSets = branch >= 0 ? boundSets(pr, pr.allowed, prefix.priced) : [];
    const constrainedSearch = (budget: boolean): SearchResult => {
      let best: Int32Array | undefined;
      let objective = Infinity;
      if (branch >= 0) {
        // A heuristic pass (few labels per state) for an incumbent, then the exact pass that must beat it.
        const labelSearch = { steps, prefix, restBoundSets: restSets, restCost: F, budget, clock };
        const first = prefixLabels(pr, { ...labelSearch, incumbentObjective: Infinity, beam: BEAM, maxNodes: Math.max(maxNodes - nodes, 0) });
        nodes += first?.nodes ?? 0;
        evaluations += first?.evaluations ?? 0;
        if (first && !first.complete) return first;
        const r = prefixLabels(pr, { ...labelSearch, incumbentObjective: first?.objective ?? Infinity, beam: Infinity, maxNodes: Math.max(maxNodes - nodes, 0) });
        if (r) {
          nodes += r.nodes;
          evaluations += r.evaluations;
          return r.best || !first?.best ? r : { ...r, best: first.best, objective: first.objective };
        }
        if (first?.best) {
          best = first.best;
          objective = first.objective;
        }
      }
      for (let cap = 2000; ; cap *= 4) {
        const left = maxNodes - nodes;
        const r = search(pr, {
          steps,
          allowed: pr.allowed,
          constrained: { memory: true, budget },
          incumbentObjective: objective,
          maxNodes: Math.max(left, 0),
          clock,
          prefix,
          prices: prefix.priced,
          restNodeCap: cap >= left ? Infinity : cap,
        });
        nodes += r.nodes;
        evaluations += r.evaluations;
        if (r.best) {
          best = r.best;
          objective = r.objective;
        }
        if (!r.complete || !r.capped) return { best, objective, complete: r.complete, capped: false, nodes: 0, evaluations: 0 };
      }
    };
    const full = constrainedSearch(true);
    exact &&= full.complete;
    if (full.best) chosen = full.best;
    else {
      const memOnly = constrainedSearch(false);
      exact &&= memOnly.complete;
      if (memOnly.best) {
        chosen = memOnly.best;
        violations.push('budget');
      } else {
        violations.push('memory');
        if (!withinBudget(chosen)) violations.push('budget');
      }
    }
  }

  return { chosen, objective: evaluate(pr, chosen).objective, violations, exact, nodes, evaluations };
}

/** The placement units of `spec` (`features` first when it has a front end, then layer ids in source order). */
export function placementUnits(spec: PipelineSpec, opts: IrOptions = {}): string[] {
  const keys: string[] = [];
  for (const op of buildIr(spec, opts).ops) if (keys[keys.length - 1] !== op.placementKey) keys.push(op.placementKey);
  return keys;
}
