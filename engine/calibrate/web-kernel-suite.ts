/**
 * The kernel suite in a browser (`sense calibrate --device NAME --page DIR`): the same
 * pipelines, kernel samples and fit as `sense calibrate --device host`
 * (./kernel-suite.ts), timed with onnxruntime-web's wasm build and `performance.now()`,
 * so a phone or a watch is calibrated in its own browser without a cable.
 *
 * The command line lowers the suite's `.sense` pipelines (the page has no language
 * services) into a {@link SuitePlan}, plain JSON; the page builds each model from its
 * pipeline with the project's ONNX writer and seeded weights (so the page downloads a
 * plan of kilobytes, not models of megabytes) and times it. Two things differ from Node,
 * both because a browser has less to offer:
 *
 * - A browser has no CPU clock, so times are wall time (medians of many short batches
 *   taken in turns, as in Node, so a burst of other work hits every candidate alike).
 * - onnxruntime-web reports no per-node times to the page, so a layer's kernel time is
 *   the difference between the model of the pipeline's first k layers and that of its
 *   first k - 1 (the way the front end's steps are timed in both places); the session's
 *   fixed cost and the input's hand-over cancel in the difference.
 *
 * No `node:` import and no DOM: the page's script (runtime/demo/calibrate.html) passes in
 * onnxruntime-web and shows the progress.
 */
import type { PipelineSpec } from '../../language/pipeline-model';
import { computeFeatures } from '../../runtime/features';
import type { OrtModuleLike, OrtSessionLike } from '../../runtime/runner';
import type { ProfileMachine } from '../../runtime/device-profile';
import { exportOnnx } from '../onnx/export-onnx';
import { buildIr } from '../ir';
import { initWeights } from '../weights/init';
import { median } from './fit';
import type { KernelSample } from './kernel-predictor';
import { fitKernelSuite, frontStepSamples, kernelSuite, layerSamples, noiseWindow, prefixText, suitePriorOf, timePrefixes, type SuiteFit, type SuiteMeasurements } from './kernel-suite';

/** The `kind` of a suite plan file (suite.json). */
export const SUITE_PLAN_KIND = 'sense-kernel-suite-plan';

/** One case of a {@link SuitePlan}: a front-end case with its prefixes, or a layer pipeline. */
export type PlanCase = { name: string; steps: string[]; specs: PipelineSpec[] } | { name: string; spec: PipelineSpec };

/** The suite lowered for one device, as the page reads it from suite.json. */
export interface SuitePlan {
  kind: typeof SUITE_PLAN_KIND;
  version: 1;
  /** The device calibrated; every pipeline targets it. */
  device: string;
  quick: boolean;
  /** Rounds of timing per case (each candidate runs for at least `batchMs` per round). */
  rounds: number;
  /** Least wall time of one batch, ms. */
  batchMs: number;
  cases: PlanCase[];
}

/**
 * The suite's pipelines targeting `device`, lowered by `lower` (the CLI's language
 * services; it throws with the file and place of an error, such as an unknown device).
 */
export async function planKernelSuite(lower: (text: string, name: string) => Promise<PipelineSpec>, device: string, quick: boolean): Promise<SuitePlan> {
  const cases: PlanCase[] = [];
  const retarget = (text: string): string => text.replace(/\n {2}target host\n/, `\n  target ${device}\n`);
  for (const c of kernelSuite(quick)) {
    if (c.steps) {
      const specs: PipelineSpec[] = [];
      for (let k = 0; k <= c.steps.length; k++) specs.push(await lower(retarget(prefixText(c, k)), `${c.name} (first ${k} feature steps)`));
      cases.push({ name: c.name, steps: c.steps, specs });
    } else cases.push({ name: c.name, spec: await lower(retarget(c.text), c.name) });
  }
  return { kind: SUITE_PLAN_KIND, version: 1, device, quick, rounds: quick ? 9 : 25, batchMs: quick ? 4 : 5, cases };
}

/**
 * Checks that `json` (the parsed suite.json at `source`) is a plan this code can run;
 * throws an Error naming `source` otherwise.
 */
export function validateSuitePlan(json: unknown, source: string): SuitePlan {
  const p = json as Partial<SuitePlan> | null;
  if (!p || typeof p !== 'object' || p.kind !== SUITE_PLAN_KIND) throw new Error(`${source}: not a kernel suite plan (kind ${SUITE_PLAN_KIND}); write the page again with sense calibrate --device NAME --page DIR`);
  if (p.version !== 1) throw new Error(`${source}: kernel suite plan version ${String(p.version)} is not 1; write the page again with this version of sense`);
  if (typeof p.device !== 'string' || !Array.isArray(p.cases) || !(Number(p.rounds) >= 1) || !(Number(p.batchMs) > 0)) throw new Error(`${source}: the kernel suite plan lacks its device, cases, rounds or batchMs`);
  return p as SuitePlan;
}

/** Options of {@link runWebKernelSuite}. */
export interface WebSuiteOptions {
  /** onnxruntime-web (its wasm build). */
  ort: OrtModuleLike;
  plan: SuitePlan;
  /** What the page knows of the machine: the user agent as `cpu`, the runtime and its version, the cores. */
  machine: ProfileMachine;
  /** The clock, ms (default `performance.now()`). */
  nowMs?: () => number;
  /** Called before each case with a line of progress and how many cases are done. */
  onProgress?: (line: string, done: number, total: number) => void;
}

/** What {@link runWebKernelSuite} measured and fitted. */
export interface WebSuiteResult extends SuiteFit {
  samples: KernelSample[];
  suiteS: number;
}

/** Lets the page draw between cases (a browser paints only when the script yields). */
function yieldToPage(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Times `count` candidates in turns, as ./kernel-suite.ts timePrefixes does but for
 * asynchronous runs (`session.run` returns a promise): per candidate, the median over
 * `rounds` of the mean time of a batch that runs until `batchMs` have passed.
 */
async function timeInTurns(count: number, run: (i: number) => Promise<void>, rounds: number, batchMs: number, nowMs: () => number): Promise<number[]> {
  for (let i = 0; i < count; i++) for (let w = 0; w < 3; w++) await run(i);
  const times: number[][] = Array.from({ length: count }, () => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < count; i++) {
      const t0 = nowMs();
      let n = 0;
      let t = t0;
      do {
        await run(i);
        n++;
        t = nowMs();
      } while (t - t0 < batchMs);
      times[i].push((t - t0) / n);
    }
    await yieldToPage();
  }
  return times.map(median);
}

/** The model of `spec`'s first `k` layers (one partition on the default processor), with seeded weights. */
function prefixModel(spec: PipelineSpec, k: number): Uint8Array {
  const [block] = spec.blocks;
  const prefix: PipelineSpec = { ...spec, blocks: [{ ...block, layers: block.layers.slice(0, k) }] };
  return exportOnnx(prefix, initWeights(prefix, 1), { single: true }).partitions[0].model;
}

/**
 * Runs the plan's suite with `opts.ort` and fits the profile of the device's default
 * processor (./kernel-suite.ts fitKernelSuite). Throws an Error naming the case when a
 * model cannot be built or run.
 */
export async function runWebKernelSuite(opts: WebSuiteOptions): Promise<WebSuiteResult> {
  const { ort, plan } = opts;
  const nowMs = opts.nowMs ?? ((): number => performance.now());
  const started = nowMs();
  const samples: KernelSample[] = [];
  const windows: SuiteMeasurements['windows'] = [];
  let prior: SuiteMeasurements['prior'] | undefined;
  for (const [done, c] of plan.cases.entries()) {
    if ('steps' in c) {
      opts.onProgress?.(`front end ${c.name}: ${c.steps.length} steps`, done, plan.cases.length);
      await yieldToPage();
      samples.push(...frontStepSamples({ name: c.name, text: '', steps: c.steps }, c.specs, timePrefixes(c.specs, plan.rounds, plan.batchMs, nowMs)));
      continue;
    }
    const { spec } = c;
    opts.onProgress?.(`layers ${c.name}: ${spec.blocks[0].layers.length} layers`, done, plan.cases.length);
    await yieldToPage();
    prior ??= suitePriorOf(spec);
    const layers = spec.blocks[0].layers;
    const window = noiseWindow(spec);
    const features = computeFeatures(spec.input, spec.features, window);
    const sessions: OrtSessionLike[] = [];
    try {
      for (let k = 1; k <= layers.length; k++) sessions.push(await ort.InferenceSession.create(prefixModel(spec, k), { executionProviders: ['wasm'] }));
    } catch (e) {
      throw new Error(`kernel suite ${c.name}: cannot build or load its models (${(e as Error).message})`);
    }
    const input = sessions[0].inputNames[0];
    const feed = { [input]: new ort.Tensor('float32', features.data, [1, ...features.shape]) };
    const full = sessions[sessions.length - 1];
    // Candidates 0..L-1 are the prefixes; candidate L is a whole window (front end and the full model), as the runner runs it.
    const times = await timeInTurns(
      sessions.length + 1,
      async (i) => {
        if (i < sessions.length) await sessions[i].run(feed);
        else {
          const f = computeFeatures(spec.input, spec.features, window);
          await full.run({ [input]: new ort.Tensor('float32', f.data, [1, ...f.shape]) });
        }
      },
      plan.rounds,
      plan.batchMs,
      nowMs,
    );
    const index = new Map(layers.map((l, i) => [l.id, i]));
    samples.push(...layerSamples(c.name, spec, (id) => {
      const i = index.get(id) ?? 0;
      return i === 0 ? 0 : times[i] - times[i - 1];
    }));
    windows.push({ windowMs: times[sessions.length], ops: buildIr(spec).ops.filter((o) => !o.noop) });
    await Promise.all(sessions.map((s) => s.release()));
  }
  if (!prior) throw new Error('kernel suite: the plan has no layer pipeline');
  const suiteS = (nowMs() - started) / 1000;
  const fit = fitKernelSuite({ samples, windows, prior, machine: opts.machine, runs: plan.rounds, suiteS, measuredAt: new Date().toISOString() });
  return { ...fit, samples, suiteS };
}

// The page's script imports everything it needs from this module's browser build (calibrate.js).
export { formatDeviceProfile } from '../../runtime/device-profile';
export { heldOutText } from './kernel-predictor';
