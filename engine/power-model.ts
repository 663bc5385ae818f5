/**
 * The continuous-sensing power model: what one window costs a device that senses all day,
 * by cause. A phone or watch with its screen off spends most of each window waiting, so
 * what decides battery life is which processors must stay awake or wake up, not the
 * arithmetic (DSP.Ear, SenSys 2014; DeepEar, UbiComp 2015). Figures come from the
 * processors' power states (`idle`, `sleep`, `wake`, `wakelatency`, `tail`, `sampling`)
 * and the device's `baseline` (language/pipeline-model.ts).
 *
 * Per window of hop H (ms), with b_p the busy time of processor p in the schedule (the sum
 * of its ops' latencies, dispatch included) and g_p = max(0, H - b_p) its time without work:
 * - compute: the ops' energy (active power while busy, memory traffic), as before;
 * - transfers: the tensors moved between processors, as before;
 * - sampling: the sampler s (below) keeps the sensor stream, so it never sleeps and draws
 *   its sampling power between its work: samplingPowerMw_s x g_s;
 * - for every other local processor p that does work in the window, the cheaper of
 *     staying awake:   idle_p x g_p, or
 *     sleeping:        idle_p x min(tail_p, g_p) + sleep_p x max(0, g_p - tail_p) + wake_p,
 *   i.e. it sleeps after its tail only when the gap repays the wake-up (break-even), as a
 *   periodic sensing scheduler that knows when the next window comes would choose. The first
 *   counts as idle; the second as idle (the tail), sleep and wake-ups;
 * - a local processor without work sleeps through the window: sleep_p x H;
 * - baseline: the device's baseline power x H.
 * Remote processors are not the device's and cost nothing here (their link's radio is in
 * the transfers). Since sleep <= idle <= active (lowering checks it), more work on any
 * processor never lowers the energy of a window: busy time costs active power and takes
 * away gap time that costs at most idle power, and starting to use a processor costs at
 * least its sleep power.
 *
 * The sampler: the processor that runs the front end (the ops that read the input window)
 * when it can take a sensor stream (it has a `sampling` figure), else the device's
 * default processor; one without a `sampling` figure samples at its idle power (awake).
 * So a microphone stream kept on a DSP lets the CPU sleep between windows, and a front
 * end on the CPU keeps the CPU awake all day. The window starts in the sampler's memory
 * (engine/schedule.ts), so a front end on a processor that cannot sample pays the raw
 * samples' transfer from the default processor.
 *
 * Gated heads (engine/gate-scenarios.ts): the estimate computes these figures for each
 * outcome of the gates, with the busy times of the ops that run in it, and averages them
 * by the outcomes' probabilities ({@link expectedWindowPower}), so a processor that only a
 * gated head uses sleeps through the windows on which the gate stays closed.
 *
 * The pipeline's own draw is the average power above the device at rest (baseline plus
 * every local processor asleep); battery per day is that draw over 24 h, as DeepEar
 * reports its 6 %, and battery life is the battery over the whole average power.
 */
import type { DeviceSpec, PipelineSpec, ProcessorSpec } from '../language/pipeline-model';
import type { PipelineIr } from './ir';
import type { Schedule } from './schedule';

/** Energy of one window by cause, in millijoules. */
export interface WindowEnergyByCause {
  /** The ops' energy (active power while busy and memory traffic). */
  computeMj: number;
  /** Tensors moved between processors. */
  transfersMj: number;
  /** The sampler's power while it keeps the sensor stream between its work. */
  samplingMj: number;
  /** Wake-up energy of the processors that sleep between windows. */
  wakeUpsMj: number;
  /** Awake and idle: tails after work, and gaps too short to repay a wake-up. */
  idleMj: number;
  /** Processors asleep. */
  sleepMj: number;
  /** The device's baseline (screen off). */
  baselineMj: number;
}

/** A cause of the window's energy: the keys of {@link WindowEnergyByCause} without their unit. */
export type PowerCause = { [K in keyof WindowEnergyByCause]: K extends `${infer C}Mj` ? C : never }[keyof WindowEnergyByCause];

/** What one local processor does between windows. */
export interface ProcessorPowerState {
  name: string;
  /** `sampling`: it keeps the sensor stream; `sleeps`: it wakes once per window; `awake`: it stays awake between windows; `asleep`: it has no work. */
  state: 'sampling' | 'sleeps' | 'awake' | 'asleep';
  busyMs: number;
  /** Its standby energy per window (sampling, idle, sleep and wake-ups), mJ. */
  standbyMj: number;
}

/** The power model's figures for one pipeline at its window rate. */
export interface WindowPower {
  hopMs: number;
  /** The processor that samples the sensor. */
  sampler: string;
  byCause: WindowEnergyByCause;
  /** Sum of byCause: the energy of one window, mJ. */
  windowEnergyMj: number;
  /** windowEnergyMj / hop: average power of the device running the pipeline, baseline included. */
  averagePowerMw: number;
  /** Average power per cause, mW: byCause over the hop, keyed by the cause alone (compute, sampling, ...). */
  averagePowerByCauseMw: Record<PowerCause, number>;
  /** The device at rest: baseline plus every local processor asleep, mW. */
  restPowerMw: number;
  /** averagePowerMw - restPowerMw: what the pipeline adds, mW. */
  addedPowerMw: number;
  /** The largest wake-up latency of a processor that sleeps between windows (not in the schedule's makespan). */
  wakeLatencyMs: number;
  processors: ProcessorPowerState[];
}

/**
 * The sampler of `spec` when the ops that read the input window run on `frontEndProcessor`
 * (rules in this module's header).
 */
export function samplerOf(device: DeviceSpec, frontEndProcessor: string | undefined): string {
  const p = device.processors.find((x) => x.name === frontEndProcessor);
  if (p && !p.remote && p.samplingPowerMw !== undefined) return p.name;
  return device.defaultProcessor;
}

/** The power a processor draws while it samples: its `sampling` figure, else its idle power. */
export function samplingPowerMw(p: ProcessorSpec): number {
  return p.samplingPowerMw ?? p.idlePowerMw;
}

/**
 * Standby energy (mJ) of a non-sampling processor `p` that is busy `busyMs` of a window of
 * `hopMs`: the cheaper of staying awake and sleeping after its tail (this module's header).
 */
export function standbyEnergyMj(p: ProcessorSpec, busyMs: number, hopMs: number): { energyMj: number; sleeps: boolean; idleMj: number; sleepMj: number; wakeMj: number } {
  const gapMs = Math.max(0, hopMs - busyMs);
  const awakeMj = p.idlePowerMw * gapMs * 1e-3;
  const tailMs = Math.min(p.tailMs, gapMs);
  const sleepMj = p.sleepPowerMw * (gapMs - tailMs) * 1e-3;
  const tailMj = p.idlePowerMw * tailMs * 1e-3;
  const sleepingMj = tailMj + sleepMj + p.wakeEnergyMj;
  if (sleepingMj < awakeMj) return { energyMj: sleepingMj, sleeps: true, idleMj: tailMj, sleepMj, wakeMj: p.wakeEnergyMj };
  return { energyMj: awakeMj, sleeps: false, idleMj: awakeMj, sleepMj: 0, wakeMj: 0 };
}

/**
 * One linear piece of a processor's standby energy as a function of its busy time b:
 * constantMj - rateMw x b x 1e-3. The standby energy of a used processor is the least of
 * its pieces while b <= hop (the partitioner minimises over pieces, engine/partition/).
 */
export interface StandbyPiece {
  state: 'sampling' | 'awake' | 'sleeps';
  constantMj: number;
  rateMw: number;
}

/**
 * The linear pieces of `p`'s standby energy in a window of `hopMs` (one for the sampler,
 * else staying awake and sleeping after the tail; see {@link standbyEnergyMj}). For
 * b <= hopMs the least piece equals {@link standbyEnergyMj} (or the sampler's
 * sampling energy), and every piece at b = 0 is at least the sleep energy of a processor
 * without work.
 */
export function standbyPieces(p: ProcessorSpec, hopMs: number, sampler: boolean): StandbyPiece[] {
  if (sampler) return [{ state: 'sampling', constantMj: samplingPowerMw(p) * hopMs * 1e-3, rateMw: samplingPowerMw(p) }];
  const awake: StandbyPiece = { state: 'awake', constantMj: p.idlePowerMw * hopMs * 1e-3, rateMw: p.idlePowerMw };
  // For b <= hop - tail the sleeping branch is linear in b; for larger b it is above the awake
  // piece (the tail alone costs what staying awake does, plus the wake-up), so extending the
  // line there never undercuts the true least.
  const sleeps: StandbyPiece = {
    state: 'sleeps',
    constantMj: (p.idlePowerMw * p.tailMs + p.sleepPowerMw * (hopMs - p.tailMs)) * 1e-3 + p.wakeEnergyMj,
    rateMw: p.sleepPowerMw,
  };
  const same = sleeps.rateMw === awake.rateMw && sleeps.constantMj >= awake.constantMj;
  return same ? [awake] : [awake, sleeps];
}

/**
 * The power model's figures for `spec` with `schedule` (rules in this module's header).
 * `computeMj` and `transfersMj` are the schedule's op and transfer energies; `ir` is the IR
 * the schedule was made from. `busyMs` replaces the schedule's busy time per processor
 * (one outcome of the gates, where only some heads run); a processor it omits is idle.
 */
export function windowPower(spec: PipelineSpec, ir: PipelineIr, schedule: Schedule, computeMj: number, transfersMj: number, busyMs?: ReadonlyMap<string, number>): WindowPower {
  const device = spec.target;
  const hopMs = spec.input.hopS * 1000;
  // The ops that read the window have no producer: the front end's first op, or the first layer.
  const frontEnd = schedule.ops[ir.ops.findIndex((o) => o.inputs.length === 0)]?.processor;
  const sampler = samplerOf(device, frontEnd);
  const busy = busyMs ?? new Map(schedule.processors.map((u) => [u.name, u.latencyMs]));
  const byCause: WindowEnergyByCause = { computeMj, transfersMj, samplingMj: 0, wakeUpsMj: 0, idleMj: 0, sleepMj: 0, baselineMj: device.baselinePowerMw * hopMs * 1e-3 };
  const processors: ProcessorPowerState[] = [];
  let restPowerMw = device.baselinePowerMw;
  let wakeLatencyMs = 0;
  for (const p of device.processors) {
    if (p.remote) continue;
    restPowerMw += p.sleepPowerMw;
    const busyMs = busy.get(p.name) ?? 0;
    if (p.name === sampler) {
      const energyMj = samplingPowerMw(p) * Math.max(0, hopMs - busyMs) * 1e-3;
      byCause.samplingMj += energyMj;
      processors.push({ name: p.name, state: 'sampling', busyMs, standbyMj: energyMj });
    } else if (busyMs <= 0) {
      const energyMj = p.sleepPowerMw * hopMs * 1e-3;
      byCause.sleepMj += energyMj;
      processors.push({ name: p.name, state: 'asleep', busyMs, standbyMj: energyMj });
    } else {
      const s = standbyEnergyMj(p, busyMs, hopMs);
      byCause.idleMj += s.idleMj;
      byCause.sleepMj += s.sleepMj;
      byCause.wakeUpsMj += s.wakeMj;
      if (s.sleeps) wakeLatencyMs = Math.max(wakeLatencyMs, p.wakeLatencyMs);
      processors.push({ name: p.name, state: s.sleeps ? 'sleeps' : 'awake', busyMs, standbyMj: s.energyMj });
    }
  }
  const windowEnergyMj = Object.values(byCause).reduce((a, b) => a + b, 0);
  const hopS = spec.input.hopS;
  const averagePowerMw = windowEnergyMj / hopS;
  // The keys lose byCause's `Mj` suffix: these figures are mW.
  const averagePowerByCauseMw = Object.fromEntries(Object.entries(byCause).map(([k, v]) => [k.replace(/Mj$/, ''), v / hopS])) as Record<PowerCause, number>;
  return { hopMs, sampler, byCause, windowEnergyMj, averagePowerMw, averagePowerByCauseMw, restPowerMw, addedPowerMw: averagePowerMw - restPowerMw, wakeLatencyMs, processors };
}

/**
 * The expectation of the power model's figures over outcomes of probability `probability`
 * (adding up to 1): energies and powers are averaged; each processor's state is the one of
 * the most likely outcome in which it works (else of the most likely outcome), with its busy
 * time and standby energy averaged; the wake-up latency is the largest of any outcome.
 * `parts` holds at least one outcome; one outcome is returned as it is.
 */
export function expectedWindowPower(parts: readonly { probability: number; power: WindowPower }[]): WindowPower {
  if (parts.length === 1) return parts[0].power;
  const first = parts[0].power;
  const byCause = Object.fromEntries(Object.keys(first.byCause).map((k) => [k, 0])) as unknown as WindowEnergyByCause;
  const averagePowerByCauseMw = Object.fromEntries(Object.keys(first.averagePowerByCauseMw).map((k) => [k, 0])) as Record<PowerCause, number>;
  let windowEnergyMj = 0;
  let averagePowerMw = 0;
  let addedPowerMw = 0;
  let wakeLatencyMs = 0;
  const byLikelihood = [...parts].sort((a, b) => b.probability - a.probability);
  const processors = first.processors.map((_, i) => {
    const working = byLikelihood.find((x) => x.power.processors[i].busyMs > 0) ?? byLikelihood[0];
    return { ...working.power.processors[i], busyMs: 0, standbyMj: 0 };
  });
  for (const { probability, power } of parts) {
    for (const k of Object.keys(byCause) as (keyof WindowEnergyByCause)[]) byCause[k] += probability * power.byCause[k];
    for (const k of Object.keys(averagePowerByCauseMw) as PowerCause[]) averagePowerByCauseMw[k] += probability * power.averagePowerByCauseMw[k];
    windowEnergyMj += probability * power.windowEnergyMj;
    averagePowerMw += probability * power.averagePowerMw;
    addedPowerMw += probability * power.addedPowerMw;
    if (probability > 0) wakeLatencyMs = Math.max(wakeLatencyMs, power.wakeLatencyMs);
    power.processors.forEach((p, i) => {
      processors[i].busyMs += probability * p.busyMs;
      processors[i].standbyMj += probability * p.standbyMj;
    });
  }
  return { hopMs: first.hopMs, sampler: first.sampler, byCause, windowEnergyMj, averagePowerMw, averagePowerByCauseMw, restPowerMw: first.restPowerMw, addedPowerMw, wakeLatencyMs, processors };
}
