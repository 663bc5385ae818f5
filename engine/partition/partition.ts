/**
 * Exact partitioning (DeepX's architecture decomposition): assigns every placement unit
 * of a pipeline (the feature front end, each layer) to a processor of its target so that
 *
 *   objective = α x energyPerInferenceMj + β x endToEndLatencyMs
 *
 * is minimal, exactly as {@link estimatePipeline} computes both figures for that
 * placement (the same IR, cost model and list schedule; the returned numbers are
 * re-estimated by estimatePipeline itself). Constraints: every op on a processor that
 * supports it, every tensor on a route that exists, each processor's memory (weights +
 * peak activations, as engine/schedule.ts counts them) within its limit, and the
 * makespan within the `optimize ... within` budget. When no placement meets the budget,
 * the best one that meets memory is returned flagged infeasible; when none meets memory
 * either, the best unconstrained one is.
 *
 * Why not a sum DP: the latency is the schedule's makespan with heads running
 * concurrently, and heads on one processor (or transfers on one link) serialize, so the
 * objective is not a sum over units. The method, exact for every pipeline the language
 * can write (the IR is an out-tree: features -> shared blocks -> heads):
 *
 * 1. Units are ordered in depth-first preorder from the input window. The *prefix* is
 *    the chain of units before the first unit with two or more consumers (the branch
 *    unit, e.g. DeepEar's last encoder layer). While the prefix runs nothing else does,
 *    so its end time and energy are sums, and when it ends on processor p0 at time t0
 *    every processor and link is idle: the rest of the schedule is the schedule that
 *    starts at time 0 shifted by t0 (list scheduling keys are ready times, all shifted
 *    alike). Hence objective = [α E_prefix + β t0] + F(p0), with F(p0) the best cost of
 *    the rest given p0.
 * 2. Relaxation (memory and budget ignored): a DP over the prefix chain with state = the
 *    processor of its last unit gives, per p0, the best prefix cost C(p0) and its path;
 *    F(p0) is found by branch and bound over the remaining units (below), each leaf
 *    evaluated exactly by the scheduler. min over p0 of C(p0) + F(p0) is the relaxed
 *    optimum; when it meets memory and budget it is the answer.
 * 3. Otherwise a branch and bound over all units with the constraints, whose bound on a
 *    prefix node is the exact cost so far plus the DP cost-to-go through the prefix and
 *    F(p0) (exact for the relaxation, so only constraint-driven detours are explored).
 *
 * Branch-and-bound bound after assigning a preorder prefix of units: energy so far
 * (a tensor is sent once per destination processor, as the schedule does) plus, for
 * each unassigned subtree, its least energy; plus β x a lower bound on the makespan: the
 * busy time of each processor (for units after the branch unit: the branch's earliest
 * end plus their serial load), the uncontended earliest finish of each assigned leaf,
 * and for each unassigned subtree r the earliest finish of its parent plus a joint
 * least (α energy + β path latency) of r taken as the critical path (precomputed by a
 * bottom-up tree DP per parent processor); and, per processor p*, the least α x energy
 * (transfers included) + β x (time added to p*'s serial load) of the unassigned subtrees,
 * which captures heads serializing on one processor (a unit either lengthens p*'s load
 * or pays its energy elsewhere). Every term is a lower bound of the list
 * schedule (contention only delays), so pruning never loses the optimum; leaves are
 * evaluated by engine/schedule.ts itself. Branches are tried cheapest bound first.
 * Ties within 1e-10 relative are not explored. The search stops after
 * {@link PartitionOptions.maxNodes} nodes and then reports `exact: false`.
 *
 * Known weak case: when a processor's memory binds on a long prefix chain (a 200-layer
 * trunk that only partly fits the DSP), the bounds ignore memory and the search can hit
 * the node limit (test/bench/partition.bench.ts shows it). A Lagrangian memory price in
 * the prefix DP, or a DP with memory as a state, would close it.
 */
import type { OptimizeSpec, PipelineSpec } from '../../language/pipeline-model';
import { opCost, supportsOp, transferCost } from '../cost-model';
import { estimatePipeline, objective as objectiveOf } from '../estimate';
import { buildIr, FEATURES_KEY, type IrOptions, type PipelineIr } from '../ir';
import { scheduleIr } from '../schedule';

/** Options of {@link partitionPipeline}. */
export interface PartitionOptions extends IrOptions {
  /** Weights and budget to use instead of the pipeline's `optimize` line (missing fields keep the line's). */
  optimize?: Partial<OptimizeSpec>;
  /** Keep the pipeline's `place` pins as hard constraints (default false: the optimizer is free). */
  keepPins?: boolean;
  /** Units (layer ids, `features`) that must stay on the given processor, whatever `keepPins` says. */
  fixed?: Record<string, string>;
  /** Branch-and-bound node limit per search (default 500,000, about 2-5 s); beyond it the result is not proven optimal. */
  maxNodes?: number;
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
  /** The weights and budget optimised for. */
  optimize: OptimizeSpec;
  /** True when the placement meets every processor's memory and the latency budget. */
  feasible: boolean;
  /** The constraints no placement can meet (empty when feasible). */
  violations: PartitionViolation[];
  /** Human-readable reasons, one per violation, naming figures and a fix. */
  messages: string[];
  /** True when the search completed (the placement is proven optimal); false when the node limit stopped it. */
  exact: boolean;
  /** Branch-and-bound nodes visited and placements evaluated by the scheduler. */
  nodes: number;
  evaluations: number;
}

/** One placement unit as the partitioner sees it. */
interface Unit {
  key: string;
  parent: number;
  children: number[];
}

/** Everything the search reads, in flat typed arrays (index u * P + p, or (u * P + q) * P + p for transfers). */
interface Problem {
  spec: PipelineSpec;
  ir: PipelineIr;
  alpha: number;
  beta: number;
  budgetMs: number;
  names: string[];
  P: number;
  def: number;
  units: Unit[];
  n: number;
  lat: Float64Array;
  en: Float64Array;
  allowed: Uint8Array;
  multi: Uint8Array;
  tL: Float64Array;
  tE: Float64Array;
  retL: Float64Array;
  retE: Float64Array;
  weight: Float64Array;
  peak: Float64Array;
  limit: Float64Array;
  /** Last prefix unit (the branch unit), -1 when the input itself feeds several units. */
  branch: number;
  /** Per depth j: unassigned units whose parent is assigned once units 0..j are. */
  roots: Int32Array[];
}

const TOL = 1e-10;

function buildProblem(spec: PipelineSpec, opts: PartitionOptions): Problem {
  const optimize: OptimizeSpec = { ...spec.optimize, ...(opts.optimize ?? {}) };
  const alpha = optimize.energyWeight;
  const beta = optimize.latencyWeight;
  if (!(alpha >= 0 && Number.isFinite(alpha)) || !(beta >= 0 && Number.isFinite(beta))) {
    throw new Error(`partition of '${spec.name}': the objective weights must be non-negative numbers (energy ${alpha}, latency ${beta}); fix the optimize line or the --alpha/--beta options`);
  }
  const ir = buildIr(spec, opts);
  const device = spec.target;
  const procs = device.processors;
  if (procs.length === 0) throw new Error(`partition of '${spec.name}': device '${device.name}' has no processor`);
  const names = procs.map((p) => p.name);
  const P = names.length;
  const defName = names.includes(device.defaultProcessor) ? device.defaultProcessor : names[0];
  const def = names.indexOf(defName);

  // Units in IR order; a unit's ops are consecutive and chained.
  const unitOf = new Map<string, number>();
  const irUnits: { key: string; ops: number[]; parent: number }[] = [];
  const opIndex = new Map<string, number>();
  ir.ops.forEach((op, i) => {
    opIndex.set(op.id, i);
    let u = unitOf.get(op.placementKey);
    if (u === undefined) {
      const input = op.inputs[0];
      const parentOp = input === undefined ? undefined : opIndex.get(input);
      const parentUnit = parentOp === undefined ? -1 : unitOf.get(ir.ops[parentOp].placementKey)!;
      if (parentOp !== undefined) {
        const pu = irUnits[parentUnit];
        if (pu.ops[pu.ops.length - 1] !== parentOp) throw new Error(`partition of '${spec.name}': ${op.id} reads from the middle of unit ${pu.key}; the partitioner needs units that hand on their last output`);
      }
      u = irUnits.length;
      unitOf.set(op.placementKey, u);
      irUnits.push({ key: op.placementKey, ops: [], parent: parentUnit });
    } else if (op.inputs.length !== 1 || opIndex.get(op.inputs[0]) !== irUnits[u].ops[irUnits[u].ops.length - 1]) {
      throw new Error(`partition of '${spec.name}': the ops of unit ${op.placementKey} are not a chain`);
    }
    if (op.inputs.length > 1) throw new Error(`partition of '${spec.name}': ${op.id} has several inputs; the partitioner handles trees of layers`);
    irUnits[u].ops.push(i);
  });

  // Depth-first preorder from the input window.
  const kids: number[][] = irUnits.map(() => []);
  const rootKids: number[] = [];
  irUnits.forEach((u, i) => (u.parent < 0 ? rootKids : kids[u.parent]).push(i));
  const order: number[] = [];
  const stack = [...rootKids].reverse();
  while (stack.length > 0) {
    const u = stack.pop()!;
    order.push(u);
    for (let k = kids[u].length - 1; k >= 0; k--) stack.push(kids[u][k]);
  }
  const pos = new Map<number, number>();
  order.forEach((u, i) => pos.set(u, i));
  const n = order.length;
  const units: Unit[] = order.map((u) => ({
    key: irUnits[u].key,
    parent: irUnits[u].parent < 0 ? -1 : pos.get(irUnits[u].parent)!,
    children: kids[u].map((c) => pos.get(c)!),
  }));

  const pins: Record<string, string> = { ...(opts.keepPins ? spec.placement : {}), ...(opts.fixed ?? {}) };
  for (const [key, proc] of Object.entries(pins)) {
    if (!names.includes(proc)) throw new Error(`partition of '${spec.name}': ${key} is pinned to '${proc}', which ${device.name} does not have (it has ${names.join(', ')}); fix the place line or the pin`);
  }

  const lat = new Float64Array(n * P);
  const en = new Float64Array(n * P);
  const allowed = new Uint8Array(n * P);
  const weight = new Float64Array(n);
  const peak = new Float64Array(n);
  const multi = new Uint8Array(n);
  const tL = new Float64Array(n * P * P).fill(Infinity);
  const tE = new Float64Array(n * P * P).fill(Infinity);
  const retL = new Float64Array(n * P);
  const retE = new Float64Array(n * P);
  const headOutputs = new Set<number>();
  for (const b of spec.blocks) {
    const out = ir.blockOutput[b.name];
    if (b.kind === 'head' && out !== undefined) headOutputs.add(opIndex.get(out)!);
  }
  const transferMemo = new Map<string, { latencyMs: number; energyMj: number } | undefined>();
  const transfer = (from: number, to: number, bytes: number): { latencyMs: number; energyMj: number } | undefined => {
    const key = `${from},${to},${bytes}`;
    if (!transferMemo.has(key)) transferMemo.set(key, transferCost(device, names[from], names[to], bytes));
    return transferMemo.get(key);
  };

  for (let i = 0; i < n; i++) {
    const u = irUnits[order[i]];
    const ops = u.ops.map((k) => ir.ops[k]);
    const pin = pins[u.key] ?? (u.key !== FEATURES_KEY ? pins[ops[0].block] : undefined);
    for (const op of ops) {
      weight[i] += op.weightBytes;
      if (!op.noop) peak[i] = Math.max(peak[i], op.inputBytes + op.activationBytes);
    }
    const parent = units[i].parent;
    multi[i] = (parent < 0 ? rootKids.length : units[parent].children.length) > 1 ? 1 : 0;
    const inBytes = parent < 0 ? ir.inputBytes : ir.ops[irUnits[order[parent]].ops.at(-1)!].activationBytes;
    const lastOp = u.ops[u.ops.length - 1];
    let anyAllowed = false;
    for (let p = 0; p < P; p++) {
      const proc = procs[p];
      let l = 0;
      let e = 0;
      let ok = pin === undefined || pin === names[p];
      for (const op of ops) {
        const c = opCost(op, proc);
        l += c.latencyMs;
        e += c.energyMj;
        if (!supportsOp(proc, op)) ok = false;
      }
      lat[i * P + p] = l;
      en[i * P + p] = e;
      if (headOutputs.has(lastOp) && proc.remote && p !== def) {
        const back = transfer(p, def, ir.ops[lastOp].activationBytes);
        if (!back) ok = false;
        else {
          retL[i * P + p] = back.latencyMs;
          retE[i * P + p] = back.energyMj;
        }
      }
      for (let q = 0; q < P; q++) {
        const idx = (i * P + q) * P + p;
        if (q === p) {
          tL[idx] = 0;
          tE[idx] = 0;
        } else {
          const t = transfer(q, p, inBytes);
          if (t) {
            tL[idx] = t.latencyMs;
            tE[idx] = t.energyMj;
          }
        }
      }
      allowed[i * P + p] = ok ? 1 : 0;
      anyAllowed ||= ok;
    }
    if (!anyAllowed) {
      const what = u.key === FEATURES_KEY ? 'the feature front end' : u.key;
      throw new Error(
        pin !== undefined
          ? `partition of '${spec.name}': ${what} is pinned to ${pin}, which cannot run it; remove the pin (drop --keep-pins) or fix the place line`
          : `partition of '${spec.name}': no processor of ${device.name} can run ${what} (${ops[0].supportKinds.join(', ')}); change the layer or the target`,
      );
    }
  }

  let branch = -1;
  if (rootKids.length === 1) {
    branch = 0;
    while (units[branch].children.length === 1) branch = units[branch].children[0];
  }
  const roots: Int32Array[] = [];
  for (let j = 0; j < n; j++) {
    const list: number[] = [];
    for (let r = j + 1; r < n; r++) if (units[r].parent <= j) list.push(r);
    roots.push(Int32Array.from(list));
  }
  const limit = Float64Array.from(procs, (p) => p.memoryBytes);
  const budgetMs = optimize.budgetMs ?? Infinity;
  return { spec: { ...spec, optimize }, ir, alpha, beta, budgetMs, names, P, def, units, n, lat, en, allowed, multi, tL, tE, retL, retE, weight, peak, limit, branch, roots };
}

/** Bottom-up least energy, least path latency and least joint α E + β L of every subtree, per parent processor. */
function subtreeBounds(pr: Problem): { Elb: Float64Array; Llb: Float64Array; G: Float64Array } {
  const { n, P, alpha, beta, units } = pr;
  const Elb = new Float64Array(n * P).fill(Infinity);
  const Llb = new Float64Array(n * P).fill(Infinity);
  const G = new Float64Array(n * P).fill(Infinity);
  for (let u = n - 1; u >= 0; u--) {
    const kids = units[u].children;
    for (let p = 0; p < P; p++) {
      if (!pr.allowed[u * P + p]) continue;
      let eKids = 0;
      let lMax = pr.retL[u * P + p];
      let gExtra = beta * pr.retL[u * P + p];
      for (const c of kids) {
        eKids += Elb[c * P + p];
        lMax = Math.max(lMax, Llb[c * P + p]);
        gExtra = Math.max(gExtra, G[c * P + p] - alpha * Elb[c * P + p]);
      }
      const lKids = lMax;
      const eSelf = pr.en[u * P + p] + pr.retE[u * P + p];
      for (let q = 0; q < P; q++) {
        const idx = (u * P + q) * P + p;
        const tl = pr.tL[idx];
        if (!Number.isFinite(tl)) continue;
        const te = pr.multi[u] ? 0 : pr.tE[idx];
        const e = eSelf + te + eKids;
        const l = tl + pr.lat[u * P + p] + lKids;
        const g = alpha * (eSelf + te + eKids) + beta * (tl + pr.lat[u * P + p]) + gExtra;
        const k = u * P + q;
        if (e < Elb[k]) Elb[k] = e;
        if (l < Llb[k]) Llb[k] = l;
        if (g < G[k]) G[k] = g;
      }
    }
  }
  return { Elb, Llb, G };
}

/** The exact figures of one complete assignment, from the scheduler (as estimatePipeline computes them). */
function evaluate(pr: Problem, assign: Int32Array): { objective: number; latencyMs: number; energyMj: number } {
  const placement: Record<string, string> = {};
  for (let u = 0; u < pr.n; u++) placement[pr.units[u].key] = pr.names[assign[u]];
  const s = scheduleIr(pr.spec, pr.ir, { placement });
  let compute = 0;
  for (const o of s.ops) compute += o.energyMj;
  let moved = 0;
  for (const t of s.transfers) moved += t.energyMj;
  const energyMj = compute + moved;
  const latencyMs = s.makespanMs;
  return { objective: objectiveOf({ energyPerInferenceMj: energyMj, endToEndLatencyMs: latencyMs }, pr.spec.optimize), latencyMs, energyMj };
}

interface SearchResult {
  best: Int32Array | undefined;
  objective: number;
  complete: boolean;
  nodes: number;
  evaluations: number;
}

/**
 * Depth-first branch and bound over units in preorder. `allowed` restricts processors per
 * unit; `prefixToGo[j * P + p]` (optional) is a lower bound of the cost after prefix unit
 * j on p; `constrained` enforces memory and budget.
 */
function search(pr: Problem, bounds: ReturnType<typeof subtreeBounds>, allowed: Uint8Array, constrained: { memory: boolean; budget: boolean }, incumbent: number, maxNodes: number, prefixToGo?: Float64Array): SearchResult {
  const { n, P, alpha, beta, units, roots } = pr;
  const { Elb, Llb, G } = bounds;
  const assign = new Int32Array(n);
  const estEnd = new Float64Array(n);
  const destCount = new Int32Array((n + 1) * P);
  const load = new Float64Array(P);
  const postLoad = new Float64Array(P);
  const w = new Float64Array(P);
  const pk = new Float64Array(P);
  let eFixed = 0;
  let leafMax = 0;
  let best: Int32Array | undefined;
  let bestObj = incumbent;
  let nodes = 0;
  let evaluations = 0;
  let aborted = false;
  const budget = constrained.budget ? pr.budgetMs : Infinity;
  // busy[(ps * n + u) * P + q]: least α x energy (transfers in the subtree included) + β x (time the
  // subtree adds to processor ps's serial load), over the subtree of u with its parent on q. Each later
  // unit either lengthens ps's load or pays its energy elsewhere, so this bounds α E + β (load of ps).
  const busy = new Float64Array(P * n * P).fill(Infinity);
  for (let ps = 0; ps < P; ps++) {
    for (let u = n - 1; u >= 0; u--) {
      for (let p = 0; p < P; p++) {
        if (!allowed[u * P + p]) continue;
        let v = alpha * (pr.en[u * P + p] + pr.retE[u * P + p]) + (p === ps ? beta * pr.lat[u * P + p] : 0);
        for (const c of units[u].children) v += busy[(ps * n + c) * P + p];
        if (!Number.isFinite(v)) continue;
        for (let q = 0; q < P; q++) {
          const idx = (u * P + q) * P + p;
          if (!Number.isFinite(pr.tL[idx])) continue;
          const t = v + (pr.multi[u] ? 0 : alpha * pr.tE[idx]);
          const k = (ps * n + u) * P + q;
          if (t < busy[k]) busy[k] = t;
        }
      }
    }
  }

  // Bound after units 0..j are assigned (unit j just now); also the makespan lower bound.
  const boundAt = (j: number): { lb: number; latLb: number } => {
    let eRest = 0;
    let latLb = leafMax;
    // Units after the branch start once it ends: each processor's share of them is serial after that.
    const after = j >= pr.branch && pr.branch >= 0 ? estEnd[pr.branch] : 0;
    for (let p = 0; p < P; p++) {
      if (load[p] > latLb) latLb = load[p];
      if (after + postLoad[p] > latLb) latLb = after + postLoad[p];
    }
    let joint = beta * latLb;
    const rs = roots[j];
    for (let k = 0; k < rs.length; k++) {
      const r = rs[k];
      const par = units[r].parent;
      const q = par < 0 ? pr.def : assign[par];
      const start = par < 0 ? 0 : estEnd[par];
      const e = Elb[r * P + q];
      eRest += e;
      const l = start + Llb[r * P + q];
      if (l > latLb) latLb = l;
      const g = beta * start + G[r * P + q] - alpha * e;
      if (g > joint) joint = g;
    }
    let lb = alpha * (eFixed + eRest) + joint;
    if (j >= pr.branch) {
      for (let ps = 0; ps < P; ps++) {
        let b = alpha * eFixed + beta * (after + postLoad[ps]);
        for (let k = 0; k < rs.length; k++) {
          const r = rs[k];
          const par = units[r].parent;
          b += busy[(ps * n + r) * P + (par < 0 ? pr.def : assign[par])];
        }
        if (b > lb) lb = b;
      }
    }
    if (prefixToGo && j <= pr.branch) lb = Math.max(lb, alpha * eFixed + beta * estEnd[j] + prefixToGo[j * P + assign[j]]);
    return { lb, latLb };
  };

  const undoStack: number[] = [];
  const apply = (u: number, p: number): boolean => {
    const par = units[u].parent;
    const q = par < 0 ? pr.def : assign[par];
    assign[u] = p;
    const idx = (u * P + q) * P + p;
    const start = (par < 0 ? 0 : estEnd[par]) + pr.tL[idx];
    estEnd[u] = start + pr.lat[u * P + p];
    undoStack.push(eFixed, leafMax, pk[p]);
    let e = pr.en[u * P + p] + pr.retE[u * P + p];
    const dc = (par + 1) * P + p;
    if (q !== p && destCount[dc] === 0) e += pr.tE[idx];
    destCount[dc]++;
    eFixed += e;
    load[p] += pr.lat[u * P + p];
    if (u > pr.branch) postLoad[p] += pr.lat[u * P + p];
    w[p] += pr.weight[u];
    if (pr.peak[u] > pk[p]) pk[p] = pr.peak[u];
    if (units[u].children.length === 0) leafMax = Math.max(leafMax, estEnd[u] + pr.retL[u * P + p]);
    return !constrained.memory || w[p] + pk[p] <= pr.limit[p];
  };
  const undo = (u: number, p: number): void => {
    const par = units[u].parent;
    pk[p] = undoStack.pop()!;
    leafMax = undoStack.pop()!;
    eFixed = undoStack.pop()!;
    destCount[(par + 1) * P + p]--;
    load[p] -= pr.lat[u * P + p];
    if (u > pr.branch) postLoad[p] -= pr.lat[u * P + p];
    w[p] -= pr.weight[u];
  };

  const tol = (): number => (Number.isFinite(bestObj) ? TOL * Math.abs(bestObj) : 0);
  const leaf = (): void => {
    evaluations++;
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
    if (j === n) {
      leaf();
      return;
    }
    const par = units[j].parent;
    const q = par < 0 ? pr.def : assign[par];
    const cands: { p: number; lb: number }[] = [];
    for (let p = 0; p < P; p++) {
      if (!allowed[j * P + p] || !Number.isFinite(pr.tL[(j * P + q) * P + p])) continue;
      const ok = apply(j, p);
      if (ok) {
        const { lb, latLb } = boundAt(j);
        if (latLb <= budget && lb < bestObj - tol()) cands.push({ p, lb });
      }
      undo(j, p);
    }
    cands.sort((a, b) => a.lb - b.lb || a.p - b.p);
    for (const c of cands) {
      if (c.lb >= bestObj - tol()) break;
      apply(j, c.p);
      visit(j + 1);
      undo(j, c.p);
      if (aborted) return;
    }
  };
  visit(0);
  return { best, objective: bestObj, complete: !aborted, nodes, evaluations };
}

/** Memory per processor of an assignment (weights + peak activations, as the schedule counts them). */
function memoryOf(pr: Problem, assign: Int32Array): Float64Array {
  const w = new Float64Array(pr.P);
  const pk = new Float64Array(pr.P);
  for (let u = 0; u < pr.n; u++) {
    w[assign[u]] += pr.weight[u];
    pk[assign[u]] = Math.max(pk[assign[u]], pr.peak[u]);
  }
  return w.map((x, p) => x + pk[p]);
}

/**
 * The placement of `spec`'s units that minimises α x energy + β x latency under the
 * constraints in this module's header (method and exactness argument there). Pure and
 * synchronous; plain data in and out, so it runs in a worker as well. Throws an Error
 * naming the unit when some unit can run on no processor (or only on one a pin forbids).
 */
export function partitionPipeline(spec: PipelineSpec, opts: PartitionOptions = {}): PartitionResult {
  const pr = buildProblem(spec, opts);
  const { n, P, alpha, beta, branch } = pr;
  const maxNodes = opts.maxNodes ?? 500_000;
  const bounds = subtreeBounds(pr);
  let nodes = 0;
  let evaluations = 0;
  let exact = true;

  // 1. The prefix chain DP (relaxation): best cost to end the prefix on each processor, and its path.
  const prefixLen = branch + 1;
  const cost = new Float64Array(prefixLen * P).fill(Infinity);
  const from = new Int32Array(prefixLen * P).fill(-1);
  for (let k = 0; k < prefixLen; k++) {
    for (let p = 0; p < P; p++) {
      if (!pr.allowed[k * P + p]) continue;
      const self = alpha * (pr.en[k * P + p] + pr.retE[k * P + p]) + beta * pr.lat[k * P + p];
      for (let q = 0; q < P; q++) {
        const before = k === 0 ? (q === pr.def ? 0 : Infinity) : cost[(k - 1) * P + q];
        if (!Number.isFinite(before)) continue;
        const idx = (k * P + q) * P + p;
        const c = before + self + alpha * pr.tE[idx] + beta * pr.tL[idx];
        if (c < cost[k * P + p]) {
          cost[k * P + p] = c;
          from[k * P + p] = q;
        }
      }
    }
  }

  // 2. F(p0) by branch and bound with the prefix fixed to its best path to p0, cheapest p0 first.
  const ends = prefixLen === 0 ? [pr.def] : [...Array(P).keys()].filter((p) => Number.isFinite(cost[branch * P + p]));
  ends.sort((a, b) => (prefixLen === 0 ? 0 : cost[branch * P + a] - cost[branch * P + b]));
  const F = new Float64Array(P).fill(Infinity);
  let relaxed: { assign: Int32Array; objective: number } | undefined;
  for (const p0 of ends) {
    const allowed = Uint8Array.from(pr.allowed);
    for (let k = branch, p = p0; k >= 0; p = from[k * P + p], k--) {
      for (let x = 0; x < P; x++) allowed[k * P + x] = x === p ? 1 : 0;
    }
    const incumbent = relaxed?.objective ?? Infinity;
    const r = search(pr, bounds, allowed, { memory: false, budget: false }, incumbent, maxNodes);
    nodes += r.nodes;
    evaluations += r.evaluations;
    exact &&= r.complete;
    const pre = prefixLen === 0 ? 0 : cost[branch * P + p0];
    if (r.best) {
      relaxed = { assign: r.best, objective: r.objective };
      F[p0] = r.objective - pre;
    } else {
      F[p0] = incumbent - pre;
    }
  }
  if (!relaxed) throw new Error(`partition of '${spec.name}': no placement lets every tensor reach its consumer on ${spec.target.name}; add links between its processors`);

  const fits = (assign: Int32Array): boolean => memoryOf(pr, assign).every((m, p) => m <= pr.limit[p]);
  const withinBudget = (assign: Int32Array): boolean => evaluate(pr, assign).latencyMs <= pr.budgetMs;
  let chosen = relaxed.assign;
  const violations: PartitionViolation[] = [];
  if (!fits(chosen) || !withinBudget(chosen)) {
    // 3. Constrained search; the prefix cost-to-go is the DP through the chain plus F(p0).
    const toGo = new Float64Array(Math.max(prefixLen, 1) * P).fill(Infinity);
    for (let p = 0; p < P; p++) if (prefixLen > 0) toGo[branch * P + p] = F[p] - TOL * Math.abs(relaxed.objective);
    for (let k = branch - 1; k >= 0; k--) {
      for (let q = 0; q < P; q++) {
        for (let p = 0; p < P; p++) {
          const next = k + 1;
          if (!pr.allowed[next * P + p]) continue;
          const idx = (next * P + q) * P + p;
          const c = alpha * (pr.en[next * P + p] + pr.retE[next * P + p] + pr.tE[idx]) + beta * (pr.lat[next * P + p] + pr.tL[idx]) + toGo[next * P + p];
          if (c < toGo[k * P + q]) toGo[k * P + q] = c;
        }
      }
    }
    const full = search(pr, bounds, pr.allowed, { memory: true, budget: true }, Infinity, maxNodes, prefixLen > 0 ? toGo : undefined);
    nodes += full.nodes;
    evaluations += full.evaluations;
    exact &&= full.complete;
    if (full.best) chosen = full.best;
    else {
      const memOnly = search(pr, bounds, pr.allowed, { memory: true, budget: false }, Infinity, maxNodes, prefixLen > 0 ? toGo : undefined);
      nodes += memOnly.nodes;
      evaluations += memOnly.evaluations;
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

  const placement: Record<string, string> = {};
  for (let u = 0; u < n; u++) placement[pr.units[u].key] = pr.names[chosen[u]];
  const estimate = estimatePipeline(pr.spec, { ...opts, placement });
  const messages: string[] = [];
  if (violations.includes('memory')) {
    const over = estimate.processors.filter((p) => p.memoryBytes > p.memoryLimitBytes).map((p) => `${p.name} needs ${p.memoryBytes} bytes of ${p.memoryLimitBytes}`);
    messages.push(`No placement fits the processors' memory on ${spec.target.name} (best plan: ${over.join('; ')}); compress layers (sense compress --fit PROCESSOR) or choose a larger target.`);
  }
  if (violations.includes('budget')) {
    messages.push(`No placement meets the ${pr.budgetMs} ms budget on ${spec.target.name}; the best takes ${estimate.endToEndLatencyMs} ms. Compress layers, raise the budget (within) or choose a faster target.`);
  }
  return {
    placement,
    objective: estimate.objective,
    endToEndLatencyMs: estimate.endToEndLatencyMs,
    energyPerInferenceMj: estimate.energyPerInferenceMj,
    optimize: pr.spec.optimize,
    feasible: violations.length === 0,
    violations,
    messages,
    exact,
    nodes,
    evaluations,
  };
}

/** The placement units of `spec` (`features` first when it has a front end, then layer ids in source order). */
export function placementUnits(spec: PipelineSpec, opts: IrOptions = {}): string[] {
  const keys: string[] = [];
  for (const op of buildIr(spec, opts).ops) if (keys[keys.length - 1] !== op.placementKey) keys.push(op.placementKey);
  return keys;
}
