/**
 * Fits a timings-only device profile (the bundle's profiling mode, runtime/runner.ts
 * BundleRunner.profile, run on a phone or in a browser): each sample names a partition's
 * layers or the front end, and gets its MACs and bytes from the pipeline's IR on the
 * profile's device, one part per IR op; then ./fit.ts fits the processor: the roofline to
 * the partitions (each layer's ops; the front end joins them when there are fewer than
 * 3 partitions to fit 3 parameters), the front end's own throughput to its timing
 * (fitFrontendThroughput), and the fixed cost of a partition run to what the whole
 * window spends outside the front end and the partitions' `session.run`, per partition
 * (the runner's glue; ONNX Runtime's own per-run cost is inside the partition timings,
 * where the roofline's per-op overhead takes it). Pure.
 */
import type { PipelineSpec } from '../../language/pipeline-model';
import { FEATURES_KEY } from '../../language/pipeline-model';
import { opBytes } from '../cost-model';
import { estimatePipeline } from '../estimate';
import { fitDispatchMs, fitFrontendThroughput, fitRoofline, type RooflineFit } from './fit';
import type { DeviceProfile, ProfileSample } from '../../runtime/device-profile';
import { applyProfile } from './profile';

/**
 * One row of an estimated-versus-measured table, shared by `sense calibrate` (node-calibrate.ts)
 * and fitted timings profiles: `id` is a layer or partition id, `features` for the front end,
 * or `dispatch` for the time outside any op.
 */
export interface TimingsRow {
  id: string;
  kind: string;
  macs: number;
  bytes: number;
  measuredMs: number;
  beforeMs: number;
  afterMs: number;
}

/**
 * Fills the samples of `timings` from `spec`'s IR and fits `timings.processor`. Throws an
 * Error naming `source` when a sample names a layer the pipeline lacks, or the fit fails.
 */
export function fitTimingsProfile(spec: PipelineSpec, timings: DeviceProfile, source: string): { profile: DeviceProfile; fit: RooflineFit; rows: TimingsRow[]; endToEnd: { measuredMs: number; beforeMs: number; afterMs: number } } {
  const before = estimatePipeline(spec);
  const ops = new Map(before.ir.ops.map((o) => [o.id, o]));
  const layers = new Map(before.layers.map((l) => [l.layerId, l]));
  const samples: ProfileSample[] = timings.samples.map((s) => {
    let opIds: string[];
    let beforeMs: number;
    if (s.op === FEATURES_KEY) {
      opIds = before.features?.ops ?? [];
      beforeMs = before.features?.latencyMs ?? 0;
    } else {
      const ids = s.layers ?? [s.op];
      opIds = [];
      beforeMs = 0;
      for (const id of ids) {
        const l = layers.get(id);
        if (!l) throw new Error(`${source}: sample ${s.op} names layer ${id}, which pipeline ${spec.name} does not have; profile a bundle exported from this pipeline`);
        opIds.push(...l.ops);
        beforeMs += l.latencyMs;
      }
    }
    const parts = opIds.map((id) => ops.get(id)!).filter((o) => !o.noop).map((o) => ({ macs: o.macs, bytes: opBytes(o) }));
    const macs = parts.reduce((a, p) => a + p.macs, 0);
    const bytes = parts.reduce((a, p) => a + p.bytes, 0);
    return { ...s, macs, bytes, ...(parts.length > 1 ? { parts } : {}), estimatedBeforeMs: beforeMs };
  });
  const used = samples.filter((s) => s.measuredMs > 0 && (s.macs > 0 || s.bytes > 0));
  const partitions = used.filter((s) => s.op !== FEATURES_KEY);
  const front = used.find((s) => s.op === FEATURES_KEY);
  const separate = partitions.length >= 3 && front !== undefined && front.macs > 0;
  const fitOn = separate ? partitions : used;
  const fit = fitRoofline(fitOn, { names: fitOn.map((s) => `sample ${s.op}`), weighting: 'time' });
  if (!Number.isFinite(fit.computeMacsPerS) || !Number.isFinite(fit.bandwidthBytesPerS)) throw new Error(`${source}: the timings do not determine compute and bandwidth`);
  const frontend = separate ? fitFrontendThroughput([front!], fit) : undefined;
  const fitted: DeviceProfile = {
    ...timings,
    device: spec.target.name,
    fitted: true,
    computeMacsPerS: fit.computeMacsPerS,
    bandwidthBytesPerS: fit.bandwidthBytesPerS,
    overheadMs: fit.overheadMs,
    ...(frontend && Number.isFinite(frontend.frontendMacsPerS) ? { frontendMacsPerS: frontend.frontendMacsPerS } : {}),
    samples,
  };
  delete fitted.dispatchMs;
  const partitionRuns = samples.filter((s) => s.op !== FEATURES_KEY).length;
  if (timings.endToEnd && partitionRuns > 0) {
    const inside = samples.reduce((a, s) => a + s.measuredMs, 0);
    fitted.dispatchMs = fitDispatchMs([{ measuredMs: timings.endToEnd.measuredMs, opsMs: Math.min(inside, timings.endToEnd.measuredMs), partitions: partitionRuns }]).dispatchMs;
  }
  const after = estimatePipeline(applyProfile(spec, fitted, source));
  const afterLayers = new Map(after.layers.map((l) => [l.layerId, l]));
  // A partition's own ops, without the dispatch charged to its first layer (it is outside session.run).
  const own = (id: string): number => (afterLayers.get(id)?.latencyMs ?? 0) - (afterLayers.get(id)?.dispatchMs ?? 0);
  const rows: TimingsRow[] = samples.map((s) => {
    const afterMs = s.op === FEATURES_KEY ? (after.features?.latencyMs ?? 0) : (s.layers ?? [s.op]).reduce((a, id) => a + own(id), 0);
    s.estimatedAfterMs = afterMs;
    return { id: s.op, kind: s.op === FEATURES_KEY ? 'front end' : 'partition', macs: s.macs, bytes: s.bytes, measuredMs: s.measuredMs, beforeMs: s.estimatedBeforeMs ?? 0, afterMs };
  });
  const measuredMs = timings.endToEnd?.measuredMs ?? samples.reduce((a, s) => a + s.measuredMs, 0);
  const endToEnd = { measuredMs, beforeMs: before.endToEndLatencyMs, afterMs: after.endToEndLatencyMs };
  fitted.endToEnd = { pipeline: spec.name, measuredMs, estimatedBeforeMs: endToEnd.beforeMs, estimatedAfterMs: endToEnd.afterMs };
  return { profile: fitted, fit, rows, endToEnd };
}
