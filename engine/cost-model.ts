/**
 * The cost model: what one op costs on one processor, and what moving a tensor between
 * two processors costs, from the figures of a {@link DeviceSpec} (built-in catalog in
 * language/builtin-devices.ts, or a custom `device` block).
 *
 * Op on processor p (a roofline with a fixed dispatch cost):
 *   bytes     = weightBytes + inputBytes + activationBytes (weights and both activations
 *               cross the memory bus once),
 *   latencyMs = p.overheadMs + max(macs / throughput_p(kind), bytes / p.bandwidthBytesPerS) x 1000,
 *   energyMj  = p.activePowerMw x latencyMs x 1e-3  +  bytes x p.transferPjPerByte x 1e-9.
 * (mW x ms = uJ = 1e-3 mJ; pJ = 1e-9 mJ.) Ops flagged `noop` (flatten, dropout) cost nothing.
 * throughput_p(kind) is p.frontendMacsPerS for the feature front-end ops (placement key
 * `features`) when the processor sets it, else p.computeMacsPerS: the front end runs as
 * hand-written code, the layers on the DNN runtime's kernels (DESIGN.md, cost model).
 * A processor calibrated by a kernel suite (engine/calibrate/kernel-predictor.ts) prices an
 * op whose kind its predictor models by that kind's fitted model instead of the roofline.
 * The fixed cost of a partition run, p.dispatchMs, is not an op's: engine/schedule.ts
 * charges it once per partition.
 *
 * Tensor of `bytes` over a link l from processor a to b (one hop):
 *   latencyMs = bytes / l.bandwidthBytesPerS x 1000 + l.latencyMs,
 *   energyMj  = l.powerMw x latencyMs x 1e-3  +  bytes x (a.transferPjPerByte + b.transferPjPerByte) x 1e-9
 * (the radio or bus is powered for the whole hop; the source memory is read and the
 * destination memory written once). Routes: a direct link (either direction if it is
 * bidirectional); else two hops through the device's default processor; else the
 * fewest hops over links, never relaying through a remote processor. Two local
 * processors with no route are assumed to share memory: a copy at the lower of their
 * bandwidths, no latency, the same memory energy, and the route is flagged `assumed` so
 * the estimate can warn. A remote processor is reachable only over its links.
 */
import type { DeviceSpec, LinkSpec, ProcessorSpec } from '../language/pipeline-model';
import { FEATURES_KEY } from '../language/pipeline-model';
import { type IrOp } from './ir';
import { kernelPredictorOf, predictOp } from './calibrate/kernel-predictor';

/**
 * The part of an op the cost model reads. `placementKey` tells a front-end op (`features`)
 * from a layer op; without it the op is priced as a layer op.
 */
export type CostedOp = Pick<IrOp, 'macs' | 'weightBytes' | 'inputBytes' | 'activationBytes' | 'noop'> & Partial<Pick<IrOp, 'placementKey' | 'kind' | 'supportKinds'>>;

/** The cost of one op on one processor. */
export interface OpCost {
  /** Total time, overhead included. */
  latencyMs: number;
  /** Time the arithmetic alone takes: macs / compute. */
  computeMs: number;
  /** Time the memory traffic alone takes: bytes / bandwidth. */
  memoryMs: number;
  /** Bytes moved to and from memory. */
  bytes: number;
  /** Total energy: active power over latencyMs plus memory traffic. */
  energyMj: number;
}

/** Bytes an op moves to and from memory: its weights, its input and its output. */
export function opBytes(op: CostedOp): number {
  return op.weightBytes + op.inputBytes + op.activationBytes;
}

/**
 * The MAC throughput of `p` for `op`, in MACs per second: `p.frontendMacsPerS` for a
 * feature front-end op when `p` sets it, else `p.computeMacsPerS`.
 */
export function opThroughputMacsPerS(op: Pick<CostedOp, 'placementKey'>, p: ProcessorSpec): number {
  return op.placementKey === FEATURES_KEY && p.frontendMacsPerS !== undefined ? p.frontendMacsPerS : p.computeMacsPerS;
}

/** Latency and energy of `op` on `p`, by the roofline formula in this module's header (or the processor's kernel predictor); zero for no-op ops. */
export function opCost(op: CostedOp, p: ProcessorSpec): OpCost {
  if (op.noop) return { latencyMs: 0, computeMs: 0, memoryMs: 0, bytes: 0, energyMj: 0 };
  const bytes = opBytes(op);
  const computeMs = (op.macs / opThroughputMacsPerS(op, p)) * 1000;
  const memoryMs = Number.isFinite(p.bandwidthBytesPerS) ? (bytes / p.bandwidthBytesPerS) * 1000 : 0;
  const predictor = op.kind !== undefined ? kernelPredictorOf(p) : undefined;
  const predicted = predictor ? predictOp(predictor, { kind: op.kind!, placementKey: op.placementKey, supportKinds: op.supportKinds, activationBytes: op.activationBytes }, op.macs, bytes) : undefined;
  const latencyMs = predicted ? predicted.latencyMs : p.overheadMs + Math.max(computeMs, memoryMs);
  const energyMj = p.activePowerMw * latencyMs * 1e-3 + bytes * p.transferPjPerByte * 1e-9;
  return { latencyMs, computeMs, memoryMs, bytes, energyMj };
}

/** The names among `op.supportKinds` that `p` does not list in `supports` (empty: it can run the op). */
export function unsupportedKinds(p: ProcessorSpec, op: Pick<IrOp, 'supportKinds'>): string[] {
  if (!p.supports) return [];
  return op.supportKinds.filter((k) => !p.supports!.includes(k));
}

/** True when `p` can run `op`. */
export function supportsOp(p: ProcessorSpec, op: Pick<IrOp, 'supportKinds'>): boolean {
  // Called per op on every estimate: no intermediate array.
  const supports = p.supports;
  if (!supports) return true;
  for (const k of op.supportKinds) if (!supports.includes(k)) return false;
  return true;
}

/** One hop of a route: a declared link, or an assumed shared-memory copy (`link` undefined). */
export interface RouteHop {
  from: string;
  to: string;
  link?: LinkSpec;
}

/** How a tensor travels from one processor to another. */
export interface Route {
  hops: RouteHop[];
  /** True when no link joins the processors and a shared-memory copy is assumed. */
  assumed: boolean;
}

function linkBetween(device: DeviceSpec, from: string, to: string): LinkSpec | undefined {
  return device.links.find((l) => (l.from === from && l.to === to) || (l.bidirectional && l.from === to && l.to === from));
}

/**
 * The route from processor `from` to `to` on `device` (rules in this module's header),
 * or undefined when none exists (a remote processor without a usable link). An empty
 * route when from === to.
 */
export function findRoute(device: DeviceSpec, from: string, to: string): Route | undefined {
  if (from === to) return { hops: [], assumed: false };
  const direct = linkBetween(device, from, to);
  if (direct) return { hops: [{ from, to, link: direct }], assumed: false };
  const d = device.defaultProcessor;
  if (d !== from && d !== to) {
    const a = linkBetween(device, from, d);
    const b = linkBetween(device, d, to);
    if (a && b) return { hops: [{ from, to: d, link: a }, { from: d, to, link: b }], assumed: false };
  }
  const remote = new Set(device.processors.filter((p) => p.remote).map((p) => p.name));
  // Breadth-first over links; a remote processor is an end point, never a relay.
  const prev = new Map<string, { at: string; link: LinkSpec }>();
  const seen = new Set([from]);
  let frontier = [from];
  while (frontier.length > 0 && !seen.has(to)) {
    const next: string[] = [];
    for (const at of frontier) {
      if (at !== from && remote.has(at)) continue;
      for (const l of device.links) {
        const other = l.from === at ? l.to : l.bidirectional && l.to === at ? l.from : undefined;
        if (other === undefined || seen.has(other)) continue;
        seen.add(other);
        prev.set(other, { at, link: l });
        next.push(other);
      }
    }
    frontier = next;
  }
  if (seen.has(to)) {
    const hops: RouteHop[] = [];
    for (let at = to; at !== from; ) {
      const p = prev.get(at)!;
      hops.unshift({ from: p.at, to: at, link: p.link });
      at = p.at;
    }
    return { hops, assumed: false };
  }
  if (remote.has(from) || remote.has(to)) return undefined;
  return { hops: [{ from, to }], assumed: true };
}

/** Cost of one hop carrying `bytes`. */
export interface HopCost {
  from: string;
  to: string;
  latencyMs: number;
  energyMj: number;
}

function processor(device: DeviceSpec, name: string): ProcessorSpec | undefined {
  return device.processors.find((p) => p.name === name);
}

/** Latency and energy of one hop carrying `bytes`, by the formulas in this module's header. */
export function hopCost(device: DeviceSpec, hop: RouteHop, bytes: number): HopCost {
  const a = processor(device, hop.from);
  const b = processor(device, hop.to);
  const memoryEnergyMj = bytes * ((a?.transferPjPerByte ?? 0) + (b?.transferPjPerByte ?? 0)) * 1e-9;
  if (hop.link) {
    const bw = hop.link.bandwidthBytesPerS;
    const latencyMs = (Number.isFinite(bw) ? (bytes / bw) * 1000 : 0) + hop.link.latencyMs;
    return { from: hop.from, to: hop.to, latencyMs, energyMj: hop.link.powerMw * latencyMs * 1e-3 + memoryEnergyMj };
  }
  const bw = Math.min(a?.bandwidthBytesPerS ?? Number.POSITIVE_INFINITY, b?.bandwidthBytesPerS ?? Number.POSITIVE_INFINITY);
  const latencyMs = Number.isFinite(bw) ? (bytes / bw) * 1000 : 0;
  return { from: hop.from, to: hop.to, latencyMs, energyMj: memoryEnergyMj };
}

/** Total cost of moving `bytes` from `from` to `to`, or undefined when there is no route. */
export function transferCost(device: DeviceSpec, from: string, to: string, bytes: number): { latencyMs: number; energyMj: number; route: Route } | undefined {
  const route = findRoute(device, from, to);
  if (!route) return undefined;
  let latencyMs = 0;
  let energyMj = 0;
  for (const hop of route.hops) {
    const c = hopCost(device, hop, bytes);
    latencyMs += c.latencyMs;
    energyMj += c.energyMj;
  }
  return { latencyMs, energyMj, route };
}
