/**
 * The ONNX graph as the importer reads it: decoded with the official schema (`onnx-proto`,
 * through ../weights/onnx-decode, which the weights reader shares), checked before anything
 * is trusted, and reduced to plain data (nodes in topological order, constants decoded, the
 * one model input and its outputs).
 *
 * A model file is someone else's bytes, so every declared size is checked against the bytes
 * present before a buffer is allocated (an initializer claiming 2^40 elements is an error, not
 * an allocation), weights stored in external files are refused (the importer reads one file),
 * every name a node reads must be produced by an initializer, the input or an earlier node,
 * and the graph must be acyclic. Work is linear in the file's size, so a hostile file gets its
 * error within the time it takes to decode it.
 */
import onnxProto from 'onnx-proto';
import { decodeOnnxModel, decodeOnnxTensor, int64Value as num, type Int64, type OnnxTensor } from '../weights/onnx-decode';

const { onnx } = onnxProto;

/** Oldest and newest default-domain opsets the importer maps (PyTorch's and tf2onnx's exporters write these). */
export const MIN_IMPORT_OPSET = 11;
export const MAX_IMPORT_OPSET = 21;

/** Most nodes a model may have; far beyond any sensing model, it bounds the work on a hostile file. */
export const MAX_IMPORT_NODES = 200_000;

/** A constant tensor: floats for weights, integers for shapes, axes and indices. */
export type ConstTensor = OnnxTensor;

/** One attribute value, decoded. */
export type AttrValue = number | number[] | string | string[] | ConstTensor | undefined;

/** One node of the graph. */
export interface GraphNode {
  /** The node's name, or `OpType#index` when the file gives none. */
  name: string;
  opType: string;
  domain: string;
  /** Input names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attrs: Map<string, AttrValue>;
}

/** A dimension: a number, or the name of a symbolic dimension (`N`, `batch_size`). */
export type Dim = number | string;

/** A decoded, checked model. */
export interface ImportGraph {
  /** Default-domain opset. */
  opset: number;
  producer: string;
  input: { name: string; dims: Dim[]; elemType: number };
  outputs: { name: string; dims: Dim[] }[];
  /** Nodes in topological order (Constant nodes removed; their values are in {@link constants}). */
  nodes: GraphNode[];
  /** Initializers and Constant node outputs. */
  constants: Map<string, ConstTensor>;
  metadata: Record<string, string>;
}

/** A model that cannot be read at all (as opposed to one whose nodes cannot be mapped). */
export class OnnxImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxImportError';
  }
}

/** Decodes one TensorProto (checked, see ../weights/onnx-decode); `what` names it in the error. */
export function decodeTensor(t: onnxProto.onnx.ITensorProto, what: string): ConstTensor {
  return decodeOnnxTensor(t, (msg) => {
    throw new OnnxImportError(`${what}: ${msg}`);
  });
}

function decodeAttr(a: onnxProto.onnx.IAttributeProto, what: string): AttrValue {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.INT:
      return num(a.i as Int64);
    case T.FLOAT:
      return a.f ?? 0;
    case T.INTS:
      return (a.ints ?? []).map((v) => num(v as Int64));
    case T.FLOATS:
      return [...(a.floats ?? [])];
    case T.STRING:
      return new TextDecoder().decode(a.s ?? new Uint8Array());
    case T.STRINGS:
      return (a.strings ?? []).map((b) => new TextDecoder().decode(b));
    case T.TENSOR:
      return a.t ? decodeTensor(a.t, what) : undefined;
    default:
      // Graphs (If, Loop bodies), sparse tensors and string lists: kept as present but opaque; no mapped op reads them.
      return undefined;
  }
}

function dimsOf(v: onnxProto.onnx.IValueInfoProto): Dim[] {
  return (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue !== null && d.dimValue !== undefined ? num(d.dimValue as Int64) : '?'));
}

/** The value of a Constant node as a tensor. */
function constantValue(n: GraphNode): ConstTensor | undefined {
  const v = n.attrs.get('value');
  if (v && typeof v === 'object' && !Array.isArray(v)) return v;
  const f = n.attrs.get('value_float');
  if (typeof f === 'number') return { dims: [], floats: Float32Array.of(f) };
  const fs = n.attrs.get('value_floats');
  if (Array.isArray(fs) && fs.every((x) => typeof x === 'number')) return { dims: [fs.length], floats: Float32Array.from(fs) };
  const i = n.attrs.get('value_int');
  if (typeof i === 'number') return { dims: [], ints: [i] };
  const is = n.attrs.get('value_ints');
  if (Array.isArray(is) && is.every((x) => typeof x === 'number')) return { dims: [is.length], ints: is };
  return undefined;
}

/**
 * Decodes and checks `bytes` (a .onnx file; `file` names it in messages). Throws
 * {@link OnnxImportError} naming the file and the problem for bytes that are not a model, an
 * opset outside {@link MIN_IMPORT_OPSET}..{@link MAX_IMPORT_OPSET}, anything but one float
 * input, external or inconsistent tensor data, a name read but never produced, a name
 * produced twice, or a cycle.
 */
export function readImportGraph(bytes: Uint8Array, file: string): ImportGraph {
  const fail = (msg: string): never => {
    throw new OnnxImportError(`${file}: ${msg}`);
  };
  const model = decodeOnnxModel(bytes, fail);
  const graph = model.graph;
  const opset = num((model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version as Int64);
  if (opset < MIN_IMPORT_OPSET || opset > MAX_IMPORT_OPSET)
    fail(`the model uses ONNX opset ${opset || 'unknown'}; the importer reads opsets ${MIN_IMPORT_OPSET} to ${MAX_IMPORT_OPSET} (re-export it, e.g. torch.onnx.export(..., opset_version=17))`);
  if ((graph.node ?? []).length > MAX_IMPORT_NODES) fail(`the graph has ${graph.node!.length} nodes, more than the ${MAX_IMPORT_NODES} the importer reads`);

  const constants = new Map<string, ConstTensor>();
  for (const t of graph.initializer ?? []) {
    const name = t.name ?? '';
    if (!name) fail('an initializer has no name');
    if (constants.has(name)) fail(`two initializers are named '${name}'`);
    constants.set(name, decodeTensor(t, `${file}: initializer '${name}'`));
  }
  if ((graph.sparseInitializer ?? []).length > 0) fail('the model has sparse initializers, which the importer does not read; densify them before export');

  const realInputs = (graph.input ?? []).filter((i) => !constants.has(i.name ?? ''));
  if (realInputs.length !== 1)
    fail(`the model has ${realInputs.length} inputs (${realInputs.map((i) => `'${i.name}'`).join(', ') || 'none'}); a pipeline feeds a model one tensor`);
  const inputInfo = realInputs[0];
  const input = { name: inputInfo.name ?? '', dims: dimsOf(inputInfo), elemType: inputInfo.type?.tensorType?.elemType ?? 0 };
  if (!input.name) fail('the model input has no name');
  const outputs = (graph.output ?? []).map((o) => ({ name: o.name ?? '', dims: dimsOf(o) }));
  if (outputs.length === 0) fail('the model has no outputs');

  const produced = new Map<string, number>();
  const nodes: GraphNode[] = (graph.node ?? []).map((n, i) => {
    const opType = n.opType ?? '';
    const name = n.name || `${opType || 'node'}#${i}`;
    const attrs = new Map<string, AttrValue>();
    for (const a of n.attribute ?? []) attrs.set(a.name ?? '', decodeAttr(a, `${file}: node '${name}' attribute '${a.name}'`));
    return { name, opType, domain: n.domain ?? '', inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], attrs };
  });
  nodes.forEach((n, i) => {
    for (const o of n.outputs) {
      if (o === '') continue;
      if (produced.has(o) || constants.has(o) || o === input.name) fail(`the tensor '${o}' is produced twice (again by node '${n.name}')`);
      produced.set(o, i);
    }
  });
  for (const n of nodes) {
    for (const i of n.inputs) {
      if (i !== '' && !produced.has(i) && !constants.has(i) && i !== input.name)
        fail(`node '${n.name}' (${n.opType}) reads '${i}', which no node, initializer or input produces; the graph is incomplete`);
    }
  }
  for (const o of outputs) {
    if (!produced.has(o.name) && o.name !== input.name && !constants.has(o.name)) fail(`the output '${o.name}' is produced by no node`);
  }

  // Kahn's algorithm, first in first out, so a graph already in order keeps the file's order.
  const waiting = nodes.map((n) => new Set(n.inputs.filter((i) => produced.has(i)).map((i) => produced.get(i)!)).size);
  const readers = nodes.map(() => [] as number[]);
  nodes.forEach((n, i) => {
    for (const p of new Set(n.inputs.filter((x) => produced.has(x)).map((x) => produced.get(x)!))) readers[p].push(i);
  });
  const order: number[] = waiting.flatMap((w, i) => (w === 0 ? [i] : []));
  for (let at = 0; at < order.length; at++) for (const r of readers[order[at]]) if (--waiting[r] === 0) order.push(r);
  if (order.length < nodes.length) {
    const stuck = nodes.filter((_, i) => waiting[i] > 0).map((n) => `'${n.name}'`);
    fail(`the graph has a cycle through nodes ${stuck.slice(0, 5).join(', ')}${stuck.length > 5 ? ` and ${stuck.length - 5} more` : ''}; an ONNX graph must be acyclic`);
  }
  const sorted = order.map((i) => nodes[i]);

  const kept: GraphNode[] = [];
  for (const n of sorted) {
    if (n.opType === 'Constant' && (n.domain === '' || n.domain === 'ai.onnx')) {
      const v = constantValue(n);
      if (v && n.outputs[0]) {
        constants.set(n.outputs[0], v);
        continue;
      }
    }
    kept.push(n);
  }
  const metadata: Record<string, string> = {};
  for (const p of model.metadataProps ?? []) if (p.key) metadata[p.key] = p.value ?? '';
  return { opset, producer: `${model.producerName ?? ''} ${model.producerVersion ?? ''}`.trim(), input, outputs, nodes: kept, constants, metadata };
}
