/**
 * An independent mixed-integer linear program (MILP) for partitioning a CHAIN pipeline
 * (input -> front end -> layers -> one head: every tensor has one consumer unit and
 * nothing runs concurrently), solved by HiGHS (npm `highs`, WebAssembly), to check the
 * exact partitioner (engine/partition/partition.ts) on instances too big for brute force.
 *
 * The per-op and per-transfer costs are the engine's own (engine/cost-model.ts opCost,
 * transferCost); the independence is in the optimisation. On a chain, engine/schedule.ts's
 * list schedule never waits: each op starts when its input arrives and its processor is
 * free, which is the same instant, so the makespan is the plain sum of op latencies,
 * dispatch costs and transfer latencies, and estimate.ts's energy (ops + transfers, no
 * idle power) is a sum too. With binary x[u,p] (unit u on processor p):
 *
 *   y[u,p,q] = x[u-1,p] x[u,q] (p != q): the tensor crossing from unit u-1 to u is sent
 *     p -> q, linearised y >= x[u-1,p] + x[u,q] - 1, y <= x[u-1,p], y <= x[u,q];
 *   s[u,p]: unit u starts a partition on p (dispatchMs > 0 only): the first layer unit
 *     always does (the front end forms no partition), a later layer unit when its
 *     predecessor is elsewhere: s >= x[u,p] - x[u-1,p], s <= x[u,p], s <= 1 - x[u-1,p].
 *     schedule.ts charges each partition's dispatch exactly once (at its first real op,
 *     or its first op when all are no-ops), so on a chain only the count matters;
 *   the input window's transfer from the default processor and a remote head's return
 *     transfer to it are linear in x of the first and last unit;
 *   memory on p: sum_u weightBytes[u] x[u,p] + peak[p] <= limit[p], with continuous
 *     peak[p] >= (largest inputBytes + activationBytes of a non-no-op op of u) x[u,p];
 *   budget: the makespan sum <= budgetMs.
 *
 * Objective = energyWeight x energy + latencyWeight x latency, each column's cost being
 * the weighted sum of its energy (mJ) and latency (ms) coefficients.
 *
 * Energy is the window's by the continuous-sensing power model (engine/power-model.ts), for
 * devices whose processors never sleep (no `sleep`, `wake`, `tail` or `sampling` figure, which
 * chainMilp checks): every local processor then draws its idle power whenever it is not busy,
 * so the window's standby energy is the constant sum_p idle_p x hop (plus the baseline) less
 * idle_p x the busy time of each op and dispatch on p, a sum again: each x and s column's
 * energy is less its busy time x idle_p, and `constantMj` holds the constant.
 */
import type { Highs } from 'highs';
import { opCost, supportsOp, transferCost } from '../../../engine/cost-model';
import { buildIr, type IrOp } from '../../../engine/ir';
import type { PipelineSpec, ProcessorSpec } from '../../../language/pipeline-model';
import { randomDeviceBody, rng } from './random-pipelines';

/** The standby power a never-sleeping processor draws when not busy: its idle power on the device, nothing for a remote one. */
function idleRateMw(p: ProcessorSpec): number {
  return p.remote ? 0 : p.idlePowerMw;
}

/** One linear row: lower <= sum values[k] x[indices[k]] <= upper. */
export interface LinearRow {
  name: string;
  indices: number[];
  values: number[];
  lower: number;
  upper: number;
}

/** The MILP of one chain pipeline, with the energy and latency of every column apart. */
export interface ChainMilp {
  /** Placement units in chain order (`features`, then layer ids). */
  units: string[];
  processors: string[];
  /** Per unit: its weight bytes, and its working set (largest input + output bytes of a non-no-op op). */
  unitWeightBytes: number[];
  unitPeakBytes: number[];
  colNames: string[];
  /** Energy in mJ per unit of the column. */
  colEnergyMj: number[];
  /** Latency (makespan contribution) in ms per unit of the column. */
  colLatencyMs: number[];
  /** energyWeight x colEnergyMj + latencyWeight x colLatencyMs. */
  colCost: number[];
  /** The window's standby energy that no placement changes (mJ), in every objective and energy. */
  constantMj: number;
  /** energyWeight x constantMj. */
  constantCost: number;
  colUpper: number[];
  integer: boolean[];
  rows: LinearRow[];
  /** Index of the budget row, when the pipeline has a budget. */
  budgetRow?: number;
  /** Column of x[u,p]. */
  x: (u: number, p: number) => number;
  /** Column of y[u,p,q] (u >= 1, p != q), or -1. */
  y: (u: number, p: number, q: number) => number;
  /** Column of s[u,p], or -1 when p has no dispatch cost or u is the front end. */
  s: (u: number, p: number) => number;
  /** Column of peak[p], or -1 when p's memory is unlimited. */
  peak: (p: number) => number;
}

/** One placement unit: its ops, weight bytes and working set (largest input + output bytes of a non-no-op op). */
interface UnitData {
  key: string;
  ops: IrOp[];
  weightBytes: number;
  peakBytes: number;
}

/**
 * Builds the MILP of `spec`, which must be a chain (throws otherwise, naming the op that
 * breaks it). Memory and budget rows are included; `withBudget: false` leaves the budget out.
 */
export function chainMilp(spec: PipelineSpec, withBudget = true): ChainMilp {
  const ir = buildIr(spec);
  const device = spec.target;
  const procs = device.processors;
  const P = procs.length;
  const def = device.defaultProcessor;
  for (const p of procs) {
    if (p.sleepPowerMw !== p.idlePowerMw || p.wakeEnergyMj !== 0 || p.tailMs !== 0 || p.samplingPowerMw !== undefined) {
      throw new Error(`chainMilp: processor ${p.name} has power states (sleep, wake, tail or sampling); the MILP prices only processors that never sleep`);
    }
  }
  const hopMs = spec.input.hopS * 1000;
  const constantMj = (device.baselinePowerMw + procs.reduce((a, p) => a + idleRateMw(p), 0)) * hopMs * 1e-3;

  const units: UnitData[] = [];
  const unitOf = new Map<string, number>();
  for (const op of ir.ops) {
    if (units.length === 0 || units[units.length - 1].key !== op.placementKey) {
      if (units.some((u) => u.key === op.placementKey)) throw new Error(`chainMilp: unit ${op.placementKey} is not contiguous in the IR`);
      units.push({ key: op.placementKey, ops: [], weightBytes: 0, peakBytes: 0 });
    }
    const u = units[units.length - 1];
    u.ops.push(op);
    u.weightBytes += op.weightBytes;
    if (!op.noop) u.peakBytes = Math.max(u.peakBytes, op.inputBytes + op.activationBytes);
    unitOf.set(op.id, units.length - 1);
  }
  const n = units.length;

  // Cross-unit tensors: each must go from unit u-1 to unit u, and only there.
  const crossing: ({ tensor: string; bytes: number } | undefined)[] = new Array(n).fill(undefined);
  const consumerUnit = new Map<string, number>();
  for (const op of ir.ops) {
    const u = unitOf.get(op.id)!;
    if (op.inputs.length === 0 && u !== 0) throw new Error(`chainMilp: ${op.id} reads the input window but is not in the first unit`);
    for (const input of op.inputs) {
      const v = unitOf.get(input)!;
      if (v === u) continue;
      if (v !== u - 1) throw new Error(`chainMilp: ${op.id} reads ${input} from a unit that is not its predecessor`);
      const known = consumerUnit.get(input);
      if (known !== undefined && known !== u) throw new Error(`chainMilp: ${input} has two consumer units`);
      consumerUnit.set(input, u);
      if (crossing[u] !== undefined && crossing[u].tensor !== input) throw new Error(`chainMilp: unit ${units[u].key} reads two tensors from its predecessor`);
      crossing[u] = { tensor: input, bytes: ir.ops.find((o) => o.id === input)!.activationBytes };
    }
    if (u > 0 && op === units[u].ops[0] && op.inputs.every((i) => unitOf.get(i) === u)) throw new Error(`chainMilp: ${op.id} starts unit ${units[u].key} without reading its predecessor`);
  }
  const heads = spec.blocks.filter((b) => b.kind === 'head');
  if (heads.length !== 1) throw new Error(`chainMilp: a chain has one head, ${spec.name} has ${heads.length}`);
  const lastOp = ir.blockOutput[heads[0].name];
  if (lastOp !== ir.ops[ir.ops.length - 1].id) throw new Error(`chainMilp: the head's output is not the last op`);

  const colNames: string[] = [];
  const colEnergyMj: number[] = [];
  const colLatencyMs: number[] = [];
  const colUpper: number[] = [];
  const integer: boolean[] = [];
  const rows: LinearRow[] = [];
  const addCol = (name: string, energyMj: number, latencyMs: number, upper: number, isInteger: boolean): number => {
    colNames.push(name);
    colEnergyMj.push(energyMj);
    colLatencyMs.push(latencyMs);
    colUpper.push(upper);
    integer.push(isInteger);
    return colNames.length - 1;
  };

  const xIdx = new Int32Array(n * P);
  for (let u = 0; u < n; u++) {
    for (let p = 0; p < P; p++) {
      const proc = procs[p];
      let energyMj = 0;
      let latencyMs = 0;
      let ok = true;
      for (const op of units[u].ops) {
        const c = opCost(op, proc);
        energyMj += c.energyMj;
        latencyMs += c.latencyMs;
        ok &&= supportsOp(proc, op);
      }
      if (u === 0) {
        const t = transferCost(device, def, proc.name, ir.inputBytes);
        if (!t) ok = false;
        else if (t.route.hops.length > 0) {
          energyMj += t.energyMj;
          latencyMs += t.latencyMs;
        }
      }
      if (u === n - 1 && proc.remote && proc.name !== def) {
        const t = transferCost(device, proc.name, def, ir.ops[ir.ops.length - 1].activationBytes);
        if (!t) ok = false;
        else {
          energyMj += t.energyMj;
          latencyMs += t.latencyMs;
        }
      }
      // The transfers above hold links, not the processor: only its ops' time is off its idle time.
      let busyMs = 0;
      for (const op of units[u].ops) busyMs += opCost(op, proc).latencyMs;
      xIdx[u * P + p] = addCol(`x_${u}_${proc.name}`, energyMj - idleRateMw(proc) * busyMs * 1e-3, latencyMs, ok ? 1 : 0, true);
    }
    rows.push({ name: `assign_${u}`, indices: procs.map((_, p) => xIdx[u * P + p]), values: procs.map(() => 1), lower: 1, upper: 1 });
  }

  const yIdx = new Int32Array(n * P * P).fill(-1);
  for (let u = 1; u < n; u++) {
    const bytes = crossing[u]!.bytes;
    for (let p = 0; p < P; p++) {
      for (let q = 0; q < P; q++) {
        if (p === q) continue;
        const t = transferCost(device, procs[p].name, procs[q].name, bytes);
        const a = xIdx[(u - 1) * P + p];
        const b = xIdx[u * P + q];
        if (!t) {
          rows.push({ name: `noroute_${u}_${p}_${q}`, indices: [a, b], values: [1, 1], lower: -Infinity, upper: 1 });
          continue;
        }
        const c = addCol(`y_${u}_${procs[p].name}_${procs[q].name}`, t.energyMj, t.latencyMs, 1, false);
        yIdx[(u * P + p) * P + q] = c;
        rows.push({ name: `ylo_${c}`, indices: [c, a, b], values: [1, -1, -1], lower: -1, upper: Infinity });
        rows.push({ name: `yhia_${c}`, indices: [c, a], values: [1, -1], lower: -Infinity, upper: 0 });
        rows.push({ name: `yhib_${c}`, indices: [c, b], values: [1, -1], lower: -Infinity, upper: 0 });
      }
    }
  }

  const sIdx = new Int32Array(n * P).fill(-1);
  const firstLayer = units[0].key === 'features' ? 1 : 0;
  for (let u = firstLayer; u < n; u++) {
    for (let p = 0; p < P; p++) {
      const d = procs[p].dispatchMs ?? 0;
      if (d <= 0) continue;
      const c = addCol(`s_${u}_${procs[p].name}`, (procs[p].activePowerMw - idleRateMw(procs[p])) * d * 1e-3, d, 1, false);
      sIdx[u * P + p] = c;
      const xu = xIdx[u * P + p];
      if (u === firstLayer) {
        rows.push({ name: `sfirst_${c}`, indices: [c, xu], values: [1, -1], lower: 0, upper: 0 });
        continue;
      }
      const xv = xIdx[(u - 1) * P + p];
      rows.push({ name: `slo_${c}`, indices: [c, xu, xv], values: [1, -1, 1], lower: 0, upper: Infinity });
      rows.push({ name: `shia_${c}`, indices: [c, xu], values: [1, -1], lower: -Infinity, upper: 0 });
      rows.push({ name: `shib_${c}`, indices: [c, xv], values: [1, 1], lower: -Infinity, upper: 1 });
    }
  }

  const peakIdx = new Int32Array(P).fill(-1);
  for (let p = 0; p < P; p++) {
    const limit = procs[p].memoryBytes;
    if (!Number.isFinite(limit)) continue;
    const pk = addCol(`peak_${procs[p].name}`, 0, 0, Infinity, false);
    peakIdx[p] = pk;
    const indices = [pk];
    const values = [1];
    for (let u = 0; u < n; u++) {
      const xu = xIdx[u * P + p];
      if (units[u].weightBytes > 0) {
        indices.push(xu);
        values.push(units[u].weightBytes);
      }
      if (units[u].peakBytes > 0) rows.push({ name: `peak_${p}_${u}`, indices: [pk, xu], values: [1, -units[u].peakBytes], lower: 0, upper: Infinity });
    }
    rows.push({ name: `memory_${procs[p].name}`, indices, values, lower: -Infinity, upper: limit });
  }

  const { energyWeight, latencyWeight, budgetMs } = spec.optimize;
  let budgetRow: number | undefined;
  if (withBudget && budgetMs !== undefined) {
    const indices: number[] = [];
    const values: number[] = [];
    colLatencyMs.forEach((t, c) => {
      if (t !== 0) {
        indices.push(c);
        values.push(t);
      }
    });
    budgetRow = rows.length;
    rows.push({ name: 'budget', indices, values, lower: -Infinity, upper: budgetMs });
  }

  return {
    units: units.map((u) => u.key),
    processors: procs.map((p) => p.name),
    unitWeightBytes: units.map((u) => u.weightBytes),
    unitPeakBytes: units.map((u) => u.peakBytes),
    colNames,
    colEnergyMj,
    colLatencyMs,
    colCost: colEnergyMj.map((e, c) => energyWeight * e + latencyWeight * colLatencyMs[c]),
    constantMj,
    constantCost: energyWeight * constantMj,
    colUpper,
    integer,
    rows,
    ...(budgetRow !== undefined ? { budgetRow } : {}),
    x: (u, p) => xIdx[u * P + p],
    y: (u, p, q) => yIdx[(u * P + p) * P + q],
    s: (u, p) => sIdx[u * P + p],
    peak: (p) => peakIdx[p],
  };
}

/** The column values that a placement (unit -> processor name) implies: x, the exact products y, starts s and the least peaks. */
export function columnValues(m: ChainMilp, placement: Record<string, string>): Float64Array {
  const v = new Float64Array(m.colNames.length);
  const P = m.processors.length;
  const at = m.units.map((u) => {
    const p = m.processors.indexOf(placement[u]);
    if (p < 0) throw new Error(`columnValues: unit ${u} is placed on unknown processor '${placement[u]}'`);
    return p;
  });
  at.forEach((p, u) => (v[m.x(u, p)] = 1));
  for (let u = 1; u < m.units.length; u++) if (at[u - 1] !== at[u] && m.y(u, at[u - 1], at[u]) >= 0) v[m.y(u, at[u - 1], at[u])] = 1;
  for (let u = 0; u < m.units.length; u++) {
    const p = at[u];
    if (m.s(u, p) >= 0 && (u === 0 || at[u - 1] !== p || m.s(u - 1, p) < 0)) v[m.s(u, p)] = 1;
  }
  for (let p = 0; p < P; p++) {
    const pk = m.peak(p);
    if (pk < 0) continue;
    at.forEach((q, u) => {
      if (q === p) v[pk] = Math.max(v[pk], m.unitPeakBytes[u]);
    });
  }
  return v;
}

/** Objective, energy and latency of column values by the linear formulas, and the names of the rows they break (beyond 1e-9 relative). */
export function evaluate(m: ChainMilp, v: ArrayLike<number>): { objective: number; energyMj: number; latencyMs: number; broken: string[] } {
  let objective = m.constantCost, energyMj = m.constantMj, latencyMs = 0;
  for (let c = 0; c < m.colNames.length; c++) {
    objective += m.colCost[c] * v[c];
    energyMj += m.colEnergyMj[c] * v[c];
    latencyMs += m.colLatencyMs[c] * v[c];
  }
  const broken: string[] = [];
  for (const r of m.rows) {
    let a = 0;
    r.indices.forEach((c, k) => (a += r.values[k] * v[c]));
    const tol = 1e-9 * Math.max(1, Number.isFinite(r.lower) ? Math.abs(r.lower) : 0, Number.isFinite(r.upper) ? Math.abs(r.upper) : 0);
    if (a < r.lower - tol || a > r.upper + tol) broken.push(r.name);
  }
  for (let c = 0; c < m.colNames.length; c++) if (v[c] < -1e-9 || v[c] > m.colUpper[c] + 1e-9) broken.push(`bound ${m.colNames[c]}`);
  return { objective, energyMj, latencyMs, broken };
}

/** What HiGHS returned: proven optimal with its objective and placement, or proven infeasible. */
export type MilpResult = { status: 'optimal'; objective: number; placement: Record<string, string>; values: Float64Array } | { status: 'infeasible' };

/**
 * Solves `m` with HiGHS to a relative gap of 1e-10; throws on any status other than
 * optimal or infeasible (a time limit, a solver error).
 */
export function solveChainMilp(highs: Highs, m: ChainMilp): MilpResult {
  const numCols = m.colNames.length;
  const numRows = m.rows.length;
  const starts = new Int32Array(numRows + 1);
  const indices: number[] = [];
  const values: number[] = [];
  m.rows.forEach((r, i) => {
    indices.push(...r.indices);
    values.push(...r.values);
    starts[i + 1] = indices.length;
  });
  const inf = highs.infinity;
  const clamp = (x: number): number => (x === Infinity ? inf : x === -Infinity ? -inf : x);
  const data = {
    numCols,
    numRows,
    colCost: Float64Array.from(m.colCost),
    colLower: new Float64Array(numCols),
    colUpper: Float64Array.from(m.colUpper, clamp),
    rowLower: Float64Array.from(m.rows, (r) => clamp(r.lower)),
    rowUpper: Float64Array.from(m.rows, (r) => clamp(r.upper)),
    matrix: { format: 'csr' as const, numRows, numCols, starts, indices: Int32Array.from(indices), values: Float64Array.from(values) },
    integrality: Int32Array.from(m.integer, (b) => (b ? highs.constants.variableType.integer : highs.constants.variableType.continuous)),
    colNames: m.colNames,
  };
  return highs.withModel(data, (model): MilpResult => {
    model.options.set({ output_flag: false, mip_rel_gap: 1e-10, mip_abs_gap: 1e-12, mip_feasibility_tolerance: 1e-9, primal_feasibility_tolerance: 1e-9 });
    model.run();
    const status = model.getModelStatus();
    if (status === highs.constants.modelStatus.infeasible) return { status: 'infeasible' };
    if (status !== highs.constants.modelStatus.optimal) throw new Error(`HiGHS ended with model status ${status} on ${m.units.length} units`);
    const v = model.getSolution().colValue;
    const placement: Record<string, string> = {};
    m.units.forEach((u, i) => {
      const p = m.processors.findIndex((_, p) => v[m.x(i, p)] > 0.5);
      placement[u] = m.processors[p];
    });
    return { status: 'optimal', objective: model.getObjectiveValue() + m.constantCost, placement, values: v };
  });
}

/** Options of {@link randomChainText}. */
export interface ChainOptions {
  /** Units in the chain (front end included), 12-40 by default. */
  units?: number;
  /** Processors, 2-4 by default. */
  processors?: number;
}

/**
 * A seeded random chain pipeline and device as `.sense` text: an inertial input with a
 * statistics front end, or an image with a flatten, then `units` layers in one shared
 * trunk and a one- or two-layer head (dense layers with activations, dropouts, some
 * compressed by `svd rank` or `int8`), on a device of 2-4 processors with random speeds,
 * powers, op support and links (some pairs without one, sometimes a remote processor
 * behind a network link). Memory, dispatch and budget are set afterwards on the spec
 * ({@link tightenChain}).
 */
export function randomChainText(seed: number, opts: ChainOptions = {}): string {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const between = (lo: number, hi: number): number => lo + (hi - lo) * r();
  const P = opts.processors ?? 2 + Math.floor(r() * 3);
  const total = opts.units ?? 12 + Math.floor(r() * 29);
  const names = ['cpu', 'gpu', 'dsp', 'npu'].slice(0, P);
  const remote = P >= 3 && r() < 0.3 ? names[P - 1] : undefined;
  const dev: string[] = [
    'device Chain {',
    ...randomDeviceBody(r, names, remote, {
      memory: () => '64 MB',
      supportsChance: 0.5,
      kinds: ['dense', 'flatten', 'dropout', 'relu', 'tanh', 'sigmoid', 'softmax', 'features'],
      kindChance: 0.8,
    }),
  ];

  const image = r() < 0.35;
  const body: string[] = ['pipeline Chain {'];
  const trunk: string[] = [];
  if (image) {
    body.push(`  input image { size ${pick([6, 8, 12])} x ${pick([6, 8, 12])}  channels 1  period 1 s }`);
    trunk.push('flatten');
  } else {
    body.push('  input inertial { rate 50 Hz  window 2.56 s  accelerometer [x, y, z] }');
    body.push(`  features { stats ${pick(['mean, std', 'mean, std, min, max', 'rms, range'])}  normalize }`);
  }
  const headLen = r() < 0.5 ? 2 : 1;
  const layersLeft = total - (image ? 0 : 1) - headLen;
  const compress: string[] = [];
  while (trunk.length < layersLeft) {
    if (trunk.length > 0 && r() < 0.1) trunk.push(`dropout ${between(0.05, 0.5).toFixed(2)}`);
    else {
      trunk.push(`dense ${pick([8, 16, 32, 64, 128])} ${pick(['relu', 'tanh', 'sigmoid'])}`);
      const c = r();
      if (c < 0.12) compress.push(`  compress trunk.${trunk.length} svd rank ${pick([2, 4])}`);
      else if (c < 0.2) compress.push(`  compress trunk.${trunk.length} int8`);
    }
  }
  body.push(`  shared trunk { ${trunk.join('  ')} }`);
  const head = headLen === 2 ? [`dense ${pick([8, 16, 32])} relu`, `dense ${2 + Math.floor(r() * 6)} softmax`] : [`dense ${2 + Math.floor(r() * 6)} softmax`];
  body.push(`  head h0 from trunk { ${head.join('  ')} }`);
  body.push(...compress);
  body.push('  target Chain');
  body.push(`  optimize energy ${between(0.1, 1).toFixed(3)} latency ${between(0.005, 0.5).toFixed(3)}`);
  body.push('}');
  return [...body, ...dev].join('\n');
}

/** What {@link tightenChain} did to a spec. */
export interface Tightening {
  /** Processors given a small memory limit. */
  limited: string[];
  /** Processors given a dispatch cost. */
  dispatched: string[];
  /** The budget set, if any. */
  budgetMs?: number;
}

/** The least latency of any memory-feasible placement and the latency of the optimum, both in ms, for {@link tightenChain}'s budget. */
export interface LatencyRange {
  leastMs: number;
  optimumMs: number;
}

/**
 * `spec` with, seeded: a memory limit on each non-default processor with probability 0.6
 * (a random share, 5-60 %, of the chain's weight bytes plus 0.5-1.5 x its largest unit
 * working set, so both weights and peaks can bind; the default processor stays roomy so a
 * memory-feasible placement exists); a dispatch cost (0.01-0.5 ms) on each processor with
 * probability 0.5; and, when `latencyOf` is given, with probability 0.6 a budget of
 * leastMs + f x max(optimumMs - leastMs, 0.05 leastMs), f uniform in [-0.15, 0.85]
 * (below leastMs no placement meets it), `latencyOf` being asked for the latencies of
 * the spec so tightened, without a budget (only when a budget is drawn).
 */
export function tightenChain(spec: PipelineSpec, seed: number, latencyOf?: (unbudgeted: PipelineSpec) => LatencyRange): { spec: PipelineSpec; tightening: Tightening } {
  const r = rng(seed);
  const ir = buildIr(spec);
  let weights = 0;
  let peak = 0;
  for (const op of ir.ops) {
    weights += op.weightBytes;
    if (!op.noop) peak = Math.max(peak, op.inputBytes + op.activationBytes);
  }
  const limited: string[] = [];
  const dispatched: string[] = [];
  const processors = spec.target.processors.map((p): ProcessorSpec => {
    const q: ProcessorSpec = { ...p };
    if (p.name !== spec.target.defaultProcessor && r() < 0.6) {
      q.memoryBytes = Math.round((0.05 + 0.55 * r()) * weights + (0.5 + r()) * peak);
      limited.push(p.name);
    }
    if (r() < 0.5) {
      q.dispatchMs = 0.01 + 0.49 * r();
      dispatched.push(p.name);
    }
    return q;
  });
  const unbudgeted: PipelineSpec = { ...spec, target: { ...spec.target, processors } };
  let budgetMs: number | undefined;
  if (latencyOf !== undefined && r() < 0.6) {
    const latency = latencyOf(unbudgeted);
    // The span has a floor so that a budget never lands (to rounding) on the least latency itself.
    const span = Math.max(latency.optimumMs - latency.leastMs, 0.05 * latency.leastMs);
    budgetMs = latency.leastMs + (r() - 0.15) * span;
  }
  return {
    spec: budgetMs !== undefined ? { ...unbudgeted, optimize: { ...spec.optimize, budgetMs } } : unbudgeted,
    tightening: { limited, dispatched, ...(budgetMs !== undefined ? { budgetMs } : {}) },
  };
}
