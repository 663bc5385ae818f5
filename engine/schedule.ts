/**
 * Placement and list scheduling of the IR on the target's processors.
 *
 * Placement of an op, first match wins: the override map (by layer id, then by block
 * name; `features` for the front end), the pipeline's `place` pins, the target's default
 * processor. A processor that does not exist falls back to the default with an
 * `unresolved-processor` error; a processor that cannot run the op keeps it (so the
 * numbers still show) with an `unsupported-op` error.
 *
 * Scheduling: the input window is in its sampler's memory at time 0: the processor that
 * keeps the sensor stream (engine/power-model.ts samplerOf: the front end's processor when
 * it can take a sensor stream, else the default processor), so a microphone stream kept on
 * a DSP never crosses to the CPU, and a front end on a processor that cannot sample reads
 * the raw samples from the default processor's memory. An op becomes ready when every op it reads has been
 * scheduled (and every op it must wait for, `after`: a gated head waits for the head its
 * gate reads, with no data moved); among ready ops the one whose inputs were produced earliest goes first
 * (ties: IR order). It starts when its processor is free and its inputs have arrived:
 * ops on one processor run one at a time, different processors run concurrently.
 * A tensor needed on another processor is sent once per destination, as soon as it is
 * produced, hop by hop; each link carries one transfer at a time (half duplex). The
 * output of a head computed on a remote processor is sent back to the default processor.
 * End-to-end latency is the makespan: the end of the last op or transfer.
 *
 * Partitions and their fixed cost: the layer ops are grouped into partitions exactly as
 * the export splits them (engine/onnx/partition-plan.ts planPartitions: an op joins the
 * partition of the op it reads when both run on one processor, else a partition on its
 * processor that already reads the same tensor, else it starts a new one; a gated head's
 * ops never share a partition with another block's, so the runtime can skip it); each is one
 * ONNX model and one `session.run` per inference. A processor's `dispatchMs` (default 0)
 * is charged once per partition, at the partition's first op to be scheduled that is not
 * a no-op (the first op when all are no-ops): that op's processor is busy for
 * dispatchMs before the op itself, and the op's latencyMs and energyMj include it
 * (`dispatchMs` says how much). The feature front end runs in the runtime's own code,
 * not a model, and forms no partition.
 *
 * Memory per processor: the weights of its ops plus the peak activation working set,
 * taken as the largest input + output bytes of any one of its ops (ops run one after
 * another and a tensor is freed once its consumer has run; buffers held for other
 * consumers are not counted; no-op reshapes hold nothing of their own).
 */
import type { EstimateIssue } from '../language/estimator';
import { IssueCodes } from '../language/issue-codes';
import { formatBytes } from '../language/figures';
import type { DeviceSpec, PipelineSpec, ProcessorSpec } from '../language/pipeline-model';
import { FEATURES_KEY } from '../language/pipeline-model';
import { hopCost, opCost, findRoute, supportsOp, unsupportedKinds, type Route } from './cost-model';
import { type IrOp, type PipelineIr } from './ir';
import { samplerOf } from './power-model';

/** Options of {@link scheduleIr}. */
export interface ScheduleOptions {
  /**
   * Placement overrides: layer id, block name or `features` -> processor name. They win
   * over the pipeline's `place` lines (the partitioner and the graph editor pass them).
   */
  placement?: Record<string, string>;
}

/** One op as scheduled. */
export interface ScheduledOp {
  opId: string;
  kind: IrOp['kind'];
  block: string;
  layerId?: string;
  processor: string;
  startMs: number;
  endMs: number;
  latencyMs: number;
  /** Arithmetic time alone (macs / compute). */
  computeMs: number;
  /**
   * The fixed cost of its partition's run, included in latencyMs (and its energy in
   * energyMj), when this op is the one its partition's dispatch is charged to; else 0.
   */
  dispatchMs: number;
  /** Index of its partition (see the module header); -1 for a front-end op. */
  partition: number;
  /** Memory time alone (bytes / bandwidth). */
  memoryMs: number;
  energyMj: number;
  bytes: number;
  macs: number;
  params: number;
  weightBytes: number;
  activationBytes: number;
  /** False when the processor cannot run this op (an `unsupported-op` error is reported). */
  supported: boolean;
  /** Ids of the transfers that brought its inputs (empty when all were already on its processor). */
  inputTransfers: string[];
}

/** One hop of a transfer as scheduled. */
export interface ScheduledHop {
  from: string;
  to: string;
  /** Timeline resource of the hop: `link:a<->b`, `link:a->b`, or `memory:a->b` for an assumed copy. */
  resource: string;
  startMs: number;
  endMs: number;
  energyMj: number;
}

/** One tensor moved from one processor to another. */
export interface ScheduledTransfer {
  /** `tensor>destination`, unique. */
  id: string;
  /** Op id of the tensor's producer, or `input` for the input window. */
  tensor: string;
  from: string;
  to: string;
  bytes: number;
  startMs: number;
  endMs: number;
  latencyMs: number;
  energyMj: number;
  hops: ScheduledHop[];
  /** True when no link joins the processors and a shared-memory copy was assumed. */
  assumed: boolean;
}

/** What one processor does per inference. */
export interface ProcessorUsage {
  name: string;
  remote: boolean;
  /** Busy time: the sum of its ops' latencies. */
  latencyMs: number;
  /** Energy of its ops (transfers are counted apart). */
  energyMj: number;
  weightBytes: number;
  peakActivationBytes: number;
  /** weightBytes + peakActivationBytes. */
  memoryBytes: number;
  /** The processor's `memory` figure (Infinity when the device gives none). */
  memoryLimitBytes: number;
  ops: number;
  activePowerMw: number;
  idlePowerMw: number;
}

/** One bar of the timeline: an op on a processor or a hop on a link. */
export interface TimelineEntry {
  /** Processor name, or a hop's resource (`link:cpu<->dsp`). */
  resource: string;
  kind: 'op' | 'transfer';
  /** Op id, or transfer id. */
  id: string;
  startMs: number;
  endMs: number;
}

/** The schedule of one pipeline on its target. */
export interface Schedule {
  /** One per IR op, in IR order (`ops[i]` is `ir.ops[i]`), with its processor and times. */
  ops: ScheduledOp[];
  transfers: ScheduledTransfer[];
  processors: ProcessorUsage[];
  /** Sorted by start time. */
  timeline: TimelineEntry[];
  makespanMs: number;
  /** Per block: when its output is available (on the default processor for remote heads). */
  blockReadyMs: Record<string, number>;
  /** Per block: transfer ids that bring its output back from a remote processor. */
  returnTransfers: Record<string, string[]>;
  issues: EstimateIssue[];
}

/** Shared empty list (never mutated): no allocation for the common no-transfer case. */
const NO_TRANSFERS: string[] = [];

function linkResource(hop: Route['hops'][number]): string {
  if (!hop.link) return `memory:${hop.from}->${hop.to}`;
  return hop.link.bidirectional ? `link:${hop.link.from}<->${hop.link.to}` : `link:${hop.link.from}->${hop.link.to}`;
}

/** Min-heap of op indices keyed by ready time, then index. */
class ReadyHeap {
  private readonly keys: number[] = [];
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(key: number, item: number): void {
    this.keys.push(key);
    this.items.push(item);
    let i = this.items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): number {
    const top = this.items[0];
    const lastKey = this.keys.pop()!;
    const lastItem = this.items.pop()!;
    if (this.items.length > 0) {
      this.keys[0] = lastKey;
      this.items[0] = lastItem;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.items.length && this.less(l, m)) m = l;
        if (r < this.items.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    return this.keys[a] < this.keys[b] || (this.keys[a] === this.keys[b] && this.items[a] < this.items[b]);
  }

  private swap(a: number, b: number): void {
    [this.keys[a], this.keys[b]] = [this.keys[b], this.keys[a]];
    [this.items[a], this.items[b]] = [this.items[b], this.items[a]];
  }
}

/**
 * Resolves the processor of every op (rules in this module's header) and reports
 * unknown processors and unsupported ops, once per placement unit. `byOp[i]` is the
 * processor of `ir.ops[i]`.
 */
export function resolvePlacement(spec: PipelineSpec, ir: PipelineIr, overrides: Record<string, string> = {}): { byOp: string[]; issues: EstimateIssue[] } {
  const device = spec.target;
  const byName = new Map(device.processors.map((p) => [p.name, p] as const));
  // Maps, not records, on the hot path: property lookups on large dictionary objects cost more.
  const override = new Map(Object.entries(overrides));
  const pins = new Map(Object.entries(spec.placement));
  const byOp: string[] = new Array(ir.ops.length);
  const issues: EstimateIssue[] = [];
  const reported = new Set<string>();
  let i = 0;
  for (const op of ir.ops) {
    const key = op.placementKey;
    const wanted = override.get(key) ?? (op.block !== FEATURES_KEY ? override.get(op.block) : undefined) ?? pins.get(key) ?? device.defaultProcessor;
    let name = wanted;
    if (!byName.has(wanted)) {
      name = device.defaultProcessor;
      if (!reported.has(`${key}:unresolved`)) {
        reported.add(`${key}:unresolved`);
        issues.push({
          severity: 'error',
          code: IssueCodes.UnresolvedProcessor,
          message: `${describe(op)} is placed on '${wanted}', which ${device.name} does not have (it has ${device.processors.map((p) => p.name).join(', ')}); it is estimated on ${name}.`,
          ...(op.layerId ? { layerId: op.layerId } : {}),
        });
      }
    }
    byOp[i++] = name;
    const p = byName.get(name);
    const missing = p && !supportsOp(p, op) ? unsupportedKinds(p, op) : NO_TRANSFERS;
    if (p && missing.length > 0 && !reported.has(`${key}:unsupported`)) {
      reported.add(`${key}:unsupported`);
      issues.push({
        severity: 'error',
        code: IssueCodes.UnsupportedOp,
        message: `${name} on ${device.name} cannot run ${describe(op)} (${missing.join(', ')}); it supports ${p.supports!.join(', ')}. Place it elsewhere.`,
        ...(op.layerId ? { layerId: op.layerId } : {}),
      });
    }
  }
  return { byOp, issues };
}

/**
 * The partition of every op (`-1` for front-end ops), by the rule of this module's
 * header, given each op's processor `byOp[i]`; partitions are numbered in IR order,
 * as planPartitions numbers them, and the number of partitions.
 */
export function partitionOps(ir: PipelineIr, byOp: readonly string[]): { partitionOf: Int32Array; count: number } {
  const partitionOf = new Int32Array(ir.ops.length).fill(-1);
  const indexOf = new Map<string, number>();
  const procOf: string[] = [];
  // Per tensor (producer op id, or `input` for the window), the partitions that read it.
  const readers = new Map<string, number[]>();
  // Per partition, the gated head it belongs to ('' for ungated blocks): a partition holds one gate's ops only.
  const gateOf: string[] = [];
  let count = 0;
  ir.ops.forEach((op, i) => {
    indexOf.set(op.id, i);
    if (op.block === FEATURES_KEY) return;
    const proc = byOp[i];
    const gate = ir.gates[op.block] ? op.block : '';
    const tensor = op.inputs[0] ?? 'input';
    const j = op.inputs.length > 0 ? indexOf.get(tensor) : undefined;
    const feeder = j !== undefined && partitionOf[j] >= 0 ? partitionOf[j] : -1;
    let part = -1;
    if (feeder >= 0 && procOf[feeder] === proc && gateOf[feeder] === gate) part = feeder;
    else part = (readers.get(tensor) ?? []).find((q) => q !== feeder && procOf[q] === proc && gateOf[q] === gate) ?? -1;
    if (part < 0) {
      part = count++;
      procOf.push(proc);
      gateOf.push(gate);
    }
    partitionOf[i] = part;
    if (feeder !== part) {
      const list = readers.get(tensor);
      if (!list) readers.set(tensor, [part]);
      else if (!list.includes(part)) list.push(part);
    }
  });
  return { partitionOf, count };
}

function describe(op: IrOp): string {
  return op.layerId ?? 'the feature front end';
}

/**
 * Places and list-schedules `ir` on `spec.target` (rules in this module's header).
 * Throws only when the target has no processor, which a checked pipeline never has.
 */
export function scheduleIr(spec: PipelineSpec, ir: PipelineIr, opts: ScheduleOptions = {}): Schedule {
  const device: DeviceSpec = spec.target;
  if (device.processors.length === 0) throw new Error(`scheduleIr: device '${device.name}' has no processor; add one to estimate '${spec.name}'`);
  const byName = new Map<string, ProcessorSpec>(device.processors.map((p) => [p.name, p]));
  const defaultName = byName.has(device.defaultProcessor) ? device.defaultProcessor : device.processors[0].name;
  const { byOp, issues } = resolvePlacement(spec, ir, opts.placement);

  const n = ir.ops.length;
  const indexOf = new Map<string, number>();
  ir.ops.forEach((op, i) => indexOf.set(op.id, i));
  const consumers: number[][] = ir.ops.map(() => []);
  const waiting = new Int32Array(n);
  ir.ops.forEach((op, i) => {
    for (const input of op.after ? [...op.inputs, ...op.after] : op.inputs) {
      const j = indexOf.get(input);
      if (j === undefined) throw new Error(`scheduleIr: op '${op.id}' reads or waits for '${input}', which is not in the IR`);
      consumers[j].push(i);
      waiting[i]++;
    }
  });

  const procFree = new Map<string, number>();
  const resourceFree = new Map<string, number>();
  const arrivals = new Map<string, number>();
  const routes = new Map<string, Route | undefined>();
  const transfers: ScheduledTransfer[] = [];
  const timeline: TimelineEntry[] = [];
  const scheduled: ScheduledOp[] = new Array(n);
  const endMs = new Float64Array(n);
  const readyKey = new Float64Array(n);
  const unreachable = new Set<string>();

  const transferIds = new Set<string>();
  // When `tensor` (produced on `from` at `readyMs`) is available on `to`; sends it on first use.
  const arrive = (tensor: string, from: string, readyMs: number, bytes: number, to: string): number => {
    if (from === to) return readyMs;
    const key = `${tensor}>${to}`;
    const known = arrivals.get(key);
    if (known !== undefined) return known;
    const routeKey = `${from}>${to}`;
    if (!routes.has(routeKey)) routes.set(routeKey, findRoute(device, from, to));
    const route = routes.get(routeKey);
    if (!route) {
      if (!unreachable.has(routeKey)) {
        unreachable.add(routeKey);
        issues.push({
          severity: 'error',
          code: IssueCodes.InvalidLink,
          message: `${device.name} has no link from ${from} to ${to}, so tensors cannot move between them; add a link (e.g. link ${from} <-> ${to} { bandwidth 50 Mbps  rtt 40 ms }) or place the layers elsewhere.`,
        });
      }
      arrivals.set(key, readyMs);
      return readyMs;
    }
    if (route.assumed && !unreachable.has(routeKey)) {
      unreachable.add(routeKey);
      issues.push({
        severity: 'warning',
        code: IssueCodes.InvalidLink,
        message: `${device.name} declares no link between ${from} and ${to}; the estimate assumes a copy through shared memory. Add a link line with its bandwidth and latency.`,
      });
    }
    let t = readyMs;
    const hops: ScheduledHop[] = [];
    let energyMj = 0;
    const id = key;
    for (const hop of route.hops) {
      const resource = linkResource(hop);
      const c = hopCost(device, hop, bytes);
      const start = Math.max(t, resourceFree.get(resource) ?? 0);
      const end = start + c.latencyMs;
      resourceFree.set(resource, end);
      hops.push({ from: hop.from, to: hop.to, resource, startMs: start, endMs: end, energyMj: c.energyMj });
      timeline.push({ resource, kind: 'transfer', id, startMs: start, endMs: end });
      energyMj += c.energyMj;
      t = end;
    }
    const startMs = hops.length > 0 ? hops[0].startMs : readyMs;
    transfers.push({ id, tensor, from, to, bytes, startMs, endMs: t, latencyMs: t - startMs, energyMj, hops, assumed: route.assumed });
    transferIds.add(id);
    arrivals.set(key, t);
    return t;
  };

  const reader = ir.ops.findIndex((o) => o.inputs.length === 0);
  const sampler = samplerOf(device, reader >= 0 ? byOp[reader] : undefined);
  const windowOrigin = byName.has(sampler) ? sampler : defaultName;
  const { partitionOf, count: partitionCount } = partitionOps(ir, byOp);
  // Sibling heads of one partition may be scheduled in either order, so the dispatch is
  // charged to whichever of its ops (not a no-op, unless all are) is scheduled first.
  const partitionAllNoop = new Array<boolean>(partitionCount).fill(true);
  ir.ops.forEach((op, i) => {
    if (partitionOf[i] >= 0 && !op.noop) partitionAllNoop[partitionOf[i]] = false;
  });
  const dispatched = new Uint8Array(partitionCount);

  const heap = new ReadyHeap();
  for (let i = 0; i < n; i++) if (waiting[i] === 0) heap.push(0, i);
  let done = 0;
  while (heap.size > 0) {
    const i = heap.pop();
    done++;
    const op = ir.ops[i];
    const procName = byOp[i];
    const p = byName.get(procName)!;
    let dataReady = 0;
    let inputTransfers = NO_TRANSFERS;
    if (op.inputs.length === 0) {
      dataReady = arrive('input', windowOrigin, 0, ir.inputBytes, procName);
      if (windowOrigin !== procName && transferIds.has(`input>${procName}`)) inputTransfers = [`input>${procName}`];
    }
    for (const input of op.inputs) {
      const j = indexOf.get(input)!;
      const producer = ir.ops[j];
      const from = byOp[j];
      dataReady = Math.max(dataReady, arrive(producer.id, from, endMs[j], producer.activationBytes, procName));
      if (from !== procName && transferIds.has(`${producer.id}>${procName}`)) {
        if (inputTransfers === NO_TRANSFERS) inputTransfers = [];
        inputTransfers.push(`${producer.id}>${procName}`);
      }
    }
    // A gated head starts once the head its gate reads has finished (the runtime decides there).
    if (op.after) for (const id of op.after) dataReady = Math.max(dataReady, endMs[indexOf.get(id)!]);
    const cost = opCost(op, p);
    const part = partitionOf[i];
    let dispatchMs = 0;
    if (part >= 0 && !dispatched[part] && (!op.noop || partitionAllNoop[part])) {
      dispatched[part] = 1;
      dispatchMs = p.dispatchMs ?? 0;
    }
    const latencyMs = cost.latencyMs + dispatchMs;
    const energyMj = cost.energyMj + p.activePowerMw * dispatchMs * 1e-3;
    const start = Math.max(procFree.get(procName) ?? 0, dataReady);
    const end = start + latencyMs;
    procFree.set(procName, end);
    endMs[i] = end;
    scheduled[i] = {
      opId: op.id,
      kind: op.kind,
      block: op.block,
      layerId: op.layerId,
      processor: procName,
      startMs: start,
      endMs: end,
      latencyMs,
      computeMs: cost.computeMs,
      dispatchMs,
      partition: part,
      memoryMs: cost.memoryMs,
      energyMj,
      bytes: cost.bytes,
      macs: op.macs,
      params: op.params,
      weightBytes: op.weightBytes,
      activationBytes: op.activationBytes,
      supported: supportsOp(p, op),
      inputTransfers,
    };
    timeline.push({ resource: procName, kind: 'op', id: op.id, startMs: start, endMs: end });
    for (const c of consumers[i]) {
      readyKey[c] = Math.max(readyKey[c], end);
      if (--waiting[c] === 0) heap.push(readyKey[c], c);
    }
  }
  if (done !== n) throw new Error(`scheduleIr: the IR of '${spec.name}' has a cycle; ${n - done} ops were never ready`);

  const blockReadyMs: Record<string, number> = {};
  const returnTransfers: Record<string, string[]> = {};
  for (const block of spec.blocks) {
    const out = ir.blockOutput[block.name];
    if (out === undefined) {
      blockReadyMs[block.name] = 0;
      continue;
    }
    const j = indexOf.get(out)!;
    const proc = byOp[j];
    if (block.kind === 'head' && byName.get(proc)?.remote && proc !== defaultName) {
      const before = transfers.length;
      blockReadyMs[block.name] = arrive(out, proc, endMs[j], ir.ops[j].activationBytes, defaultName);
      returnTransfers[block.name] = transfers.slice(before).map((t) => t.id);
    } else {
      blockReadyMs[block.name] = endMs[j];
    }
  }
  // A block whose own layers are empty is ready when its source is.
  for (const block of spec.blocks) {
    if (ir.blockOutput[block.name] === undefined && block.from !== undefined) blockReadyMs[block.name] = blockReadyMs[block.from] ?? 0;
  }

  const processors: ProcessorUsage[] = device.processors.map((p) => ({
    name: p.name,
    remote: p.remote,
    latencyMs: 0,
    energyMj: 0,
    weightBytes: 0,
    peakActivationBytes: 0,
    memoryBytes: 0,
    memoryLimitBytes: p.memoryBytes,
    ops: 0,
    activePowerMw: p.activePowerMw,
    idlePowerMw: p.idlePowerMw,
  }));
  const usage = new Map(processors.map((u) => [u.name, u]));
  ir.ops.forEach((op, i) => {
    const u = usage.get(byOp[i])!;
    const s = scheduled[i];
    u.latencyMs += s.latencyMs;
    u.energyMj += s.energyMj;
    u.weightBytes += op.weightBytes;
    if (!op.noop) u.peakActivationBytes = Math.max(u.peakActivationBytes, op.inputBytes + op.activationBytes);
    u.ops++;
  });
  for (const u of processors) {
    u.memoryBytes = u.weightBytes + u.peakActivationBytes;
    if (u.memoryBytes > u.memoryLimitBytes) {
      issues.push({
        severity: 'warning',
        code: IssueCodes.MemoryLimit,
        message: `${u.name} on ${device.name} needs ${formatBytes(u.memoryBytes)} (weights ${formatBytes(u.weightBytes)} + activations ${formatBytes(u.peakActivationBytes)}) but has ${formatBytes(u.memoryLimitBytes)}; compress its layers or place some elsewhere.`,
      });
    }
  }

  let makespanMs = 0;
  for (let i = 0; i < n; i++) makespanMs = Math.max(makespanMs, endMs[i]);
  for (const t of transfers) makespanMs = Math.max(makespanMs, t.endMs);
  timeline.sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
  return { ops: scheduled, transfers, processors, timeline, makespanMs, blockReadyMs, returnTransfers, issues };
}
