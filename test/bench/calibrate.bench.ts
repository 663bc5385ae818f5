/**
 * Calibration quality on `host`: for the DeepEar sample (without its compress line, so the
 * export is quick; seeded weights) and the watch sample (its trained weights), three
 * calibrations of 30 windows each (engine/calibrate/node-calibrate.ts, as
 * `sense calibrate FILE` runs it). Prints the end-to-end estimate against the measured
 * window (CPU time: front end + partitions + runner), before and after calibration, the
 * same out of sample (the profile of round k predicting the measurements of round k+1),
 * and the DNN alone (the sum of the layers' estimates against the median kernel time of
 * ONNX Runtime's profile). Errors are (estimated - measured) / measured.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPipeline } from '../../cli/load';
import { findDevice, retarget } from '../../cli/commands/estimate';
import type { PipelineSpec } from '../../language/pipeline-model';
import { calibratePipeline, type CalibrationResult } from '../../engine/calibrate/node-calibrate';
import { applyProfile } from '../../engine/calibrate/profile';
import { estimatePipeline } from '../../engine/estimate';
import { initWeights } from '../../engine/weights/init';
import { readWeightsFile } from '../../engine/weights/node-weights';
import type { WeightSet } from '../../engine/weights/weights';
import type { OrtModuleLike } from '../../runtime/runner';

const here = dirname(fileURLToPath(import.meta.url));

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

function pct(est: number, measured: number): string {
  const e = (100 * (est - measured)) / measured;
  return `${e >= 0 ? '+' : ''}${e.toFixed(1)} %`.padStart(9);
}

async function bench(name: string, spec: PipelineSpec, weights: WeightSet, ort: OrtModuleLike): Promise<void> {
  const rounds: CalibrationResult[] = [];
  for (let k = 0; k < 3; k++) rounds.push(await calibratePipeline(spec, weights, { ort, runtime: 'onnxruntime-node', runs: 30 }));
  console.log(`${name} on host (3 calibrations x 30 windows; CPU ms per window)`);
  rounds.forEach((r, k) => {
    const e = r.endToEnd;
    const dnnAfter = r.rows.filter((x) => x.id !== 'features').reduce((a, x) => a + x.afterMs, 0);
    const next = rounds[(k + 1) % rounds.length];
    const oos = estimatePipeline(applyProfile(spec, r.profile)).endToEndLatencyMs;
    console.log(
      `  round ${k + 1}: end to end measured ${e.measuredMs.toFixed(3)} ms  before ${e.beforeMs.toFixed(3)} ms ${pct(e.beforeMs, e.measuredMs)}  after ${e.afterMs.toFixed(3)} ms ${pct(e.afterMs, e.measuredMs)}` +
        `  | out of sample (round ${((k + 1) % rounds.length) + 1}) ${pct(oos, next.endToEnd.measuredMs)}` +
        `  | DNN kernels ${r.kernelMs.toFixed(3)} ms, layers estimated ${dnnAfter.toFixed(3)} ms ${pct(dnnAfter, r.kernelMs)}` +
        `  | front end measured ${r.rows[0].measuredMs.toFixed(3)} ms, estimated ${r.rows[0].afterMs.toFixed(3)} ms`,
    );
  });
  const errs = rounds.map((r) => Math.abs(r.endToEnd.afterMs - r.endToEnd.measuredMs) / r.endToEnd.measuredMs).sort((a, b) => a - b);
  console.log(`  median |end-to-end error| after calibration: ${(100 * errs[1]).toFixed(1)} % (goal: under 10 %)`);
}

/** Runs the benchmark. */
export async function run(): Promise<void> {
  const mod = (await import('onnxruntime-node')) as unknown as OrtModuleLike & { default?: OrtModuleLike };
  const ort = mod.InferenceSession ? mod : mod.default!;
  const deepear = await onHost(readFileSync(join(here, '../../samples/deepear/deepear.sense'), 'utf8').replace(/^\s*compress .*$/gm, ''));
  await bench('DeepEar (no compress)', deepear, initWeights(deepear, 1), ort);
  const watchText = readFileSync(join(here, '../../samples/watch/activity.sense'), 'utf8').replace('barometer [pressure]', 'barometer [x]');
  const watch = await onHost(watchText);
  await bench('WatchActivity', watch, readWeightsFile(join(here, '../../samples/watch/activity.safetensors')), ort);
}
