/**
 * Runtime overhead: the `sense run` path (runtime/runner.ts: feature front end, partitions
 * chained by tensor name, head probabilities) against a bare ONNX Runtime session.run of
 * the same partition models with the same feature tensor, on the DeepEar pipeline
 * (samples/deepear/deepear.sense without its compress lines, so the export is quick;
 * seeded initial weights) for one 1 s window. Goal: our DNN overhead under 15 %.
 * Both sides use onnxruntime-node with the same sessions options; median over 7 alternating rounds of
 * medians of 15 runs.
 * The whole window is compared with a bare pipeline timed the same way, as one call: our
 * front end (bundleFeatures, the only front end there is) then the bare sessions on its
 * output. Adding separately measured front-end and ORT medians instead credits each with a
 * cache the other never disturbs (on a 2-core host, whole windows came out 1.10-1.25x of
 * that sum while the runner's own JS, per CPU profile, is under 2 % of a window); the sum
 * is still printed for reference.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle } from '../../engine/export/bundle';
import { initWeights } from '../../engine/weights/init';
import type { PipelineSpec } from '../../language/pipeline-model';
import { buildDocument, createSenseServices } from '../../language/sense-module';
import '../../language/polyfills';
import { bundleFeatures, createRunner, type OrtModuleLike, type OrtSessionLike, type OrtTensorLike } from '../../runtime/runner';
import { medianMs, report } from './util';

const here = dirname(fileURLToPath(import.meta.url));

async function deepEar(): Promise<PipelineSpec> {
  const text = readFileSync(join(here, '../../samples/deepear/deepear.sense'), 'utf8').replace(/^\s*compress .*$/gm, '');
  const services = createSenseServices();
  const doc = await buildDocument(services, text, 'file:///bench/deepear.sense');
  const spec = [...services.Sense.lowering.Lowering.document(doc.parseResult.value).pipelines.values()].map((p) => p.spec).find((s) => !!s);
  if (!spec) throw new Error('samples/deepear/deepear.sense did not lower to a pipeline');
  return spec;
}

/** Runs the benchmark and prints medians and ratios. */
export async function run(): Promise<void> {
  const spec = await deepEar();
  const bundle = buildBundle(spec, initWeights(spec, 1));
  const mod = (await import('onnxruntime-node')) as unknown as OrtModuleLike & { default?: OrtModuleLike };
  const ort = mod.InferenceSession ? mod : mod.default!;
  const runner = await createRunner({ ort, backend: 'node', manifest: bundle.manifest, models: bundle.models, sessionOptions: { intraOpNumThreads: 1 } });
  const bare: OrtSessionLike[] = [];
  for (const p of bundle.manifest.partitions) bare.push(await ort.InferenceSession.create(bundle.models.get(p.model)!, { executionProviders: ['cpu'], intraOpNumThreads: 1 }));
  const rate = spec.input.kind === 'audio' ? spec.input.rateHz : 16000;
  const window = Float32Array.from({ length: rate }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / rate) + 0.05 * Math.sin(i * 0.37));
  const features = runner.features(window).data;
  const shape = bundle.manifest.features.outputShape;
  const bareOn = async (input: Float32Array): Promise<void> => {
    const tensors = new Map<string, OrtTensorLike>([['features', new ort.Tensor('float32', input, [1, ...shape])]]);
    for (let i = 0; i < bare.length; i++) {
      const p = bundle.manifest.partitions[i];
      const out = await bare[i].run(Object.fromEntries(p.inputs.map((x) => [x.name, tensors.get(x.name)!])));
      for (const o of p.outputs) tensors.set(o.name, out[o.name]);
    }
  };
  const bareRun = (): Promise<void> => bareOn(features);
  const barePipeline = (): Promise<void> => bareOn(bundleFeatures(bundle.manifest, window).data);
  const macs = spec.blocks.flatMap((b) => b.layers).reduce((a, l) => a + l.macs, 0);
  console.log(`DeepEar without compression: ${(macs / 1e6).toFixed(1)} M MACs, ${bundle.manifest.partitions.length} partitions (${bundle.manifest.partitions.map((p) => p.processor).join(', ')})`);
  // Alternate the contenders in rounds so load changes on a shared machine hit both alike.
  const rounds: Record<'bare' | 'dnn' | 'feat' | 'pipe' | 'whole', number[]> = { bare: [], dnn: [], feat: [], pipe: [], whole: [] };
  for (let r = 0; r < 7; r++) {
    rounds.bare.push(await medianMs(bareRun, 15, 2));
    rounds.dnn.push(await medianMs(() => runner.runPartitions(features), 15, 2));
    rounds.feat.push(await medianMs(() => runner.features(window), 15, 2));
    rounds.pipe.push(await medianMs(barePipeline, 15, 2));
    rounds.whole.push(await medianMs(() => runner.runWindow(window), 15, 2));
  }
  const mid = (x: number[]): number => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)];
  const [tBare, tDnn, tFeat, tPipe, tWhole] = [mid(rounds.bare), mid(rounds.dnn), mid(rounds.feat), mid(rounds.pipe), mid(rounds.whole)];
  report('bare ORT session.run, partitions chained', tBare);
  report('runner.runPartitions (same models)', tDnn, `x${(tDnn / tBare).toFixed(3)} of bare (goal < 1.15)`);
  report('feature front end (1 s window)', tFeat);
  report('front end + bare ORT, one call', tPipe, `(separate medians add up to ${(tBare + tFeat).toFixed(3)} ms)`);
  report('runner.runWindow (features + DNN + heads)', tWhole, `x${(tWhole / tPipe).toFixed(3)} of front end + bare ORT (goal < 1.15); x${(tWhole / (tBare + tFeat)).toFixed(3)} of the separate sum`);
  await runner.release();
  await Promise.all(bare.map((s) => s.release()));
}
