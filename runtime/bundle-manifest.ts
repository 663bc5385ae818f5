/**
 * The bundle manifest (`manifest.json`): everything the runtime needs to run an exported
 * pipeline besides the model bytes. Plain JSON; the runtime (runtime/runner.ts) reads it in
 * Node and in the browser, and the engine (engine/export/bundle.ts) writes it. The format
 * lives here, with its reader, because the runtime ships without the engine. Bump
 * {@link BUNDLE_SCHEMA_VERSION} on any incompatible change.
 */
import type { PipelineEstimateSummary } from '../language/estimator';
import type { ActivationName, CompressionSpec, FeatureStep, InputSpec, Shape } from '../language/pipeline-model';

/** Version of the manifest layout this code writes and reads. */
export const BUNDLE_SCHEMA_VERSION = 1;

/** The `kind` every manifest carries, so a folder can be recognised as a bundle. */
export const BUNDLE_KIND = 'sense-bundle';

/** A named tensor crossing a partition boundary, with its shape (batch excluded). */
export interface TensorRef {
  name: string;
  shape: Shape;
}

/** What export did to a compressed layer (engine/onnx/export-onnx.ts). */
export interface CompressionReport {
  layerId: string;
  kind: CompressionSpec['kind'];
  /** svd: the rank used. */
  rank?: number;
  /** ||W - W_compressed||_F / ||W||_F. */
  relError: number;
  /** Stored numbers (weights) of the compressed form, against `denseParams` of the original matrix. */
  storedValues: number;
  denseParams: number;
}

/** One partition: an ONNX model run on one processor. */
export interface ManifestPartition {
  /** `p0`, `p1`, ... in execution order. */
  id: string;
  /** The processor of the target device it is placed on. */
  processor: string;
  /**
   * Preferred ONNX Runtime execution providers, best first (engine/export/bundle.ts chooses them by the processor's role); the
   * runtime uses the first one available where it runs and always ends with CPU.
   */
  providers: string[];
  /** File name of the model inside the bundle. */
  model: string;
  /** Layer ids it computes, in order. */
  layers: string[];
  /**
   * The gated head whose layers it holds (and no other block's): the runtime runs it only on
   * windows on which that head's gate opens ({@link ManifestHead.gate}). Absent for ungated blocks.
   */
  gatedHead?: string;
  /** Tensors it reads (by name, batch-free shapes): `features` or earlier partitions' outputs. */
  inputs: TensorRef[];
  /** Tensors it writes that later partitions or heads read. */
  outputs: TensorRef[];
}

/** One task head: its labels and the tensor holding its output. */
export interface ManifestHead {
  labels: string[];
  /** Name of the output tensor (the head's last layer id). */
  output: string;
  shape: Shape;
  /**
   * The head's final activation: `softmax` outputs are probabilities as they are,
   * `sigmoid` outputs are independent per-label probabilities, anything else is a score
   * the runtime turns into probabilities with a softmax.
   */
  activation?: ActivationName;
  /**
   * The head's gate (`when ambient is voicing`): it runs on a window only when head `head`
   * ran and its top label is `label`; `expected` is the `expect` line's rate (0-1) when the
   * pipeline states one. Absent for heads that run on every window.
   */
  gate?: { head: string; label: string; expected?: number };
}

/** A bundle's manifest. */
export interface BundleManifest {
  schemaVersion: number;
  kind: typeof BUNDLE_KIND;
  pipeline: string;
  /** Target device name. */
  target: string;
  /** What the sensor delivers (rate, window, hop, sensors). */
  input: InputSpec;
  /** The feature front end: steps in order and the shape the first partition reads as `features`. */
  features: { steps: FeatureStep[]; outputShape: Shape; tensor: string };
  /** Mean and std per row at the `normalize` step; absent when the pipeline does not normalise. */
  normalization?: { mean: number[]; std: number[] };
  partitions: ManifestPartition[];
  heads: Record<string, ManifestHead>;
  /** The engine's estimate on the target with this placement (engine/estimate.ts), if it ran. */
  estimates?: PipelineEstimateSummary;
  /** What compression did to each compressed layer. */
  compression: CompressionReport[];
  /** Every other file of the bundle: its SHA-256 (hex) and size in bytes. */
  files: Record<string, { sha256: string; bytes: number }>;
  /** Tool that wrote it. */
  generator: string;
}

/**
 * Checks that parsed JSON is a manifest this runtime can run; throws an Error naming
 * `source` and the problem otherwise (another kind of file, a newer schema, missing fields).
 */
export function validateManifest(json: unknown, source = 'manifest.json'): BundleManifest {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (typeof json !== 'object' || json === null) return fail('not a JSON object; this is not a Sense Studio bundle manifest');
  const m = json as Partial<BundleManifest>;
  if (m.kind !== BUNDLE_KIND) fail(`kind is ${JSON.stringify(m.kind)}, not "${BUNDLE_KIND}"; this is not a Sense Studio bundle manifest`);
  if (m.schemaVersion !== BUNDLE_SCHEMA_VERSION)
    fail(`schema version ${m.schemaVersion} is not supported (this runtime reads version ${BUNDLE_SCHEMA_VERSION}); re-export the bundle with this version of Sense Studio`);
  if (typeof m.pipeline !== 'string' || typeof m.input !== 'object' || typeof m.features !== 'object' || !Array.isArray(m.partitions) || typeof m.heads !== 'object' || typeof m.files !== 'object')
    fail('missing pipeline, input, features, partitions, heads or files; the manifest is incomplete');
  for (const p of m.partitions!) {
    if (typeof p.model !== 'string' || !/^[\w.-]+$/.test(p.model) || !(p.model in m.files!)) fail(`partition ${p.id} names model ${JSON.stringify(p.model)}, which is not a file of the bundle`);
    if (p.gatedHead !== undefined && !m.heads![p.gatedHead]?.gate) fail(`partition ${p.id} belongs to gated head ${JSON.stringify(p.gatedHead)}, which is not a head with a gate`);
  }
  for (const [name, h] of Object.entries(m.heads!)) {
    const g = h.gate;
    if (g === undefined) continue;
    const gating = m.heads![g.head];
    if (!gating || g.head === name || !gating.labels.includes(g.label)) fail(`head ${name}'s gate waits for ${JSON.stringify(g.head)} to say ${JSON.stringify(g.label)}, which is not another head's label`);
  }
  for (const name of Object.keys(m.heads!)) {
    const chain = [name];
    for (let g = m.heads![name].gate; g; g = m.heads![g.head]?.gate) {
      if (chain.includes(g.head)) fail(`the gates of heads ${chain.join(', ')} wait for each other, so none of them could run`);
      chain.push(g.head);
    }
  }
  return m as BundleManifest;
}
