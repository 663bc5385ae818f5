/**
 * `sense import`'s core, pure on bytes: an ONNX model (PyTorch's or tf2onnx's export) to a
 * `.sense` pipeline and its weights in the project's naming, or the list of every node that
 * cannot be mapped, each with its reason. ./onnx-graph reads and checks the file,
 * ./recognise maps nodes to layers and finds the shared trunk and heads, ./write-sense writes
 * the text. The pipeline is the inverse of engine/onnx/export-onnx.ts, so exporting it again
 * computes the same function as the model it came from.
 */
import { formatShape } from '../../language/layer-shapes';
import type { Shape } from '../../language/pipeline-model';
import type { WeightSet } from '../weights/weights';
import { OnnxImportError, readImportGraph, type ImportGraph } from './onnx-graph';
import { recognise, type Refusal } from './recognise';
import { NoFrontEndGuess, writeSense, type LikePipeline } from './write-sense';

export { OnnxImportError } from './onnx-graph';
export type { Refusal } from './recognise';
export type { LikePipeline } from './write-sense';

/** Options of {@link importOnnx}. */
export interface ImportOptions {
  /** The model file's name, which starts every message. */
  file: string;
  /** The pipeline's name (an identifier). */
  name: string;
  /** The path the `weights` line names, relative to the written `.sense` file. */
  weightsFile: string;
  /** The pipeline whose input, features, target and optimize lines the import takes. */
  like?: LikePipeline;
}

/** What {@link importOnnx} produced. */
export type ImportResult =
  | { ok: true; text: string; weights: WeightSet; notes: string[]; heads: string[] }
  | { ok: false; message: string; refusals: Refusal[] };

/** Formats refusals as one message: the file, how many nodes, then one line per node. */
export function refusalMessage(file: string, refusals: readonly Refusal[]): string {
  const lines = refusals.map((r) => (r.opType === 'output' ? `output '${r.node}': ${r.reason}` : `node '${r.node}' (${r.opType}): ${r.reason}`));
  const n = refusals.length;
  return `${file}: ${n} part${n === 1 ? '' : 's'} of the model cannot be written in the language, so nothing was written:\n  ${lines.join('\n  ')}`;
}

/** The model's input shape without the batch, symbolic dimensions taken from `like` when it has them. */
function inputShapeOf(graph: ImportGraph, file: string, like?: LikePipeline): Shape {
  const { dims, elemType, name } = graph.input;
  if (elemType !== 0 && elemType !== 1) throw new OnnxImportError(`${file}: the input '${name}' has ONNX element type ${elemType}; a pipeline feeds float32 features`);
  if (dims.length < 2) throw new OnnxImportError(`${file}: the input '${name}' is ${formatShape(dims as number[])}; the importer needs a batch axis first, then the features`);
  const rest = dims.slice(1);
  if (like) {
    const want = like.featureShape;
    const fits = rest.length === want.length && rest.every((d, i) => typeof d !== 'number' || d === want[i]);
    if (!fits)
      throw new OnnxImportError(
        `${file}: the model reads ${formatShape(rest as number[])} per example but the features of ${like.source} give ${formatShape(want)}; choose a --like pipeline whose features give the model's input`,
      );
    return [...want];
  }
  if (rest.some((d) => typeof d !== 'number' || d < 1))
    throw new OnnxImportError(`${file}: the input '${name}' has the dimensions ${formatShape(rest as number[])}, some of them symbolic; give --like PIPELINE.sense, whose features fix them`);
  return rest as number[];
}

/**
 * Imports `bytes` (a .onnx file). Throws {@link OnnxImportError} for a file that cannot be
 * read as a model (see readImportGraph) or whose input does not fit; returns `ok: false`
 * with every node that cannot be mapped otherwise.
 */
export function importOnnx(bytes: Uint8Array, opts: ImportOptions): ImportResult {
  const graph = readImportGraph(bytes, opts.file);
  const inputShape = inputShapeOf(graph, opts.file, opts.like);
  const r = recognise(graph, inputShape);
  if (!r.ok) return { ok: false, message: refusalMessage(opts.file, r.refusals), refusals: r.refusals };
  const header = [
    `Imported by sense import from ${opts.file} (${graph.producer || 'unknown producer'}, ONNX opset ${graph.opset}).`,
    'Each layer names the ONNX nodes it came from; the weights file holds their weights in this pipeline\'s naming.',
  ];
  let written;
  try {
    written = writeSense({ name: opts.name, root: r.root, inputShape, outputs: graph.outputs.map((o) => o.name), metadata: graph.metadata, like: opts.like, weightsFile: opts.weightsFile, header });
  } catch (e) {
    if (e instanceof NoFrontEndGuess) throw new OnnxImportError(`${opts.file}: ${e.message}`);
    throw e;
  }
  const heads = [...written.text.matchAll(/^ {2}head (\w+)/gm)].map((m) => m[1]);
  return { ok: true, text: written.text, weights: written.weights, notes: written.notes, heads };
}
