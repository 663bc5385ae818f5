/**
 * Applying measured device profiles (runtime/device-profile.ts, the format) to the device
 * catalog: a processor's compute, bandwidth, overhead, front-end throughput and dispatch
 * cost replaced by the fitted ones, and the studio's rule for which profiles apply to a
 * pipeline. The format's reader and writer are re-exported here for the command line and
 * the extension, which name this module. Pure: no file system.
 */
import type { DeviceSpec, PipelineSpec, ProcessorSpec } from '../../language/pipeline-model';
import type { DeviceProfile } from '../../runtime/device-profile';
import { predictorNotes, withKernelPredictor, type PredictorNotes } from './kernel-predictor';
import { opBytes } from '../cost-model';
import type { Estimate } from '../estimate';


/**
 * The profile's fitted figures as `.sense` processor settings, ready to paste into a
 * `processor` block (e.g. `compute 1.234 GMAC/s  bandwidth 9.876 GB/s  overhead 2.50 us
 * frontend 0.321 GMAC/s  dispatch 45.0 us`); the settings it lacks are left out.
 */
export function profileSettingsText(p: Pick<DeviceProfile, 'computeMacsPerS' | 'bandwidthBytesPerS' | 'overheadMs' | 'frontendMacsPerS' | 'dispatchMs'>): string {
  const parts = [
    `compute ${(p.computeMacsPerS / 1e9).toFixed(3)} GMAC/s`,
    `bandwidth ${(p.bandwidthBytesPerS / 1e9).toFixed(3)} GB/s`,
    `overhead ${(p.overheadMs * 1000).toFixed(2)} us`,
  ];
  if (p.frontendMacsPerS !== undefined) parts.push(`frontend ${(p.frontendMacsPerS / 1e9).toFixed(3)} GMAC/s`);
  if (p.dispatchMs !== undefined) parts.push(`dispatch ${(p.dispatchMs * 1000).toFixed(1)} us`);
  return parts.join('  ');
}

/**
 * The processor with the profile's measured figures in place of its compute, bandwidth,
 * overhead, front-end throughput and dispatch cost (memory, power and the rest keep the
 * catalog's), and the profile named among its sources. The figures are one fit, so a
 * profile without `frontendMacsPerS` or `dispatchMs` removes the processor's own (the
 * front end then runs at the fitted compute, partitions cost nothing extra). A profile
 * with a kernel predictor (schema 3) puts it on the processor, where the cost model
 * prices ops with it (engine/calibrate/kernel-predictor.ts).
 */
export function applyProfileToProcessor(p: ProcessorSpec, profile: DeviceProfile): ProcessorSpec {
  const { frontendMacsPerS: _f, dispatchMs: _d, kernelPredictor: _k, ...rest } = p as ProcessorSpec & { kernelPredictor?: unknown };
  const applied: ProcessorSpec = {
    ...rest,
    computeMacsPerS: profile.computeMacsPerS,
    bandwidthBytesPerS: profile.bandwidthBytesPerS,
    overheadMs: profile.overheadMs,
    ...(profile.frontendMacsPerS !== undefined ? { frontendMacsPerS: profile.frontendMacsPerS } : {}),
    ...(profile.dispatchMs !== undefined ? { dispatchMs: profile.dispatchMs } : {}),
    sources: [...p.sources, `measured device profile ${profile.device}.${profile.processor} (${profile.measuredAt}, ${profile.machine.cpu}, ${profile.machine.runtime})`],
  };
  return profile.kernelPredictor ? withKernelPredictor(applied, profile.kernelPredictor) : applied;
}

/**
 * The device with the profile applied to its processor `profile.processor`. Throws when
 * the profile is not fitted, the device has no such processor (naming the ones it has), or
 * the profile holds a kernel predictor measured on another device.
 */
export function applyProfileToDevice(device: DeviceSpec, profile: DeviceProfile, source = 'profile'): DeviceSpec {
  if (profile.fitted === false) throw new Error(`${source}: the profile holds timings only; fit it first with 'sense calibrate FILE --from ${source} --out FITTED.json'`);
  // Kernel timings describe one machine: on another device's processor they would pass for its figures.
  if (profile.kernelPredictor && profile.device !== device.name)
    throw new Error(`${source}: the profile's kernel predictor was measured on device ${profile.device}, not ${device.name}; estimate with --target ${profile.device}, or calibrate ${device.name} itself`);
  if (!device.processors.some((p) => p.name === profile.processor))
    throw new Error(`${source}: device ${device.name} has no processor '${profile.processor}' (it has ${device.processors.map((p) => p.name).join(', ')}); the profile was measured for ${profile.device}.${profile.processor}`);
  return { ...device, processors: device.processors.map((p) => (p.name === profile.processor ? applyProfileToProcessor(p, profile) : p)) };
}

/** The pipeline with the profile applied to its target (see {@link applyProfileToDevice}). */
export function applyProfile(spec: PipelineSpec, profile: DeviceProfile, source = 'profile'): PipelineSpec {
  return { ...spec, target: applyProfileToDevice(spec.target, profile, source) };
}

/** A measured device profile and where it came from: its `senseStudio.deviceProfiles` entry (a file path), as the studio names it. */
export interface LoadedProfile {
  source: string;
  profile: DeviceProfile;
}

/** What {@link applyMatchingProfiles} made of a pipeline. */
export interface MatchedProfiles {
  /** The pipeline with every matching profile applied (the input itself when none applied). */
  spec: PipelineSpec;
  /** The profiles applied, in order. */
  applied: LoadedProfile[];
  /** One message per matching profile that could not apply (not fitted, no such processor), naming its source. */
  errors: string[];
}

/**
 * The studio's rule for measured device profiles, shared by the extension host (status
 * bar, graph editor) and the language server (hover, CodeLens, fit warnings) so both show
 * the same figures: each profile whose `device` is the pipeline's target name is applied
 * in order ({@link applyProfile}), so a later profile wins for the same processor;
 * profiles of other devices are ignored. A matching profile that cannot apply is skipped
 * and its message returned. Unlike `sense estimate --profile`, a profile is never applied
 * to a device it was not measured on.
 */
export function applyMatchingProfiles(spec: PipelineSpec, profiles: readonly LoadedProfile[]): MatchedProfiles {
  let out = spec;
  const applied: LoadedProfile[] = [];
  const errors: string[] = [];
  for (const p of profiles) {
    if (p.profile.device !== spec.target.name) continue;
    try {
      out = applyProfile(out, p.profile, p.source);
      applied.push(p);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  return { spec: out, applied, errors };
}

/**
 * What an estimate made with kernel-calibrated processors should say about its
 * uncertainty: each such processor's held-out error, and the ops it priced outside the
 * kernel suite's coverage (kernel-predictor.ts predictorNotes). Empty without a kernel predictor.
 */
export function calibrationNotes(spec: Pick<PipelineSpec, 'target'>, estimate: Pick<Estimate, 'ir' | 'schedule'>): PredictorNotes {
  const ops = estimate.ir.ops.map((o, i) => ({ id: o.id, kind: o.kind, placementKey: o.placementKey, supportKinds: o.supportKinds, activationBytes: o.activationBytes, macs: o.macs, bytes: opBytes(o), noop: o.noop, processor: estimate.schedule.ops[i].processor }));
  return predictorNotes(spec.target.processors, ops);
}
