/**
 * The fuzz targets: each turns a seed into one mutated input (a `.sense` text, a WAV,
 * an inertial CSV, a PNG or JPEG image, a safetensors or an ONNX file) and pushes it through the real product
 * as far as it goes: the language's check with the engine's estimator, then estimate,
 * partition, auto-compress (and its `--write` rewrite) and export of every pipeline that
 * checks; decoded clips through the feature front end and the partitions on ONNX Runtime
 * (an image through runtime/image.ts, which must not allocate what a header declares
 * beyond what the file's bytes can hold, then a small image pipeline);
 * weights files through the weights check, export and an ONNX Runtime load. A target
 * returns how far the input got, or throws a FuzzFailure (see ./oracle) for a crash or a
 * broken property. Generation is separate from running so the long runner can write the
 * input of a case that hangs without running it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { URI } from 'langium';
import onnxProto from 'onnx-proto';
import { buildDocument, createSenseServices } from '../../../language/sense-module';
import type * as ast from '../../../language/generated/ast';
import type { PipelineSpec } from '../../../language/pipeline-model';
import { IssueCodes } from '../../../language/issue-codes';
import { engineEstimator, estimatePipeline } from '../../../engine/estimate';
import { partitionPipeline } from '../../../engine/partition/partition';
import { autoCompress } from '../../../engine/auto-compress';
import { rewriteCompressLines } from '../../../engine/pipeline-text';
import { buildBundle, type BuiltBundle } from '../../../engine/export/bundle';
import { initWeights } from '../../../engine/weights/init';
import { checkWeights, type WeightSet } from '../../../engine/weights/weights';
import { encodeSafetensors, parseSafetensors } from '../../../engine/weights/safetensors';
import { readOnnxWeights } from '../../../engine/weights/onnx-weights';
import { importOnnx } from '../../../engine/import/import-onnx';
import { decodeWav, encodeWav16 } from '../../../runtime/wav';
import { parseInertialCsv } from '../../../runtime/inertial';
import { createRunner, type BundleRunner, type ClipInput, type OrtModuleLike } from '../../../runtime/runner';
import { imageFormat, imageInputTensor, type ImageShape } from '../../../runtime/image';
import type { Rng } from '../../../engine/compress/random';
import { below, caseRng, mutateBytes, mutateNumbers, mutateText, pick } from './mutate';
import { allocatedDuring, clearOrValue, expectClearError, expectFiniteNonNegative, FuzzFailure, rangeInside } from './oracle';
import { jpegSeeds, mutateJpeg, mutatePng, pngSeeds } from './image-seeds';

/** The targets, in the order `--target all` cycles through them. */
export const TARGETS = ['sense', 'wav', 'csv', 'image', 'safetensors', 'onnx'] as const;
export type TargetName = (typeof TARGETS)[number];

/** One generated input: the file name its errors must carry, and its content. */
export interface FuzzInput {
  target: TargetName;
  seed: number;
  name: string;
  bytes: Uint8Array;
}

/** How far an input got: rejected with a clear error or diagnostics, or accepted by every stage it reached. */
export type FuzzOutcome = 'rejected' | 'accepted';

const ROOT = join(new URL('.', import.meta.url).pathname, '..', '..', '..');
const text = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const bytes = (path: string): Uint8Array => new Uint8Array(readFileSync(join(ROOT, path)));

/** Pipelines whose weights total at most this many values are exported and loaded; larger ones stop after compress (AlexNet's 60 M would take seconds per case). */
const MAX_EXPORT_PARAMS = 300_000;
/** Clips longer than this are decoded but not run: a mutated rate can stretch a few kilobytes into hours of audio. */
const MAX_RUN_SECONDS = 20;
/** ONNX Runtime session options that keep its own log of a rejected model off stderr (the error still reaches the caller). */
const QUIET = { logSeverityLevel: 4 };

/**
 * Bytes an image decode may allocate: 16 MiB, plus 64 KiB per byte of the file. A valid
 * file needs less: deflate expands at most 1032 times and a 1-bit palette pixel with alpha
 * becomes 4 bytes (1032 x 8 x 4 = 33,024 per byte), and every 8 x 8 JPEG block costs at
 * least one bit of its scans; only a header declaring more pixels than its data holds makes
 * a decoder go past this (a 300-byte file declaring 5000 x 5000 RGBA pixels would allocate 100 MB).
 */
const IMAGE_ALLOCATION_BASE_BYTES = 16 * 2 ** 20;
const IMAGE_ALLOCATION_BYTES_PER_FILE_BYTE = 2 ** 16;

/** Small image pipelines, one per channel count an image converts to, each at a size the seeds are resized to and from. */
const IMAGE_SHAPES: ImageShape[] = [
  { channels: 3, height: 12, width: 12 },
  { channels: 1, height: 9, width: 7 },
  { channels: 4, height: 8, width: 8 },
  { channels: 2, height: 5, width: 6 },
];
const imagePipeline = ({ channels, height, width }: ImageShape): string => `pipeline Img${channels} {
  input image { size ${height} x ${width}  channels ${channels} }
  shared trunk { conv2d 4 kernel 3 relu  flatten }
  head scene from trunk { dense 3 softmax  labels [indoor, outdoor, night] }
  target snapdragon800
}`;

/** A small audio pipeline with every kind of layer the ONNX writer maps often, for the ONNX seeds. */
const CONV_PIPELINE = `pipeline Tiny {
  input audio { rate 8 kHz  window 0.5 s }
  features { silence below -45 dB  frames 32 ms hop 16 ms  logmel 12 bands  normalize }
  shared enc { conv1d 6 kernel 3 padding same relu  batchnorm  maxpool 2  flatten  dense 16 relu }
  head a from enc { dense 8 tanh  dense 3 softmax  labels [music, speech, noise] }
  head b from enc { dense 2 sigmoid  labels [in, out] }
  target snapdragon800
  place enc, a on dsp
  place b on cpu
  compress enc.5 svd rank 4
}`;

function listFiles(dir: string, ext: string, limit: number): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(join(ROOT, d), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (out.length >= limit) return;
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith(ext)) out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

/** A WAV file of any PCM or float format, written here so the seeds do not depend on the encoder under test. */
function wavBytes(samples: Float32Array, channels: number, rateHz: number, format: 1 | 3, bits: number): Uint8Array {
  const frames = Math.floor(samples.length / channels);
  const bytesPerSample = bits / 8;
  const dataBytes = frames * channels * bytesPerSample;
  const out = new Uint8Array(44 + dataBytes + (dataBytes & 1));
  const v = new DataView(out.buffer);
  const ascii = (at: number, s: string): void => [...s].forEach((c, i) => v.setUint8(at + i, c.charCodeAt(0)));
  ascii(0, 'RIFF');
  v.setUint32(4, out.length - 8, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, format, true);
  v.setUint16(22, channels, true);
  v.setUint32(24, rateHz, true);
  v.setUint32(28, rateHz * channels * bytesPerSample, true);
  v.setUint16(32, channels * bytesPerSample, true);
  v.setUint16(34, bits, true);
  ascii(36, 'data');
  v.setUint32(40, dataBytes, true);
  for (let i = 0; i < frames * channels; i++) {
    const at = 44 + i * bytesPerSample;
    const x = Math.max(-1, Math.min(1, samples[i]));
    if (format === 3) {
      if (bits === 32) v.setFloat32(at, x, true);
      else v.setFloat64(at, x, true);
    } else if (bits === 8) v.setUint8(at, Math.round(x * 127) + 128);
    else if (bits === 16) v.setInt16(at, Math.round(x * 32767), true);
    else if (bits === 24) {
      const q = Math.round(x * 8388607);
      v.setUint8(at, q & 0xff);
      v.setUint8(at + 1, (q >> 8) & 0xff);
      v.setUint8(at + 2, (q >> 16) & 0xff);
    } else v.setInt32(at, Math.round(x * 2147483647), true);
  }
  return out;
}

/** Everything the targets share, built once per process: language services, ONNX Runtime, bundles and seed files. */
export interface FuzzContext {
  services: ReturnType<typeof createSenseServices>;
  ort: OrtModuleLike;
  senseSeeds: string[];
  wavSeeds: Uint8Array[];
  csvSeeds: string[];
  safetensorsSeeds: Uint8Array[];
  onnxSeeds: { bytes: Uint8Array; bundle: BuiltBundle; model: string }[];
  watchSpec: PipelineSpec;
  audioRunner: BundleRunner;
  inertialRunner: BundleRunner;
  imageSeeds: Uint8Array[];
  imageRunners: { shape: ImageShape; runner: BundleRunner }[];
  counter: number;
}

async function specOfText(services: FuzzContext['services'], source: string, name: string): Promise<PipelineSpec> {
  const doc = await buildDocument(services, source, URI.file(join(ROOT, name)).toString());
  const spec = [...services.Sense.lowering.Lowering.document(doc.parseResult.value).pipelines.values()][0]?.spec;
  const errors = (doc.diagnostics ?? []).filter((d) => d.severity === 1);
  if (!spec || errors.length > 0) throw new Error(`fuzz seed ${name} does not check: ${errors.map((d) => d.message).join('; ')}`);
  services.shared.workspace.LangiumDocuments.deleteDocument(doc.uri);
  return spec;
}

/** Builds the shared context (about a second: two sample bundles and their ONNX Runtime sessions). */
export async function createFuzzContext(): Promise<FuzzContext> {
  const services = createSenseServices(undefined, { fileExists: () => false, estimator: engineEstimator });
  const mod = (await import('onnxruntime-node')) as unknown as OrtModuleLike & { default?: OrtModuleLike };
  const ort = mod.InferenceSession ? mod : mod.default!;
  const senseFiles = ['samples/deepear/deepear.sense', 'samples/deepx/alexnet.sense', 'samples/watch/activity.sense', 'test/unit/language/fixtures/design-example.sense', ...listFiles('test/unit/language/fixtures/diagnostics', '.sense', 20)];
  const deepearSpec = await specOfText(services, text('samples/deepear/deepear.sense'), 'samples/deepear/deepear.sense');
  const watchSpec = await specOfText(services, text('samples/watch/activity.sense'), 'samples/watch/activity.sense');
  const tinySpec = await specOfText(services, CONV_PIPELINE, 'tiny.sense');
  const deepear = buildBundle(deepearSpec, parseSafetensors(bytes('samples/deepear/deepear.safetensors')).tensors);
  const watchWeights = parseSafetensors(bytes('samples/watch/activity.safetensors')).tensors;
  const watch = buildBundle(watchSpec, watchWeights);
  const tiny = buildBundle(tinySpec, initWeights(tinySpec, 3));
  const tone = Float32Array.from({ length: 4000 }, (_, i) => 0.4 * Math.sin(i * 0.21) + 0.05 * Math.sin(i * 1.3));
  const wavSeeds = [
    ...listFiles('samples/data/deepear', '.wav', 3).map(bytes),
    encodeWav16(tone.subarray(0, 2000), 8000),
    wavBytes(tone, 2, 16000, 3, 32),
    wavBytes(tone, 1, 11025, 3, 64),
    wavBytes(tone, 1, 22050, 1, 8),
    wavBytes(tone, 2, 44100, 1, 24),
    wavBytes(tone, 1, 16000, 1, 32),
  ];
  const small: WeightSet = new Map([
    ['a.weight', { shape: [3, 2], data: Float32Array.of(1, -2, 3.5, 0, 1e-3, 7) }],
    ['b', { shape: [4], data: Float32Array.of(0, 1, 2, 3) }],
  ]);
  const imageRunners = await Promise.all(
    IMAGE_SHAPES.map(async (shape) => {
      const spec = await specOfText(services, imagePipeline(shape), `img${shape.channels}.sense`);
      const bundle = buildBundle(spec, initWeights(spec, shape.channels));
      return { shape, runner: await createRunner({ ort, backend: 'node', manifest: bundle.manifest, models: bundle.models }) };
    }),
  );
  const [audioRunner, inertialRunner] = await Promise.all([
    createRunner({ ort, backend: 'node', manifest: deepear.manifest, models: deepear.models }),
    createRunner({ ort, backend: 'node', manifest: watch.manifest, models: watch.models }),
  ]);
  return {
    services,
    ort,
    // A small image pipeline among the `.sense` seeds, so image pipelines reach export (AlexNet is over MAX_EXPORT_PARAMS).
    senseSeeds: [...senseFiles.map(text), imagePipeline(IMAGE_SHAPES[0])],
    wavSeeds,
    csvSeeds: listFiles('samples/data/watch', '.csv', 4).map(text),
    safetensorsSeeds: [bytes('samples/watch/activity.safetensors'), encodeSafetensors(watchWeights, { format: 'pt' }), encodeSafetensors(small)],
    onnxSeeds: [watch, tiny].flatMap((bundle) => [...bundle.models].map(([model, b]) => ({ bytes: b, bundle, model }))),
    watchSpec,
    audioRunner,
    inertialRunner,
    imageSeeds: [...pngSeeds(), ...jpegSeeds()],
    imageRunners,
    counter: 0,
  };
}

/** Releases the ONNX Runtime sessions of the context. */
export async function releaseFuzzContext(ctx: FuzzContext): Promise<void> {
  await Promise.all([ctx.audioRunner.release(), ctx.inertialRunner.release(), ...ctx.imageRunners.map((r) => r.runner.release())]);
}

const encoder = new TextEncoder();

/** A mutated safetensors header: one field of one entry set to an extreme value, then re-encoded with a correct length prefix. */
function mutateSafetensorsHeader(seed: Uint8Array, random: Rng): Uint8Array {
  const len = Number(new DataView(seed.buffer, seed.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(seed.subarray(8, 8 + len))) as Record<string, unknown>;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const entry = header[pick(random, names)] as { dtype: unknown; shape: unknown[]; data_offsets: unknown[] };
  const extreme = (): unknown => pick(random, [0, -1, 1e308, 2 ** 53 + 1, 2 ** 32, 1.5, '3', null, [], {}, 'NaN']);
  switch (below(random, 6)) {
    case 0:
      entry.dtype = pick(random, ['F16', 'BF16', 'F64', 'I8', 'U8', 'BOOL', 'F8_E4M3', 'f32', '', 7]);
      break;
    case 1:
      if (entry.shape.length > 0) entry.shape[below(random, entry.shape.length)] = extreme();
      else entry.shape.push(extreme());
      break;
    case 2:
      entry.data_offsets[below(random, 2)] = extreme();
      break;
    case 3:
      entry.shape = random() < 0.5 ? [] : Array.from({ length: 1 + below(random, 40) }, () => 1 + below(random, 3));
      break;
    case 4:
      header[pick(random, ['__metadata__', 'x', '', 'a'.repeat(5000)])] = extreme();
      break;
    default:
      delete header[pick(random, names)];
  }
  const json = encoder.encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + seed.length - 8 - len);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(seed.subarray(8 + len), 8 + json.length);
  return out;
}

const { onnx } = onnxProto;

/** A mutated ONNX model: one initializer's dims, type or data, or one node's op, changed through the official schema. */
function mutateOnnxModel(seed: Uint8Array, random: Rng): Uint8Array {
  const model = onnx.ModelProto.decode(seed);
  const inits = model.graph?.initializer ?? [];
  const nodes = model.graph?.node ?? [];
  const t = inits.length > 0 ? pick(random, inits) : undefined;
  switch (below(random, 6)) {
    case 0:
      if (t?.dims && t.dims.length > 0) t.dims[below(random, t.dims.length)] = pick(random, [0, -1, 2 ** 31, 1, 3]);
      break;
    case 1:
      if (t) t.dataType = pick(random, [0, 2, 3, 7, 10, 11, 16, 99]);
      break;
    case 2:
      if (t?.rawData && t.rawData.length > 0) t.rawData = t.rawData.subarray(0, below(random, t.rawData.length));
      break;
    case 3:
      if (t) {
        t.rawData = new Uint8Array(0);
        t.floatData = Array.from({ length: 1 + below(random, 8) }, () => pick(random, [NaN, Infinity, 1e38, -0, 1]));
      }
      break;
    case 4:
      if (nodes.length > 0) pick(random, nodes).opType = pick(random, ['Gemm', 'Conv', 'Nope', '', 'Relu']);
      break;
    default:
      if (t) t.dims = Array.from({ length: below(random, 6) }, () => below(random, 5));
  }
  return onnx.ModelProto.encode(model).finish();
}

/** Generates the input of case `seed` for `target` (deterministic). */
export function generate(ctx: FuzzContext, target: TargetName, seed: number): FuzzInput {
  const random = caseRng(seed);
  const input = (ext: string, b: Uint8Array): FuzzInput => ({ target, seed, name: `fuzz-${target}-${seed}.${ext}`, bytes: b });
  switch (target) {
    case 'sense': {
      const source = pick(random, ctx.senseSeeds);
      // Half the mutants change only numbers, so that they check and reach the engine.
      return input('sense', encoder.encode(random() < 0.5 ? mutateNumbers(source, random) : mutateText(source, random, pick(random, ctx.senseSeeds))));
    }
    case 'wav':
      return input('wav', mutateBytes(pick(random, ctx.wavSeeds), random, pick(random, ctx.wavSeeds)));
    case 'csv': {
      const source = pick(random, ctx.csvSeeds);
      return input('csv', random() < 0.6 ? encoder.encode(mutateText(source, random)) : mutateBytes(encoder.encode(source), random));
    }
    case 'image': {
      const source = pick(random, ctx.imageSeeds);
      const structured = (b: Uint8Array): Uint8Array => (imageFormat(b) === 'png' ? mutatePng(b, random) : mutateJpeg(b, random));
      // A third change one header field, a third bytes anywhere, a third both.
      const k = below(random, 3);
      let b = k === 1 ? source : structured(source);
      if (k > 0) b = mutateBytes(b, random, pick(random, ctx.imageSeeds));
      return input(imageFormat(source) === 'png' ? 'png' : 'jpg', b);
    }
    case 'safetensors': {
      const source = pick(random, ctx.safetensorsSeeds);
      return input('safetensors', random() < 0.5 ? mutateSafetensorsHeader(source, random) : mutateBytes(source, random, pick(random, ctx.safetensorsSeeds)));
    }
    case 'onnx': {
      const source = below(random, ctx.onnxSeeds.length);
      const b = ctx.onnxSeeds[source].bytes;
      // The seed index travels in the name, so running the case needs no second draw.
      return { ...input('onnx', random() < 0.5 ? mutateOnnxModel(b, random) : mutateBytes(b, random)), name: `fuzz-onnx-${seed}-s${source}.onnx` };
    }
  }
}

/** Runs one input through the product; see the module header. */
export async function runInput(ctx: FuzzContext, input: FuzzInput): Promise<FuzzOutcome> {
  switch (input.target) {
    case 'sense':
      return runSense(ctx, new TextDecoder().decode(input.bytes), input.name, input.seed);
    case 'wav':
      return runClip(ctx.audioRunner, { kind: 'wav', bytes: input.bytes }, input.name);
    case 'csv':
      return runClip(ctx.inertialRunner, { kind: 'csv', bytes: input.bytes }, input.name);
    case 'image':
      return runImage(ctx, input);
    case 'safetensors':
      return runSafetensors(ctx, input);
    case 'onnx':
      return runOnnx(ctx, input);
  }
}

/** `sense check`, then estimate, partition, compress (with its rewrite) and export of each pipeline that checks. */
async function runSense(ctx: FuzzContext, source: string, name: string, seed: number): Promise<FuzzOutcome> {
  const docs = ctx.services.shared.workspace.LangiumDocuments;
  const uri = URI.file(`/fuzz/${name}`);
  try {
    const doc = await buildDocument(ctx.services, source, uri.toString());
    const diagnostics = doc.diagnostics ?? [];
    for (const d of diagnostics) {
      if (String(d.message).startsWith('An error occurred')) throw new FuzzFailure(`a check threw: ${d.message}`);
      if (d.code === IssueCodes.EstimateFailed || (d.data as { code?: string } | undefined)?.code === IssueCodes.EstimateFailed) throw new FuzzFailure(`the estimator threw inside check: ${d.message}`);
      if (!rangeInside(doc, d.range)) throw new FuzzFailure(`diagnostic outside the document: ${JSON.stringify(d.range)} ${d.message}`);
    }
    if (diagnostics.some((d) => d.severity === 1)) return 'rejected';
    const model = doc.parseResult.value;
    const lowering = ctx.services.Sense.lowering.Lowering.document(model);
    let accepted = false;
    for (const p of lowering.pipelines.values()) {
      if (!p.spec) continue;
      accepted = true;
      await engineStages(ctx, p.spec, source, model, seed);
    }
    return accepted ? 'accepted' : 'rejected';
  } finally {
    if (docs.hasDocument(uri)) docs.deleteDocument(uri);
  }
}

async function engineStages(ctx: FuzzContext, spec: PipelineSpec, source: string, model: ast.Model, seed: number): Promise<void> {
  const estimate = await clearOrValue('estimate', undefined, () => estimatePipeline(spec));
  if (!estimate) return;
  const where = `pipeline ${spec.name}`;
  expectFiniteNonNegative(`${where}: end-to-end latency (ms)`, estimate.endToEndLatencyMs);
  expectFiniteNonNegative(`${where}: energy per inference (mJ)`, estimate.energyPerInferenceMj);
  for (const l of estimate.layers) {
    for (const [k, v] of Object.entries({ latencyMs: l.latencyMs, energyMj: l.energyMj, macs: l.macs, params: l.params, weightBytes: l.weightBytes })) expectFiniteNonNegative(`${where}: layer ${l.layerId} ${k}`, v);
  }

  const plan = await clearOrValue('partition', undefined, () => partitionPipeline(spec, { maxNodes: 10_000, timeLimitMs: 100 }));
  if (plan) {
    expectFiniteNonNegative(`${where}: partition objective`, plan.objective);
    if (plan.feasible) {
      // An independent check of the plan: the estimate of its placement must fit every processor's memory.
      const placed = estimatePipeline(spec, { placement: plan.placement });
      for (const p of placed.processors) {
        if (p.memoryBytes > p.memoryLimitBytes) throw new FuzzFailure(`${where}: the partition says feasible but ${p.name} uses ${p.memoryBytes} of ${p.memoryLimitBytes} bytes`);
      }
    }
  }

  const compressed = await clearOrValue('compress', undefined, () => autoCompress(spec, { kind: 'fit', processor: spec.target.defaultProcessor }, { maxNodes: 2_000 }));
  if (compressed) {
    expectFiniteNonNegative(`${where}: compress estimated error`, compressed.estimatedError);
    if (compressed.feasible && compressed.after.metric > compressed.limit * (1 + 1e-9)) throw new FuzzFailure(`${where}: compress says feasible but its plan uses ${compressed.after.metric} of ${compressed.limit} ${compressed.unit}`);
    const node = model.pipelines.find((p) => p.name === spec.name);
    if (compressed.feasible && node && compressed.layers.some((l) => l.changed)) {
      // `sense compress --write` must leave a file that still checks.
      const rewritten = rewriteCompressLines(source, node, spec, compressed);
      const uri = URI.file(`/fuzz/rewritten-${ctx.counter++}.sense`);
      try {
        const again = await buildDocument(ctx.services, rewritten, uri.toString());
        const errors = (again.diagnostics ?? []).filter((d) => d.severity === 1);
        if (errors.length > 0) throw new FuzzFailure(`${where}: compress --write left errors: ${errors.map((d) => `${d.range.start.line + 1}: ${d.message}`).join('; ')}\n--- rewritten ---\n${rewritten}`);
      } finally {
        ctx.services.shared.workspace.LangiumDocuments.deleteDocument(uri);
      }
    }
  }

  const params = estimate.layers.reduce((n, l) => n + l.params, 0);
  if (params > MAX_EXPORT_PARAMS) return;
  const weights = initWeights(spec, seed);
  const bundle = await clearOrValue('export', undefined, () => buildBundle(spec, weights));
  // Loading every exported model would dominate the run; one case in four loads them.
  if (bundle && seed % 4 === 0) {
    const runner = await createRunner({ ort: ctx.ort, backend: 'node', manifest: bundle.manifest, models: bundle.models, warmup: true }).catch((e: unknown) => {
      throw new FuzzFailure(`${where}: ONNX Runtime cannot load the exported bundle: ${(e as Error).message}`);
    });
    await runner.release();
  }
}

/** A clip through the runner: decode, resample or window, features, partitions. */
async function runClip(runner: BundleRunner, clip: ClipInput & { bytes: Uint8Array }, name: string): Promise<FuzzOutcome> {
  if (clip.kind === 'wav') {
    const audio = await clearOrValue('decodeWav', name, () => decodeWav(clip.bytes, name));
    if (!audio) return 'rejected';
    if (audio.channels[0].length / audio.sampleRateHz > MAX_RUN_SECONDS) return 'accepted';
  } else {
    const rec = await clearOrValue('parseInertialCsv', name, () => parseInertialCsv(clip.bytes, name));
    if (!rec) return 'rejected';
  }
  const result = await clearOrValue('runClip', name, () => runner.runClip(clip, name));
  if (!result) return 'rejected';
  expectProbabilities(result, name);
  return 'accepted';
}

/** Throws a {@link FuzzFailure} unless every head's every probability lies in [0, 1]. */
function expectProbabilities(result: { heads: Record<string, { probabilities: Record<string, number> }> }, name: string): void {
  for (const [head, h] of Object.entries(result.heads)) {
    for (const [label, p] of Object.entries(h.probabilities)) {
      if (!(p >= 0 && p <= 1 + 1e-6)) throw new FuzzFailure(`${name}: head ${head} gives ${label} probability ${p}`);
    }
  }
}

/**
 * An image: its tensor for one of the image pipelines (the case's seed chooses which), which
 * must be refused with a clear error naming the file, or come out of the right length with
 * every value in [0, 1], without allocating past what the file's bytes can hold; then the
 * same file through the pipeline's runner, which must agree and give probabilities.
 */
async function runImage(ctx: FuzzContext, input: FuzzInput): Promise<FuzzOutcome> {
  const { shape, runner } = ctx.imageRunners[input.seed % ctx.imageRunners.length];
  const { value: tensor, error, bytes } = allocatedDuring(() => imageInputTensor(input.bytes, shape, input.name));
  const limit = IMAGE_ALLOCATION_BASE_BYTES + IMAGE_ALLOCATION_BYTES_PER_FILE_BYTE * input.bytes.length;
  if (bytes > limit) throw new FuzzFailure(`${input.name}: decoding a file of ${input.bytes.length} bytes allocated ${bytes} bytes (limit ${limit})${error ? ` before: ${(error as Error).message}` : ''}`);
  if (!tensor) {
    expectClearError(error, 'imageInputTensor', input.name);
    return 'rejected';
  }
  const expected = shape.channels * shape.height * shape.width;
  if (tensor.length !== expected) throw new FuzzFailure(`${input.name}: the tensor holds ${tensor.length} values, not ${shape.channels} x ${shape.height} x ${shape.width}`);
  const outside = tensor.findIndex((v) => !(v >= 0 && v <= 1));
  if (outside >= 0) throw new FuzzFailure(`${input.name}: tensor value ${outside} is ${tensor[outside]}, outside [0, 1]`);
  const result = await runner.runClip({ kind: 'image', bytes: input.bytes }, input.name).catch((e: unknown) => {
    throw new FuzzFailure(`${input.name}: the tensor was read but the runner failed: ${(e as Error).message}`);
  });
  expectProbabilities(result, input.name);
  return 'accepted';
}

/** A weights file: parse, check against the watch sample, export, and (one in four) load the bundle and run a window. */
async function runSafetensors(ctx: FuzzContext, input: FuzzInput): Promise<FuzzOutcome> {
  const file = await clearOrValue('parseSafetensors', input.name, () => parseSafetensors(input.bytes, input.name));
  if (!file) return 'rejected';
  return weightsStages(ctx, ctx.watchSpec, file.tensors, input);
}

async function weightsStages(ctx: FuzzContext, spec: PipelineSpec, weights: WeightSet, input: FuzzInput): Promise<FuzzOutcome> {
  const check = await clearOrValue('checkWeights', input.name, () => checkWeights(spec, weights, input.name));
  if (!check) return 'rejected';
  const bundle = await clearOrValue('export', undefined, () => buildBundle(spec, weights));
  if (!bundle) return 'rejected';
  if (input.seed % 4 === 0) {
    const runner = await createRunner({ ort: ctx.ort, backend: 'node', manifest: bundle.manifest, models: bundle.models });
    try {
      const rows = spec.input.kind === 'inertial' ? spec.input.sensors.reduce((a, s) => a + s.axes.length, 0) : 1;
      const samples = spec.input.kind === 'image' ? 0 : Math.round(spec.input.rateHz * spec.input.windowS);
      await runner.runWindow(Array.from({ length: rows }, (_, r) => Float32Array.from({ length: samples }, (_, i) => Math.sin(i * (r + 1) * 0.1))));
    } finally {
      await runner.release();
    }
  }
  return 'accepted';
}

/** `sense import` of the file: a clear error or a refusal, or a pipeline that lowers and whose weights fit it. */
async function importStage(ctx: FuzzContext, input: FuzzInput): Promise<void> {
  const imported = await clearOrValue('importOnnx', input.name, () => importOnnx(input.bytes, { file: input.name, name: 'Fuzz', weightsFile: 'fuzz.safetensors' }));
  if (!imported) return;
  if (!imported.ok) {
    if (!imported.message.startsWith(input.name) || imported.refusals.length === 0) throw new FuzzFailure(`importOnnx refused without naming the file or a node: ${imported.message}`);
    return;
  }
  const docs = ctx.services.shared.workspace.LangiumDocuments;
  const uri = URI.file(`/fuzz/${input.name}.sense`);
  try {
    const doc = await buildDocument(ctx.services, imported.text, uri.toString());
    const spec = [...ctx.services.Sense.lowering.Lowering.document(doc.parseResult.value).pipelines.values()][0]?.spec;
    if (!spec) throw new FuzzFailure(`${input.name}: the imported pipeline does not lower:\n${imported.text}`);
    checkWeights(spec, imported.weights, input.name);
  } finally {
    if (docs.hasDocument(uri)) docs.deleteDocument(uri);
  }
}

/** An ONNX file: its initializers as weights (through the weights check of its pipeline), `sense import` of it, then ONNX Runtime loading it in place of the bundle's model. */
async function runOnnx(ctx: FuzzContext, input: FuzzInput): Promise<FuzzOutcome> {
  const source = ctx.onnxSeeds[Number(/-s(\d+)\.onnx$/.exec(input.name)![1])];
  const read = await clearOrValue('readOnnxWeights', input.name, () => readOnnxWeights(input.bytes, input.name));
  for (const t of read?.tensors.values() ?? []) {
    if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) throw new FuzzFailure(`${input.name}: a tensor of shape [${t.shape.join(', ')}] holds ${t.data.length} values`);
  }
  await importStage(ctx, input);
  const models = new Map(source.bundle.models);
  models.set(source.model, input.bytes);
  const runner = await clearOrValue('createRunner', `bundle ${source.bundle.manifest.pipeline}`, () => createRunner({ ort: ctx.ort, backend: 'node', manifest: source.bundle.manifest, models, sessionOptions: QUIET }));
  if (!runner) return 'rejected';
  await runner.release();
  return read ? 'accepted' : 'rejected';
}
