/**
 * The language server's analysis pool: worker threads that run its heavy analyses
 * (analysis-jobs.ts) so that neither the server's thread nor the extension host's waits on
 * an SVD, a K-SVD or a partition search. It is the studio's one job queue
 * (extension/worker-queue.ts) with `size` workers; jobs queue when every worker is busy.
 * Cancelling a running job terminates its worker at once (a synchronous numeric kernel has
 * no other place to stop, and a worker keeps nothing worth waiting for but its weights
 * cache) and the next job starts a fresh one; cancelling a queued job just drops it.
 */
import type { JobCallOptions } from '../worker-queue';
import { WorkerQueue } from '../worker-queue';
import type { AnalysisJob, AnalysisJobResults } from './analysis-jobs';

/** Options of one analysis job: a signal that cancels it, and where its progress messages go. */
export type JobOptions = JobCallOptions<string>;

/** Runs analysis jobs; {@link WorkerPool} in the server, anything with the same shape in tests. */
export interface JobRunner {
  run<K extends AnalysisJob['kind']>(job: Extract<AnalysisJob, { kind: K }>, opts?: JobOptions): Promise<AnalysisJobResults[K]>;
}

/** `size` worker threads at most (at least one), each started on first use, running `script` (a bundle of analysis-worker.ts). */
export class WorkerPool extends WorkerQueue<AnalysisJob, AnalysisJobResults, string> implements JobRunner {
  constructor(script: string, size = 2) {
    super({ script, size, name: 'analysis worker', cancelGraceMs: 0 });
  }
}
