/**
 * The whole estimate of a checked pipeline on its target: IR (engine/ir.ts), cost model
 * (engine/cost-model.ts) and schedule (engine/schedule.ts) combined into per-layer,
 * per-processor, per-head and whole-pipeline figures, plus the issues the language shows
 * (memory limit, latency budget, unsupported op).
 *
 * Whole-pipeline figures:
 * - endToEndLatencyMs: the schedule's makespan for one window.
 * - energyPerInferenceMj = computeEnergyMj (sum over ops) + transferEnergyMj (sum over transfers).
 * - inferencesPerHour = 3600 / hopS of the input (every window runs; a silence filter that
 *   skips windows only makes the real figure better).
 * - power: the continuous-sensing power model (engine/power-model.ts): the energy of one
 *   window by cause (compute, transfers, sampling, wake-ups, idle, sleep, baseline), from
 *   which processors the window wakes and which one samples the sensor.
 * - windowEnergyMj = the sum of those causes; averagePowerMw = windowEnergyMj / hopS.
 * - idlePowerMw = averagePowerMw - energyPerInferenceMj x inferencesPerHour / 3600: the
 *   part of the average power that is not the work itself (sampling, idle, sleep,
 *   wake-ups, baseline).
 * - batteryLifeHours = batteryMah x batteryVoltageV (mWh) / averagePowerMw
 *   (= the same over energyPerInferenceMj x inferencesPerHour / 3600 + idlePowerMw).
 * - batteryPercentPerDay = 100 x what the pipeline adds to the device at rest x 24 h / battery mWh.
 * - objective = energyWeight x windowEnergyMj + latencyWeight x endToEndLatencyMs
 *   ({@link objective}; the partitioner minimises exactly this).
 *
 * Gated heads (`when ambient is voicing`, engine/gate-scenarios.ts): the schedule is the
 * window on which every gate opens, and endToEndLatencyMs is its makespan (the latency a
 * window has when the gates open, what a budget must allow). The energy figures
 * (computeEnergyMj, transferEnergyMj, energyPerInferenceMj, windowEnergyMj, the power
 * model's causes and everything derived from them) are expectations over the gates'
 * outcomes: each outcome runs the ops of the blocks that run in it (a transfer counts when
 * a block that reads it runs), and the power model is applied to its busy times.
 * expectedLatencyMs is the expectation of the time the last running block's output is
 * ready. A layer's and a head's own figures are what they cost when they run; `firingProbability`
 * says how often that is. With more outcomes than gate-scenarios.ts enumerates (MAX_GATE_SCENARIOS) each op is
 * weighted by its block's probability instead (expected busy times; an upper bound of the
 * expected standby energy, which is concave in the busy time) and expectedLatencyMs is the
 * makespan.
 */
import type { EstimateIssue, PipelineEstimateSummary, PipelineEstimator } from '../language/estimator';
import { IssueCodes } from '../language/issue-codes';
import { formatMs } from '../language/figures';
import type { CompressionSpec, OptimizeSpec, PipelineSpec } from '../language/pipeline-model';
import { FEATURES_KEY } from '../language/pipeline-model';
import { buildIr, type IrOptions, type PipelineIr } from './ir';
import { expectedWindowPower, windowPower, type WindowPower } from './power-model';
import { gateScenarios } from './gate-scenarios';
import { scheduleIr, type ProcessorUsage, type Schedule, type ScheduleOptions, type ScheduledTransfer, type TimelineEntry } from './schedule';

/** Options of {@link estimatePipeline}: IR options (rank resolver) and schedule options (placement overrides). */
export interface EstimateOptions extends IrOptions, ScheduleOptions {}

/** One layer's cost on its processor (the sum over its ops; two for factorised layers). */
export interface LayerCost {
  layerId: string;
  block: string;
  /** 1-based position in its block. */
  index: number;
  kind: string;
  processor: string;
  /** Its op ids in the IR. */
  ops: string[];
  macs: number;
  params: number;
  weightBytes: number;
  activationBytes: number;
  /** Includes {@link LayerCost.dispatchMs}. */
  latencyMs: number;
  energyMj: number;
  /**
   * The fixed cost of its partition's run (ProcessorSpec.dispatchMs) when the schedule
   * charges it to this layer, the partition's first; else 0 (engine/schedule.ts).
   */
  dispatchMs: number;
  startMs: number;
  endMs: number;
  compression?: CompressionSpec;
  /** SVD rank used, for compressed layers. */
  rank?: number;
  /** True when the rank is the data-free estimate (no weights were given). */
  rankEstimated?: boolean;
  /** False when its processor cannot run it. */
  supported: boolean;
  /** How often it runs per window: 1, or its gated head's probability (module header); latencyMs and energyMj are per run. */
  firingProbability: number;
}

/** The feature front end's cost (all its ops run on one processor). */
export interface FeaturesCost {
  processor: string;
  ops: string[];
  macs: number;
  params: number;
  weightBytes: number;
  latencyMs: number;
  energyMj: number;
  startMs: number;
  endMs: number;
}

/** One head, for CodeLens. */
export interface HeadCost {
  head: string;
  /** Its output's availability time in the schedule, from the window's arrival. */
  latencyMs: number;
  /** Energy of the ops on its path (features, the shared blocks it reads, its own layers) and of the transfers into them. */
  energyMj: number;
  /** Processors its own layers run on, in first-use order. */
  processors: string[];
  /** How often it runs per window: 1 without a gate, else the product of the expected fractions along its chain of gates. */
  firingProbability: number;
}

/** Everything the engine knows about one pipeline on its target. */
export interface Estimate {
  pipeline: string;
  target: string;
  /** The schedule's makespan: one window on which every gate opens. */
  endToEndLatencyMs: number;
  /** The expected time until the last running block's output is ready (equals endToEndLatencyMs without gates). */
  expectedLatencyMs: number;
  energyPerInferenceMj: number;
  computeEnergyMj: number;
  transferEnergyMj: number;
  inferencesPerHour: number;
  /** Average power that is not the work itself: sampling, idle, sleep, wake-ups and baseline (module header). */
  idlePowerMw: number;
  /** Average power of the device running the pipeline: windowEnergyMj / hop, baseline included. */
  averagePowerMw: number;
  /** Energy of one window, every cause included (the energy term of the objective). */
  windowEnergyMj: number;
  /** The continuous-sensing figures: energy and average power by cause, the sampler, each processor's state (engine/power-model.ts). */
  power: WindowPower;
  /** Battery energy in mWh; undefined without a battery. */
  batteryEnergyMwh?: number;
  batteryLifeHours?: number;
  /** Share of the battery the pipeline itself uses in 24 h (above the device at rest), percent; undefined without a battery. */
  batteryPercentPerDay?: number;
  /** The `optimize ... within` budget. */
  budgetMs?: number;
  /** energyWeight x energy + latencyWeight x latency ({@link objective}). */
  objective: number;
  features?: FeaturesCost;
  layers: LayerCost[];
  processors: ProcessorUsage[];
  heads: HeadCost[];
  transfers: ScheduledTransfer[];
  timeline: TimelineEntry[];
  issues: EstimateIssue[];
  ir: PipelineIr;
  schedule: Schedule;
}

/** The objective the partitioner minimises: energyWeight x windowEnergyMj + latencyWeight x endToEndLatencyMs. */
export function objective(estimate: Pick<Estimate, 'windowEnergyMj' | 'endToEndLatencyMs'>, optimize: OptimizeSpec): number {
  return optimize.energyWeight * estimate.windowEnergyMj + optimize.latencyWeight * estimate.endToEndLatencyMs;
}

/** Battery life in hours by the formula in this module's header; Infinity when nothing draws power. */
export function batteryLifeHours(batteryEnergyMwh: number, energyPerInferenceMj: number, inferencesPerHour: number, idlePowerMw: number): number {
  const perHourMwh = (energyPerInferenceMj * inferencesPerHour) / 3600 + idlePowerMw;
  return perHourMwh > 0 ? batteryEnergyMwh / perHourMwh : Number.POSITIVE_INFINITY;
}

/**
 * Estimates `spec` on its target. Pure and fast (linear in layers, apart from the
 * ready-heap's log factor): the editor calls it on every keystroke. Throws only on a
 * spec that breaks the checked-pipeline contract (see {@link engineEstimator} for the
 * never-throwing adapter).
 */
export function estimatePipeline(spec: PipelineSpec, opts: EstimateOptions = {}): Estimate {
  const ir = buildIr(spec, opts);
  const schedule = scheduleIr(spec, ir, opts);
  const issues = [...schedule.issues];

  // buildIr lists each layer's ops contiguously in source order, so one cursor walks them;
  // a map is the fallback should an IR ever break that order.
  const layers: LayerCost[] = [];
  const irOps = ir.ops;
  const nOps = irOps.length;
  let cursor = 0;
  while (cursor < nOps && irOps[cursor].layerId === undefined) cursor++;
  let opsOfLayer: Map<string, number[]> | undefined;
  const noOps: number[] = [];
  for (const block of spec.blocks) {
    for (const layer of block.layers) {
      const id = layer.id;
      let indices: number[];
      if (opsOfLayer === undefined && cursor < nOps && irOps[cursor].layerId === id) {
        indices = [];
        while (cursor < nOps && irOps[cursor].layerId === id) indices.push(cursor++);
      } else {
        opsOfLayer ??= groupOpsByLayer(ir);
        indices = opsOfLayer.get(id) ?? noOps;
      }
      let macs = 0, params = 0, weightBytes = 0, latencyMs = 0, energyMj = 0, endMs = 0, dispatchMs = 0;
      let startMs = Number.POSITIVE_INFINITY;
      let supported = true;
      for (let k = 0; k < indices.length; k++) {
        const o = schedule.ops[indices[k]];
        macs += o.macs;
        params += o.params;
        weightBytes += o.weightBytes;
        latencyMs += o.latencyMs;
        energyMj += o.energyMj;
        dispatchMs += o.dispatchMs;
        startMs = Math.min(startMs, o.startMs);
        endMs = Math.max(endMs, o.endMs);
        supported &&= o.supported;
      }
      const from = indices[0] ?? -1;
      const first = from >= 0 ? ir.ops[from] : undefined;
      layers.push({
        layerId: id,
        block: layer.block,
        index: layer.index,
        kind: layer.kind,
        processor: first ? schedule.ops[from].processor : spec.target.defaultProcessor,
        ops: ir.layerOps[id] ?? [],
        macs,
        params,
        weightBytes,
        activationBytes: layer.activationBytes,
        latencyMs,
        energyMj,
        dispatchMs,
        startMs: first ? startMs : 0,
        endMs,
        compression: layer.compression,
        rank: first?.rank,
        rankEstimated: first?.rankEstimated,
        supported,
        firingProbability: ir.firingProbability[layer.block] ?? 1,
      });
    }
  }

  const featureOps = schedule.ops.filter((o) => o.block === FEATURES_KEY);
  const features: FeaturesCost | undefined =
    featureOps.length > 0
      ? {
          processor: featureOps[0].processor,
          ops: featureOps.map((o) => o.opId),
          macs: sum(featureOps, (o) => o.macs),
          params: sum(featureOps, (o) => o.params),
          weightBytes: sum(featureOps, (o) => o.weightBytes),
          latencyMs: sum(featureOps, (o) => o.latencyMs),
          energyMj: sum(featureOps, (o) => o.energyMj),
          startMs: Math.min(...featureOps.map((o) => o.startMs)),
          endMs: Math.max(...featureOps.map((o) => o.endMs)),
        }
      : undefined;

  const endToEndLatencyMs = schedule.makespanMs;
  const inferencesPerHour = 3600 / spec.input.hopS;
  const { computeEnergyMj, transferEnergyMj, expectedLatencyMs, power } = expectedFigures(spec, ir, schedule);
  const energyPerInferenceMj = computeEnergyMj + transferEnergyMj;
  const averagePowerMw = power.averagePowerMw;
  const idlePowerMw = Math.max(0, averagePowerMw - (energyPerInferenceMj * inferencesPerHour) / 3600);
  const { batteryMah, batteryVoltageV } = spec.target;
  const batteryEnergyMwh = batteryMah !== undefined && batteryVoltageV !== undefined ? batteryMah * batteryVoltageV : undefined;

  const transfersById = new Map(schedule.transfers.map((t) => [t.id, t]));
  const opsByBlock = new Map<string, number[]>();
  ir.ops.forEach((op, i) => {
    const list = opsByBlock.get(op.block);
    if (list) list.push(i);
    else opsByBlock.set(op.block, [i]);
  });
  const heads = spec.blocks
    .filter((b) => b.kind === 'head')
    .map((head): HeadCost => {
      // The path: the head, the chain of shared blocks it reads from, and the front end.
      const pathBlocks = new Set<string>([FEATURES_KEY]);
      for (let b: string | undefined = head.name; b !== undefined && !pathBlocks.has(b); ) {
        pathBlocks.add(b);
        b = spec.blocks.find((x) => x.name === b)?.from;
      }
      const used = new Set<string>();
      let energyMj = 0;
      for (const block of pathBlocks) {
        for (const i of opsByBlock.get(block) ?? []) {
          const op = schedule.ops[i];
          energyMj += op.energyMj;
          for (const id of op.inputTransfers) {
            if (used.has(id)) continue;
            used.add(id);
            energyMj += transfersById.get(id)!.energyMj;
          }
        }
      }
      for (const id of schedule.returnTransfers[head.name] ?? []) energyMj += transfersById.get(id)?.energyMj ?? 0;
      const processors: string[] = [];
      for (const i of opsByBlock.get(head.name) ?? []) {
        const p = schedule.ops[i].processor;
        if (!processors.includes(p)) processors.push(p);
      }
      return { head: head.name, latencyMs: schedule.blockReadyMs[head.name] ?? 0, energyMj, processors, firingProbability: ir.firingProbability[head.name] ?? 1 };
    });

  const budgetMs = spec.optimize.budgetMs;
  if (budgetMs !== undefined && endToEndLatencyMs > budgetMs) {
    issues.push({
      severity: 'warning',
      code: IssueCodes.LatencyBudget,
      message: `End-to-end latency ${formatMs(endToEndLatencyMs)} exceeds the ${formatMs(budgetMs)} budget on ${spec.target.name}; compress layers, move work to a faster processor, or raise the budget.`,
    });
  }
  const hopMs = spec.input.hopS * 1000;
  if (endToEndLatencyMs > hopMs) {
    issues.push({
      severity: 'warning',
      code: IssueCodes.LatencyBudget,
      message: `One window takes ${formatMs(endToEndLatencyMs)} on ${spec.target.name} but a new one arrives every ${formatMs(hopMs)}: the pipeline cannot keep up. Lengthen the hop or make the pipeline faster.`,
    });
  }

  const estimate: Estimate = {
    pipeline: spec.name,
    target: spec.target.name,
    endToEndLatencyMs,
    expectedLatencyMs,
    energyPerInferenceMj,
    computeEnergyMj,
    transferEnergyMj,
    inferencesPerHour,
    idlePowerMw,
    averagePowerMw,
    windowEnergyMj: power.windowEnergyMj,
    power,
    ...(batteryEnergyMwh !== undefined
      ? {
          batteryEnergyMwh,
          batteryLifeHours: averagePowerMw > 0 ? batteryEnergyMwh / averagePowerMw : Number.POSITIVE_INFINITY,
          batteryPercentPerDay: (100 * power.addedPowerMw * 24) / batteryEnergyMwh,
        }
      : {}),
    ...(budgetMs !== undefined ? { budgetMs } : {}),
    objective: 0,
    ...(features ? { features } : {}),
    layers,
    processors: schedule.processors,
    heads,
    transfers: schedule.transfers,
    timeline: schedule.timeline,
    issues,
    ir,
    schedule,
  };
  estimate.objective = objective(estimate, spec.optimize);
  return estimate;
}

/** The part of an {@link Estimate} the language needs (hover, CodeLens, fit warnings). */
export function toEstimateSummary(estimate: Estimate): PipelineEstimateSummary {
  return {
    endToEndLatencyMs: estimate.endToEndLatencyMs,
    energyPerInferenceMj: estimate.energyPerInferenceMj,
    ...(estimate.batteryLifeHours !== undefined ? { batteryLifeHours: estimate.batteryLifeHours } : {}),
    layers: estimate.layers.map((l) => ({ layerId: l.layerId, processor: l.processor, latencyMs: l.latencyMs, energyMj: l.energyMj })),
    heads: estimate.heads.map((h) => ({ head: h.head, latencyMs: h.latencyMs, energyMj: h.energyMj, processors: [...h.processors] })),
    issues: estimate.issues.map((i) => ({ ...i })),
  };
}

/**
 * The engine as the language's {@link PipelineEstimator}: estimates with the pipeline's
 * own placement and no weights. Never throws: an internal failure becomes an empty
 * estimate with one warning that says so.
 */
export const engineEstimator: PipelineEstimator = (spec) => {
  try {
    return toEstimateSummary(estimatePipeline(spec));
  } catch (e) {
    return {
      endToEndLatencyMs: 0,
      energyPerInferenceMj: 0,
      layers: [],
      heads: [],
      issues: [{ severity: 'warning', code: IssueCodes.EstimateFailed, message: `The cost estimate failed (${(e as Error).message}); please report this.` }],
    };
  }
};

/**
 * The expected compute and transfer energy, latency and power-model figures of a window
 * over the outcomes of the gates (module header); without gates, the schedule's own.
 */
function expectedFigures(spec: PipelineSpec, ir: PipelineIr, schedule: Schedule): { computeEnergyMj: number; transferEnergyMj: number; expectedLatencyMs: number; power: WindowPower } {
  const gated = new Set(Object.keys(ir.gates));
  if (gated.size === 0) {
    const computeEnergyMj = sum(schedule.ops, (o) => o.energyMj);
    const transferEnergyMj = sum(schedule.transfers, (t) => t.energyMj);
    return { computeEnergyMj, transferEnergyMj, expectedLatencyMs: schedule.makespanMs, power: windowPower(spec, ir, schedule, computeEnergyMj, transferEnergyMj) };
  }
  // The blocks whose running needs each transfer: the readers of its tensor, or the remote head it brings back.
  const needs = new Map<string, Set<string>>();
  const need = (id: string, block: string): void => {
    const set = needs.get(id);
    if (set) set.add(block);
    else needs.set(id, new Set([block]));
  };
  for (const o of schedule.ops) for (const id of o.inputTransfers) need(id, o.block);
  for (const [block, ids] of Object.entries(schedule.returnTransfers)) for (const id of ids) need(id, block);
  const featuresEndMs = Math.max(0, ...schedule.ops.filter((o) => o.block === FEATURES_KEY).map((o) => o.endMs));

  /** One outcome's figures with `weight(block)` in [0, 1] the share of it that runs. */
  const outcome = (weight: (block: string) => number) => {
    let computeMj = 0;
    const busy = new Map<string, number>(schedule.processors.map((u) => [u.name, 0]));
    for (const o of schedule.ops) {
      const w = o.block === FEATURES_KEY ? 1 : weight(o.block);
      computeMj += w * o.energyMj;
      busy.set(o.processor, busy.get(o.processor)! + w * o.latencyMs);
    }
    let transfersMj = 0;
    for (const t of schedule.transfers) transfersMj += Math.max(0, ...[...(needs.get(t.id) ?? [FEATURES_KEY])].map((b) => (b === FEATURES_KEY ? 1 : weight(b)))) * t.energyMj;
    let latencyMs = featuresEndMs;
    for (const b of spec.blocks) if (weight(b.name) > 0) latencyMs = Math.max(latencyMs, schedule.blockReadyMs[b.name] ?? 0);
    return { computeMj, transfersMj, latencyMs, power: windowPower(spec, ir, schedule, computeMj, transfersMj, busy) };
  };
  const scenarios = gateScenarios(spec.blocks, gated);
  if (!scenarios) {
    const o = outcome((b) => ir.firingProbability[b] ?? 1);
    return { computeEnergyMj: o.computeMj, transferEnergyMj: o.transfersMj, expectedLatencyMs: schedule.makespanMs, power: o.power };
  }
  let computeEnergyMj = 0;
  let transferEnergyMj = 0;
  let expectedLatencyMs = 0;
  const parts: { probability: number; power: WindowPower }[] = [];
  for (const s of scenarios) {
    const o = outcome((b) => (s.runs.has(b) ? 1 : 0));
    computeEnergyMj += s.probability * o.computeMj;
    transferEnergyMj += s.probability * o.transfersMj;
    expectedLatencyMs += s.probability * o.latencyMs;
    parts.push({ probability: s.probability, power: o.power });
  }
  return { computeEnergyMj, transferEnergyMj, expectedLatencyMs, power: expectedWindowPower(parts) };
}

/** IR op indices per layer id, in IR order. */
function groupOpsByLayer(ir: PipelineIr): Map<string, number[]> {
  const opsOfLayer = new Map<string, number[]>();
  ir.ops.forEach((op, i) => {
    if (op.layerId === undefined) return;
    const list = opsOfLayer.get(op.layerId);
    if (list) list.push(i);
    else opsOfLayer.set(op.layerId, [i]);
  });
  return opsOfLayer;
}

function sum<T>(items: readonly T[], f: (x: T) => number): number {
  let s = 0;
  for (const x of items) s += f(x);
  return s;
}
