/**
 * The entry of the extension host's pipeline worker (dist/pipeline-worker.cjs): runs the
 * jobs of protocol.ts one at a time with pipeline-work.ts, off the extension host's
 * thread, through the worker side of the studio's job queue (extension/worker-queue.ts
 * serveJobs), which answers each job with its progress, its result or its failure as plain
 * data. A cancelled job stops at its next check between clips, bundle files and calibration
 * steps; the client (job-client.ts) terminates the worker if a job does not stop soon after.
 */
import { workerData } from 'node:worker_threads';
import { serveJobs } from '../worker-queue';
import { PipelineWork } from './pipeline-work';
import type { JobProgress, PipelineJob, PipelineWorkerData } from './protocol';

const data = (workerData ?? {}) as PipelineWorkerData;
const work = new PipelineWork();

serveJobs<PipelineJob, JobProgress>((job, ctx) =>
  work.run(job, {
    onProgress: (p) => ctx.onProgress(p),
    get cancelled(): boolean {
      return ctx.cancelled;
    },
    ...(data.ortWasmDir ? { ortWasmDir: data.ortWasmDir } : {}),
  }),
);
