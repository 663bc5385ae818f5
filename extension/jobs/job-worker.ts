/**
 * The entry of the extension host's pipeline worker (dist/pipeline-worker.cjs): runs the
 * jobs of protocol.ts one at a time with pipeline-work.ts, off the extension host's
 * thread, and answers each with its progress, its result or its failure as plain data. A
 * `cancel` message sets a flag the running job checks between clips, bundle files and
 * calibration steps; the client (job-client.ts) terminates the worker if a job does not
 * stop soon after.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { jobFailure, PipelineWork } from './pipeline-work';
import type { FromWorkerMessage, JobProgress, PipelineWorkerData, ToWorkerMessage } from './protocol';

const port = parentPort;
if (!port) throw new Error('job-worker.ts runs as a worker thread of the extension host, not on its own.');
const data = (workerData ?? {}) as PipelineWorkerData;
const work = new PipelineWork();
const cancelled = new Set<number>();
const post = (m: FromWorkerMessage): void => port.postMessage(m);

port.on('message', (m: ToWorkerMessage) => {
  if (m.type === 'cancel') {
    cancelled.add(m.id);
    return;
  }
  const { id, job } = m;
  const ctx = {
    onProgress: (progress: JobProgress) => post({ type: 'progress', id, progress }),
    get cancelled(): boolean {
      return cancelled.has(id);
    },
    ...(data.ortWasmDir ? { ortWasmDir: data.ortWasmDir } : {}),
  };
  work
    .run(job, ctx)
    .then(
      (value) => post({ type: 'result', id, value }),
      (e: unknown) => post({ type: 'error', id, error: jobFailure(e) }),
    )
    .finally(() => cancelled.delete(id));
});
