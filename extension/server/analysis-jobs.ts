/**
 * The heavy analyses the language server hands to its worker threads: a layer's spectrum
 * (a full SVD), a compression preview (SVD, int8 or three K-SVD iterations), an
 * Auto-Compress plan (the spectra of every layer, then the rank-grid search) and an
 * Auto-Partition plan (the exact partitioner). Jobs and results are plain data, so they
 * cross the thread boundary by structured clone; the text edits that write a plan are made
 * by the server, which holds the document's AST.
 *
 * {@link runAnalysisJob} runs in the worker (analysis-worker.ts) and, in tests, in process.
 * Each worker keeps one {@link WeightsCache}, so moving the rank slider reads the weights
 * and computes the spectrum once.
 */
import { autoCompress, spectraFromWeights, type AutoCompressResult, type CompressTarget } from '../../engine/auto-compress';
import { estimatePipeline } from '../../engine/estimate';
import { partitionPipeline, placementUnits, type PartitionResult } from '../../engine/partition/partition';
import { placeStatements } from '../../engine/partition/place-lines';
import type { CompressionSpec, OptimizeSpec, PipelineSpec } from '../../language/pipeline-model';
import { FEATURES_KEY } from '../../language/pipeline-model';
import { layerSpectrum, previewCompression, WeightsCache, type CompressionPreview, type LayerSpectrum } from '../compression-preview';
import { statUserPath } from '../../io/user-files';
import type { PlanFigures } from '../lsp-ext';
import { weightsFileOf, type DocumentFiles } from '../workspace-files';

/**
 * One job for a worker; `files` names the `.sense` file on disk that the `weights` line is
 * relative to and the folders the weights must lie in (extension/workspace-files.ts).
 */
export type AnalysisJob =
  | { kind: 'spectrum'; spec: PipelineSpec; files: DocumentFiles; layerId: string }
  | { kind: 'preview'; spec: PipelineSpec; files: DocumentFiles; layerId: string; method: CompressionSpec }
  | { kind: 'autoCompress'; spec: PipelineSpec; files?: DocumentFiles; target: CompressTarget }
  | { kind: 'partition'; spec: PipelineSpec; optimize: Partial<OptimizeSpec>; keepPins: boolean; timeLimitMs: number };

/** The result of an Auto-Compress job: the plan without its spec and estimate (large, and the server does not need them). */
export interface AutoCompressJobResult {
  result: Omit<AutoCompressResult, 'spec' | 'estimate'>;
  fromWeights: boolean;
}

/** The result of a partition job: the plan, the file's own figures under the same objective, its `place` statements, and the search time. */
export interface PartitionJobResult {
  result: PartitionResult;
  before: PlanFigures;
  statements: string[];
  tookMs: number;
}

/** What each job kind returns. */
export interface AnalysisJobResults {
  spectrum: LayerSpectrum;
  preview: CompressionPreview;
  autoCompress: AutoCompressJobResult;
  partition: PartitionJobResult;
}

const cache = new WeightsCache();

/** Runs one job, reporting stages through `progress`; rejects with an Error whose message the user may read. */
export async function runAnalysisJob(job: AnalysisJob, progress: (message: string) => void = () => undefined): Promise<AnalysisJobResults[AnalysisJob['kind']]> {
  switch (job.kind) {
    case 'spectrum':
      progress(`singular values of ${job.layerId}…`);
      return layerSpectrum(cache, job.spec, job.files, job.layerId);
    case 'preview':
      progress(job.method.kind === 'sparse' ? `K-SVD of ${job.layerId} with ${job.method.atoms} atoms…` : `compressing ${job.layerId}…`);
      return previewCompression(cache, job.spec, job.files, job.layerId, job.method);
    case 'autoCompress': {
      const path = job.files ? weightsFileOf(job.spec, job.files.sensePath) : undefined;
      let spectra: Map<string, Float64Array> | undefined;
      if (job.files && path && statUserPath(path, 'weights') !== undefined) {
        progress('singular values of the weights…');
        spectra = spectraFromWeights(job.spec, await cache.weightsFor(job.spec, job.files));
      }
      progress('searching the rank grid…');
      const { spec: _spec, estimate: _estimate, ...result } = autoCompress(job.spec, job.target, spectra ? { spectra } : {});
      return { result, fromWeights: spectra !== undefined };
    }
    case 'partition': {
      progress('searching placements…');
      const t0 = performance.now();
      const result = partitionPipeline(job.spec, { optimize: job.optimize, keepPins: job.keepPins, timeLimitMs: job.timeLimitMs });
      const tookMs = performance.now() - t0;
      const current = estimatePipeline({ ...job.spec, optimize: result.optimize });
      // The front end is placed only when the pipeline has one (an image pipeline has none).
      const hasFeatures = placementUnits(job.spec).includes(FEATURES_KEY);
      const placement: Record<string, string> = {};
      for (const [key, proc] of Object.entries(result.placement)) if (key !== FEATURES_KEY || hasFeatures) placement[key] = proc;
      return {
        result,
        before: { objective: current.objective, endToEndLatencyMs: current.endToEndLatencyMs, energyPerInferenceMj: current.energyPerInferenceMj },
        statements: placeStatements(job.spec, placement),
        tookMs,
      };
    }
  }
}
