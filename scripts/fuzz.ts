/**
 * The long fuzz run (`npm run fuzz -- --cases 100000 [--seed N] [--target T] [--jobs N]
 * [--timeout-ms MS] [--out DIR]`): the targets of test/unit/fuzz/targets.ts in child
 * processes, so that a case that hangs is killed after its timeout and one that takes
 * ONNX Runtime down with a native crash is reported too. Case n of a run uses seed
 * `seed + n` and target `cycle[n % cycle.length]`, where `--target all` cycles through
 * {@link ALL_CYCLE} (the cheap file readers, images included, twice as often as the `.sense` and ONNX
 * targets, which cost 30 to 70 ms a case, so 100,000 cases fit in about half an hour on
 * two cores) and a named target is the whole cycle; every failure is written to the
 * output folder (the input, and a .txt with the error and the command that replays it:
 * `npm run fuzz -- --target T --seed S --cases 1`). Prints progress, then one summary
 * line with the cases, crashes, hangs and the slowest case; exits 1 on any crash or hang.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createFuzzContext, generate, runInput, TARGETS, type FuzzInput, type FuzzOutcome, type TargetName } from '../test/unit/fuzz/targets';

/** Parent -> child: run one case, or only generate its input (to save a case that killed a child). */
type Request = { kind: 'run' | 'generate'; target: TargetName; seed: number };
/** Child -> parent. */
type Reply =
  | { kind: 'ready' }
  | { kind: 'done'; target: TargetName; seed: number; ms: number; outcome: FuzzOutcome }
  | { kind: 'failed'; target: TargetName; seed: number; ms: number; error: string; name: string; bytes: number[] }
  | { kind: 'input'; name: string; bytes: number[] };

async function child(): Promise<void> {
  const ctx = await createFuzzContext();
  const send = (r: Reply): void => void process.send!(r);
  process.on('message', (m: Request) => {
    void (async () => {
      const input: FuzzInput = generate(ctx, m.target, m.seed);
      if (m.kind === 'generate') return send({ kind: 'input', name: input.name, bytes: [...input.bytes] });
      const t0 = performance.now();
      try {
        const outcome = await runInput(ctx, input);
        send({ kind: 'done', target: m.target, seed: m.seed, ms: performance.now() - t0, outcome });
      } catch (e) {
        const error = e instanceof Error ? (e.stack?.includes(e.message) ? e.stack : `${e.message}\n${e.stack ?? ''}`) : String(e);
        send({ kind: 'failed', target: m.target, seed: m.seed, ms: performance.now() - t0, error, name: input.name, bytes: [...input.bytes] });
      }
    })();
  });
  send({ kind: 'ready' });
}

/** The targets of `--target all`, in the order case numbers cycle through them. */
const ALL_CYCLE: TargetName[] = ['sense', 'wav', 'csv', 'image', 'safetensors', 'onnx', 'wav', 'csv', 'image', 'safetensors'];

interface Options {
  cases: number;
  seed: number;
  targets: TargetName[];
  jobs: number;
  timeoutMs: number;
  out: string;
  recycle: number;
}

function options(): Options {
  const { values } = parseArgs({
    strict: true,
    options: {
      cases: { type: 'string', default: '2000' },
      seed: { type: 'string', default: '1' },
      target: { type: 'string', default: 'all' },
      jobs: { type: 'string', default: '2' },
      'timeout-ms': { type: 'string', default: '30000' },
      out: { type: 'string', default: 'test-output/fuzz' },
      recycle: { type: 'string', default: '4000' },
    },
  });
  const int = (flag: string, v: string, min: number): number => {
    const x = Number(v);
    if (!Number.isSafeInteger(x) || x < min) throw new Error(`--${flag} needs an integer >= ${min} (got '${v}')`);
    return x;
  };
  const target = values.target;
  if (target !== 'all' && !(TARGETS as readonly string[]).includes(target)) throw new Error(`--target must be all or one of ${TARGETS.join(', ')} (got '${target}')`);
  return {
    cases: int('cases', values.cases, 1),
    seed: int('seed', values.seed, 0),
    targets: target === 'all' ? ALL_CYCLE : [target as TargetName],
    jobs: int('jobs', values.jobs, 1),
    timeoutMs: int('timeout-ms', values['timeout-ms'], 100),
    out: values.out,
    recycle: int('recycle', values.recycle, 1),
  };
}

/** A worker process and the case it is running. */
interface Worker {
  proc: ChildProcess;
  ready: boolean;
  current?: Request & { timer: NodeJS.Timeout };
  ran: number;
}

async function parent(o: Options): Promise<number> {
  mkdirSync(o.out, { recursive: true });
  const started = performance.now();
  const kinds = [...new Set(o.targets)];
  const counts = Object.fromEntries(kinds.map((t) => [t, { cases: 0, accepted: 0 }])) as Record<TargetName, { cases: number; accepted: number }>;
  let next = 0;
  let finished = 0;
  let crashes = 0;
  let hangs = 0;
  let slowest = { target: o.targets[0], seed: 0, ms: 0 };
  const replay = (r: { target: TargetName; seed: number }): string => `npm run fuzz -- --target ${r.target} --seed ${r.seed} --cases 1`;
  const save = (r: { target: TargetName; seed: number }, what: string, error: string, name?: string, bytes?: number[]): void => {
    if (name && bytes) writeFileSync(join(o.out, name), Uint8Array.from(bytes));
    writeFileSync(join(o.out, `fuzz-${r.target}-${r.seed}.txt`), `${what}: target ${r.target}, seed ${r.seed}\nreplay: ${replay(r)}\n\n${error}\n`);
    console.log(`${what.toUpperCase()}: ${r.target} seed ${r.seed} (${replay(r)}): ${error.split('\n')[0]}`);
  };
  // A case that killed its worker is regenerated in a fresh one, which writes its input.
  const pendingInputs: Request[] = [];

  return new Promise<number>((resolve, reject) => {
    const workers: Worker[] = [];
    let done = false;
    const maybeFinish = (): void => {
      if (done || next < o.cases || pendingInputs.length > 0 || workers.some((x) => x.current)) return;
      done = true;
      for (const w of workers) w.proc.kill('SIGKILL');
      const s = (performance.now() - started) / 1000;
      const per = kinds.map((t) => `${t} ${counts[t].cases} (${counts[t].accepted} accepted)`).join(', ');
      console.log(`fuzz: ${finished} cases [${per}], ${crashes} crashes, ${hangs} hangs, slowest ${slowest.target} seed ${slowest.seed} ${slowest.ms.toFixed(0)} ms, ${s.toFixed(0)} s (${(finished / s).toFixed(1)} cases/s), seed ${o.seed}, failures in ${o.out}`);
      resolve(crashes + hangs > 0 ? 1 : 0);
    };
    const dispatch = (w: Worker): void => {
      if (done || !w.ready || w.current) return;
      const gen = pendingInputs.shift();
      if (gen) {
        w.current = { ...gen, timer: setTimeout(() => w.proc.kill('SIGKILL'), o.timeoutMs) };
        w.proc.send(gen);
        return;
      }
      if (next >= o.cases) return maybeFinish();
      if (w.ran >= o.recycle) {
        // Long-lived workers are replaced now and then, so a slow leak cannot turn into a failure.
        w.proc.kill('SIGTERM');
        return;
      }
      const n = next++;
      const req: Request = { kind: 'run', target: o.targets[n % o.targets.length], seed: o.seed + n };
      const onTimeout = (): void => {
        hangs++;
        finished++;
        counts[req.target].cases++;
        save(req, 'hang', `no answer after ${o.timeoutMs} ms; the worker was killed`);
        pendingInputs.push({ ...req, kind: 'generate' });
        w.current = undefined;
        w.proc.kill('SIGKILL');
      };
      w.current = { ...req, timer: setTimeout(onTimeout, o.timeoutMs) };
      w.ran++;
      w.proc.send(req);
    };
    const spawn = (slot: number): void => {
      const w: Worker = { proc: fork(process.argv[1], [], { env: { ...process.env, SENSE_FUZZ_WORKER: '1' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }), ready: false, ran: 0 };
      workers[slot] = w;
      w.proc.on('message', (m: Reply) => {
        if (m.kind === 'ready') w.ready = true;
        else if (w.current) {
          clearTimeout(w.current.timer);
          w.current = undefined;
          // The case's .txt (hang or crash) is written already; only its input is missing.
          if (m.kind === 'input') writeFileSync(join(o.out, m.name), Uint8Array.from(m.bytes));
          else {
            finished++;
            counts[m.target].cases++;
            if (m.ms > slowest.ms) slowest = { target: m.target, seed: m.seed, ms: m.ms };
            if (m.kind === 'done') {
              if (m.outcome === 'accepted') counts[m.target].accepted++;
            } else {
              crashes++;
              save(m, 'crash', m.error, m.name, m.bytes);
            }
          }
        }
        dispatch(w);
      });
      w.proc.on('exit', (code, signal) => {
        if (done) return;
        if (!w.ready) return reject(new Error(`a fuzz worker exited before it was ready (code ${code}, signal ${signal})`));
        const c = w.current;
        w.current = undefined;
        if (c) {
          clearTimeout(c.timer);
          if (c.kind === 'run') {
            // The worker died inside a case: a native crash or an exhausted heap.
            crashes++;
            finished++;
            counts[c.target].cases++;
            save(c, 'crash', `the worker exited (code ${code}, signal ${signal}) while running the case`);
            pendingInputs.push({ ...c, kind: 'generate' });
          }
        }
        if (next < o.cases || pendingInputs.length > 0) spawn(slot);
        else maybeFinish();
      });
    };
    for (let i = 0; i < o.jobs; i++) spawn(i);
    const progress = setInterval(() => {
      const s = (performance.now() - started) / 1000;
      console.log(`${finished}/${o.cases} cases, ${crashes} crashes, ${hangs} hangs, ${(finished / s).toFixed(1)} cases/s`);
    }, 15_000);
    progress.unref();
  });
}

if (process.env.SENSE_FUZZ_WORKER === '1') await child();
else {
  let o: Options;
  try {
    o = options();
  } catch (e) {
    console.error(`fuzz: ${(e as Error).message}\nusage: npm run fuzz -- [--cases N] [--seed N] [--target all|${TARGETS.join('|')}] [--jobs N] [--timeout-ms MS] [--out DIR] [--recycle N]`);
    process.exit(2);
  }
  try {
    process.exit(await parent(o));
  } catch (e) {
    console.error(`fuzz: ${(e as Error).message}`);
    process.exit(2);
  }
}
