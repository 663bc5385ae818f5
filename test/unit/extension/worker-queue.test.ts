/**
 * The studio's one job queue for worker threads (extension/worker-queue.ts), both sides,
 * with a small worker bundled here whose jobs say what happened to them: results and
 * progress come back in order; `size` workers run at once and the rest queue in order; a
 * queued job that is cancelled never runs; a running one is rejected at once and either
 * stops at its next check (the worker lives on) or, stuck in a synchronous loop, has its
 * worker terminated after the grace period (at once with a grace of 0), and the next job
 * runs on a fresh worker; a worker that exits rejects its job with a message naming the job
 * and the exit code; failures keep their class (UserFileError with its path and reason,
 * CancelledError); dispose rejects what is queued and running; and the worker's thread runs
 * at a lower priority on Linux, the extension host's thread unchanged.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKER_NICE, WorkerQueue } from '../../../extension/worker-queue';
import { UserFileError } from '../../../io/user-files';
import { CancelledError } from '../../../runtime/node-files';

/** The test worker's jobs. */
type TestJob =
  | { kind: 'echo'; value: number; steps: number }
  | { kind: 'wait'; ms: number }
  | { kind: 'untilCancelled' }
  | { kind: 'spin' }
  | { kind: 'exit'; code: number }
  | { kind: 'fail'; as: 'user-file' | 'cancelled' | 'plain' }
  | { kind: 'priority' }
  | { kind: 'history' };

interface TestResults {
  echo: number;
  wait: number;
  untilCancelled: string;
  spin: never;
  exit: never;
  fail: never;
  priority: number;
  /** The jobs this worker has started, in order, by kind and tag. */
  history: string[];
}

const WORKER_SOURCE = `
import { getPriority } from 'node:os';
import { serveJobs } from ${JSON.stringify(join(import.meta.dirname, '../../../extension/worker-queue.ts'))};
import { UserFileError } from ${JSON.stringify(join(import.meta.dirname, '../../../io/user-files.ts'))};
import { CancelledError } from ${JSON.stringify(join(import.meta.dirname, '../../../runtime/node-files.ts'))};
const history = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
serveJobs(async (job, ctx) => {
  history.push(job.kind + (job.ms !== undefined ? ':' + job.ms : ''));
  switch (job.kind) {
    case 'echo':
      for (let i = 1; i <= job.steps; i++) ctx.onProgress('step ' + i);
      return job.value * 2;
    case 'wait':
      await sleep(job.ms);
      return job.ms;
    case 'untilCancelled':
      while (!ctx.cancelled) await sleep(5);
      return 'stopped';
    case 'spin':
      for (;;) {}
    case 'exit':
      process.exit(job.code);
    case 'fail':
      if (job.as === 'user-file') throw new UserFileError('/w/x.safetensors: not found', '/w/x.safetensors', 'not-found');
      if (job.as === 'cancelled') throw new CancelledError();
      throw new RangeError('rank 0 is below 1');
    case 'priority':
      return getPriority(0);
    case 'history':
      return history.slice(0, -1);
  }
});
`;

let work: string;
let script: string;
const queues: WorkerQueue<TestJob, TestResults, string>[] = [];

function queue(size = 1, cancelGraceMs = 1000): WorkerQueue<TestJob, TestResults, string> {
  const q = new WorkerQueue<TestJob, TestResults, string>({ script, size, name: 'test worker', cancelGraceMs });
  queues.push(q);
  return q;
}

/** The rejection of `p` (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    (v) => new Error(`resolved with ${JSON.stringify(v)}`),
    (x: unknown) => x as Error,
  );
  expect(e.message).not.toMatch(/^resolved with/);
  return e;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sense-worker-queue-'));
  writeFileSync(join(work, 'worker.mjs'), WORKER_SOURCE);
  script = join(work, 'worker.cjs');
  await build({ entryPoints: [join(work, 'worker.mjs')], outfile: script, bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'error' });
}, 60_000);

afterAll(async () => {
  await Promise.all(queues.map((q) => q.dispose()));
  rmSync(work, { recursive: true, force: true });
});

describe('WorkerQueue and serveJobs', () => {
  it('returns each result with its progress in order', async () => {
    const q = queue();
    const progress: string[] = [];
    expect(await q.run({ kind: 'echo', value: 21, steps: 3 }, { onProgress: (p) => progress.push(p) })).toBe(42);
    expect(progress).toEqual(['step 1', 'step 2', 'step 3']);
    expect(q.workersStarted).toBe(1);
  });

  it('runs `size` jobs at once and queues the rest in order', async () => {
    const q = queue(2);
    const jobs = [300, 301, 5].map((ms) => q.run({ kind: 'wait', ms }));
    expect(q.running).toBe(2);
    expect(await Promise.all(jobs)).toEqual([300, 301, 5]);
    expect(q.workersStarted).toBe(2);
    const one = queue(1);
    const all = [40, 30, 20, 10].map((ms) => one.run({ kind: 'wait', ms }));
    expect(one.running).toBe(1);
    await Promise.all(all);
    expect(await one.run({ kind: 'history' })).toEqual(['wait:40', 'wait:30', 'wait:20', 'wait:10']);
  });

  it('drops a cancelled queued job without running it', async () => {
    const q = queue();
    const first = q.run({ kind: 'wait', ms: 200 });
    const controller = new AbortController();
    const dropped = q.run({ kind: 'wait', ms: 7 }, { signal: controller.signal });
    controller.abort();
    expect(await rejection(dropped)).toBeInstanceOf(CancelledError);
    await first;
    expect(await q.run({ kind: 'history' })).toEqual(['wait:200']);
    const aborted = new AbortController();
    aborted.abort();
    expect(await rejection(q.run({ kind: 'wait', ms: 1 }, { signal: aborted.signal }))).toBeInstanceOf(CancelledError);
  });

  it('rejects a cancelled running job at once; one that stops at its check keeps its worker', async () => {
    const q = queue(1, 10_000);
    const controller = new AbortController();
    const running = q.run({ kind: 'untilCancelled' }, { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    expect(await rejection(running)).toBeInstanceOf(CancelledError);
    // The next job waits for the worker to stop by itself, then runs on it.
    expect(await q.run({ kind: 'echo', value: 1, steps: 0 })).toBe(2);
    expect(q.workersStarted).toBe(1);
  });

  it('terminates a worker stuck in a synchronous loop after the grace period, and at once with a grace of 0', async () => {
    for (const graceMs of [100, 0]) {
      const q = queue(1, graceMs);
      const controller = new AbortController();
      const stuck = q.run({ kind: 'spin' }, { signal: controller.signal });
      await new Promise((r) => setTimeout(r, 100));
      controller.abort();
      expect(await rejection(stuck)).toBeInstanceOf(CancelledError);
      if (graceMs === 0) expect(q.running).toBe(0);
      expect(await q.run({ kind: 'echo', value: 5, steps: 0 })).toBe(10);
      expect(q.workersStarted).toBe(2);
    }
  });

  it('rejects the job of a worker that exits with a message naming the job and the code, and starts a fresh worker', async () => {
    const q = queue();
    const e = await rejection(q.run({ kind: 'exit', code: 3 }));
    expect(e.message).toBe('The test worker stopped while running the exit job (exit code 3); nothing was returned. Run it again; if it stops again, see the Sense Studio output.');
    expect(await q.run({ kind: 'echo', value: 4, steps: 0 })).toBe(8);
    expect(q.workersStarted).toBe(2);
  });

  it('keeps the class of a failure: a UserFileError with its path and reason, a CancelledError, a named Error', async () => {
    const q = queue();
    const user = await rejection(q.run({ kind: 'fail', as: 'user-file' }));
    expect(user).toBeInstanceOf(UserFileError);
    expect(user).toMatchObject({ message: '/w/x.safetensors: not found', path: '/w/x.safetensors', reason: 'not-found' });
    expect(await rejection(q.run({ kind: 'fail', as: 'cancelled' }))).toBeInstanceOf(CancelledError);
    expect(await rejection(q.run({ kind: 'fail', as: 'plain' }))).toMatchObject({ name: 'RangeError', message: 'rank 0 is below 1' });
    expect(q.workersStarted).toBe(1);
  });

  it('rejects the running and queued jobs on dispose, and any job after it', async () => {
    const q = queue();
    const running = rejection(q.run({ kind: 'wait', ms: 5000 }));
    const queued = rejection(q.run({ kind: 'wait', ms: 1 }));
    await q.dispose();
    expect((await running).message).toBe('The test worker has stopped.');
    expect((await queued).message).toBe('The test worker has stopped.');
    expect((await rejection(q.run({ kind: 'wait', ms: 1 }))).message).toMatch(/^The test worker has stopped/);
  });

  it("runs the worker's thread below the priority of the thread that started it, on Linux only", async () => {
    const before = getPriority(0);
    const q = queue();
    const inWorker = await q.run({ kind: 'priority' });
    // Elsewhere a priority is the whole process's, the caller's thread included, so it is left alone.
    expect(inWorker).toBe(process.platform === 'linux' ? Math.max(before, WORKER_NICE) : before);
    expect(getPriority(0)).toBe(before);
  });
});
