/**
 * The extension host's side of the pipeline worker: {@link PipelineJobs} runs the jobs of
 * protocol.ts one at a time in one worker thread running `script` (the bundle of
 * job-worker.ts), through the queue every worker of the studio shares
 * (extension/worker-queue.ts), which turns the worker's answers back into promises,
 * progress callbacks and errors of the classes the host knows (a UserFileError naming the
 * file stays a UserFileError).
 *
 * One worker, not a pool: the jobs are started by the user one at a time, and the worker
 * keeps the runners of the last pipelines open between them (pipeline-work.ts), which a
 * pool would scatter. The language server's analysis pool (extension/server/worker-pool.ts)
 * is the same queue with two workers, for jobs that are pure functions of their input.
 *
 * Cancelling (an AbortSignal) rejects the job at once with a CancelledError and asks the
 * worker to stop at its next check (between clips, bundle files, calibration steps); a job
 * still running {@link PipelineJobsOptions.cancelGraceMs} later (inside one long ONNX
 * Runtime call) has its worker terminated, and the next job starts a fresh one. A worker
 * that dies rejects its job with a message saying so. No `vscode` import, so plain-Node
 * tests drive it.
 */
import { WorkerQueue, type JobCallOptions as QueueCallOptions } from '../worker-queue';
import type { JobProgress, PipelineJob, PipelineJobResults, PipelineWorkerData } from './protocol';

/** Options of one job: a signal that cancels it, and where its progress goes. */
export type JobCallOptions = QueueCallOptions<JobProgress>;

/** Options of {@link PipelineJobs}. */
export interface PipelineJobsOptions {
  /** The worker bundle: the extension's `dist/pipeline-worker.cjs`. */
  script: string;
  /** Where onnxruntime-web's wasm files are (the extension's `dist/ort/`). */
  ortWasmDir?: string;
  /** How long a cancelled job may take to stop by itself before its worker is terminated, in milliseconds (default 1000). */
  cancelGraceMs?: number;
}

/** A job as the caller writes it: without its `kind`, which the method names. */
type JobOf<K extends PipelineJob['kind']> = Omit<Extract<PipelineJob, { kind: K }>, 'kind'>;

/** Runs pipeline jobs in one worker thread, started on first use (see the module comment). */
export class PipelineJobs {
  private readonly queue: WorkerQueue<PipelineJob, PipelineJobResults, JobProgress>;

  constructor(options: PipelineJobsOptions) {
    const data: PipelineWorkerData = options.ortWasmDir ? { ortWasmDir: options.ortWasmDir } : {};
    this.queue = new WorkerQueue({ script: options.script, workerData: data, name: 'pipeline worker', cancelGraceMs: options.cancelGraceMs ?? 1000 });
  }

  /** Runs one clip; resolves to the protocol's run view (per-head probabilities in label order). */
  runClip(job: JobOf<'runClip'>, opts?: JobCallOptions): Promise<PipelineJobResults['runClip']> {
    return this.run({ kind: 'runClip', ...job }, opts);
  }

  /** Evaluates a labelled folder DIR/HEAD/LABEL/clips; progress comes per clip. */
  evaluateFolder(job: JobOf<'evaluateFolder'>, opts?: JobCallOptions): Promise<PipelineJobResults['evaluateFolder']> {
    return this.run({ kind: 'evaluateFolder', ...job }, opts);
  }

  /** Exports a bundle into `dir` (atomically); progress comes per file written. */
  exportBundle(job: JobOf<'exportBundle'>, opts?: JobCallOptions): Promise<PipelineJobResults['exportBundle']> {
    return this.run({ kind: 'exportBundle', ...job }, opts);
  }

  /** Calibrates this machine on the pipeline (onnxruntime-node's profiler); progress comes per step. */
  calibrate(job: JobOf<'calibrate'>, opts?: JobCallOptions): Promise<PipelineJobResults['calibrate']> {
    return this.run({ kind: 'calibrate', ...job }, opts);
  }

  /** Runs any job of protocol.ts. */
  run<K extends PipelineJob['kind']>(job: Extract<PipelineJob, { kind: K }>, opts: JobCallOptions = {}): Promise<PipelineJobResults[K]> {
    return this.queue.run(job, opts);
  }

  /** How many workers have been started (a terminated or dead worker is replaced on the next job); for tests and logs. */
  get workersStarted(): number {
    return this.queue.workersStarted;
  }

  /** Stops the worker; the running and queued jobs are rejected. */
  dispose(): Promise<void> {
    return this.queue.dispose();
  }
}
