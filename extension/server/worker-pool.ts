/**
 * A small pool of worker threads that runs the language server's heavy analyses
 * (analysis-jobs.ts) so that neither the server's thread nor the extension host's waits
 * on an SVD, a K-SVD or a partition search. Jobs queue when every worker is busy.
 * Cancelling a running job terminates its worker (a synchronous numeric kernel has no
 * other place to stop) and a fresh one is started for the next job; cancelling a queued
 * job just drops it.
 */
import { Worker } from 'node:worker_threads';
import type { CancellationToken } from 'vscode-languageserver/node';
import type { AnalysisJob, AnalysisJobResults, WorkerReply } from './analysis-jobs';

/** The rejection of a job that was cancelled. */
export class JobCancelledError extends Error {
  constructor(what: string) {
    super(`${what} was cancelled.`);
    this.name = 'JobCancelledError';
  }
}

/** Options of one job: a cancellation token, and where its progress messages go. */
export interface JobOptions {
  token?: CancellationToken;
  onProgress?(message: string): void;
}

/** Runs analysis jobs; {@link WorkerPool} in the server, anything with the same shape in tests. */
export interface JobRunner {
  run<K extends AnalysisJob['kind']>(job: Extract<AnalysisJob, { kind: K }>, opts?: JobOptions): Promise<AnalysisJobResults[K]>;
}

interface Task {
  id: number;
  job: AnalysisJob;
  opts: JobOptions;
  resolve(value: unknown): void;
  reject(error: Error): void;
  dispose?(): void;
}

interface Slot {
  worker?: Worker;
  task?: Task;
}

/** A fixed number of worker threads, each started on first use, running `script` (a bundle of analysis-worker.ts). */
export class WorkerPool implements JobRunner {
  private readonly slots: Slot[];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private disposed = false;
  private started = 0;

  /** `size` workers at most (at least one). */
  constructor(
    private readonly script: string,
    size = 2,
  ) {
    this.slots = Array.from({ length: Math.max(1, Math.floor(size)) }, () => ({}));
  }

  run<K extends AnalysisJob['kind']>(job: Extract<AnalysisJob, { kind: K }>, opts: JobOptions = {}): Promise<AnalysisJobResults[K]> {
    return new Promise((resolve, reject) => {
      if (this.disposed) return reject(new Error('The analysis workers have stopped (the language server is shutting down).'));
      if (opts.token?.isCancellationRequested) return reject(new JobCancelledError(`The ${job.kind} job`));
      const task: Task = { id: this.nextId++, job, opts, resolve: resolve as (v: unknown) => void, reject };
      const listener = opts.token?.onCancellationRequested(() => this.cancel(task));
      task.dispose = () => listener?.dispose();
      this.queue.push(task);
      this.dispatch();
    });
  }

  /** How many workers this pool has started (a cancelled job's worker is replaced); for tests and logs. */
  get workersStarted(): number {
    return this.started;
  }

  /** The number of jobs running now (for tests and logs). */
  get running(): number {
    return this.slots.filter((s) => s.task).length;
  }

  /** Stops every worker; running and queued jobs are rejected. */
  async dispose(): Promise<void> {
    this.disposed = true;
    for (const t of this.queue.splice(0)) this.settle(t, new Error('The analysis workers have stopped.'));
    await Promise.all(
      this.slots.map(async (s) => {
        if (s.task) this.settle(s.task, new Error('The analysis workers have stopped.'));
        s.task = undefined;
        const w = s.worker;
        s.worker = undefined;
        if (w) await w.terminate();
      }),
    );
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.task || this.queue.length === 0) continue;
      const task = this.queue.shift()!;
      slot.task = task;
      slot.worker ??= this.start(slot);
      slot.worker.postMessage({ id: task.id, job: task.job });
    }
  }

  private start(slot: Slot): Worker {
    const worker = new Worker(this.script);
    this.started++;
    // An idle worker must not keep the server process alive after the client has gone.
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      const task = slot.task;
      if (!task || task.id !== reply.id) return;
      if (reply.type === 'progress') {
        task.opts.onProgress?.(reply.message);
        return;
      }
      slot.task = undefined;
      if (reply.type === 'result') this.settle(task, undefined, reply.value);
      else this.settle(task, new Error(reply.message));
      this.dispatch();
    });
    const lost = (why: string): void => {
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      const task = slot.task;
      slot.task = undefined;
      if (task) this.settle(task, new Error(`The analysis worker stopped while running the ${task.job.kind} job (${why}).`));
      this.dispatch();
    };
    worker.on('error', (e) => lost(e.message));
    worker.on('exit', (code) => lost(`exit code ${code}`));
    return worker;
  }

  private cancel(task: Task): void {
    const queued = this.queue.indexOf(task);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.settle(task, new JobCancelledError(`The ${task.job.kind} job`));
      return;
    }
    const slot = this.slots.find((s) => s.task === task);
    if (!slot) return;
    const worker = slot.worker;
    slot.worker = undefined;
    slot.task = undefined;
    this.settle(task, new JobCancelledError(`The ${task.job.kind} job`));
    void worker?.terminate();
    this.dispatch();
  }

  private settle(task: Task, error: Error | undefined, value?: unknown): void {
    task.dispose?.();
    if (error) task.reject(error);
    else task.resolve(value);
  }
}
