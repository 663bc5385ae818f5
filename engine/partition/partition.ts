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
 * schedule (contention only delays), so pruning never loses the optimum. Leaves: by
 * step 1 only the schedule after the branch unit depends on how the rest is placed, so
 * it is replayed alone from time 0 (suffixSchedule: the scheduler's rules on the ~tens of
 * ops after the branch instead of all of them) and added to the prefix's exact sums; a
 * leaf that is not better than the incumbent by more than rounding (1e-9 relative) stops
 * there, any other is evaluated by engine/schedule.ts itself, whose figures decide.
 * Branches are tried cheapest bound first; a candidate's bound stops at the first term
 * that prunes it.
 * Ties within 1e-10 relative are not explored. The search stops after
 * {@link PartitionOptions.maxNodes} nodes and then reports `exact: false`.
 *
 * Partition runs (ProcessorSpec.dispatchMs, from measured profiles): engine/schedule.ts
 * charges a processor's dispatch once per partition, at its first op that is not a
 * no-op. On the prefix chain this is exact in the DP, whose state is (processor, dispatch
 * pending), pending meaning the current partition has only no-ops so far. After the
 * branch, the bounds charge each unit that starts a reader group (units on p reading one
 * tensor from elsewhere share one partition) 1/k of the dispatch energy and load (k =
 * readers of that tensor) and the full dispatch latency on its path when it has a real
 * op: each is a lower bound of what the schedule charges.
 *
 * Memory (step 3): the bounds also price each weight byte on a processor whose memory
 * can bind at λ (a geometric grid around the units' saving per byte), less λ x the bytes
 * it has left: a Lagrangian relaxation, valid for every λ ≥ 0, in both the prefix
 * cost-to-go and the subtree bounds. A prefix state (unit, processor, pending dispatch)
 * reached at no less cost, time (under a budget) and memory on every such processor than
 * one already searched is pruned (dominance). Transfers after the branch also count
 * towards the serial load of the links they use. The constrained search runs in rounds
 * with a node cap per subtree below the prefix (x4 per round) so that one hard subtree
 * cannot starve the others; only a round that cut nothing, within maxNodes in total,
 * reports `exact: true`.
 *
 * Prefix labels (step 3 when there is a prefix chain, prefixLabels): a label DP over the
 * chain whose labels carry exact cost, time and, per processor whose memory can bind,
 * weight bytes and peak activation bytes, kept only when Pareto-optimal per state
 * (processor, pending dispatch); the rest is then searched once per surviving end label
 * with its prefix fixed. A first pass keeping 12 labels per state finds an incumbent, the
 * exact pass prunes against it. The capped rounds above remain the fallback when a unit
 * would keep more than 100,000 labels. On the benchmark's memory-bound case (202-unit
 * trunk, 16 MB DSP) this proves the optimum (6.57592, below the 6.58575 the rounds
 * returned unproven) in about 2.5-4 s on a shared 2-core machine: most of it is the
 * searches of the rest below about 180 end labels, each a few thousand nodes when the
 * trunk ends on the CPU or the DSP. Not yet under 2 s; sharing one search of the rest
 * among the labels of one end state was tried (bound = least over fitting labels) and
 * was slower per node than it saved.
 */
import type { OptimizeSpec, PipelineSpec } from '../../language/pipeline-model';
import { hopCost, opCost, supportsOp, transferCost } from '../cost-model';
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
  /** Per processor: the fixed latency (ms) and energy (mJ) of one partition run (ProcessorSpec.dispatchMs). */
  dispL: Float64Array;
  dispE: Float64Array;
  /** Per unit: 1 for a layer (its ops form or join an exported partition), 0 for the front end. */
  layer: Uint8Array;
  /** Per unit: 1 when it reads the front end's output or the input window (it always starts or joins a reader group). */
  fresh: Uint8Array;
  /** Per unit: 1 when it has an op that is not a no-op (the dispatch is charged at such an op). */
  active: Uint8Array;
  /** Per unit: how many units read its input tensor (itself included). */
  sib: Float64Array;
  /** Number of transfer resources (links, assumed memory copies), each carrying one transfer at a time. */
  R: number;
  /** linkL[((u * P + q) * P + p) * R + r]: time (ms) the transfer of u's input from q to p holds resource r. */
  linkL: Float64Array;
  /** retLink[(u * P + p) * R + r]: time (ms) the return of head output u from remote p holds resource r. */
  retLink: Float64Array;
  /** The ops after the branch unit (absent when the input feeds several units), for {@link suffixSchedule}. */
  suffix?: Suffix;
}

/**
 * The ops after the branch unit, in IR order (local index k): `input[k]` the local index
 * of the op it reads (-1: the branch unit's output), its unit, whether it is a no-op,
 * its latency and energy per processor (opCost, index k * P + p), output bytes and
 * consumers; the local indices of head outputs in block order; and the hops of a route.
 */
interface Suffix {
  ops: number;
  input: Int32Array;
  unit: Int32Array;
  noop: Uint8Array;
  opLat: Float64Array;
  opEn: Float64Array;
  outBytes: Float64Array;
  consumers: number[][];
  heads: number[];
  branchBytes: number;
  remote: Uint8Array;
  activePowerMw: Float64Array;
  route: (q: number, p: number, bytes: number) => { r: number; latencyMs: number; energyMj: number }[] | undefined;
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
  const transferMemo = new Map<string, { latencyMs: number; energyMj: number; hops: { r: number; latencyMs: number; energyMj: number }[] } | undefined>();
  // Transfer resources as engine/schedule.ts names them: one per link (both directions when it is
  // bidirectional), one per assumed memory copy direction.
  const resources = new Map<string, number>();
  const transfer = (from: number, to: number, bytes: number): { latencyMs: number; energyMj: number; hops: { r: number; latencyMs: number; energyMj: number }[] } | undefined => {
    const key = `${from},${to},${bytes}`;
    if (!transferMemo.has(key)) {
      const t = transferCost(device, names[from], names[to], bytes);
      const hops = (t?.route.hops ?? []).map((hop) => {
        const name = hop.link ? `link:${device.links.indexOf(hop.link)}` : `memory:${hop.from}->${hop.to}`;
        if (!resources.has(name)) resources.set(name, resources.size);
        const c = hopCost(device, hop, bytes);
        return { r: resources.get(name)!, latencyMs: c.latencyMs, energyMj: c.energyMj };
      });
      transferMemo.set(key, t && { latencyMs: t.latencyMs, energyMj: t.energyMj, hops });
    }
    return transferMemo.get(key);
  };
  const hopsOf: { i: number; q: number; p: number; ret: boolean; hops: { r: number; latencyMs: number }[] }[] = [];

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
          hopsOf.push({ i, q: def, p, ret: true, hops: back.hops });
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
            hopsOf.push({ i, q, p, ret: false, hops: t.hops });
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
  const dispL = Float64Array.from(procs, (p) => p.dispatchMs ?? 0);
  // As engine/schedule.ts charges it: activePowerMw x dispatchMs (mW x ms = 1e-3 mJ).
  const dispE = Float64Array.from(procs, (p) => p.activePowerMw * (p.dispatchMs ?? 0) * 1e-3);
  const layer = new Uint8Array(n);
  const fresh = new Uint8Array(n);
  const active = new Uint8Array(n);
  const sib = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ops = irUnits[order[i]].ops.map((k) => ir.ops[k]);
    layer[i] = ops[0].block !== FEATURES_KEY ? 1 : 0;
    active[i] = ops.some((op) => !op.noop) ? 1 : 0;
    const parent = units[i].parent;
    fresh[i] = parent < 0 || !layer[parent] ? 1 : 0;
    sib[i] = parent < 0 ? rootKids.length : units[parent].children.length;
  }
  const R = resources.size;
  const linkL = new Float64Array(n * P * P * R);
  const retLink = new Float64Array(n * P * R);
  for (const { i, q, p, ret, hops } of hopsOf) {
    for (const h of hops) {
      if (ret) retLink[(i * P + p) * R + h.r] += h.latencyMs;
      else linkL[((i * P + q) * P + p) * R + h.r] += h.latencyMs;
    }
  }
  // Op-level tables of the ops after the branch unit, for the exact evaluation of the rest (suffixSchedule).
  let suffix: Suffix | undefined;
  if (branch >= 0) {
    const ops: number[] = [];
    ir.ops.forEach((op, i) => {
      if (pos.get(unitOf.get(op.placementKey)!)! > branch) ops.push(i);
    });
    const m = ops.length;
    const local = new Map<number, number>(ops.map((i, k) => [i, k]));
    const branchOp = irUnits[order[branch]].ops.at(-1)!;
    const input = new Int32Array(m);
    const unit = new Int32Array(m);
    const noop = new Uint8Array(m);
    const opLat = new Float64Array(m * P);
    const opEn = new Float64Array(m * P);
    const outBytes = new Float64Array(m);
    const consumers: number[][] = ops.map(() => []);
    const heads: number[] = [];
    ops.forEach((i, k) => {
      const op = ir.ops[i];
      const from = opIndex.get(op.inputs[0])!;
      input[k] = from === branchOp ? -1 : local.get(from)!;
      if (input[k] >= 0) consumers[input[k]].push(k);
      unit[k] = pos.get(unitOf.get(op.placementKey)!)!;
      noop[k] = op.noop ? 1 : 0;
      outBytes[k] = op.activationBytes;
      for (let p = 0; p < P; p++) {
        const c = opCost(op, procs[p]);
        opLat[k * P + p] = c.latencyMs;
        opEn[k * P + p] = c.energyMj;
      }
    });
    for (const b of spec.blocks) {
      const out = ir.blockOutput[b.name];
      if (b.kind === 'head' && out !== undefined && local.has(opIndex.get(out)!)) heads.push(local.get(opIndex.get(out)!)!);
    }
    const branchBytes = ir.ops[branchOp].activationBytes;
    const routeOf = (q: number, p: number, bytes: number): { r: number; latencyMs: number; energyMj: number }[] | undefined => transfer(q, p, bytes)?.hops;
    suffix = { ops: m, input, unit, noop, opLat, opEn, outBytes, consumers, heads, branchBytes, remote: Uint8Array.from(procs, (p) => (p.remote ? 1 : 0)), activePowerMw: Float64Array.from(procs, (p) => p.activePowerMw), route: routeOf };
  }
  return { spec: { ...spec, optimize }, ir, alpha, beta, budgetMs, names, P, def, units, n, lat, en, allowed, multi, tL, tE, retL, retE, weight, peak, limit, branch, roots, dispL, dispE, layer, fresh, active, sib, R, linkL, retLink, suffix };
}

/**
 * True when unit u on p, its parent (or the input window) being on q, starts a reader
 * group of engine/schedule.ts's partition rule: the units on p that read the same tensor
 * from another processor, or from the front end, share one new partition (one dispatch).
 * Otherwise it joins its parent's partition.
 */
function startsGroup(pr: Problem, u: number, q: number, p: number): boolean {
  return pr.layer[u] === 1 && (pr.fresh[u] === 1 || q !== p);
}

/**
 * The exact cost of placing prefix unit k on p after unit k-1 on q (the input window on
 * the default processor for k = 0), as flat tables indexed ((k * P + q) * 2 + pin) * P + p:
 * energy (mJ), time (ms) and whether a dispatch is left pending. The prefix runs alone,
 * so its time is a sum. A partition whose ops so far are all no-ops has its dispatch
 * pending (pin = 1): it is charged at its first op that is not a no-op, or, when the
 * partition closes without one, at its first op, which in a chain delays everything
 * after it alike, so it is added when the chain leaves the partition.
 */
interface PrefixSteps {
  e: Float64Array;
  t: Float64Array;
  pend: Uint8Array;
}

function prefixSteps(pr: Problem): PrefixSteps {
  const { P } = pr;
  const len = pr.branch + 1;
  const e = new Float64Array(len * P * 2 * P).fill(Infinity);
  const t = new Float64Array(len * P * 2 * P).fill(Infinity);
  const pend = new Uint8Array(len * P * 2 * P);
  for (let k = 0; k < len; k++) {
    for (let q = 0; q < P; q++) {
      for (let pin = 0; pin < 2; pin++) {
        if (k === 0 && (q !== pr.def || pin === 1)) continue;
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
interface BoundSet {
  m: number;
  lambda: number;
  Ea: Float64Array;
  Llb: Float64Array;
  G: Float64Array;
  busy: Float64Array;
}

function subtreeBounds(pr: Problem, allowed: Uint8Array, m: number, lambda: number): BoundSet {
  const { n, P, alpha, beta, units } = pr;
  const Ea = new Float64Array(n * P).fill(Infinity);
  const Llb = new Float64Array(n * P).fill(Infinity);
  const G = new Float64Array(n * P).fill(Infinity);
  const { R } = pr;
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
        // after the tensor arrives (module header).
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

/** The search's wall-clock limit ({@link PartitionOptions.timeLimitMs}): a `performance.now()` deadline, and whether it was passed. */
interface Clock {
  deadline: number;
  expired: boolean;
}

/**
 * The schedule after the branch unit, replayed as engine/schedule.ts computes it (list
 * order by ready time then IR index, one op at a time per processor, a tensor sent once
 * per destination as its first consumer is scheduled, hop by hop with one transfer per
 * resource at a time, the partition rule and dispatch of its header, remote heads'
 * outputs sent back in block order), from time 0 with every processor and link idle: by
 * the module header the real schedule is this one shifted by the prefix's end time.
 * `branchProc` is the branch unit's processor, `pending` whether its partition's
 * dispatch is still to be charged. Returns the makespan after the prefix (ms, including
 * a pending dispatch that no op after the branch takes) and the energy after the
 * prefix (mJ, transfers of the branch's output included). Agrees with the scheduler up to
 * floating-point rounding, which is why leaves still go to {@link evaluate} when it
 * cannot rule them out.
 */
function suffixSchedule(pr: Problem, sx: Suffix, assign: Int32Array, branchProc: number, pending: boolean, branchLayer: boolean): { makespanMs: number; energyMj: number } {
  const { P } = pr;
  const m = sx.ops;
  const procFree = new Float64Array(P);
  const resFree = new Float64Array(pr.R);
  const endMs = new Float64Array(m);
  const arrival = new Float64Array((m + 1) * P).fill(-1);
  const part = new Int32Array(m);
  const partProc: number[] = [branchProc];
  const partNoop: boolean[] = [true];
  const dispatched: boolean[] = [!pending];
  // Readers of each tensor (local op index + 1; 0 = the branch output): the partitions that read it from elsewhere.
  const readers: number[][] = Array.from({ length: m + 1 }, () => []);
  for (let k = 0; k < m; k++) {
    const p = assign[sx.unit[k]];
    const src = sx.input[k];
    const feeder = src < 0 ? (branchLayer ? 0 : -1) : part[src];
    let q = -1;
    if (feeder >= 0 && partProc[feeder] === p) q = feeder;
    else q = readers[src + 1].find((x) => x !== feeder && partProc[x] === p) ?? -1;
    if (q < 0) {
      q = partProc.length;
      partProc.push(p);
      partNoop.push(true);
      dispatched.push(false);
    }
    part[k] = q;
    if (!sx.noop[k]) partNoop[q] = false;
    if (feeder !== q && !readers[src + 1].includes(q)) readers[src + 1].push(q);
  }
  // A pending dispatch whose partition gets no real op after the branch either was charged at the
  // partition's first op, in the prefix, which delays everything after it alike.
  const shift = pending && partNoop[0] ? pr.dispL[branchProc] : 0;
  if (shift > 0) dispatched[0] = true;
  let energy = 0;
  const send = (tensor: number, from: number, readyMs: number, bytes: number, to: number): number => {
    if (from === to) return readyMs;
    const key = tensor * P + to;
    if (arrival[key] >= 0) return arrival[key];
    const hops = sx.route(from, to, bytes);
    let t = readyMs;
    if (hops) {
      for (const h of hops) {
        const start = Math.max(t, resFree[h.r]);
        t = start + h.latencyMs;
        resFree[h.r] = t;
        energy += h.energyMj;
      }
    }
    arrival[key] = t;
    return t;
  };
  const readyKey = new Float64Array(m);
  const ready: number[] = [];
  for (let k = 0; k < m; k++) if (sx.input[k] < 0) ready.push(k);
  while (ready.length > 0) {
    let at = 0;
    for (let x = 1; x < ready.length; x++) {
      const a = ready[x];
      const b = ready[at];
      if (readyKey[a] < readyKey[b] || (readyKey[a] === readyKey[b] && a < b)) at = x;
    }
    const k = ready[at];
    ready[at] = ready[ready.length - 1];
    ready.pop();
    const p = assign[sx.unit[k]];
    const src = sx.input[k];
    const dataReady = src < 0 ? send(0, branchProc, 0, sx.branchBytes, p) : send(src + 1, assign[sx.unit[src]], endMs[src], sx.outBytes[src], p);
    let lat = sx.opLat[k * P + p];
    const q = part[k];
    if (!dispatched[q] && (!sx.noop[k] || partNoop[q])) {
      dispatched[q] = true;
      lat += pr.dispL[p];
      // The branch's partition (0) had its dispatch energy counted with the prefix.
      if (q !== 0) energy += sx.activePowerMw[p] * pr.dispL[p] * 1e-3;
    }
    energy += sx.opEn[k * P + p];
    const end = Math.max(procFree[p], dataReady) + lat;
    procFree[p] = end;
    endMs[k] = end;
    for (const c of sx.consumers[k]) {
      readyKey[c] = end;
      ready.push(c);
    }
  }
  let makespan = 0;
  for (let k = 0; k < m; k++) if (endMs[k] > makespan) makespan = endMs[k];
  for (const h of sx.heads) {
    const p = assign[sx.unit[h]];
    if (sx.remote[p] && p !== pr.def) makespan = Math.max(makespan, send(h + 1, p, endMs[h], sx.outBytes[h], pr.def));
  }
  for (let x = 0; x < arrival.length; x++) if (arrival[x] > makespan) makespan = arrival[x];
  return { makespanMs: makespan + shift, energyMj: energy };
}

/** A price per weight byte (objective units) on processor m, for a Lagrangian bound. */
interface Price {
  m: number;
  lambda: number;
}

/** A search of the units after the branch only, the prefix placed on `path`, with bound sets computed once by the caller. */
interface RestStart {
  path: Int32Array;
  sets: BoundSet[];
}

/** The plain bound set, then one per price (the constrained search's Lagrangian bounds). */
function boundSets(pr: Problem, allowed: Uint8Array, prices: Price[]): BoundSet[] {
  return [{ m: -1, lambda: 0 }, ...prices].map(({ m, lambda }) => subtreeBounds(pr, allowed, m, lambda));
}

interface SearchResult {
  best: Int32Array | undefined;
  objective: number;
  complete: boolean;
  /** True when some subtree below the prefix was cut at `restCap` nodes (the search then proves nothing). */
  capped: boolean;
  nodes: number;
  evaluations: number;
}

/**
 * Lower bounds of the cost after the prefix, per prefix state (unit k, processor p,
 * pending dispatch pin) at index (k * P + p) * 2 + pin: `base` ignores memory; each of
 * `priced` is the least cost-to-go with every byte of weights placed on processor `m`
 * in the rest of the prefix charged `lambda`, so that `toGo - lambda x (bytes m has
 * left)` is a lower bound as well (Lagrangian relaxation of m's memory limit).
 */
interface PrefixBound {
  base: Float64Array;
  priced: { m: number; lambda: number; toGo: Float64Array }[];
  /** Processors whose memory can bind: their use is part of the dominance test. */
  tight: number[];
}

/**
 * Depth-first branch and bound over units in preorder. `allowed` restricts processors per
 * unit; `prefix` (optional) bounds the cost after a prefix unit and turns on the
 * dominance test on prefix states; `constrained` enforces memory and budget.
 */
function search(pr: Problem, steps: PrefixSteps, allowed: Uint8Array, constrained: { memory: boolean; budget: boolean }, incumbent: number, maxNodes: number, clock: Clock, prefix?: PrefixBound, prices: Price[] = [], restCap = Infinity, rest?: RestStart): SearchResult {
  const { n, P, alpha, beta, units, roots } = pr;
  const assign = new Int32Array(n);
  const estEnd = new Float64Array(n);
  const pendAt = new Uint8Array(n);
  const destCount = new Int32Array((n + 1) * P);
  const load = new Float64Array(P);
  const postLoad = new Float64Array(P);
  const linkPost = new Float64Array(pr.R);
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
    for (let r = 0; r < pr.R; r++) if (after + linkPost[r] > latLb) latLb = after + linkPost[r];
    const rs = roots[j];
    for (let k = 0; k < rs.length; k++) {
      const r = rs[k];
      const par = units[r].parent;
      const l = (par < 0 ? 0 : estEnd[par]) + Llb[r * P + (par < 0 ? pr.def : assign[par])];
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
        const q = par < 0 ? pr.def : assign[par];
        const a = Ea[r * P + q];
        aRest += a;
        const g = beta * (par < 0 ? 0 : estEnd[par]) + G[r * P + q] - a;
        if (g > joint) joint = g;
      }
      let b = alpha * eFixed + aRest + joint - credit;
      if (j >= pr.branch) {
        for (let ps = 0; ps < P + pr.R; ps++) {
          let v = alpha * eFixed + beta * (after + (ps < P ? postLoad[ps] : linkPost[ps - P])) - credit;
          for (let k = 0; k < rs.length; k++) {
            const r = rs[k];
            const par = units[r].parent;
            v += busy[(ps * n + r) * P + (par < 0 ? pr.def : assign[par])];
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
    const R = pr.R;
    if (first && q !== p) for (let r = 0; r < R; r++) linkPost[r] += sign * pr.linkL[((u * P + q) * P + p) * R + r];
    if (units[u].children.length === 0) for (let r = 0; r < R; r++) linkPost[r] += sign * pr.retLink[(u * P + p) * R + r];
  };
  const undoStack: number[] = [];
  const apply = (u: number, p: number): boolean => {
    const par = units[u].parent;
    const q = par < 0 ? pr.def : assign[par];
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
    const q = par < 0 ? pr.def : assign[par];
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
      // The rest after the prefix, replayed alone (module header): most leaves are ruled out here;
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
    const q = par < 0 ? pr.def : assign[par];
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

/** Geometric grid of memory prices tried per tight processor (see {@link prefixBound}). */
const PRICES = 16;

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
function prefixBound(pr: Problem, steps: PrefixSteps, F: Float64Array, tol: number): PrefixBound {
  const { P, n, alpha, beta, branch } = pr;
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

/** Most labels one prefix unit may keep before {@link prefixLabels} gives up (the rounds of {@link search} take over). */
const LABEL_CAP = 100_000;

/** Labels kept per end state and prefix unit by the first, heuristic pass of {@link prefixLabels} (it only finds an incumbent). */
const BEAM = 12;

/**
 * The constrained search when the pipeline has a prefix chain (module header, step 3): a
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
function prefixLabels(pr: Problem, steps: PrefixSteps, prefix: PrefixBound, sets: BoundSet[], F: Float64Array, budgetOn: boolean, incumbent: number, beam: number, maxNodes: number, clock: Clock): SearchResult | undefined {
  const { P, alpha, beta, branch } = pr;
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
  let state = Int32Array.of(pr.def * 2);
  const parents: Int32Array[] = [];
  const states: Int32Array[] = [];
  for (let k = 0; k <= branch; k++) {
    if (clock.expired || performance.now() > clock.deadline) {
      clock.expired = true;
      return stopped();
    }
    // Candidates: every kept label of unit k-1 (for k = 0 the input window on the default processor) extended to each processor.
    const cCost: number[] = [];
    const cTime: number[] = [];
    const cLb: number[] = [];
    const cSafe: boolean[] = [];
    const cMem: number[] = [];
    const cState: number[] = [];
    const cParent: number[] = [];
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
        cCost.push(c);
        cTime.push(t);
        cLb.push(lb);
        cSafe.push(t + (incumbent - c) / beta <= safeBelow);
        for (let d = 0; d < D; d++) cMem.push(mem[i * D + d]);
        if (x >= 0) {
          cMem[cMem.length - D + 2 * x] += pr.weight[k];
          cMem[cMem.length - D + 2 * x + 1] = Math.max(cMem[cMem.length - D + 2 * x + 1], pr.peak[k]);
        }
        cState.push(p * 2 + steps.pend[st]);
        cParent.push(i);
      }
    }
    // Dominance per end state: candidates by cost (then time, then memory), each kept unless an earlier kept one is no worse.
    const order = cCost.map((_, i) => i);
    order.sort((a, b) => cState[a] - cState[b] || cCost[a] - cCost[b] || cTime[a] - cTime[b] || lexMem(cMem, a, b, D));
    let kept: number[] = [];
    for (let g = 0; g < order.length; ) {
      let h = g;
      while (h < order.length && cState[order[h]] === cState[order[g]]) h++;
      const from = kept.length;
      let fast = T === 1;
      for (let x = g; x < h && fast; x++) fast = !withTime || cSafe[order[x]];
      if (fast) minW.fill(Infinity);
      for (let x = g; x < h; x++) {
        const a = order[x];
        let dominated = false;
        if (fast) {
          const rank = peaks.indexOf(cMem[a * 2 + 1]);
          for (let r = 0; r <= rank && !dominated; r++) dominated = minW[r] <= cMem[a * 2];
          if (!dominated && cMem[a * 2] < minW[rank]) minW[rank] = cMem[a * 2];
        } else {
          for (let y = from; y < kept.length && !dominated; y++) {
            const b = kept[y];
            if (withTime && !cSafe[b] && cTime[b] > cTime[a]) continue;
            let all = true;
            for (let d = 0; d < D && all; d++) all = cMem[b * D + d] <= cMem[a * D + d];
            dominated = all;
          }
        }
        if (!dominated) kept.push(a);
      }
      if (kept.length - from > beam) {
        const group = kept.splice(from).sort((a, b) => cLb[a] - cLb[b]);
        kept.push(...group.slice(0, beam));
      }
      g = h;
    }
    if (kept.length > LABEL_CAP) return undefined;
    nodes += kept.length;
    if (nodes > maxNodes) return stopped();
    if (kept.length === 0) return { best, objective: bestObj, complete: true, capped: false, nodes, evaluations };
    cost = Float64Array.from(kept, (a) => cCost[a]);
    time = Float64Array.from(kept, (a) => cTime[a]);
    const next = new Float64Array(kept.length * D);
    kept.forEach((a, i) => {
      for (let d = 0; d < D; d++) next[i * D + d] = cMem[a * D + d];
    });
    mem = next;
    state = Int32Array.from(kept, (a) => cState[a]);
    parents.push(Int32Array.from(kept, (a) => cParent[a]));
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
    const r = search(pr, steps, pr.allowed, { memory: true, budget: budgetOn }, bestObj, maxNodes - nodes, clock, undefined, [], Infinity, { path, sets });
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
function lexMem(mem: number[], a: number, b: number, D: number): number {
  for (let d = 0; d < D; d++) {
    const x = mem[a * D + d] - mem[b * D + d];
    if (x !== 0) return x;
  }
  return 0;
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
  if (opts.timeLimitMs !== undefined && !(opts.timeLimitMs >= 0)) throw new Error(`partition of '${spec.name}': the time limit must be a non-negative number of milliseconds (got ${opts.timeLimitMs}); fix the --time-limit-ms option`);
  const clock: Clock = { deadline: performance.now() + (opts.timeLimitMs ?? Infinity), expired: false };
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
        const before = k === 0 ? (q === pr.def && pin === 0 ? 0 : Infinity) : cost[((k - 1) * P + q) * 2 + pin];
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
  const ends = prefixLen === 0 ? [pr.def * 2] : [...Array(S).keys()].filter((s) => Number.isFinite(cost[branch * S + s]));
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
    const r = search(pr, steps, allowed, { memory: false, budget: false }, incumbent, maxNodes, clock);
    nodes += r.nodes;
    evaluations += r.evaluations;
    exact &&= r.complete;
    if (process.env.PDEBUG) console.log('relaxed end', s0, 'pre', pre(s0), 'nodes', r.nodes, 'evals', r.evaluations, 'complete', r.complete, 'obj', r.objective);
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
        const first = prefixLabels(pr, steps, prefix, restSets, F, budget, Infinity, BEAM, Math.max(maxNodes - nodes, 0), clock);
        nodes += first?.nodes ?? 0;
        evaluations += first?.evaluations ?? 0;
        if (first && !first.complete) return first;
        const r = prefixLabels(pr, steps, prefix, restSets, F, budget, first?.objective ?? Infinity, Infinity, Math.max(maxNodes - nodes, 0), clock);
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
        const r = search(pr, steps, pr.allowed, { memory: true, budget }, objective, Math.max(left, 0), clock, prefix, prefix.priced, cap >= left ? Infinity : cap);
        nodes += r.nodes;
        evaluations += r.evaluations;
        if (process.env.PDEBUG) console.log('round cap', cap, 'nodes', r.nodes, 'evals', r.evaluations, 'complete', r.complete, 'capped', r.capped, 'obj', r.objective, 't', performance.now().toFixed(0));
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

/** The placement units of `spec` (`features` first when it has a front end, then layer ids in source order). */
export function placementUnits(spec: PipelineSpec, opts: IrOptions = {}): string[] {
  const keys: string[] = [];
  for (const op of buildIr(spec, opts).ops) if (keys[keys.length - 1] !== op.placementKey) keys.push(op.placementKey);
  return keys;
}
