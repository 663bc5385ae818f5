/**
 * Calibration quality on `host`, out of sample. For each pipeline, 3 rounds; each round
 * measures 60 windows (engine/calibrate/node-calibrate.ts measurePipeline, as
 * `sense calibrate FILE` does), fits the profile on the even windows and compares the
 * estimate with the odd windows' median (the windows interleave, so slow drift of the
 * machine's load hits both halves alike). Pipelines: samples/deepear/deepear.sense
 * (256 wide, its trained weights), samples/watch/activity.sense (its trained weights) and
 * the DESIGN.md example (test/unit/language/fixtures/design-example.sense, 1024 wide with
 * an SVD rank-256 layer; seeded initial weights written to a temp dir and read back).
 *
 * Times are CPU time of this process (process.cpuUsage) for the front end and the whole
 * window, ONNX Runtime's per-kernel profile for the layers: this is a loaded 2-core
 * machine, where wall time counts other processes. Errors are (estimated - measured) /
 * measured; the summary gives the median over rounds and the spread (min .. max).
 * The decomposition of each round (front end, layers, time outside any op) shows which
 * term of the cost model an error comes from. A last table applies each pipeline's
 * profile to the others (not the goal: the front-end throughput and the dispatch cost
 * are fitted to one pipeline's front end and runner glue).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPipeline } from '../../cli/load';
import { findDevice, retarget } from '../../cli/commands/estimate';
import type { PipelineSpec } from '../../language/pipeline-model';
import { fitMeasurements, measurePipeline, type CalibrationMeasurements } from '../../engine/calibrate/node-calibrate';
import type { DeviceProfile } from '../../runtime/device-profile';
import { applyProfile } from '../../engine/calibrate/profile';
import { estimatePipeline } from '../../engine/estimate';
import { initWeights } from '../../engine/weights/init';
import { readWeightsFile } from '../../engine/weights/node-weights';
import { writeUserFileAtomic } from '../../io/user-files';
import { encodeSafetensors } from '../../engine/weights/safetensors';
import type { WeightSet } from '../../engine/weights/weights';
import type { OrtModuleLike } from '../../runtime/runner';

const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = 3;
const WINDOWS = 60;

/** The pipeline in `text` retargeted to `host`, exactly as `sense calibrate` does it. */
async function onHost(text: string): Promise<PipelineSpec> {
  const dir = mkdtempSync(join(tmpdir(), 'sense-bench-calibrate-'));
  try {
    const path = join(dir, 'pipeline.sense');
    writeFileSync(path, text);
    const { file, spec } = await loadPipeline(path);
    return retarget(spec, findDevice(file, 'host'), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? 0 : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function err(est: number, measured: number): number {
  return (100 * (est - measured)) / measured;
}

function pct(e: number): string {
  return `${e >= 0 ? '+' : ''}${e.toFixed(1)} %`.padStart(8);
}

/**
 * The odd windows' measured figures: whole window, front end, the layers the IR prices
 * (sum of their median kernel times) and the rest (median window - median front end -
 * those layers), the same decomposition the fit uses (node-calibrate.ts fitMeasurements).
 */
function heldOut(m: CalibrationMeasurements, spec: PipelineSpec, idx: readonly number[], priced: ReadonlySet<string>): { windowMs: number; featuresMs: number; layersMs: number; outsideMs: number } {
  const layerIds = spec.blocks.flatMap((b) => b.layers.map((l) => l.id)).filter((id) => priced.has(id));
  const layersMs = layerIds.reduce((a, id) => a + median(idx.map((i) => m.layerMs[id]?.[i] ?? 0)), 0);
  return {
    windowMs: median(idx.map((i) => m.windowCpuMs[i])),
    featuresMs: median(idx.map((i) => m.featuresCpuMs[i])),
    layersMs,
    outsideMs: median(idx.map((i) => m.windowCpuMs[i])) - median(idx.map((i) => m.featuresCpuMs[i])) - layersMs,
  };
}

interface BenchResult {
  name: string;
  spec: PipelineSpec;
  before: number[];
  inSample: number[];
  outOfSample: number[];
  /** Round 1's profile and its held-out window, for the cross-pipeline check. */
  profile: DeviceProfile;
  ranks: Record<string, number>;
  heldOutMs: number;
}

async function bench(name: string, spec: PipelineSpec, weights: WeightSet, ort: OrtModuleLike): Promise<BenchResult> {
  const even = Array.from({ length: WINDOWS / 2 }, (_, i) => 2 * i);
  const odd = even.map((i) => i + 1);
  const before: number[] = [];
  const inSample: number[] = [];
  const outOfSample: number[] = [];
  let first: { profile: DeviceProfile; ranks: Record<string, number>; heldOutMs: number } | undefined;
  console.log(`${name} on host: ${ROUNDS} rounds x ${WINDOWS} windows, fit on the even windows, tested on the odd ones (CPU ms per window)`);
  for (let k = 0; k < ROUNDS; k++) {
    const m = await measurePipeline(spec, weights, { ort, runtime: 'onnxruntime-node', runs: WINDOWS });
    const r = fitMeasurements(spec, m, { windows: even });
    const est = estimatePipeline(applyProfile(spec, r.profile), { rankResolver: (l) => m.ranks[l.id] });
    const test = heldOut(m, spec, odd, new Set(r.profile.samples.map((s) => s.op)));
    const estFeatures = est.features?.latencyMs ?? 0;
    const estDispatch = est.layers.reduce((a, l) => a + l.dispatchMs, 0);
    const estLayers = est.layers.reduce((a, l) => a + l.latencyMs - l.dispatchMs, 0);
    const e = err(est.endToEndLatencyMs, test.windowMs);
    before.push(err(r.endToEnd.beforeMs, test.windowMs));
    inSample.push(err(r.endToEnd.afterMs, r.endToEnd.measuredMs));
    outOfSample.push(e);
    const p = r.profile;
    first ??= { profile: p, ranks: m.ranks, heldOutMs: test.windowMs };
    console.log(
      `  round ${k + 1}: held-out window ${test.windowMs.toFixed(3)} ms, estimated ${est.endToEndLatencyMs.toFixed(3)} ms ${pct(e)}  (catalog ${pct(before[k])}, in sample ${pct(inSample[k])})` +
        ` | front end ${test.featuresMs.toFixed(3)} vs ${estFeatures.toFixed(3)} ms ${pct(err(estFeatures, test.featuresMs))}` +
        ` | layers ${test.layersMs.toFixed(3)} vs ${estLayers.toFixed(3)} ms ${pct(err(estLayers, test.layersMs))}` +
        ` | outside ops ${test.outsideMs.toFixed(3)} vs ${estDispatch.toFixed(3)} ms` +
        ` | fitted ${(p.computeMacsPerS / 1e9).toFixed(2)} GMAC/s, front end ${((p.frontendMacsPerS ?? p.computeMacsPerS) / 1e9).toFixed(2)} GMAC/s, ${(p.bandwidthBytesPerS / 1e9).toFixed(1)} GB/s, overhead ${(p.overheadMs * 1000).toFixed(1)} us, dispatch ${((p.dispatchMs ?? 0) * 1000).toFixed(0)} us`,
    );
  }
  const spread = (xs: number[]): string => `median ${pct(median(xs)).trim()}, spread ${pct(Math.min(...xs)).trim()} .. ${pct(Math.max(...xs)).trim()}`;
  console.log(`  out of sample: ${spread(outOfSample)}; in sample: ${spread(inSample)}; catalog figures: ${spread(before)} (goal: |error| under 10 %)`);
  return { name, spec, before, inSample, outOfSample, ...first! };
}

/** Runs the benchmark. */
export async function run(): Promise<void> {
  const mod = (await import('onnxruntime-node')) as unknown as OrtModuleLike & { default?: OrtModuleLike };
  const ort = mod.InferenceSession ? mod : mod.default!;
  const results = [];
  const deepear = await onHost(readFileSync(join(here, '../../samples/deepear/deepear.sense'), 'utf8'));
  results.push(await bench('DeepEar (256 wide, trained weights)', deepear, readWeightsFile(join(here, '../../samples/deepear/deepear.safetensors')), ort));
  const watch = await onHost(readFileSync(join(here, '../../samples/watch/activity.sense'), 'utf8'));
  results.push(await bench('WatchActivity (trained weights)', watch, readWeightsFile(join(here, '../../samples/watch/activity.safetensors')), ort));
  const design = await onHost(readFileSync(join(here, '../unit/language/fixtures/design-example.sense'), 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'sense-bench-calibrate-weights-'));
  try {
    const path = join(dir, 'deepear.safetensors');
    writeUserFileAtomic(path, encodeSafetensors(initWeights(design, 1), { pipeline: design.name, seed: '1', generator: 'calibrate bench' }), 'weights');
    results.push(await bench('DESIGN.md DeepEar (1024 wide, svd rank 256, seeded weights)', design, readWeightsFile(path), ort));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('summary: out-of-sample end-to-end error after calibration, median over rounds (spread)');
  for (const r of results) {
    const xs = r.outOfSample;
    console.log(`  ${r.name.padEnd(62)} ${pct(median(xs))}  (${pct(Math.min(...xs)).trim()} .. ${pct(Math.max(...xs)).trim()})  ${xs.every((x) => Math.abs(x) < 10) ? 'meets' : 'misses'} the 10 % goal`);
  }
  // Not the goal, but what a user should know: a profile is fitted to one pipeline's front
  // end and runner glue, and transfers to another only as far as those are alike.
  console.log('cross-pipeline: round 1 profile of the row pipeline estimating round 1 held-out window of the column pipeline');
  console.log(`  ${''.padEnd(24)}${results.map((c) => c.name.split(' ')[0].padStart(16)).join('')}`);
  for (const r of results) {
    const cells = results.map((c) => pct(err(estimatePipeline(applyProfile(c.spec, r.profile), { rankResolver: (l) => c.ranks[l.id] }).endToEndLatencyMs, c.heldOutMs)).padStart(16));
    console.log(`  ${r.name.split(' ')[0].padEnd(24)}${cells.join('')}`);
  }
}
