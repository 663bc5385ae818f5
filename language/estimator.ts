/**
 * The contract by which the language shows costs without depending on the engine:
 * the language server injects engine/'s estimator (see extension/server/), tests may
 * inject their own, and without one the language simply shows no cost figures.
 * Dependency direction stays language <- engine.
 */
import type { PipelineSpec } from './pipeline-model';

/** Estimated cost of one layer on the processor it is placed on. */
export interface LayerEstimate {
  /** `block.index`, as in {@link LayerSpec.id}. */
  layerId: string;
  processor: string;
  latencyMs: number;
  energyMj: number;
}

/** Estimated cost of one head, from the features to its output, for CodeLens. */
export interface HeadEstimate {
  head: string;
  /** Time from the window's arrival to this head's output (its finish time in the schedule). */
  latencyMs: number;
  /** Energy of the ops on this head's path, shared ones included once per head. */
  energyMj: number;
  /** Processors the head's own layers run on. */
  processors: string[];
}

/** A problem the estimate found: the pipeline is valid but does not fit the device. */
export interface EstimateIssue {
  severity: 'error' | 'warning' | 'info';
  /** A stable code from IssueCodes (memory-limit, latency-budget, unsupported-op). */
  code: string;
  message: string;
  /** The layer at fault, when there is one. */
  layerId?: string;
}

/**
 * A measured device profile (engine/calibrate/profile.ts) whose figures replaced the
 * catalog's for one processor of the estimate's target.
 */
export interface MeasuredProfileNote {
  /** The profile's name as the user listed it (its `senseStudio.deviceProfiles` entry). */
  source: string;
  /** The processor whose compute, bandwidth and overhead it measured. */
  processor: string;
}

/** What the language needs from an estimate. */
export interface PipelineEstimateSummary {
  endToEndLatencyMs: number;
  energyPerInferenceMj: number;
  /** Undefined when the target has no battery. */
  batteryLifeHours?: number;
  layers: LayerEstimate[];
  heads: HeadEstimate[];
  issues: EstimateIssue[];
  /**
   * The measured device profiles applied before estimating, in order; absent when every
   * figure is the catalog's. Hover and CodeLens name them so a user sees why the numbers
   * differ from the catalog's.
   */
  measuredProfiles?: MeasuredProfileNote[];
}

/**
 * The measured figures that replace the catalog's for one processor of one device, as
 * the processor hover shows them next to the catalog's.
 */
export interface MeasuredProcessorFigures {
  /** The profile's name as the user listed it (its `senseStudio.deviceProfiles` entry). */
  source: string;
  /**
   * The fitted figures as `.sense` processor settings (engine/calibrate/profile.ts
   * profileSettingsText), e.g. `compute 1.234 GMAC/s  bandwidth 9.876 GB/s  overhead 2.50 us`.
   */
  settingsText: string;
}

/**
 * Estimates a checked pipeline. Must not throw on any checked pipeline. A plain function
 * is an estimator; one that applies measured device profiles (the language server's,
 * extension/server/device-profiles.ts) also says which figures it uses for a processor.
 */
export interface PipelineEstimator {
  (spec: PipelineSpec): PipelineEstimateSummary;
  /**
   * The measured figures this estimator uses for processor `processor` of device
   * `device` (both by name), or undefined when it uses the catalog's. Absent: always
   * the catalog's. Must not throw.
   */
  measuredProcessor?: (device: string, processor: string) => MeasuredProcessorFigures | undefined;
}

/**
 * The note hover and CodeLens append to figures that come from measured device profiles:
 * ` (measured profile: NAME)`, or ` (measured profiles: A, B)` for several; empty when
 * the figures are the catalog's. With `processor`, only that processor's profiles count
 * (a layer's own latency); without it every profile of the estimate counts (end-to-end
 * and head figures, which the whole schedule shapes). The status bar says "(measured)"
 * and lists the same names in its tooltip.
 */
export function measuredNote(summary: Pick<PipelineEstimateSummary, 'measuredProfiles'> | undefined, processor?: string): string {
  const names = [...new Set((summary?.measuredProfiles ?? []).filter((p) => processor === undefined || p.processor === processor).map((p) => p.source))];
  if (names.length === 0) return '';
  return ` (measured profile${names.length === 1 ? '' : 's'}: ${names.join(', ')})`;
}
