/**
 * The entry of the language server's analysis workers (dist/analysis-worker.cjs): runs the
 * jobs of analysis-jobs.ts one at a time, off the server's thread, and answers each with
 * its progress, its result or its error message. The pool (worker-pool.ts) cancels a job
 * by terminating its worker.
 */
import { parentPort } from 'node:worker_threads';
import { runAnalysisJob, type AnalysisJob, type WorkerReply } from './analysis-jobs';

const port = parentPort;
if (!port) throw new Error('analysis-worker.ts runs as a worker thread of the language server, not on its own.');
port.on('message', ({ id, job }: { id: number; job: AnalysisJob }) => {
  const reply = (r: WorkerReply): void => port.postMessage(r);
  runAnalysisJob(job, (message) => reply({ id, type: 'progress', message })).then(
    (value) => reply({ id, type: 'result', value }),
    (e: unknown) => reply({ id, type: 'error', message: e instanceof Error ? e.message : String(e) }),
  );
});
