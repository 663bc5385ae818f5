/**
 * Builds a bundle in memory: the manifest (without file hashes) and one ONNX model per
 * partition. Pure (no file system): `sense run` on a `.sense` file runs this result
 * directly, and engine/export/write-bundle.ts writes it to disk with the runtime and the
 * demo page.
 */
import type { PipelineSpec } from '../../language/pipeline-model';
import { FEATURES_KEY } from '../../language/pipeline-model';
import { estimatePipeline, toEstimateSummary } from '../estimate';
import { exportOnnx, type OnnxExport } from '../onnx/export-onnx';
import { normalizationRows, type WeightSet } from '../weights/weights';
import { BUNDLE_KIND, BUNDLE_SCHEMA_VERSION, type BundleManifest, type ManifestHead } from '../../runtime/bundle-manifest';
import { providersFor } from './manifest';

/** An in-memory bundle: the manifest and the model files by name. */
export interface BuiltBundle {
  manifest: BundleManifest;
  /** File name -> bytes (the `.onnx` models). */
  models: Map<string, Uint8Array>;
  onnx: OnnxExport;
}

/** Options of {@link buildBundle}. */
export interface BuildBundleOptions {
  /** Placement overrides by layer id or block name (see engine/onnx/partition-plan.ts placementOf). */
  placement?: Record<string, string>;
  /** Export one model for the whole pipeline (on the default processor) regardless of placement. */
  single?: boolean;
}

/**
 * Exports `spec` with `weights` (already checked with checkWeights) as an in-memory
 * bundle. `manifest.files` lists the models with empty hashes; the writer fills them.
 * Throws an Error starting with `export:` for a pipeline without a head.
 */
export function buildBundle(spec: PipelineSpec, weights: WeightSet, opts: BuildBundleOptions = {}): BuiltBundle {
  // Without a head the models have no output, and ONNX Runtime refuses to run them.
  if (!spec.blocks.some((b) => b.kind === 'head')) throw new Error(`export: pipeline ${spec.name} has no head, so its bundle would output nothing; add one (head NAME from BLOCK { dense N softmax })`);
  const onnx = exportOnnx(spec, weights, { ...(opts.placement ? { placement: opts.placement } : {}), ...(opts.single ? { single: true } : {}) });
  const models = new Map<string, Uint8Array>();
  const processors = new Map(spec.target.processors.map((p) => [p.name, p]));
  const partitions = onnx.partitions.map((p) => {
    const model = `${p.id}.onnx`;
    models.set(model, p.model);
    return {
      id: p.id,
      processor: p.processor,
      providers: providersFor(p.processor, processors.get(p.processor)?.remote ?? false),
      model,
      layers: p.layerIds,
      ...(p.gatedHead ? { gatedHead: p.gatedHead } : {}),
      inputs: p.inputs,
      outputs: p.outputs,
    };
  });
  const heads: Record<string, ManifestHead> = {};
  for (const b of spec.blocks) {
    if (b.kind !== 'head') continue;
    const out = onnx.headOutputs[b.name];
    const width = out.shape[out.shape.length - 1] ?? 1;
    const last = b.layers[b.layers.length - 1];
    heads[b.name] = {
      labels: b.labels && b.labels.length === width ? b.labels : Array.from({ length: width }, (_, i) => `class${i}`),
      output: out.name,
      shape: out.shape,
      ...(last?.activation ? { activation: last.activation } : {}),
      ...(b.gate && spec.blocks.some((x) => x.name === b.gate!.head) ? { gate: manifestGate(spec, b.name) } : {}),
    };
  }
  let normalization: BundleManifest['normalization'];
  if (normalizationRows(spec) !== undefined) {
    const mean = weights.get('features.mean');
    const std = weights.get('features.std');
    if (!mean || !std) throw new Error(`export: pipeline ${spec.name} normalises its features but the weights have no features.mean / features.std`);
    normalization = { mean: [...mean.data], std: [...std.data] };
  }
  let estimates: BundleManifest['estimates'];
  try {
    const ranks = new Map(onnx.compression.filter((c) => c.rank !== undefined).map((c) => [c.layerId, c.rank!]));
    estimates = toEstimateSummary(
      estimatePipeline(spec, { ...(opts.placement ? { placement: opts.placement } : {}), rankResolver: (l) => ranks.get(l.id) }),
    );
  } catch {
    // The estimate is informative only; a bundle without it still runs.
    estimates = undefined;
  }
  const manifest: BundleManifest = {
    schemaVersion: BUNDLE_SCHEMA_VERSION,
    kind: BUNDLE_KIND,
    pipeline: spec.name,
    target: spec.target.name,
    input: spec.input,
    features: { steps: spec.features.steps, outputShape: spec.features.outputShape, tensor: FEATURES_KEY },
    ...(normalization ? { normalization } : {}),
    partitions,
    heads,
    ...(estimates ? { estimates } : {}),
    compression: onnx.compression,
    files: Object.fromEntries([...models].map(([name, bytes]) => [name, { sha256: '', bytes: bytes.length }])),
    generator: 'sense-studio 0.1.0',
  };
  return { manifest, models, onnx };
}

/** The manifest's gate of head `name`: the gating head and label, and the `expect` rate when one is stated. */
function manifestGate(spec: PipelineSpec, name: string): NonNullable<ManifestHead['gate']> {
  const gate = spec.blocks.find((b) => b.name === name)!.gate!;
  const expect = spec.expectations?.find((e) => e.head === gate.head && e.label === gate.label);
  return { head: gate.head, label: gate.label, ...(expect ? { expected: expect.fraction } : {}) };
}
