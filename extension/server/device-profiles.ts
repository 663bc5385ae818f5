/**
 * Measured device profiles in the language server, so hover, CodeLens and the fit
 * warnings show the same figures as the status bar and the graph editor. The extension
 * reads the files `senseStudio.deviceProfiles` lists and sends their parsed content in
 * the `senseStudio/deviceProfiles` notification (at start, on a server restart and
 * whenever the setting or a listed file changes); the server never reads profile files
 * itself. This module validates that payload (a bad one is logged and ignored), wraps the
 * injected estimator so it applies the profiles by the studio's rule
 * (engine/calibrate/profile.ts applyMatchingProfiles), and rebuilds the documents after a
 * change so diagnostics and CodeLens refresh.
 *
 * No `vscode` import: it runs in the server process and in unit tests.
 */
import { z } from 'zod';
import type { URI } from 'langium';
import type { LangiumSharedServices } from 'langium/lsp';
import { applyMatchingProfiles, profileSettingsText, type LoadedProfile } from '../../engine/calibrate/profile';
import { validateDeviceProfile, type DeviceProfile } from '../../runtime/device-profile';
import { BUILTIN_DEVICES_URI } from '../../language/builtin-devices';
import type { EstimateIssue, MeasuredProcessorFigures, PipelineEstimateSummary, PipelineEstimator } from '../../language/estimator';
import type { PipelineSpec } from '../../language/pipeline-model';
import { IssueCodes } from '../../language/issue-codes';
import type { SenseServices } from '../../language/sense-module';

/** The LSP notification (client to server) that carries the studio's measured device profiles. */
export const DEVICE_PROFILES_NOTIFICATION = 'senseStudio/deviceProfiles';

/** The most profiles one notification may carry (a bound against hostile payloads). */
export const MAX_NOTIFIED_PROFILES = 256;

/**
 * The notification's parameters: every profile the studio applies now, in the setting's
 * order (a later one wins for the same processor). An empty list removes them all.
 */
export interface DeviceProfilesPayload {
  profiles: { source: string; profile: DeviceProfile }[];
}

/** The payload of the profiles the extension applies (see {@link DeviceProfilesPayload}). */
export function deviceProfilesPayload(profiles: readonly LoadedProfile[]): DeviceProfilesPayload {
  return { profiles: profiles.map((p) => ({ source: p.source, profile: p.profile })) };
}

const payloadSchema = z.object({
  profiles: z
    .array(z.object({ source: z.string().min(1).max(4096), profile: z.unknown() }))
    .max(MAX_NOTIFIED_PROFILES),
});

/**
 * Validates a notification's parameters: the envelope by schema, each profile as a
 * profile file is validated (engine/calibrate/profile.ts validateDeviceProfile). Any
 * fault rejects the whole payload, with a message naming it; never throws.
 */
export function parseDeviceProfilesPayload(payload: unknown): { ok: true; profiles: LoadedProfile[] } | { ok: false; error: string } {
  const envelope = payloadSchema.safeParse(payload);
  if (!envelope.success) {
    const issue = envelope.error.issues[0];
    return { ok: false, error: `${DEVICE_PROFILES_NOTIFICATION}: the payload is not { profiles: [{ source, profile }] } (${issue ? `${issue.path.join('.') || 'top level'}: ${issue.message}` : 'invalid'})` };
  }
  const profiles: LoadedProfile[] = [];
  for (const [i, entry] of envelope.data.profiles.entries()) {
    try {
      profiles.push({ source: entry.source, profile: validateDeviceProfile(entry.profile, `${DEVICE_PROFILES_NOTIFICATION} profiles[${i}] (${entry.source})`) });
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
  }
  return { ok: true, profiles };
}

/** The measured device profiles the server applies now, and the estimator that applies them. */
export class MeasuredProfiles {
  private profiles: readonly LoadedProfile[] = [];

  /** Replaces the profiles (the payload carries the whole list). */
  set(profiles: readonly LoadedProfile[]): void {
    this.profiles = [...profiles];
  }

  /** The profiles applied now, in order. */
  get(): readonly LoadedProfile[] {
    return this.profiles;
  }

  /**
   * The profile whose figures replace the catalog's for processor `processor` of device
   * `device` (both by name), by the rule of applyMatchingProfiles: the last fitted one
   * measured on that device and processor (an unfitted one cannot apply, so an earlier
   * one stays). Undefined when none does.
   */
  forProcessor(device: string, processor: string): LoadedProfile | undefined {
    for (let i = this.profiles.length - 1; i >= 0; i--) {
      const p = this.profiles[i];
      if (p.profile.device === device && p.profile.processor === processor && p.profile.fitted !== false) return p;
    }
    return undefined;
  }

  /** The figures of {@link forProcessor}'s profile as the processor hover shows them. */
  measuredProcessor(device: string, processor: string): MeasuredProcessorFigures | undefined {
    const p = this.forProcessor(device, processor);
    return p ? { source: p.source, settingsText: profileSettingsText(p.profile) } : undefined;
  }

  /**
   * `base` with the profiles applied to each pipeline first, by the rule the extension's
   * analyzer uses (engine/calibrate/profile.ts applyMatchingProfiles). The summary names
   * the profiles applied (`measuredProfiles`); a matching profile that cannot apply
   * becomes a `device-profile` warning, as the graph editor shows it. The estimator also
   * tells the processor hover which measured figures replace a processor's
   * ({@link measuredProcessor}).
   */
  estimator(base: PipelineEstimator): PipelineEstimator {
    const estimate = (spec: PipelineSpec): PipelineEstimateSummary => {
      const matched = applyMatchingProfiles(spec, this.profiles);
      const summary = base(matched.spec);
      const warnings = matched.errors.map((message): EstimateIssue => ({ severity: 'warning', code: IssueCodes.DeviceProfile, message }));
      return {
        ...summary,
        issues: [...summary.issues, ...warnings],
        ...(matched.applied.length > 0 ? { measuredProfiles: matched.applied.map((p) => ({ source: p.source, processor: p.profile.processor })) } : {}),
      };
    };
    return Object.assign(estimate, { measuredProcessor: (device: string, processor: string) => this.measuredProcessor(device, processor) });
  }
}

/** What {@link receiveDeviceProfiles} needs from the server around it. */
export interface DeviceProfilesHost {
  services: { shared: LangiumSharedServices; Sense: SenseServices };
  store: MeasuredProfiles;
  /** Writes a line to the server's log (the "Sense Studio" output channel). */
  log(message: string): void;
  /** Resolves when the workspace is loaded (the server's WorkspaceManager.ready); absent: at once. */
  ready?: Promise<void>;
  /** Asks the client to fetch CodeLens again, when it supports that. */
  refreshCodeLens?(): Promise<void>;
}

/**
 * Handles one `senseStudio/deviceProfiles` notification: a bad payload is logged and
 * ignored (the profiles in use stay); a good one replaces the profiles, and every
 * document is lowered, estimated and validated again, which publishes fresh diagnostics;
 * then CodeLens is refreshed. Resolves to whether the payload was taken; never rejects.
 */
export async function receiveDeviceProfiles(payload: unknown, host: DeviceProfilesHost): Promise<boolean> {
  const parsed = parseDeviceProfilesPayload(payload);
  if (!parsed.ok) {
    host.log(`Ignored measured device profiles: ${parsed.error}`);
    return false;
  }
  const unchanged = JSON.stringify(host.store.get()) === JSON.stringify(parsed.profiles);
  host.store.set(parsed.profiles);
  host.log(
    parsed.profiles.length === 0
      ? 'Measured device profiles: none; estimates use the catalog figures.'
      : `Measured device profiles: ${parsed.profiles.map((p) => `${p.source} (${p.profile.device}.${p.profile.processor})`).join(', ')}.`,
  );
  // The same profiles again (the host sends its list at start, in Restricted Mode an empty
  // one) change no figure: no rebuild, which would also cancel a workspace build under way.
  if (unchanged) return true;
  try {
    await host.ready;
    const { shared, Sense } = host.services;
    // Let the builds under way (the workspace's first one among them) finish: a write started
    // now would cancel them, and the documents a cancelled first build left were seen to keep a
    // built-in target unresolved. A normal read waits for every queued write.
    await shared.workspace.WorkspaceLock.read(() => undefined);
    Sense.lowering.Lowering.invalidate();
    const uris: URI[] = shared.workspace.LangiumDocuments.all.filter((d) => d.uri.toString() !== BUILTIN_DEVICES_URI).map((d) => d.uri).toArray();
    await shared.workspace.WorkspaceLock.write((token) => shared.workspace.DocumentBuilder.update(uris, [], token));
    await host.refreshCodeLens?.();
  } catch (e) {
    host.log(`Measured device profiles: the documents were not re-estimated (${(e as Error).message}); they will be on the next edit.`);
  }
  return true;
}
