/**
 * The one queue of jobs for worker threads, both sides of it: {@link WorkerQueue} in the
 * thread that hands work off (the extension host's pipeline worker, extension/jobs/; the
 * language server's analysis pool, extension/server/worker-pool.ts) and {@link serveJobs}
 * in the worker. Jobs and their results are plain data, cloned across the thread boundary;
 * a failure crosses as a {@link WorkerFailure} and becomes an error of the class the caller
 * knows again (a UserFileError naming its file stays one).
 *
 * Each of `size` workers runs one job at a time; the others queue. A job's AbortSignal
 * cancels it: a queued job is dropped; a running one is rejected at once with a
 * CancelledError and its worker is asked to stop at its next check (`ctx.cancelled`). A
 * synchronous numeric kernel has no such check, so a worker still busy `cancelGraceMs`
 * later is terminated and the next job starts a fresh one (0: at once, for jobs whose
 * workers keep nothing worth waiting for). A worker that dies rejects its job with a message
 * saying so and is replaced by the next job. A running job keeps the process alive (a CLI
 * or a test awaiting it); an idle worker does not.
 *
 * On Linux a worker lowers its own thread's scheduling priority ({@link serveJobs}), as
 * rust-analyzer marks its worker threads as background work: on a machine whose cores are
 * all busy, the thread that serves the user (every extension shares the extension host's)
 * gets the core first, and the worker uses whatever is left. No `vscode` import, so
 * plain-Node tests drive both sides.
 */
import { getPriority, setPriority } from 'node:os';
import { parentPort, Worker } from 'node:worker_threads';
import { UserFileError } from '../io/user-files';
import { CancelledError } from '../runtime/node-files';

/** A failure as it crosses the thread boundary: the error's class name (`UserFileError`, `CancelledError`, ...), message, and a UserFileError's path and reason. */
export interface WorkerFailure {
  name: string;
  message: string;
  path?: string;
  reason?: string;
}

/** A message to a worker: start a job, or ask the running one to stop at its next check. */
export type ToWorker<J> = { type: 'start'; id: number; job: J } | { type: 'cancel'; id: number };

/** A message from a worker about job `id`: its progress, its result, or its failure. */
export type FromWorker<P> = { type: 'progress'; id: number; progress: P } | { type: 'result'; id: number; value: unknown } | { type: 'error'; id: number; error: WorkerFailure };

/** Options of one job: a signal that cancels it, and where its progress goes. */
export interface JobCallOptions<P> {
  signal?: AbortSignal;
  onProgress?(progress: P): void;
}

/** Options of a {@link WorkerQueue}. */
export interface WorkerQueueOptions {
  /** The worker bundle (a file whose code calls {@link serveJobs}). */
  script: string;
  /** What each worker is started with (`workerData`). */
  workerData?: unknown;
  /** How many workers run at once, at least one (default 1). */
  size?: number;
  /** The workers as a message names them: 'pipeline worker', 'analysis worker'. */
  name: string;
  /** How long a cancelled job may take to stop by itself before its worker is terminated, in milliseconds (default 1000; 0 terminates at once). */
  cancelGraceMs?: number;
}

/** An error as plain data, for {@link FromWorker}'s `error`. */
export function failureOf(e: unknown): WorkerFailure {
  if (e instanceof UserFileError) return { name: e.name, message: e.message, path: e.path, reason: e.reason };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

/** A failure from a worker as an error of the class the caller knows. */
export function errorOf(f: WorkerFailure): Error {
  if (f.name === 'UserFileError' && f.path !== undefined) return new UserFileError(f.message, f.path, f.reason ?? 'io');
  if (f.name === 'CancelledError') return new CancelledError();
  const e = new Error(f.message);
  e.name = f.name;
  return e;
}

/**
 * An AbortSignal that aborts when `token` (a `vscode.CancellationToken`, an LSP one, or any
 * object of that shape) is cancelled, so a token can cancel a job.
 */
export function abortSignalOf(token: { readonly isCancellationRequested: boolean; onCancellationRequested(listener: () => unknown): unknown }): AbortSignal {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  else token.onCancellationRequested(() => controller.abort());
  return controller.signal;
}

interface Task<J, P> {
  id: number;
  job: J;
  opts: JobCallOptions<P>;
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** Set once the caller has had its answer (a cancelled job may still be stopping in its worker). */
  settled: boolean;
  detach?(): void;
}

interface Slot<J, P> {
  worker?: Worker;
  /** The job the worker is running, or stopping once cancelled. */
  task?: Task<J, P>;
  graceTimer?: NodeJS.Timeout;
}

/**
 * Runs jobs of type `J` (discriminated on `kind`; `R` maps each kind to its result) in up to
 * `size` worker threads, each started on first use; `P` is their progress (see the module
 * comment).
 */
export class WorkerQueue<J extends { kind: string }, R extends { [K in J['kind']]: unknown }, P> {
  private readonly slots: Slot<J, P>[];
  private readonly queue: Task<J, P>[] = [];
  private nextId = 1;
  private started = 0;
  private disposed = false;

  constructor(private readonly options: WorkerQueueOptions) {
    this.slots = Array.from({ length: Math.max(1, Math.floor(options.size ?? 1)) }, () => ({}));
  }

  /** Runs `job`; resolves to its result, rejects with its failure, a CancelledError, or a message saying its worker stopped. */
  run<K extends J['kind']>(job: Extract<J, { kind: K }>, opts: JobCallOptions<P> = {}): Promise<R[K]> {
    return new Promise((resolve, reject) => {
      if (this.disposed) return reject(new Error(`The ${this.options.name} has stopped (Sense Studio is shutting down).`));
      if (opts.signal?.aborted) return reject(new CancelledError());
      const task: Task<J, P> = { id: this.nextId++, job, opts, resolve: resolve as (v: unknown) => void, reject, settled: false };
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

  /** How many workers are running (or stopping) a job now; for tests and logs. */
  get running(): number {
    return this.slots.filter((s) => s.task).length;
  }

  /** Stops every worker; running and queued jobs are rejected. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const stopped = new Error(`The ${this.options.name} has stopped.`);
    for (const t of this.queue.splice(0)) this.settle(t, stopped);
    await Promise.all(
      this.slots.map((slot) => {
        if (slot.task) this.settle(slot.task, stopped);
        return this.stopWorker(slot);
      }),
    );
  }

  private dispatch(): void {
    if (this.disposed) return;
    for (const slot of this.slots) {
      if (slot.task || this.queue.length === 0) continue;
      const task = this.queue.shift()!;
      slot.task = task;
      const worker = (slot.worker ??= this.start(slot));
      worker.ref();
      worker.postMessage({ type: 'start', id: task.id, job: task.job } satisfies ToWorker<J>);
    }
  }

  private start(slot: Slot<J, P>): Worker {
    const worker = new Worker(this.options.script, this.options.workerData === undefined ? {} : { workerData: this.options.workerData });
    this.started++;
    worker.on('message', (m: FromWorker<P>) => {
      const task = slot.task;
      if (slot.worker !== worker || !task || task.id !== m.id) return;
      if (m.type === 'progress') {
        if (!task.settled) task.opts.onProgress?.(m.progress);
        return;
      }
      this.idle(slot);
      if (m.type === 'result') this.settle(task, undefined, m.value);
      else this.settle(task, errorOf(m.error));
      this.dispatch();
    });
    const lost = (why: string): void => {
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      const task = slot.task;
      this.idle(slot);
      if (task) this.settle(task, new Error(`The ${this.options.name} stopped while running the ${task.job.kind} job (${why}); nothing was returned. Run it again; if it stops again, see the Sense Studio output.`));
      this.dispatch();
    };
    worker.on('error', (e) => lost(e.message));
    worker.on('exit', (code) => lost(`exit code ${code}`));
    return worker;
  }

  /** The slot's job is over (answered, or its worker gone): its worker, if any, is idle. */
  private idle(slot: Slot<J, P>): void {
    slot.task = undefined;
    clearTimeout(slot.graceTimer);
    slot.graceTimer = undefined;
    slot.worker?.unref();
  }

  private cancel(task: Task<J, P>): void {
    const queued = this.queue.indexOf(task);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.settle(task, new CancelledError());
      return;
    }
    const slot = this.slots.find((s) => s.task === task);
    if (!slot || task.settled) return;
    this.settle(task, new CancelledError());
    const stop = (): void => {
      if (slot.task !== task) return;
      // Stuck inside one long call: stop the thread itself; the next job starts a fresh worker.
      this.idle(slot);
      void this.stopWorker(slot);
      this.dispatch();
    };
    const graceMs = this.options.cancelGraceMs ?? 1000;
    if (graceMs <= 0) return stop();
    slot.worker?.postMessage({ type: 'cancel', id: task.id } satisfies ToWorker<J>);
    slot.graceTimer = setTimeout(stop, graceMs);
  }

  private async stopWorker(slot: Slot<J, P>): Promise<void> {
    const w = slot.worker;
    slot.worker = undefined;
    if (w) await w.terminate();
  }

  private settle(task: Task<J, P>, error: Error | undefined, value?: unknown): void {
    if (task.settled) return;
    task.settled = true;
    task.detach?.();
    if (error) task.reject(error);
    else task.resolve(value);
  }
}

/** What a job may call while it runs in a worker: report progress, and ask whether it was cancelled. */
export interface WorkerJobContext<P> {
  onProgress(progress: P): void;
  readonly cancelled: boolean;
}

/**
 * The worker's side of {@link WorkerQueue}: runs each job it is sent with `run`, one at a
 * time as the queue sends them, and answers with its progress, its result or its failure as
 * plain data. A `cancel` message sets the flag `ctx.cancelled` the job checks. On Linux the
 * worker's thread (and the threads it starts, such as ONNX Runtime's) runs at a lower
 * priority than the thread that started it (see the module comment).
 */
export function serveJobs<J, P>(run: (job: J, ctx: WorkerJobContext<P>) => Promise<unknown>): void {
  const port = parentPort;
  if (!port) throw new Error('serveJobs runs in a worker thread started by a WorkerQueue, not on its own.');
  lowerThreadPriority();
  const cancelled = new Set<number>();
  const post = (m: FromWorker<P>): void => port.postMessage(m);
  port.on('message', (m: ToWorker<J>) => {
    if (m.type === 'cancel') {
      cancelled.add(m.id);
      return;
    }
    const { id, job } = m;
    const ctx: WorkerJobContext<P> = {
      onProgress: (progress) => post({ type: 'progress', id, progress }),
      get cancelled(): boolean {
        return cancelled.has(id);
      },
    };
    run(job, ctx)
      .then(
        (value) => post({ type: 'result', id, value }),
        (e: unknown) => post({ type: 'error', id, error: failureOf(e) }),
      )
      .finally(() => cancelled.delete(id));
  });
}

/** The nice value of a worker thread: lower priority than the thread that serves the user, still well above idle. */
export const WORKER_NICE = 10;

/**
 * Lowers the calling thread's priority to {@link WORKER_NICE} where the priority is per
 * thread (Linux: setpriority on the calling thread's id); elsewhere the call would lower the
 * whole process, the extension host included, so nothing is done. A thread already below
 * it (a process started with `nice`) is never raised, and a refusal (a sandbox) is ignored:
 * the worker then runs at the priority it has.
 */
export function lowerThreadPriority(): void {
  if (process.platform !== 'linux') return;
  try {
    if (getPriority(0) < WORKER_NICE) setPriority(0, WORKER_NICE);
  } catch {
    // Not permitted here: the worker keeps the priority it inherited.
  }
}
