/**
 * The entry of the language server's analysis workers (dist/analysis-worker.cjs): runs the
 * jobs of analysis-jobs.ts one at a time, off the server's thread, through the worker side
 * of the studio's job queue (extension/worker-queue.ts serveJobs), which answers each with
 * its progress, its result or its failure. The pool (worker-pool.ts) cancels a job by
 * terminating its worker.
 */
import { serveJobs } from '../worker-queue';
import { runAnalysisJob, type AnalysisJob } from './analysis-jobs';

serveJobs<AnalysisJob, string>((job, ctx) => runAnalysisJob(job, (message) => ctx.onProgress(message)));
