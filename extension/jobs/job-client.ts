/**
 * The extension host's side of the pipeline worker: {@link PipelineJobs} starts one worker
 * thread running `script` (the bundle of job-worker.ts), sends it the jobs of protocol.ts
 * one at a time, and turns its answers back into promises, progress callbacks and errors of
 * the classes the host knows (a UserFileError naming the file stays a UserFileError).
 *
 * One worker, not a pool: the jobs are started by the user one at a time, and the worker
 * keeps the runners of the last pipelines open between them (pipeline-work.ts), which a
 * pool would scatter. The language server's analysis pool (extension/server/worker-pool.ts)
 * is the same pattern for jobs that are pure functions of their input.
 *
 * Cancelling (an AbortSignal) rejects the job at once with a CancelledError and asks the
 * worker to stop at its next check (between clips, bundle files, calibration steps); a job
 * still running {@link PipelineJobsOptions.cancelGraceMs} later (inside one long ONNX
 * Runtime call) has its worker terminated, and the next job starts a fresh one. A worker
 * that dies rejects its job with a message saying so. No `vscode` import, so plain-Node
 * tests drive it.
 */
import { Worker } from 'node:worker_threads';
import { UserFileError } from '../../io/user-files';
import { CancelledError } from '../../runtime/node-files';
import type { FromWorkerMessage, JobFailure, JobProgress, PipelineJob, PipelineJobResults, PipelineWorkerData, ToWorkerMessage } from './protocol';

/** Options of one job: a signal that cancels it, and where its progress goes. */
export interface JobCallOptions {
  signal?: AbortSignal;
  onProgress?(progress: JobProgress): void;
}

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

interface Task {
  id: number;
  job: PipelineJob;
  opts: JobCallOptions;
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** Set once the caller has had its answer (a cancelled job may still be stopping in the worker). */
  settled: boolean;
  detach?(): void;
}

/** A failure from the worker as an error of the class the host knows. */
function errorOf(f: JobFailure): Error {
  if (f.name === 'UserFileError' && f.path !== undefined) return new UserFileError(f.message, f.path, f.reason ?? 'io');
  if (f.name === 'CancelledError') return new CancelledError();
  const e = new Error(f.message);
  e.name = f.name;
  return e;
}

/** Runs pipeline jobs in one worker thread, started on first use (see the module comment). */
export class PipelineJobs {
  private worker?: Worker;
  /** The job the worker is running (or stopping, once cancelled). */
  private current?: Task;
  private readonly queue: Task[] = [];
  private nextId = 1;
  private started = 0;
  private disposed = false;
  private graceTimer?: NodeJS.Timeout;

  constructor(private readonly options: PipelineJobsOptions) {}

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
    return new Promise((resolve, reject) => {
      if (this.disposed) return reject(new Error('The pipeline worker has stopped (Sense Studio is shutting down).'));
      if (opts.signal?.aborted) return reject(new CancelledError());
      const task: Task = { id: this.nextId++, job, opts, resolve: resolve as (v: unknown) => void, reject, settled: false };
      if (opts.signal) {
        const signal = opts.signal;
        const onAbort = (): void => this.cancel(task);
        signal.addEventListener('abort', onAbort, { once: true });
        task.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.queue.push(task);
      this.dispatch();
    });
  }

  /** How many workers have been started (a terminated or dead worker is replaced on the next job); for tests and logs. */
  get workersStarted(): number {
    return this.started;
  }

  /** Stops the worker; the running and queued jobs are rejected. */
  async dispose(): Promise<void> {
    this.disposed = true;
    for (const t of this.queue.splice(0)) this.settle(t, new Error('The pipeline worker has stopped.'));
    if (this.current) this.settle(this.current, new Error('The pipeline worker has stopped.'));
    this.finish();
    await this.stopWorker();
  }

  private dispatch(): void {
    if (this.current || this.queue.length === 0 || this.disposed) return;
    const task = this.queue.shift()!;
    this.current = task;
    const worker = (this.worker ??= this.start());
    // A running job keeps the process alive (a CLI or a test awaiting it); an idle worker does not.
    worker.ref();
    worker.postMessage({ type: 'start', id: task.id, job: task.job } satisfies ToWorkerMessage);
  }

  private start(): Worker {
    const data: PipelineWorkerData = this.options.ortWasmDir ? { ortWasmDir: this.options.ortWasmDir } : {};
    const worker = new Worker(this.options.script, { workerData: data });
    this.started++;
    worker.on('message', (m: FromWorkerMessage) => {
      const task = this.current;
      if (!task || task.id !== m.id) return;
      if (m.type === 'progress') {
        if (!task.settled) task.opts.onProgress?.(m.progress);
        return;
      }
      this.finish();
      if (m.type === 'result') this.settle(task, undefined, m.value);
      else this.settle(task, errorOf(m.error));
      this.dispatch();
    });
    const lost = (why: string): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      const task = this.current;
      this.finish();
      if (task) this.settle(task, new Error(`The pipeline worker stopped while running the ${task.job.kind} job (${why}); nothing was returned. Run it again; if it stops again, see the Sense Studio output.`));
      this.dispatch();
    };
    worker.on('error', (e) => lost(e.message));
    worker.on('exit', (code) => lost(`exit code ${code}`));
    return worker;
  }

  /** The current job is over (answered, or its worker gone): the worker is idle. */
  private finish(): void {
    this.current = undefined;
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.worker?.unref();
  }

  private cancel(task: Task): void {
    const queued = this.queue.indexOf(task);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.settle(task, new CancelledError());
      return;
    }
    if (this.current !== task || task.settled) return;
    this.settle(task, new CancelledError());
    this.worker?.postMessage({ type: 'cancel', id: task.id } satisfies ToWorkerMessage);
    this.graceTimer = setTimeout(() => {
      if (this.current !== task) return;
      // Stuck inside one long call: stop the thread itself; the next job starts a fresh worker.
      this.finish();
      void this.stopWorker().then(() => this.dispatch());
    }, this.options.cancelGraceMs ?? 1000);
  }

  private async stopWorker(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  private settle(task: Task, error: Error | undefined, value?: unknown): void {
    if (task.settled) return;
    task.settled = true;
    task.detach?.();
    if (error) task.reject(error);
    else task.resolve(value);
  }
}

/**
 * An AbortSignal that aborts when `token` (a `vscode.CancellationToken`, or any object of
 * that shape) is cancelled, so a `withProgress` callback can hand its token to a job.
 */
export function abortSignalOf(token: { readonly isCancellationRequested: boolean; onCancellationRequested(listener: () => unknown): unknown }): AbortSignal {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  else token.onCancellationRequested(() => controller.abort());
  return controller.signal;
}
