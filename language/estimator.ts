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

/** What the language needs from an estimate. */
export interface PipelineEstimateSummary {
  endToEndLatencyMs: number;
  energyPerInferenceMj: number;
  /** Undefined when the target has no battery. */
  batteryLifeHours?: number;
  layers: LayerEstimate[];
  heads: HeadEstimate[];
  issues: EstimateIssue[];
}

/** Estimates a checked pipeline. Must not throw on any checked pipeline. */
export type PipelineEstimator = (spec: PipelineSpec) => PipelineEstimateSummary;
