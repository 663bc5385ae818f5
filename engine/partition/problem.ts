/**
 * The partitioning problem in flat typed arrays: the placement units of a pipeline in
 * depth-first preorder, their cost on each processor, the transfers between processors,
 * memory, and the op-level tables of the schedule after the branch unit. Everything the
 * searches read is computed here once, so their inner loops are table look-ups. The
 * method these tables serve is derived in docs/partition.md.
 */
import type { OptimizeSpec, PipelineSpec } from '../../language/pipeline-model';
import { FEATURES_KEY } from '../../language/pipeline-model';
import { hopCost, opCost, supportsOp, transferCost } from '../cost-model';
import { objective as objectiveOf } from '../estimate';
import { buildIr, type IrOptions, type PipelineIr } from '../ir';
import { scheduleIr } from '../schedule';

/** The options that define the problem (the search's limits are in PartitionOptions). */
export interface ProblemOptions extends IrOptions {
  /** Weights and budget to use instead of the pipeline's `optimize` line (missing fields keep the line's). */
  optimize?: Partial<OptimizeSpec>;
  /** Keep the pipeline's `place` pins as hard constraints (default false: the optimizer is free). */
  keepPins?: boolean;
  /** Units (layer ids, `features`) that must stay on the given processor, whatever `keepPins` says. */
  fixed?: Record<string, string>;
}

/** One placement unit as the partitioner sees it. */
export interface Unit {
  key: string;
  parent: number;
  children: number[];
}

/** Everything the search reads, in flat typed arrays (index u * P + p, or (u * P + q) * P + p for transfers). */
export interface Problem {
  /** The pipeline with the optimised weights and budget in its `optimize`. */
  spec: PipelineSpec;
  ir: PipelineIr;
  /** Objective weights: α per mJ of energy, β per ms of latency. */
  alpha: number;
  beta: number;
  /** The latency budget (Infinity when the `optimize` line has none). */
  budgetMs: number;
  /** Processor names, in the target's order (processor index p). */
  names: string[];
  /** Processor count, written P in index arithmetic. */
  processorCount: number;
  /** Index of the default processor, which receives remote heads' outputs. */
  defaultProcessor: number;
  /** Where the input window is at time 0: its sampler (engine/schedule.ts); the default processor until a piece of the power model fixes the sampler (partition.ts). */
  origin: number;
  /** Placement units in depth-first preorder (unit index u). */
  units: Unit[];
  /** Unit count, written n in index arithmetic. */
  unitCount: number;
  /** lat[u * P + p], en[u * P + p]: latency (ms) and energy (mJ) of unit u's ops on p. */
  lat: Float64Array;
  en: Float64Array;
  /** allowed[u * P + p]: 1 when p supports every op of u and no pin forbids it. */
  allowed: Uint8Array;
  /** Per unit: 1 when its input tensor has other readers (it is then sent once per destination, not per reader). */
  multi: Uint8Array;
  /** tL, tE[(u * P + q) * P + p]: latency (ms) and energy (mJ) of moving u's input from q to p (Infinity: no route). */
  tL: Float64Array;
  tE: Float64Array;
  /** retL, retE[u * P + p]: latency (ms) and energy (mJ) of returning head u's output from remote p to the default processor. */
  retL: Float64Array;
  retE: Float64Array;
  /** Per unit: weight bytes, and the peak of input + activation bytes over its ops (as engine/schedule.ts counts memory). */
  weight: Float64Array;
  peak: Float64Array;
  /** Per processor: memory limit in bytes. */
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
  /** Number of transfer resources (links, assumed memory copies), each carrying one transfer at a time; written R in index arithmetic. */
  resourceCount: number;
  /** linkL[((u * P + q) * P + p) * R + r]: time (ms) the transfer of u's input from q to p holds resource r. */
  linkL: Float64Array;
  /** retLink[(u * P + p) * R + r]: time (ms) the return of head output u from remote p holds resource r. */
  retLink: Float64Array;
  /** The ops after the branch unit (absent when the input feeds several units), for suffixSchedule (suffix-schedule.ts). */
  suffix?: Suffix;
  /**
   * Per processor: the standby rate (mW) subtracted from the energy of every ms it is busy,
   * so that the tables price one linear piece of the power model (engine/power-model.ts
   * standbyPieces; docs/partition.md, Continuous sensing). All zeros in the plain problem.
   */
  standbyRateMw: Float64Array;
}

/**
 * The ops after the branch unit, in IR order (local index k): `input[k]` the local index
 * of the op it reads (-1: the branch unit's output), its unit, whether it is a no-op,
 * its latency and energy per processor (opCost, index k * P + p), output bytes and
 * consumers; the local indices of head outputs in block order; and the hops of a route.
 */
export interface Suffix {
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

export const TOL = 1e-10;


export function buildProblem(spec: PipelineSpec, opts: ProblemOptions): Problem {
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
  return { spec: { ...spec, optimize }, ir, alpha, beta, budgetMs, names, processorCount: P, defaultProcessor: def, origin: def, units, unitCount: n, lat, en, allowed, multi, tL, tE, retL, retE, weight, peak, limit, branch, roots, dispL, dispE, layer, fresh, active, sib, resourceCount: R, linkL, retLink, suffix, standbyRateMw: new Float64Array(P) };
}

/**
 * `pr` with every busy ms on processor p priced `rateMw[p]` less (the op, dispatch and
 * suffix tables) and only the processors `allowedProcessor[u * P + p]` allows: one linear
 * piece of the power model (docs/partition.md, Continuous sensing). Since a rate is at most
 * the processor's active power (lowering checks it), every energy stays non-negative.
 */
export function withStandbyRates(pr: Problem, rateMw: Float64Array, allowed: Uint8Array): Problem {
  const P = pr.processorCount;
  const en = pr.en.map((e, i) => e - rateMw[i % P] * pr.lat[i] * 1e-3);
  const dispE = pr.dispE.map((e, p) => e - rateMw[p] * pr.dispL[p] * 1e-3);
  const sx = pr.suffix;
  const suffix = sx && {
    ...sx,
    opEn: sx.opEn.map((e, i) => e - rateMw[i % P] * sx.opLat[i] * 1e-3),
    activePowerMw: sx.activePowerMw.map((a, p) => a - rateMw[p]),
  };
  return { ...pr, en, dispE, allowed, suffix, standbyRateMw: rateMw };
}

/**
 * True when unit u on p, its parent (or the input window) being on q, starts a reader
 * group of engine/schedule.ts's partition rule: the units on p that read the same tensor
 * from another processor, or from the front end, share one new partition (one dispatch).
 * Otherwise it joins its parent's partition.
 */
export function startsGroup(pr: Problem, u: number, q: number, p: number): boolean {
  return pr.layer[u] === 1 && (pr.fresh[u] === 1 || q !== p);
}

/**
 * The exact figures of one complete assignment, from the scheduler (as estimatePipeline
 * computes them), without the power model's standby constants: energy is the ops' energy
 * less the standby rate of their busy time, plus the transfers.
 */
export function evaluate(pr: Problem, assign: Int32Array): { objective: number; latencyMs: number; energyMj: number } {
  const placement: Record<string, string> = {};
  for (let u = 0; u < pr.unitCount; u++) placement[pr.units[u].key] = pr.names[assign[u]];
  const s = scheduleIr(pr.spec, pr.ir, { placement });
  const rate = new Map(pr.names.map((name, p) => [name, pr.standbyRateMw[p]]));
  let compute = 0;
  for (const o of s.ops) compute += o.energyMj - rate.get(o.processor)! * o.latencyMs * 1e-3;
  let moved = 0;
  for (const t of s.transfers) moved += t.energyMj;
  const energyMj = compute + moved;
  const latencyMs = s.makespanMs;
  return { objective: objectiveOf({ windowEnergyMj: energyMj, endToEndLatencyMs: latencyMs }, pr.spec.optimize), latencyMs, energyMj };
}

/** Memory per processor of an assignment (weights + peak activations, as the schedule counts them). */
export function memoryOf(pr: Problem, assign: Int32Array): Float64Array {
  const w = new Float64Array(pr.processorCount);
  const pk = new Float64Array(pr.processorCount);
  for (let u = 0; u < pr.unitCount; u++) {
    w[assign[u]] += pr.weight[u];
    pk[assign[u]] = Math.max(pk[assign[u]], pr.peak[u]);
  }
  return w.map((x, p) => x + pk[p]);
}
