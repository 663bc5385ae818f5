/**
 * The difference between two estimates of a pipeline (two versions of a `.sense` file, or one
 * file on two targets): layers matched by id (`encoder.2`; the feature front end is `features`),
 * processors by name, heads by name, and the totals, each figure with its value before, after and
 * the change after minus before. Pure: the CLI (`sense diff`) and the studio both read this one
 * comparison, so the two never disagree on what changed.
 */
import type { CompressionSpec } from '../language/pipeline-model';
import type { Estimate, LayerCost } from './estimate';
import type { ProcessorUsage } from './schedule';

/** How a layer (or head) differs between the two versions. */
export type DiffStatus = 'added' | 'removed' | 'changed' | 'same';

/** One layer's figures on one side of the comparison. */
export interface LayerSide {
  block: string;
  kind: string;
  processor: string;
  params: number;
  macs: number;
  weightBytes: number;
  latencyMs: number;
  energyMj: number;
  /** The `compress` line's compression, absent when the layer runs uncompressed. */
  compression?: CompressionSpec;
  /** The SVD rank the estimate used, and whether it was estimated without weights. */
  rank?: number;
  rankEstimated?: boolean;
}

/** A layer in both versions (or one of them): the changes are after minus before, a missing side counting as zero. */
export interface LayerDiff {
  id: string;
  status: DiffStatus;
  before: LayerSide | null;
  after: LayerSide | null;
  paramsDelta: number;
  macsDelta: number;
  weightBytesDelta: number;
  latencyMsDelta: number;
  energyMjDelta: number;
  /** True when the layer runs on another processor (a moved head or block, or another target's default). */
  moved: boolean;
  /** True when its compression (method or rank) differs. */
  compressionChanged: boolean;
}

/** One processor on one side. */
export interface ProcessorSide {
  ops: number;
  latencyMs: number;
  energyMj: number;
  memoryBytes: number;
  weightBytes: number;
  /** The processor's memory, null when the device gives no limit. */
  memoryLimitBytes: number | null;
}

/** A processor of either target, matched by name. */
export interface ProcessorDiff {
  name: string;
  status: DiffStatus;
  before: ProcessorSide | null;
  after: ProcessorSide | null;
  opsDelta: number;
  latencyMsDelta: number;
  energyMjDelta: number;
  memoryBytesDelta: number;
}

/** One head on one side: when its result is ready, the energy of its path, the processors on that path. */
export interface HeadSide {
  readyMs: number;
  pathEnergyMj: number;
  processors: string[];
  /** Held-out accuracy from the side's evaluation, when it has one for this head. */
  accuracy?: number;
}

/** A head of either version. `moved` when its path runs on other processors. */
export interface HeadDiff {
  head: string;
  status: DiffStatus;
  before: HeadSide | null;
  after: HeadSide | null;
  moved: boolean;
  readyMsDelta: number | null;
  pathEnergyMjDelta: number | null;
  /** After minus before, only when both sides were evaluated on this head. */
  accuracyDelta: number | null;
}

/** The pipeline's totals on one side. */
export interface TotalSide {
  latencyMs: number;
  energyPerInferenceMj: number;
  computeEnergyMj: number;
  transferEnergyMj: number;
  averagePowerMw: number;
  /** Null when the target has no battery. */
  batteryLifeHours: number | null;
  batteryPercentPerDay: number | null;
  params: number;
  macs: number;
  weightBytes: number;
  memoryBytes: number;
  objective: number;
}

/** The totals' changes (after minus before; null where either side has no value). */
export interface TotalDiff {
  before: TotalSide;
  after: TotalSide;
  latencyMsDelta: number;
  energyPerInferenceMjDelta: number;
  computeEnergyMjDelta: number;
  transferEnergyMjDelta: number;
  averagePowerMwDelta: number;
  batteryLifeHoursDelta: number | null;
  batteryPercentPerDayDelta: number | null;
  paramsDelta: number;
  macsDelta: number;
  weightBytesDelta: number;
  memoryBytesDelta: number;
  objectiveDelta: number;
}

/** The whole comparison. */
export interface PipelineDiff {
  pipeline: { before: string; after: string };
  target: { before: string; after: string; changed: boolean };
  layers: LayerDiff[];
  processors: ProcessorDiff[];
  heads: HeadDiff[];
  total: TotalDiff;
}

/** Held-out accuracy per head (a fraction from 0 to 1) of one side, when it was evaluated. */
export type HeadAccuracy = Readonly<Record<string, number>>;

/** One layer's figures as plain data: what `sense diff` compares, and what `sense estimate --json` lists for a layer besides its id and times. */
export function layerSide(l: LayerCost): LayerSide {
  return {
    block: l.block,
    kind: l.kind,
    processor: l.processor,
    params: l.params,
    macs: l.macs,
    weightBytes: l.weightBytes,
    latencyMs: l.latencyMs,
    energyMj: l.energyMj,
    ...(l.compression ? { compression: l.compression } : {}),
    ...(l.rank !== undefined ? { rank: l.rank, rankEstimated: l.rankEstimated ?? false } : {}),
  };
}

/** The layers of `e` by id, the feature front end as `features` first. */
function layerSides(e: Estimate): Map<string, LayerSide> {
  const sides = new Map<string, LayerSide>();
  const f = e.features;
  if (f) sides.set('features', { block: 'features', kind: 'front end', processor: f.processor, params: f.params, macs: f.macs, weightBytes: f.weightBytes, latencyMs: f.latencyMs, energyMj: f.energyMj });
  for (const l of e.layers) sides.set(l.layerId, layerSide(l));
  return sides;
}

/** Ids of both maps: those of `after` in its order, with the removed ones of `before` placed after the id that preceded them there. */
function mergedIds(before: readonly string[], after: readonly string[]): string[] {
  const out = [...after];
  const present = new Set(after);
  before.forEach((id, i) => {
    if (present.has(id)) return;
    const prev = before.slice(0, i).reverse().find((p) => out.includes(p));
    out.splice(prev === undefined ? 0 : out.indexOf(prev) + 1, 0, id);
  });
  return out;
}

/** The figures compared for a layer, a processor and the totals, each with a `...Delta` in the diff. */
const LAYER_FIGURES = ['params', 'macs', 'weightBytes', 'latencyMs', 'energyMj'] as const;
const PROCESSOR_FIGURES = ['ops', 'latencyMs', 'energyMj', 'memoryBytes'] as const;
/** The totals that every target has; the battery's figures, null without a battery, are compared apart. */
const TOTAL_FIGURES = ['latencyMs', 'energyPerInferenceMj', 'computeEnergyMj', 'transferEnergyMj', 'averagePowerMw', 'params', 'macs', 'weightBytes', 'memoryBytes', 'objective'] as const;

type Figures<K extends string> = Readonly<Record<K, number>>;

/** After minus before for each figure in `keys`, named `<figure>Delta`; a missing side counts as zero. */
function figureDeltas<K extends string>(before: Figures<K> | null, after: Figures<K> | null, keys: readonly K[]): { [P in K as `${P}Delta`]: number } {
  return Object.fromEntries(keys.map((k) => [`${k}Delta`, (after?.[k] ?? 0) - (before?.[k] ?? 0)])) as { [P in K as `${P}Delta`]: number };
}

/** True when any figure in `keys` differs between the sides, a missing side counting as zero. */
function figuresDiffer<K extends string>(before: Figures<K> | null, after: Figures<K> | null, keys: readonly K[]): boolean {
  return keys.some((k) => differs(before?.[k] ?? 0, after?.[k] ?? 0));
}

function sameCompression(a: LayerSide | null, b: LayerSide | null): boolean {
  return JSON.stringify(a?.compression ?? null) === JSON.stringify(b?.compression ?? null) && a?.rank === b?.rank;
}

function statusOf<T>(before: T | null, after: T | null, changed: boolean): DiffStatus {
  return before === null ? 'added' : after === null ? 'removed' : changed ? 'changed' : 'same';
}

/** True when two figures differ beyond rounding noise of the estimate's arithmetic. */
function differs(a: number, b: number): boolean {
  return Math.abs(a - b) > 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

function layerDiff(id: string, before: LayerSide | null, after: LayerSide | null): LayerDiff {
  const moved = before !== null && after !== null && before.processor !== after.processor;
  const compressionChanged = before !== null && after !== null && !sameCompression(before, after);
  const changed = moved || compressionChanged || figuresDiffer(before, after, LAYER_FIGURES) || before?.kind !== after?.kind;
  return { id, status: statusOf(before, after, changed), before, after, ...figureDeltas(before, after, LAYER_FIGURES), moved, compressionChanged };
}

/** One processor's figures as plain data (a memory limit the device does not give is null): what `sense diff` compares, and what `sense estimate --json` lists for a processor besides its name. */
export function processorSide(p: ProcessorUsage): ProcessorSide {
  return { ops: p.ops, latencyMs: p.latencyMs, energyMj: p.energyMj, memoryBytes: p.memoryBytes, weightBytes: p.weightBytes, memoryLimitBytes: Number.isFinite(p.memoryLimitBytes) ? p.memoryLimitBytes : null };
}

function processorDiff(name: string, before: ProcessorSide | null, after: ProcessorSide | null): ProcessorDiff {
  const changed = figuresDiffer(before, after, PROCESSOR_FIGURES) || before?.memoryLimitBytes !== after?.memoryLimitBytes;
  return { name, status: statusOf(before, after, changed), before, after, ...figureDeltas(before, after, PROCESSOR_FIGURES) };
}

function headSides(e: Estimate, accuracy: HeadAccuracy | undefined): Map<string, HeadSide> {
  return new Map(
    e.heads.map((h) => [h.head, { readyMs: h.latencyMs, pathEnergyMj: h.energyMj, processors: [...h.processors], ...(accuracy?.[h.head] !== undefined ? { accuracy: accuracy[h.head] } : {}) }]),
  );
}

function headDiff(head: string, before: HeadSide | null, after: HeadSide | null): HeadDiff {
  const both = before !== null && after !== null;
  const moved = both && [...before.processors].sort().join() !== [...after.processors].sort().join();
  const accuracyDelta = both && before.accuracy !== undefined && after.accuracy !== undefined ? after.accuracy - before.accuracy : null;
  const changed = moved || (both && (differs(before.readyMs, after.readyMs) || differs(before.pathEnergyMj, after.pathEnergyMj))) || (accuracyDelta !== null && accuracyDelta !== 0);
  return {
    head,
    status: statusOf(before, after, changed),
    before,
    after,
    moved,
    readyMsDelta: both ? after.readyMs - before.readyMs : null,
    pathEnergyMjDelta: both ? after.pathEnergyMj - before.pathEnergyMj : null,
    accuracyDelta,
  };
}

function totalSide(e: Estimate, layers: Iterable<LayerSide>): TotalSide {
  let params = 0;
  let macs = 0;
  let weightBytes = 0;
  for (const l of layers) {
    params += l.params;
    macs += l.macs;
    weightBytes += l.weightBytes;
  }
  return {
    latencyMs: e.endToEndLatencyMs,
    energyPerInferenceMj: e.energyPerInferenceMj,
    computeEnergyMj: e.computeEnergyMj,
    transferEnergyMj: e.transferEnergyMj,
    averagePowerMw: e.averagePowerMw,
    batteryLifeHours: e.batteryLifeHours ?? null,
    batteryPercentPerDay: e.batteryPercentPerDay ?? null,
    params,
    macs,
    weightBytes,
    memoryBytes: e.processors.reduce((s, p) => s + p.memoryBytes, 0),
    objective: e.objective,
  };
}

function nullableDelta(before: number | null, after: number | null): number | null {
  return before === null || after === null || !Number.isFinite(before) || !Number.isFinite(after) ? null : after - before;
}

/**
 * Compares the estimate `before` with `after`. Layers are matched by id and listed in the order
 * of `after`, a removed layer after the layer that preceded it; processors and heads likewise by
 * name. `accuracy` holds each side's held-out accuracy per head where that side was evaluated;
 * a head's accuracy change is given only where both were.
 */
export function diffEstimates(before: Estimate, after: Estimate, accuracy: { before?: HeadAccuracy; after?: HeadAccuracy } = {}): PipelineDiff {
  const lb = layerSides(before);
  const la = layerSides(after);
  const pb = new Map(before.processors.map((p) => [p.name, processorSide(p)]));
  const pa = new Map(after.processors.map((p) => [p.name, processorSide(p)]));
  const hb = headSides(before, accuracy.before);
  const ha = headSides(after, accuracy.after);
  const tb = totalSide(before, lb.values());
  const ta = totalSide(after, la.values());
  return {
    pipeline: { before: before.pipeline, after: after.pipeline },
    target: { before: before.target, after: after.target, changed: before.target !== after.target },
    layers: mergedIds([...lb.keys()], [...la.keys()]).map((id) => layerDiff(id, lb.get(id) ?? null, la.get(id) ?? null)),
    processors: mergedIds([...pb.keys()], [...pa.keys()]).map((name) => processorDiff(name, pb.get(name) ?? null, pa.get(name) ?? null)),
    heads: mergedIds([...hb.keys()], [...ha.keys()]).map((head) => headDiff(head, hb.get(head) ?? null, ha.get(head) ?? null)),
    total: {
      before: tb,
      after: ta,
      ...figureDeltas(tb, ta, TOTAL_FIGURES),
      batteryLifeHoursDelta: nullableDelta(tb.batteryLifeHours, ta.batteryLifeHours),
      batteryPercentPerDayDelta: nullableDelta(tb.batteryPercentPerDay, ta.batteryPercentPerDay),
    },
  };
}
