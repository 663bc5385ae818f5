/**
 * Several pipelines on one device (DeepX's global task queue): each runs at its own window
 * rate, and the processors they share carry the work of all of them. The combined figures
 * are the continuous-sensing power model (engine/power-model.ts) per second instead of per
 * window, with each processor's busy time and wake-ups added over the pipelines:
 *
 * - the load of processor p is u_p = sum_i b_ip / H_i (busy ms per ms), b_ip its busy time in
 *   one window of pipeline i (expected over the gates' outcomes) and H_i that pipeline's hop;
 * - compute and transfers: sum_i (compute_i + transfers_i) / H_i;
 * - a processor that samples for any pipeline keeps the stream for all of them (one stream
 *   per sampling processor: pipelines on one sensor share it) and draws its sampling power
 *   while not busy: sampling_p x (1 - u_p);
 * - every other local processor used by some pipeline wakes w_p = sum_i [b_ip > 0] / H_i
 *   times per ms (windows of different pipelines are not aligned, so each wakes it), with
 *   the gap between wake-ups spread evenly, g_p = (1 - u_p) / w_p; it stays awake
 *   (idle_p x (1 - u_p)) or sleeps after each tail (w_p x (idle_p x min(tail_p, g_p) +
 *   sleep_p x max(0, g_p - tail_p) + wake_p)), whichever is cheaper, as for one pipeline;
 * - a local processor nobody uses sleeps; the baseline is counted once.
 *
 * For one pipeline without gates this is exactly its own estimate's average power. With
 * gates, each processor's expected busy time is used and it is taken to wake on every
 * window: an upper bound of the pipeline's own figure (its standby energy is concave in
 * the busy time). Both the load and the wake-ups only grow when a pipeline is added, and
 * the per-processor cost, compute included, never falls as they grow (active >= idle >=
 * sleep, and idle <= sampling <= active), so several pipelines together never last longer
 * than any one of them alone. A device whose sampling figure is below its processor's idle
 * power (snapdragon8gen3's sensing island, modelled on its NPU) can break that when another
 * pipeline makes that processor its sampler.
 *
 * Contention: a window that arrives while another pipeline's work holds a shared processor
 * waits for it (ops are not pre-empted). `worstLatencyMs` bounds that: the pipeline's own
 * latency plus, for every processor it uses, the busy time every other pipeline has there
 * in one of its windows. A load above 1 means the pipelines cannot keep up together.
 */
import type { DeviceSpec, PipelineSpec } from '../language/pipeline-model';
import { estimatePipeline, type Estimate, type EstimateOptions } from './estimate';
import { samplingPowerMw, type PowerCause } from './power-model';

/** One pipeline's figures alone and beside the others. */
export interface PipelineTogether {
  pipeline: string;
  hopMs: number;
  /** Its own average power, device baseline included, as if it ran alone. */
  averagePowerMw: number;
  /** Battery life were it the only pipeline; undefined without a battery. */
  batteryLifeHours?: number;
  /** Its own end-to-end latency (alone). */
  endToEndLatencyMs: number;
  /** Its latency when every other pipeline's work on the processors it uses comes first (module header). */
  worstLatencyMs: number;
  /** The processor that samples its input. */
  sampler: string;
}

/** One processor under all the pipelines. */
export interface ProcessorTogether {
  name: string;
  /** Busy milliseconds per millisecond: the share of time some pipeline's work holds it (above 1: overloaded). */
  load: number;
  /** Wake-ups per second when it sleeps between work (0 for a sampler, an awake or an unused processor). */
  wakeUpsPerS: number;
  /** `sampling`: it keeps a sensor stream; `sleeps` between work; `awake` between work; `asleep`: nobody uses it. */
  state: 'sampling' | 'sleeps' | 'awake' | 'asleep';
  /** The pipelines that use it or sample on it. */
  pipelines: string[];
}

/** The combined estimate of pipelines on one device. */
export interface CombinedEstimate {
  target: string;
  /** The device's average power with every pipeline running, mW. */
  averagePowerMw: number;
  /** Average power by cause (as {@link WindowPower.averagePowerByCauseMw}), mW. */
  averagePowerByCauseMw: Record<PowerCause, number>;
  /** The device at rest: baseline plus every local processor asleep, mW. */
  restPowerMw: number;
  /** averagePowerMw - restPowerMw, mW. */
  addedPowerMw: number;
  batteryEnergyMwh?: number;
  batteryLifeHours?: number;
  /** Share of the battery the pipelines together use in 24 h above the device at rest, percent. */
  batteryPercentPerDay?: number;
  processors: ProcessorTogether[];
  /** Processors whose load is above 1, with a sentence each. */
  overloaded: string[];
}

/** What {@link estimateTogether} returns. */
export interface TogetherEstimate {
  pipelines: PipelineTogether[];
  combined: CombinedEstimate;
  /** Each pipeline's own estimate, in the order given. */
  estimates: Estimate[];
}

/** Pipelines that cannot be estimated together (different targets); the message names them. */
export class TogetherError extends Error {}

/**
 * Estimates `specs` running together on their common target (rules in this module's
 * header). `options[i]` are the estimate options of `specs[i]` (rank resolvers,
 * placements). Throws {@link TogetherError} when the pipelines target different devices
 * or devices of one name with different figures, or when none is given.
 */
export function estimateTogether(specs: readonly PipelineSpec[], options: readonly EstimateOptions[] = []): TogetherEstimate {
  if (specs.length === 0) throw new TogetherError('no pipeline to estimate');
  const device = specs[0].target;
  for (const s of specs.slice(1)) {
    if (s.target.name !== device.name) {
      throw new TogetherError(`pipelines on different devices cannot share processors: ${specs[0].name} targets ${device.name}, ${s.name} targets ${s.target.name}; give them one target (or sense estimate FILE --target DEVICE each)`);
    }
    if (!sameFigures(s.target, device)) {
      throw new TogetherError(`${specs[0].name} and ${s.name} both target '${device.name}' but its figures differ between their files; declare the device once (or give both the same figures)`);
    }
  }
  const estimates = specs.map((s, i) => estimatePipeline(s, options[i] ?? {}));
  return { pipelines: estimates.map((e, i) => ({ ...alone(e, specs[i]), worstLatencyMs: worstLatency(estimates, i) })), combined: combine(device, specs, estimates), estimates };
}

function alone(e: Estimate, spec: PipelineSpec): Omit<PipelineTogether, 'worstLatencyMs'> {
  return {
    pipeline: spec.name,
    hopMs: spec.input.hopS * 1000,
    averagePowerMw: e.averagePowerMw,
    ...(e.batteryLifeHours !== undefined ? { batteryLifeHours: e.batteryLifeHours } : {}),
    endToEndLatencyMs: e.endToEndLatencyMs,
    sampler: e.power.sampler,
  };
}

/** Busy time (ms) of `processor` in one window of `e` (expected over the gates' outcomes). */
function busyMs(e: Estimate, processor: string): number {
  return e.power.processors.find((p) => p.name === processor)?.busyMs ?? 0;
}

function worstLatency(estimates: readonly Estimate[], i: number): number {
  const own = estimates[i];
  let waitMs = 0;
  for (const p of own.processors) {
    if (p.ops === 0) continue;
    estimates.forEach((other, j) => {
      if (j !== i) waitMs += other.processors.find((q) => q.name === p.name)?.latencyMs ?? 0;
    });
  }
  return own.endToEndLatencyMs + waitMs;
}

function combine(device: DeviceSpec, specs: readonly PipelineSpec[], estimates: readonly Estimate[]): CombinedEstimate {
  const cause: Record<PowerCause, number> = { compute: 0, transfers: 0, sampling: 0, wakeUps: 0, idle: 0, sleep: 0, baseline: device.baselinePowerMw };
  estimates.forEach((e, i) => {
    const hopS = specs[i].input.hopS;
    cause.compute += e.computeEnergyMj / hopS;
    cause.transfers += e.transferEnergyMj / hopS;
  });
  let restPowerMw = device.baselinePowerMw;
  const processors: ProcessorTogether[] = [];
  const overloaded: string[] = [];
  for (const p of device.processors) {
    if (p.remote) continue;
    restPowerMw += p.sleepPowerMw;
    let load = 0;
    let wakesPerMs = 0;
    const users: string[] = [];
    let samples = false;
    estimates.forEach((e, i) => {
      const b = busyMs(e, p.name);
      const hopMs = specs[i].input.hopS * 1000;
      const sampler = e.power.sampler === p.name;
      samples ||= sampler;
      if (b > 0 || sampler) users.push(specs[i].name);
      if (b > 0) {
        load += b / hopMs;
        wakesPerMs += 1 / hopMs;
      }
    });
    if (load > 1) overloaded.push(`${p.name} would be busy ${(100 * load).toFixed(1)}% of the time: the pipelines cannot keep up together; lengthen a hop, compress layers or place work elsewhere.`);
    const freeShare = Math.max(0, 1 - load);
    let state: ProcessorTogether['state'];
    let wakeUpsPerS = 0;
    if (samples) {
      state = 'sampling';
      cause.sampling += samplingPowerMw(p) * freeShare;
    } else if (wakesPerMs === 0) {
      state = 'asleep';
      cause.sleep += p.sleepPowerMw;
    } else {
      // Per millisecond, as the one-window rule of power-model.ts standbyEnergyMj per gap.
      const gapMs = freeShare / wakesPerMs;
      const tailMs = Math.min(p.tailMs, gapMs);
      const awakeMw = p.idlePowerMw * freeShare;
      const tailMw = wakesPerMs * p.idlePowerMw * tailMs;
      const sleepMw = wakesPerMs * p.sleepPowerMw * (gapMs - tailMs);
      const wakeMw = wakesPerMs * p.wakeEnergyMj * 1000;
      if (tailMw + sleepMw + wakeMw < awakeMw) {
        state = 'sleeps';
        wakeUpsPerS = wakesPerMs * 1000;
        cause.idle += tailMw;
        cause.sleep += sleepMw;
        cause.wakeUps += wakeMw;
      } else {
        state = 'awake';
        cause.idle += awakeMw;
      }
    }
    processors.push({ name: p.name, load, wakeUpsPerS, state, pipelines: users });
  }
  const averagePowerMw = Object.values(cause).reduce((a, b) => a + b, 0);
  const { batteryMah, batteryVoltageV } = device;
  const batteryEnergyMwh = batteryMah !== undefined && batteryVoltageV !== undefined ? batteryMah * batteryVoltageV : undefined;
  const addedPowerMw = averagePowerMw - restPowerMw;
  return {
    target: device.name,
    averagePowerMw,
    averagePowerByCauseMw: cause,
    restPowerMw,
    addedPowerMw,
    ...(batteryEnergyMwh !== undefined
      ? {
          batteryEnergyMwh,
          batteryLifeHours: averagePowerMw > 0 ? batteryEnergyMwh / averagePowerMw : Number.POSITIVE_INFINITY,
          batteryPercentPerDay: (100 * addedPowerMw * 24) / batteryEnergyMwh,
        }
      : {}),
    processors,
    overloaded,
  };
}

/** Whether two lowerings of a device have the same figures (sources and source ranges aside). */
function sameFigures(a: DeviceSpec, b: DeviceSpec): boolean {
  const figures = (d: DeviceSpec): string => JSON.stringify({ ...d, sources: [], processors: d.processors.map((p) => ({ ...p, sources: [] })) });
  return figures(a) === figures(b);
}
